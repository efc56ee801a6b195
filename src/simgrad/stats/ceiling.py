"""``sg.stats.noise_ceiling``: how similar a recording is to itself under a measure.

Split-half reliability: the trials of each condition are split at random into two disjoint
halves of h = ⌊k/2⌋ trials (one trial is left out when k is odd), each half averaged, and the
measure taken between the two averages, r_half. Spearman–Brown corrects it to the full k
trials, a factor m = k/h more (m = 2 for even k):

    r_k = m·r_half / (1 + (m − 1)·r_half)

(``correction=None`` reports r_half; a non-positive r_half — e.g. a cross-validated R² below
0 — is left uncorrected: the correction assumes a positive reliability). The ceiling is the
mean of r_k over ``n_splits`` random splits; its interval is the percentile interval over
splits (the spread due to which trials fall in which half). The correction assumes a
correlation-like score in (−1, 1]; it is refused for distances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._array import check_pair
from ..measures.registry import Measure
from ..measures.registry import measure as get_measure
from ._engine import CHUNK_ELEMENTS
from .bootstrap import ConfidenceInterval

__all__ = ["NoiseCeilingResult", "noise_ceiling", "spearman_brown", "trial_array"]


@dataclass(frozen=True)
class NoiseCeilingResult:
    """``ceiling`` (mean corrected split-half score), ``confidence_interval`` (percentile
    over splits), ``split_scores`` (corrected, one per split), ``half_scores`` (raw r_half),
    ``n_trials`` used per condition, ``correction``, ``measure``."""

    ceiling: float
    confidence_interval: ConfidenceInterval
    split_scores: np.ndarray
    half_scores: np.ndarray
    n_trials: int
    correction: str | None
    measure: str


def spearman_brown(r: Any, factor: float = 2.0) -> Any:
    """Reliability of a ``factor``-times longer average: ``f·r / (1 + (f − 1)·r)``.

    >>> spearman_brown(0.5)
    0.6666666666666666
    """
    return factor * r / (1 + (factor - 1) * r)


def _from_dataset(ds: Any) -> np.ndarray:
    """``(trials, [time,] conditions, units)`` from a Dataset whose condition axis holds
    trials: conditions are the distinct label combinations; each keeps its first k trials,
    k = the smallest trial count (the order of the file)."""
    data = np.asarray(ds.data, dtype=np.float64)
    if not ds.labels:
        raise ValueError(f"{ds.name}: a Dataset needs labels to group its trials by condition.")
    keys = np.stack([np.asarray(v) for v in ds.labels.values()], axis=1)
    _, cond = np.unique(keys, axis=0, return_inverse=True)
    cond = cond.reshape(-1)
    counts = np.bincount(cond)
    k = int(counts.min())
    if k < 2:
        raise ValueError(f"{ds.name}: every condition needs at least 2 trials, one has {k}.")
    idx = np.stack([np.flatnonzero(cond == c)[:k] for c in range(counts.size)], axis=1)
    if data.ndim == 2:  # (samples, units) → (k, C, units)
        return data[idx]
    return np.moveaxis(data[:, idx, :], 1, 0)  # (time, k, C, units) → (k, time, C, units)


def trial_array(trials: Any) -> np.ndarray:
    """``(trials, conditions, units)`` or ``(trials, time, conditions, units)`` as float64,
    from an array, a list of equally shaped trial arrays, or a Dataset with a trial axis."""
    if hasattr(trials, "labels") and hasattr(trials, "data"):
        return _from_dataset(trials)
    if isinstance(trials, (list, tuple)):
        shapes = {tuple(np.shape(t)) for t in trials}
        if len(shapes) != 1:
            raise ValueError(f"trials must all have the same shape, got {sorted(shapes)}.")
        trials = np.stack([np.asarray(t, dtype=np.float64) for t in trials])
    if isinstance(trials, torch.Tensor):
        trials = trials.detach().cpu().numpy()
    arr = np.asarray(trials, dtype=np.float64)
    if arr.ndim not in (3, 4):
        raise ValueError(
            "trials must be (trials, conditions, units) or (trials, time, conditions, units), "
            f"got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("trials contain NaN or infinite values; clean or impute them.")
    return arr


def noise_ceiling(
    measure: Any,
    trials: Any,
    *,
    n_splits: int = 100,
    correction: str | None = "spearman-brown",
    seed: int = 0,
    n_trials: int | None = None,
    confidence_level: float = 0.95,
) -> NoiseCeilingResult:
    """Split-half noise ceiling of a trial-resolved recording under ``measure``.

    ``n_trials`` (default: all k) draws that many trials per condition for each split (to
    show how the ceiling grows with trials); the correction then targets ``n_trials``.

    >>> import numpy as np, simgrad as sg
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.normal(size=(20, 30))
    >>> trials = signal + rng.normal(size=(10, 20, 30))
    >>> 0.5 < sg.stats.noise_ceiling("cka", trials, n_splits=20).ceiling <= 1
    True
    """
    m = measure if isinstance(measure, Measure) else get_measure(measure)
    if correction not in ("spearman-brown", None):
        raise ValueError(f"correction must be 'spearman-brown' or None, got {correction!r}.")
    if correction and m.is_distance:
        raise ValueError(f"{m.name} is a distance; use correction=None for its split-half value.")
    arr = trial_array(trials)
    k_all = arr.shape[0]
    k = k_all if n_trials is None else int(n_trials)
    if not 2 <= k <= k_all or n_splits < 1:
        raise ValueError(
            f"noise_ceiling needs 2 ≤ n_trials ≤ {k_all} trials per condition and n_splits ≥ 1; "
            f"got n_trials={k}, n_splits={n_splits}."
        )
    rng = np.random.default_rng(seed)
    order = np.stack([rng.permutation(k_all)[:k] for _ in range(n_splits)])  # (S, k)
    h = k // 2
    a = arr[order[:, :h]].mean(1)  # (S, [time,] C, units)
    b = arr[order[:, h : 2 * h]].mean(1)
    per = int(np.prod(a.shape[1:]))
    chunk = max(1, CHUNK_ELEMENTS // (2 * per))
    half = []
    with torch.no_grad():
        for s in range(0, n_splits, chunk):
            pair = check_pair(a[s : s + chunk], b[s : s + chunk], batch_ndim=1)
            half.append(m.compute(pair).reshape(-1).double().numpy())
    r = np.concatenate(half)
    if not np.all(np.isfinite(r)):
        raise ValueError(f"{m.name} is not finite on some split halves.")
    full = np.where(r > 0, spearman_brown(r, k / h), r) if correction else r
    lo, hi = np.quantile(full, [(1 - confidence_level) / 2, (1 + confidence_level) / 2])
    return NoiseCeilingResult(
        float(full.mean()), ConfidenceInterval(float(lo), float(hi)), full, r, k, correction, m.name
    )
