"""The :class:`Dataset` type: an array of responses, its labels and its metadata.

A dataset is either temporal, ``data[t, c, u]`` = response of unit ``u`` to condition ``c``
at time bin ``t`` (shape ``(time, conditions, units)``), or static, ``data[s, u]``
(shape ``(samples, units)``). ``labels[name][c]`` describes condition (or sample) ``c``.
Measures flatten temporal data time-major: row ``t*C + c`` of :meth:`Dataset.flat`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["META_FIELDS", "Dataset", "check_labels"]

#: metadata attributes (strings) written to and read from files as ``meta_<field>``
META_FIELDS = ("name", "units", "area", "task", "citation", "license", "source", "description")


def _as_label(name: str, value: Any, n: int, what: str, where: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(
            f"{where}label {name!r} must be 1-D (one entry per {what}); got shape {arr.shape}."
        )
    if arr.shape[0] != n:
        raise ValueError(
            f"{where}label {name!r} has {arr.shape[0]} entries but the data has {n} {what}s; "
            f"give one entry per {what}."
        )
    if arr.dtype == object:
        arr = arr.astype(str)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{where}label {name!r} contains NaN or infinite values.")
    return arr


def check_labels(labels: Any, n: int, what: str, where: str = "") -> dict[str, np.ndarray]:
    """Validate a label mapping: string keys, 1-D arrays of length ``n``."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise TypeError(f"{where}labels must be a dict name -> 1-D array, got {type(labels)}.")
    out = {}
    for key, value in labels.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"{where}label names must be non-empty strings, got {key!r}.")
        out[key] = _as_label(key, value, n, what, where)
    return out


@dataclass(eq=False)
class Dataset:
    """Neural (or synthetic) responses with per-condition labels and metadata.

    Parameters
    ----------
    data : array, ``(time, conditions, units)`` or ``(samples, units)``
        Converted to a C-contiguous float64 numpy array. Must be finite and non-empty.
    labels : dict[str, 1-D array]
        One entry per condition (3-D data) or per sample (2-D data).
    name, units, area, task, citation, license, source, description : str
        Metadata. ``units`` is the unit of measure of ``data`` (e.g. ``"spikes/s"``).
    time : 1-D array or None
        Time stamp of each time bin (ms, bin centre, relative to the dataset's alignment
        event); only for 3-D data.
    extra : dict
        Free-form additional metadata (e.g. ``categories`` naming integer label codes).

    Examples
    --------
    >>> import numpy as np
    >>> ds = Dataset(np.zeros((4, 3, 2)) + np.arange(2), {"choice": [0, 1, 1]}, name="demo")
    >>> ds.shape, ds.is_temporal, ds.n_conditions, ds.n_units
    ((4, 3, 2), True, 3, 2)
    >>> ds.flat().shape
    (12, 2)
    """

    data: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    name: str = "dataset"
    units: str = "a.u."
    time: np.ndarray | None = None
    area: str = ""
    task: str = ""
    citation: str = ""
    license: str = ""
    source: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"dataset {self.name!r}: "
        if hasattr(self.data, "detach"):
            self.data = self.data.detach().cpu().numpy()
        try:
            arr = np.asarray(self.data)
        except Exception as exc:  # pragma: no cover - exotic inputs
            raise TypeError(f"{where}data could not be read as an array: {exc}") from None
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"{where}data must be a real numeric array, got dtype {arr.dtype}.")
        if arr.ndim not in (2, 3):
            raise ValueError(
                f"{where}data must be (samples, units) or (time, conditions, units); "
                f"got {arr.ndim}-D shape {arr.shape}."
            )
        if arr.size == 0 or min(arr.shape) == 0:
            raise ValueError(f"{where}data is empty (shape {arr.shape}).")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(
                f"{where}data contains {int(bad.sum())} NaN or infinite value(s); "
                "clean or impute them first."
            )
        self.data = arr
        what = "condition" if arr.ndim == 3 else "sample"
        self.labels = check_labels(self.labels, arr.shape[-2], what, where)
        if self.time is not None:
            t = np.asarray(self.time, dtype=np.float64)
            if arr.ndim != 3:
                raise ValueError(f"{where}time is only meaningful for 3-D data.")
            if t.shape != (arr.shape[0],) or not np.isfinite(t).all():
                raise ValueError(
                    f"{where}time must be a finite 1-D array with one entry per time bin "
                    f"({arr.shape[0]}); got shape {t.shape}."
                )
            self.time = t
        if not isinstance(self.extra, dict):
            raise TypeError(f"{where}extra must be a dict, got {type(self.extra).__name__}.")
        self.extra = dict(self.extra)  # copies never share it
        for f in META_FIELDS:
            v = getattr(self, f)
            if not isinstance(v, str):
                raise TypeError(f"{where}{f} must be a string, got {type(v).__name__}.")

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def is_temporal(self) -> bool:
        return self.data.ndim == 3

    @property
    def n_conditions(self) -> int:
        """Number of conditions (3-D) or samples (2-D)."""
        return int(self.data.shape[-2])

    @property
    def n_units(self) -> int:
        return int(self.data.shape[-1])

    @property
    def n_time(self) -> int:
        """Number of time bins (1 for static data)."""
        return int(self.data.shape[0]) if self.is_temporal else 1

    def flat(self) -> np.ndarray:
        """``(time*conditions, units)``, time-major (row ``t*C + c``); 2-D data unchanged."""
        return self.data.reshape(-1, self.data.shape[-1])

    def flat_labels(self) -> dict[str, np.ndarray]:
        """Labels repeated to match :meth:`flat` rows (condition ``c`` at rows ``t*C + c``)."""
        return {k: np.tile(v, self.n_time) for k, v in self.labels.items()}

    def replace(self, **changes: Any) -> Dataset:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def meta(self) -> dict[str, str]:
        """The string metadata fields as a dict."""
        return {f: getattr(self, f) for f in META_FIELDS}

    def __repr__(self) -> str:
        kind = "(time, conditions, units)" if self.is_temporal else "(samples, units)"
        return (
            f"Dataset(name={self.name!r}, shape={self.shape} {kind}, "
            f"labels={sorted(self.labels)}, units={self.units!r})"
        )

    # ------------------------------------------------------------------ files
    def to_npz(self, path: str | os.PathLike) -> Path:
        """Write the simgrad file format (docs/datasets.md): ``data``, ``label_<name>``
        (+ ``time``, ``meta_*``).

        No pickled objects are written; the write is atomic (temporary file + ``os.replace``).
        :func:`simgrad.datasets.from_file` reads it back.

        >>> import tempfile, os, numpy as np
        >>> from simgrad.datasets import from_file
        >>> ds = Dataset(np.ones((5, 2)), {"y": [0, 1, 0, 1, 1]}, name="demo")
        >>> p = ds.to_npz(os.path.join(tempfile.mkdtemp(), "demo.npz"))
        >>> from_file(p).labels["y"].tolist()
        [0, 1, 0, 1, 1]
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        arrays: dict[str, np.ndarray] = {"data": self.data}
        for k, v in self.labels.items():
            arrays[f"label_{k}"] = v
        if self.time is not None:
            arrays["time"] = self.time
        for f in META_FIELDS:
            arrays[f"meta_{f}"] = np.asarray(getattr(self, f), dtype=str)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez_compressed(fh, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path
