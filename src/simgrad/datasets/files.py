"""Reading user files into a :class:`Dataset`.

Formats (chosen by suffix in :func:`from_file`):

- ``.npz`` (simgrad's file format, docs/datasets.md): array ``data`` shaped ``(samples, units)`` or
  ``(time, conditions, units)``; 1-D arrays ``label_<name>`` with one entry per sample or
  condition; optional ``time`` (one entry per time bin) and string scalars ``meta_<field>``
  (``name``, ``units``, ``area``, ``task``, ``citation``, ``license``, ``source``,
  ``description``). This is what :meth:`Dataset.to_npz` writes. Pickled objects are refused.
- ``.mat``: the same variable names, MATLAB v5 (scipy) or v7.3 (HDF5, h5py). Save ``data`` in
  MATLAB as ``time x conditions x units`` (v7.3 files store it transposed; it is transposed
  back). Labels: numeric vectors or cell arrays of strings (v5).
- ``.nwb``: spike times of the ``units`` table binned around each row of the ``trials``
  table and averaged per condition (:func:`from_nwb`; needs ``pynwb``).
- ``.nc`` (netCDF) or an in-memory ``xarray.DataArray``: :func:`from_xarray` (named
  dimensions time/condition/unit; coordinates along the condition dimension become labels).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import META_FIELDS, Dataset

__all__ = ["from_file", "from_nwb", "from_xarray"]

_TIME_DIMS = ("time", "time_bin", "times", "t")
_COND_DIMS = (
    "condition",
    "conditions",
    "stimulus",
    "stimuli",
    "presentation",
    "sample",
    "samples",
    "trial",
    "trials",
    "image",
    "images",
)
_UNIT_DIMS = (
    "unit",
    "units",
    "neuron",
    "neurons",
    "neuroid",
    "neuroids",
    "channel",
    "channels",
    "feature",
    "features",
)


class FileFormatError(ValueError):
    """A file that does not follow the expected layout (names the file and the problem)."""


def _build(path: Path, data: Any, labels: dict, time: Any, meta: dict) -> Dataset:
    meta = {k: v for k, v in meta.items() if k in META_FIELDS}
    meta.setdefault("name", path.stem)
    meta.setdefault("source", str(path))
    try:
        return Dataset(data, labels, time=time, **meta)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{path}: {exc}") from None


def from_file(path: str | os.PathLike, **options: Any) -> Dataset:
    """Read a dataset file (``.npz``, ``.mat``, ``.nwb``, ``.nc``); see the module docstring.

    ``options`` go to the format's reader (e.g. ``window``/``bin_ms`` for NWB). Bad files raise
    ``ValueError`` (``FileFormatError``) naming the file and the problem.

    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.npz")
    >>> np.savez(p, data=np.ones((4, 3)), label_y=[0, 1, 0, 1])
    >>> from_file(p).shape
    (4, 3)
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file.")
    suffix = path.suffix.lower()
    if suffix in (".npz", ".mat") and options:
        raise TypeError(f"{path}: {suffix} files take no reading options, got {sorted(options)}.")
    if suffix == ".npz":
        return _from_npz(path)
    if suffix == ".mat":
        return _from_mat(path)
    if suffix == ".nwb":
        return from_nwb(path, **options)
    if suffix in (".nc", ".netcdf", ".h5netcdf"):
        import xarray as xr

        with xr.open_dataarray(path) as da:
            return from_xarray(da.load(), source=str(path), **options)
    raise FileFormatError(
        f"{path}: unsupported file type {suffix!r}; use .npz (data + label_<name>), .mat, .nwb "
        "or .nc (xarray)."
    )


def _split_arrays(path: Path, arrays: dict[str, np.ndarray]) -> tuple[dict, Any, dict]:
    if "data" not in arrays:
        keys = ", ".join(sorted(arrays)) or "none"
        raise FileFormatError(f"{path}: missing the array 'data' (found: {keys}).")
    labels, meta = {}, {}
    for key, value in arrays.items():
        if key.startswith("label_"):
            labels[key[len("label_") :]] = value
        elif key.startswith("meta_"):
            meta[key[len("meta_") :]] = str(np.asarray(value).squeeze())
    return labels, arrays.get("time"), meta


def _from_npz(path: Path) -> Dataset:
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] != b"PK":  # every .npz is a zip archive; numpy would guess "pickle" otherwise
        raise FileFormatError(f"{path}: not a valid .npz file (not a zip archive).")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise FileFormatError(
                f"{path}: holds object arrays that need pickle ({exc}); store plain arrays."
            ) from None
        raise FileFormatError(f"{path}: not a readable .npz file ({exc}).") from None
    except Exception as exc:
        raise FileFormatError(f"{path}: not a readable .npz file ({exc}).") from None
    labels, time, meta = _split_arrays(path, arrays)
    return _build(path, arrays["data"], labels, time, meta)


def _mat_vector(path: Path, key: str, value: np.ndarray) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == object:  # cell array of strings
        arr = np.array([str(np.asarray(v).squeeze()) for v in arr.ravel()])
    if arr.ndim > 1 and sum(d > 1 for d in arr.shape) > 1:
        raise FileFormatError(f"{path}: {key} must be a vector, got a {arr.shape} matrix.")
    return arr.ravel()


def _from_mat(path: Path) -> Dataset:
    import h5py

    if h5py.is_hdf5(path):  # MATLAB v7.3
        arrays: dict[str, np.ndarray] = {}
        with h5py.File(path, "r") as f:
            for key, obj in f.items():
                if not isinstance(obj, h5py.Dataset):
                    continue
                value = obj[()]
                cls = obj.attrs.get("MATLAB_class", b"")
                cls = cls.decode() if isinstance(cls, bytes) else str(cls)
                if value.dtype.kind == "O":
                    if key.startswith(("label_", "meta_")) or key in ("data", "time"):
                        raise FileFormatError(
                            f"{path}: {key} is a cell array or struct, which is not supported "
                            "in v7.3 files; store numeric codes (or save with -v7)."
                        )
                    continue
                if cls == "char":
                    value = np.array("".join(map(chr, np.asarray(value).ravel())))
                elif np.ndim(value) >= 2:
                    value = np.asarray(value).T  # HDF5 holds MATLAB arrays transposed
                arrays[key] = value
    else:
        import scipy.io

        try:
            raw = scipy.io.loadmat(path)
        except Exception as exc:
            raise FileFormatError(f"{path}: not a readable MATLAB file ({exc}).") from None
        arrays = {k: v for k, v in raw.items() if not k.startswith("__")}
    labels, time, meta = _split_arrays(path, arrays)
    labels = {k: _mat_vector(path, f"label_{k}", v) for k, v in labels.items()}
    if time is not None:
        time = _mat_vector(path, "time", time)
    data = np.asarray(arrays["data"])
    if data.dtype == object:
        raise FileFormatError(f"{path}: 'data' must be a numeric array, not a cell or struct.")
    return _build(path, data, labels, time, meta)


def _find_dim(dims: tuple, names: tuple[str, ...]) -> str | None:
    for d in dims:
        if str(d).lower() in names:
            return d
    return None


def from_xarray(da: Any, *, name: str | None = None, source: str = "", **meta: Any) -> Dataset:
    """A Dataset from an ``xarray.DataArray`` with named dimensions.

    Dimensions are recognised by name: time (``time``, ``time_bin``, ``t``), condition
    (``condition``, ``stimulus``, ``presentation``, ``sample``, ``trial``, ``image``...) and
    unit (``unit``, ``neuron``, ``neuroid``, ``channel``, ``feature``...); the array is
    transposed to ``(time, condition, unit)`` or ``(condition, unit)``. Every 1-D coordinate
    along the condition dimension with numeric or string values becomes a label; a numeric
    time coordinate becomes ``time``; string ``attrs`` named like metadata fields are kept.

    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.ones((3, 4, 2)), dims=("unit", "condition", "time"),
    ...                   coords={"choice": ("condition", [0, 1, 0, 1])})
    >>> ds = from_xarray(da); ds.shape, ds.labels["choice"].tolist()
    ((2, 4, 3), [0, 1, 0, 1])
    """
    if not (hasattr(da, "dims") and hasattr(da, "coords") and hasattr(da, "transpose")):
        raise TypeError(f"from_xarray: expected an xarray.DataArray, got {type(da).__name__}.")
    where = f"xarray {source or da.name or ''}".strip()
    dims = tuple(da.dims)
    t_dim, c_dim, u_dim = (_find_dim(dims, n) for n in (_TIME_DIMS, _COND_DIMS, _UNIT_DIMS))
    if c_dim is None or u_dim is None:
        raise FileFormatError(
            f"{where}: dimensions {dims} must include a condition dimension (one of "
            f"{_COND_DIMS}) and a unit dimension (one of {_UNIT_DIMS})."
        )
    order = [d for d in (t_dim, c_dim, u_dim) if d is not None]
    if set(order) != set(dims):
        extra = [d for d in dims if d not in order]
        raise FileFormatError(
            f"{where}: unrecognised dimension(s) {extra}; average or select them away first "
            f"(expected time, condition and unit dimensions)."
        )
    arr = da.transpose(*order)
    labels = {}
    for key, coord in da.coords.items():
        if coord.dims != (c_dim,):
            continue
        values = np.asarray(coord.values)
        if values.dtype == object:
            if not all(isinstance(v, str) for v in values):
                continue  # e.g. a pandas MultiIndex of tuples
            values = values.astype(str)
        if values.dtype.kind not in "biufUS":
            continue
        if key == c_dim and np.array_equal(values, np.arange(len(values))):
            continue  # a plain position index carries no information
        labels[str(key)] = values
    time = None
    if t_dim is not None and t_dim in da.coords:
        tv = np.asarray(da.coords[t_dim].values)
        if tv.dtype.kind in "iuf":
            time = tv.astype(float)
    attrs = {k: v for k, v in da.attrs.items() if k in META_FIELDS and isinstance(v, str)}
    attrs.update(meta)
    attrs.setdefault("name", name or (str(da.name) if da.name is not None else "xarray"))
    if source:
        attrs.setdefault("source", source)
    try:
        return Dataset(np.asarray(arr.values), labels, time=time, **attrs)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _read_nwb(reader: Any, path: Path, align: str) -> tuple[Any, list[np.ndarray], str]:
    """The trials table (a DataFrame), every unit's sorted spike times and the session
    description of an NWB file, read with ``reader`` (pynwb's ``NWBHDF5IO``)."""
    try:
        io = reader(str(path), "r")
        nwb = io.read()
    except Exception as exc:
        raise FileFormatError(f"{path}: not a readable NWB file ({exc}).") from None
    try:
        if nwb.units is None or len(nwb.units) == 0:
            raise FileFormatError(f"{path}: the NWB file has no units table (spike times).")
        if nwb.trials is None or len(nwb.trials) == 0:
            raise FileFormatError(f"{path}: the NWB file has no trials table.")
        trials = nwb.trials.to_dataframe()
        if align not in trials.columns:
            raise FileFormatError(
                f"{path}: align column {align!r} not in the trials table "
                f"(columns: {list(trials.columns)})."
            )
        description = str(getattr(nwb, "session_description", "") or "")
        spikes = [
            np.sort(np.asarray(nwb.units["spike_times"][i], dtype=float))
            for i in range(len(nwb.units))
        ]
    finally:
        io.close()
    return trials, spikes, description


def from_nwb(
    path: str | os.PathLike,
    *,
    conditions: list[str] | None = None,
    align: str = "start_time",
    window: tuple[float, float] = (0.0, 0.5),
    bin_ms: float = 50.0,
    average: bool = True,
) -> Dataset:
    """Condition-averaged rates from an NWB file's ``units`` and ``trials`` tables.

    For every trial, spikes of every unit are counted in bins of ``bin_ms`` covering
    ``[t_align + window[0], t_align + window[1])`` seconds (``t_align`` = the trial's
    ``align`` column, default ``start_time``) and divided by the bin width (spikes/s). Trials
    are grouped by the values of the ``conditions`` columns (default: every trials column
    except ``start_time``, ``stop_time``, the align column and non-scalar columns) and averaged
    → ``(time, conditions, units)`` with one label per condition column. ``average=False``
    keeps single trials (units recorded simultaneously) → ``(time, trials, units)``.
    Time stamps are bin centres in ms relative to the align event. Requires ``pynwb``
    (``pip install "simgrad[nwb]"``).
    """
    path = Path(path)
    try:
        from pynwb import NWBHDF5IO
    except ImportError:
        raise ImportError(
            "reading NWB files needs pynwb: pip install pynwb (or simgrad[nwb])."
        ) from None
    lo, hi = (float(w) for w in window)
    if not hi > lo or not bin_ms > 0:
        raise ValueError(f"{path}: need window[1] > window[0] and bin_ms > 0.")
    width = bin_ms / 1000.0
    n_bins = int(np.floor((hi - lo) / width + 1e-9))
    if n_bins < 1:
        raise ValueError(f"{path}: window {window} is shorter than one {bin_ms} ms bin.")
    trials, spikes, description = _read_nwb(NWBHDF5IO, path, align)
    if conditions is None:
        skip = {"start_time", "stop_time", align, "tags", "timeseries"}
        conditions = [
            c for c in trials.columns if c not in skip and trials[c].map(np.isscalar).all()
        ]
    missing = [c for c in conditions if c not in trials.columns]
    if missing:
        raise FileFormatError(f"{path}: condition column(s) {missing} not in the trials table.")
    t0 = trials[align].to_numpy(dtype=float)[:, None] + lo
    edges = t0 + width * np.arange(n_bins + 1)[None, :]  # (trials, bins+1)
    counts = np.stack(
        [np.diff(np.searchsorted(s, edges, side="left"), axis=1) for s in spikes], axis=-1
    )  # (trials, bins, units)
    rates = counts.transpose(1, 0, 2) / width  # (time, trials, units)
    labels = {c: trials[c].to_numpy() for c in conditions}
    labels = {c: (v.astype(str) if v.dtype == object else v) for c, v in labels.items()}
    time_ms = 1000.0 * (lo + width * (np.arange(n_bins) + 0.5))
    meta = {
        "units": "spikes/s",
        "name": path.stem,
        "description": description,
    }
    ds = _build(path, rates, labels, time_ms, meta)
    if average:
        if not conditions:
            raise FileFormatError(f"{path}: no condition columns to average trials by.")
        from .preprocess import average_conditions

        ds = average_conditions(ds, by=conditions)
    return ds
