"""``sg.compare``: every representation of one side against every one of the other, as a tidy
table.

``compare(a, b=None, *, measures=("cka",), stats=None)``: ``a`` and ``b`` are mappings name →
representation (``(samples, units)`` or ``(time, conditions, units)`` arrays, Datasets, or
the output of :func:`simgrad.activations`), a single Dataset (one entry) or one array. The
scores come from the all-pairs engine (:func:`simgrad.pairwise`): one call per measure.

**Label alignment.** A Dataset carries condition labels; other entries may get them through
``labels_a``/``labels_b`` (mapping label name → one value per condition, or per sample for
2-D data). When both sides carry labels, each entry's conditions are reordered to the order
of the first labelled entry of ``a``, matching on the label names the two share; a condition
present on one side only, a duplicate, or no shared label name is a ``ValueError`` (silently
misaligned stimuli are the classic bug). Entries without labels are taken in the order given.

**Statistics.** ``stats`` (needs :mod:`simgrad.stats`): ``True`` or a mapping with
``n_resamples`` (1000), ``seed`` (0), ``tests`` (``("permutation", "bootstrap")``) adds
``p_value`` (permutation test), ``ci_low``/``ci_high`` (bootstrap interval) and ``ceiling``
(``stats.noise_ceiling`` of the ``b`` entry when the module provides it and the entry is a
Dataset with trials; else empty) per row.

>>> import numpy as np, simgrad as sg
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(60, 5))
>>> df = sg.compare({"l1": X, "l2": X @ rng.normal(size=(5, 5))}, {"V1": X[:, :3]})
>>> list(df.columns), len(df)
(['a', 'b', 'measure', 'score'], 2)
>>> sg.compare({"l1": X}, {"V1": X}, output="xarray").dims
('measure', 'a', 'b')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import numpy as np
import pandas as pd
import torch

from ._array import as_tensor, flatten_time
from .allpairs import pairwise
from .datasets import Dataset
from .measures import measure as get_measure

__all__ = ["Entry", "align", "compare", "to_dataarray"]


@dataclass
class Entry:
    """One representation: ``data`` ``(samples, units)`` or ``(time, conditions, units)``;
    ``labels`` per condition (axis −2) or ``None``."""

    name: str
    data: torch.Tensor
    labels: dict[str, np.ndarray] | None


def _entries(side: Any, labels: Mapping[str, Any] | None, what: str) -> list[Entry]:
    if isinstance(side, Dataset):
        side = {side.area or side.name or what: side}
    elif not isinstance(side, Mapping):
        side = {what: side}
    if not side:
        raise ValueError(f"{what} is empty.")
    out = []
    for name, rep in side.items():
        own = dict(rep.labels) if isinstance(rep, Dataset) and rep.labels else None
        arr = rep.data if isinstance(rep, Dataset) else rep
        t = as_tensor(arr, f"{what}[{name!r}]", dtype=torch.float64)
        if t.ndim not in (2, 3):
            raise ValueError(
                f"{what}[{name!r}] must be (samples, units) or (time, conditions, units); "
                f"got shape {tuple(t.shape)}."
            )
        lab = own if own is not None else (dict(labels) if labels is not None else None)
        if lab is not None:
            n_cond = t.shape[-2]
            lab = {k: np.asarray(v) for k, v in lab.items()}
            for k, v in lab.items():
                if v.shape[0] != n_cond:
                    raise ValueError(
                        f"label {k!r} of {what}[{name!r}] has {v.shape[0]} values for "
                        f"{n_cond} conditions."
                    )
        out.append(Entry(str(name), t, lab))
    return out


def _keys(labels: Mapping[str, np.ndarray], names: Sequence[str]) -> list[tuple]:
    return list(zip(*[labels[k].tolist() for k in names]))


def align(entries: list[Entry], ref: dict[str, np.ndarray], what: str) -> list[Entry]:
    """Reorder each labelled entry's conditions to the order of ``ref``'s labels."""
    out = []
    for e in entries:
        if e.labels is None:
            out.append(e)
            continue
        shared = [k for k in ref if k in e.labels]
        if not shared:
            raise ValueError(
                f"{what}[{e.name!r}] shares no label name with the reference: it has "
                f"{sorted(e.labels)}, the reference {sorted(ref)}."
            )
        want, have = _keys(ref, shared), _keys(e.labels, shared)
        if len(set(have)) != len(have) or len(set(want)) != len(want):
            raise ValueError(
                f"labels {shared} do not identify conditions uniquely in {what}[{e.name!r}] "
                "or the reference; pass labels that do."
            )
        missing, extra = set(want) - set(have), set(have) - set(want)
        if missing or extra:
            raise ValueError(
                f"labels do not match: {what}[{e.name!r}] lacks {sorted(missing)[:5]} and has "
                f"extra {sorted(extra)[:5]} (on {shared})."
            )
        pos = {k: i for i, k in enumerate(have)}
        idx = torch.tensor([pos[k] for k in want])
        out.append(Entry(e.name, e.data.index_select(e.data.ndim - 2, idx), dict(ref)))
    return out


def _flat(e: Entry) -> torch.Tensor:
    return flatten_time(e.data) if e.data.ndim == 3 else e.data


def _stats_options(stats: Any) -> dict[str, Any] | None:
    if stats is None or stats is False:
        return None
    opts: dict[str, Any] = {"n_resamples": 1000, "seed": 0, "tests": ("permutation", "bootstrap")}
    if isinstance(stats, Mapping):
        unknown = set(stats) - set(opts)
        if unknown:
            raise ValueError(f"unknown stats options {sorted(unknown)}; known: {sorted(opts)}.")
        opts.update(stats)
    elif stats is not True:
        raise TypeError("stats must be None, True or a mapping of options.")
    return opts


def _stats_module() -> Any:
    try:
        return import_module("simgrad.stats")
    except ModuleNotFoundError as exc:
        raise ImportError(
            "stats= needs simgrad.stats (permutation_test, bootstrap), which this installation "
            "lacks; call sg.compare without stats=."
        ) from exc


def _add_stats(df: pd.DataFrame, A: dict, B: dict, b_raw: dict, opts: dict) -> pd.DataFrame:
    st = _stats_module()
    cols: dict[str, list[float]] = {"ci_low": [], "ci_high": [], "p_value": [], "ceiling": []}
    kw = {"n_resamples": int(opts["n_resamples"]), "seed": int(opts["seed"])}
    for r in df.itertuples():
        X, Y = A[r.a], B[r.b]
        p = lo = hi = ceil = float("nan")
        if "permutation" in opts["tests"]:
            p = float(st.permutation_test(r.measure, X, Y, **kw).pvalue)
        if "bootstrap" in opts["tests"]:
            ci = st.bootstrap(r.measure, X, Y, **kw).confidence_interval
            lo, hi = float(ci.low), float(ci.high)
        nc = getattr(st, "noise_ceiling", None)
        raw = b_raw.get(r.b)
        if nc is not None and isinstance(raw, Dataset) and "trials" in str(raw.meta()):
            try:
                ceil = float(getattr(nc(r.measure, raw), "value", float("nan")))
            except (TypeError, ValueError):
                ceil = float("nan")
        for k, v in zip(cols, (lo, hi, p, ceil)):
            cols[k].append(v)
    return df.assign(**cols)


# long because: normalise both sides, align labels, one pairwise call per measure, assemble
def compare(
    a: Any,
    b: Any = None,
    *,
    measures: str | Sequence[str] = ("cka",),
    stats: Any = None,
    labels_a: Mapping[str, Any] | None = None,
    labels_b: Mapping[str, Any] | None = None,
    output: str = "frame",
    memory_budget: int | str = "1GB",
) -> pd.DataFrame | Any:
    """Every entry of ``a`` against every entry of ``b`` (or every pair of ``a``) under each
    measure: ``S[a_i, b_j] = measure(X=a_i, Y=b_j)``.

    Returns a tidy ``pandas.DataFrame`` with columns ``a``, ``b``, ``measure``, ``score`` (and
    ``ci_low``, ``ci_high``, ``p_value``, ``ceiling`` with ``stats=``), rows ordered by
    measure, then ``a``, then ``b`` as given; ``output="xarray"`` gives the same as a
    ``xarray.DataArray`` with dims ``(measure, a, b)`` (see :func:`to_dataarray`).
    """
    if output not in ("frame", "xarray"):
        raise ValueError(f"output must be 'frame' or 'xarray', got {output!r}.")
    names = [measures] if isinstance(measures, str) else list(measures)
    if not names:
        raise ValueError("measures is empty.")
    for m in names:
        get_measure(m)
    opts = _stats_options(stats)
    ea = _entries(a, labels_a, "a")
    eb = _entries(b, labels_b, "b") if b is not None else None
    ref = next((e.labels for e in ea if e.labels is not None), None)
    if ref is None and eb is not None:
        ref = next((e.labels for e in eb if e.labels is not None), None)
    if ref is not None:
        ea = align(ea, ref, "a")
        eb = align(eb, ref, "b") if eb is not None else None
    A = {e.name: _flat(e) for e in ea}
    B = {e.name: _flat(e) for e in eb} if eb is not None else A
    n_a = {tuple(t.shape[:1]) for t in A.values()} | {tuple(t.shape[:1]) for t in B.values()}
    if len(n_a) > 1:
        counts = {
            **{f"a[{k}]": v.shape[0] for k, v in A.items()},
            **{f"b[{k}]": v.shape[0] for k, v in B.items()},
        }
        raise ValueError(f"sample counts differ between representations: {counts}.")
    rows = []
    for m in names:
        S = pairwise(
            list(A.values()),
            None if eb is None else list(B.values()),
            m,
            memory_budget=memory_budget,
        ).detach()
        for i, na in enumerate(A):
            for j, nb in enumerate(B):
                rows.append({"a": na, "b": nb, "measure": m, "score": float(S[i, j])})
    df = pd.DataFrame(rows, columns=["a", "b", "measure", "score"])
    if opts is not None:
        b_raw = dict(b) if isinstance(b, Mapping) else {}
        df = _add_stats(df, A, B, b_raw, opts)
    return to_dataarray(df) if output == "xarray" else df


def to_dataarray(df: pd.DataFrame) -> Any:
    """The ``score`` column of a :func:`compare` table as an ``xarray.DataArray`` with dims
    ``(measure, a, b)`` in the table's order (statistics columns stay in the DataFrame)."""
    import xarray as xr

    measures = list(dict.fromkeys(df["measure"]))
    a = list(dict.fromkeys(df["a"]))
    b = list(dict.fromkeys(df["b"]))
    cube = (
        df.set_index(["measure", "a", "b"])["score"]
        .unstack("b")
        .reindex(pd.MultiIndex.from_product([measures, a]))[b]
    )
    values = cube.to_numpy().reshape(len(measures), len(a), len(b))
    return xr.DataArray(
        values,
        dims=("measure", "a", "b"),
        coords={"measure": measures, "a": a, "b": b},
        name="score",
    )
