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
misaligned stimuli are the classic bug). When no entry carries labels, conditions are taken in
the order given; an entry without labels beside labelled entries that had to be reordered is
a ``ValueError`` too (it could not be reordered with them).

**Statistics.** ``stats``: ``True`` or a mapping with ``n_resamples`` (1000), ``seed`` (0),
``tests`` (``("permutation", "bootstrap")``) and ``trials`` (mapping a name of ``b`` to its
trial-resolved recording ``(trials, [time,] conditions, units)``) adds per row ``p_value``
(permutation test; the lower tail for a distance), ``ci_low``/``ci_high`` (BCa bootstrap
interval, percentile where BCa is degenerate) and ``ceiling`` (the noise ceiling of that
``b`` entry under the measure, from ``trials``; empty otherwise) — computed by
:func:`simgrad.stats.score_statistics`, as ``simgrad compare`` does.

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
from typing import Any

import numpy as np
import pandas as pd
import torch

from ._array import as_tensor, flatten_time
from .allpairs import pairwise
from .datasets import Dataset
from .measures import measure as get_measure
from .stats import score_statistics

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
    """Reorder each labelled entry's conditions to the order of ``ref``'s labels. Entries
    without labels stay as given — unless a labelled entry had to be reordered, which would
    leave them silently misaligned: that is a ``ValueError``."""
    out, moved = [], False
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
        order = [pos[k] for k in want]
        moved = moved or order != list(range(len(order)))
        idx = torch.tensor(order)
        out.append(Entry(e.name, e.data.index_select(e.data.ndim - 2, idx), dict(ref)))
    bare = [e.name for e in entries if e.labels is None]
    if moved and bare:
        raise ValueError(
            f"{what}{bare} carry no condition labels while other entries were reordered to "
            "the reference's conditions: pass labels for them too (labels_a=/labels_b=)."
        )
    return out


def _flat(e: Entry) -> torch.Tensor:
    return flatten_time(e.data) if e.data.ndim == 3 else e.data


def _stats_options(stats: Any) -> dict[str, Any] | None:
    if stats is None or stats is False:
        return None
    opts: dict[str, Any] = {
        "n_resamples": 1000,
        "seed": 0,
        "tests": ("permutation", "bootstrap"),
        "trials": {},
    }
    if isinstance(stats, Mapping):
        unknown = set(stats) - set(opts)
        if unknown:
            raise ValueError(f"unknown stats options {sorted(unknown)}; known: {sorted(opts)}.")
        opts.update(stats)
    elif stats is not True:
        raise TypeError("stats must be None, True or a mapping of options.")
    if not isinstance(opts["trials"], Mapping):
        raise TypeError(
            "stats['trials'] maps a name of b to its trial-resolved recording "
            "(trials, [time,] conditions, units), for the noise ceiling."
        )
    return opts


def _add_stats(df: pd.DataFrame, A: dict, B: dict, opts: dict) -> pd.DataFrame:
    """``ci_low``, ``ci_high``, ``p_value`` per row and ``ceiling`` per (b, measure) from
    :func:`simgrad.stats.score_statistics` (the same statistics as ``simgrad compare``)."""
    n = int(opts["n_resamples"])
    perms = n if "permutation" in opts["tests"] else 0
    boots = n if "bootstrap" in opts["tests"] else 0
    ceilings: dict[tuple[str, str], float] = {}
    for (b, m), trials in ((k, opts["trials"].get(k[0])) for k in set(zip(df["b"], df["measure"]))):
        if trials is not None:
            got = score_statistics(m, B[b], B[b], seed=int(opts["seed"]), trials=trials)
            ceilings[(b, m)] = got.get("ceiling", float("nan"))
    cols: dict[str, list[float]] = {"ci_low": [], "ci_high": [], "p_value": [], "ceiling": []}
    for r in df.itertuples():
        got = score_statistics(
            r.measure, A[r.a], B[r.b], permutations=perms, resamples=boots, seed=int(opts["seed"])
        )
        nan = float("nan")
        cols["ci_low"].append(float(got.get("ci_low", nan)))
        cols["ci_high"].append(float(got.get("ci_high", nan)))
        cols["p_value"].append(float(got.get("pvalue", nan)))
        cols["ceiling"].append(float(ceilings.get((r.b, r.measure), nan)))
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
        df = _add_stats(df, A, B, opts)
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
