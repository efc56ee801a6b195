"""``sg.compare_model``: layer × area scores of a model against recordings, in one pass.

For each batch, every chosen layer's reduced activations and the matching target rows are fed
to one :class:`~simgrad.streaming.StreamingSimilarity` per (layer, area), which accumulates
the second-moment statistic its measures need (linear CKA, ENSD, NBS, Procrustes, Bures, shape,
CCA, in-sample regression; see :func:`simgrad.streaming.streamable`): memory depends on the
widths, never on the number of samples, and the scores equal the full-batch ones (to round-off).
Measures that need individual samples (RBF CKA, RSA, cross-validated ones) and ``reduce="pca-K"``
collect the activations instead (spilling to memory-mapped files past ``memory_budget``) and
go through :func:`simgrad.pairwise`.

>>> import torch, simgrad as sg
>>> g = torch.Generator().manual_seed(0)
>>> net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
>>> x = torch.randn(200, 4, generator=g, dtype=torch.float64)
>>> df = sg.compare_model(net.double(), x, {"V1": x[:, :2] ** 2}, ("cka", "rsa"), batch_size=64)
>>> list(df.columns), len(df)
(['layer', 'area', 'measure', 'score', 'streamed'], 6)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .._array import as_tensor, flatten_time
from ..allpairs import pairwise
from ..allpairs.inputs import parse_bytes
from ..datasets import Dataset
from ..streaming import StreamingSimilarity, streamable
from .extract import LayerSpec
from .record import iter_batches, make_extraction
from .reduce import finish_pca
from .spill import LayerStore

__all__ = ["as_areas", "compare_model"]


def as_areas(target: Any, name: str = "target") -> dict[str, torch.Tensor]:
    """``target`` as area name → ``(samples, units)`` float64 tensor: a Dataset (its area or
    name), a mapping name → array/Dataset, or one array; ``(time, conditions, units)`` arrays
    are flattened time-major (row ``t*C + c``)."""

    def one(v: Any, label: str) -> torch.Tensor:
        arr = v.data if isinstance(v, Dataset) else v
        t = as_tensor(arr, label, dtype=torch.float64)
        if t.ndim == 3:
            t = flatten_time(t)
        if t.ndim != 2:
            raise ValueError(f"{label} must be (samples, units) or (time, conditions, units).")
        return t

    if isinstance(target, Dataset):
        return {target.area or target.name or name: one(target, name)}
    if isinstance(target, Mapping):
        if not target:
            raise ValueError(f"{name} is an empty mapping.")
        return {str(k): one(v, f"{name}[{k!r}]") for k, v in target.items()}
    return {name: one(target, name)}


def _known_rows(inputs: Any, batch_dim: int) -> int | None:
    if isinstance(inputs, (np.ndarray, torch.Tensor)) and inputs.ndim > batch_dim:
        return int(inputs.shape[batch_dim])
    return None


def _check_rows(areas: Mapping[str, torch.Tensor], n: int, what: str) -> None:
    for area, t in areas.items():
        if t.shape[0] != n:
            raise ValueError(
                f"sample counts differ: the model saw {n} samples ({what}) but target "
                f"{area!r} has {t.shape[0]} rows. Give the model the target's stimuli, in order."
            )


# long because: one pass that feeds the streams and, when needed, the spill store
def compare_model(
    model: nn.Module,
    inputs: Any,
    target: Any,
    measures: str | Sequence[str] = ("cka",),
    *,
    layers: LayerSpec = None,
    reduce: str = "flatten",
    batch_size: int = 256,
    device: torch.device | str | None = None,
    seed: int = 0,
    select: Callable[[Any], Any] | None = None,
    output: Any = None,
    batch_dim: int = 0,
    memory_budget: int | str = "1GB",
    spill_dir: str | None = None,
) -> pd.DataFrame:
    """Scores of every chosen layer against every target area (``X`` = layer, ``Y`` = area).

    ``target``: a Dataset, a mapping area → array/Dataset, or one array, with one row per
    model input sample (in the same order). Returns a DataFrame with columns ``layer``,
    ``area``, ``measure``, ``score`` and ``streamed`` (whether the measure was accumulated
    batch by batch). Other parameters as :func:`simgrad.activations`.
    """
    names = [measures] if isinstance(measures, str) else list(measures)
    if not names:
        raise ValueError("measures is empty.")
    for m in names:
        streamable(m)  # unknown names fail here, before any forward pass
    ex = make_extraction(
        model,
        layers=layers,
        reduce=reduce,
        batch_size=batch_size,
        device=device,
        seed=seed,
        select=select,
        output=output,
        batch_dim=batch_dim,
    )
    areas = as_areas(target)
    n_known = _known_rows(inputs, batch_dim)
    if n_known is not None:
        _check_rows(areas, n_known, "inputs")
    on_stream = [m for m in names if ex.reduce.streams and streamable(m)]
    collected = [m for m in names if m not in on_stream]
    lnames = [n for n, _ in ex.layers]
    accs = (
        {(la, ar): StreamingSimilarity(on_stream) for la in lnames for ar in areas}
        if on_stream
        else {}
    )
    store = (
        LayerStore(lnames, memory_budget=parse_bytes(memory_budget), spill_dir=spill_dir)
        if collected
        else None
    )
    start = 0
    for n, acts in iter_batches(ex, inputs):
        stop = start + n
        over = [a for a, t in areas.items() if t.shape[0] < stop]
        if over:
            _check_rows({a: areas[a] for a in over}, stop, "so far")
        if on_stream:
            for (la, ar), acc in accs.items():
                acc.update(acts[la], areas[ar][start:stop])
        if store is not None:
            store.add({k: v.cpu() for k, v in acts.items()})
        start = stop
    _check_rows(areas, start, "in all batches")
    rows: list[dict[str, Any]] = []
    if on_stream:
        for (la, ar), acc in accs.items():
            for m, v in acc.compute().items():
                rows.append({"layer": la, "area": ar, "measure": m, "score": v, "streamed": True})
    if store is not None:
        full = store.finish()
        if ex.reduce.kind == "pca":
            assert ex.reduce.k is not None
            full = {k: finish_pca(v, ex.reduce.k) for k, v in full.items()}
        reps, targets = [full[la] for la in lnames], list(areas.values())
        for m in collected:
            S = pairwise(reps, targets, m, memory_budget=memory_budget).detach()
            for i, la in enumerate(lnames):
                for j, ar in enumerate(areas):
                    rows.append(
                        {
                            "layer": la,
                            "area": ar,
                            "measure": m,
                            "score": float(S[i, j]),
                            "streamed": False,
                        }
                    )
    order = {m: k for k, m in enumerate(names)}
    df = pd.DataFrame(rows, columns=["layer", "area", "measure", "score", "streamed"])
    df["_o"] = df["measure"].map(order)
    li = {la: k for k, la in enumerate(lnames)}
    df["_l"] = df["layer"].map(li)
    df = df.sort_values(["_o", "_l"], kind="stable").drop(columns=["_o", "_l"])
    return df.reset_index(drop=True)
