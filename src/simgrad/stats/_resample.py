"""Resampling plans: which conditions move, and how condition indices become row indices.

Everything in ``sg.stats`` resamples *conditions* (stimuli). For ``(samples, units)`` data
each row is a condition; for ``(time, conditions, units)`` data (flattened time-major, row
``t*C + c``) a condition owns rows ``c, c + C, …`` and moves as a whole across time, so no
time point of one condition is ever paired with another condition's (that would leak the
temporal structure into the null).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._array import check_pair
from ..measures.registry import Measure, lookup, measure

__all__ = [
    "OVER",
    "Prepared",
    "bootstrap_plan",
    "condition_rows",
    "permutation_plan",
    "prepare",
]

#: what may be resampled; ``(samples, units)`` rows are conditions (stimuli)
OVER = ("conditions",)
MIN_CONDITIONS = 3


@dataclass(frozen=True)
class Prepared:
    """A validated pair for resampling: flattened tensors, the measure and the layout."""

    measure: Measure
    x: torch.Tensor
    y: torch.Tensor
    n_conditions: int | None  # as the measure expects it (None for 2-D input)
    conditions: int  # C: the number of resampling units
    n_time: int  # T (1 for 2-D input)


def prepare(
    name: Any,
    X: Any,
    Y: Any,
    *,
    over: str,
    dtype: torch.dtype | None = None,
    device: Any = None,
    what: str = "resampling",
) -> Prepared:
    """Validate ``over``, the measure and the pair before any work."""
    if over not in OVER:
        raise ValueError(
            f"over={over!r} is not known; use one of {list(OVER)} (rows of (samples, units) "
            "data are conditions; (time, conditions, units) data move whole conditions)."
        )
    m = name if isinstance(name, Measure) else measure(name)
    pair = check_pair(X, Y, dtype=dtype, device=device)
    n = pair.X.shape[-2]
    c = pair.n_conditions if pair.n_conditions is not None else n
    if c < MIN_CONDITIONS:
        raise ValueError(
            f"{what} needs at least {MIN_CONDITIONS} conditions to move, got {c}; "
            "a null or an interval over fewer conditions is meaningless."
        )
    # the call path's scale guard, as sg.score applies it: a scale-free measure sees data
    # rescaled by a power of two (exact), another refuses magnitudes it cannot compute at
    x, y = pair.X, pair.Y
    if not pair.plain_scale:
        x = m._guard_scale(x, pair.x_scale, "X")
        y = m._guard_scale(y, pair.y_scale, "Y")
    return Prepared(m, x, y, pair.n_conditions, c, n // c)


def condition_rows(idx: np.ndarray, n_time: int, stride: int) -> torch.Tensor:
    """``(B, K)`` condition indices → ``(B, T*K)`` row indices (row ``t*stride + idx[k]``,
    ``stride`` = the original condition count), time-major like the input."""
    idx = np.asarray(idx, dtype=np.int64)
    rows = (np.arange(n_time)[:, None] * stride + idx[:, None, :]).reshape(idx.shape[0], -1)
    return torch.as_tensor(rows)


def _as_index(arr: Any, c: int, name: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != c or a.shape[0] == 0:
        raise ValueError(
            f"{name} must be an integer array of shape (n, {c}) (one row per resample, one "
            f"entry per condition), got shape {a.shape}."
        )
    if a.dtype.kind not in "iu":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise ValueError(f"{name} must hold integer condition indices.")
        a = a.astype(np.int64)
    if a.min() < 0 or a.max() >= c:
        raise ValueError(f"{name} must index conditions 0..{c - 1}, got {a.min()}..{a.max()}.")
    return a.astype(np.int64)


def permutation_plan(
    c: int, n_resamples: int, seed: int, permutations: Any = None
) -> tuple[np.ndarray, bool]:
    """``(perms (B, C), exact)``. With ``C!`` ≤ ``n_resamples`` every permutation is listed
    (the identity included) and the test is exact, as ``scipy.stats.permutation_test``;
    otherwise ``n_resamples`` seeded draws (the stream scipy draws with the same seed)."""
    if permutations is not None:
        p = _as_index(permutations, c, "permutations")
        if not np.array_equal(np.sort(p, axis=1), np.broadcast_to(np.arange(c), p.shape)):
            raise ValueError("every row of permutations must be a permutation of 0..C-1.")
        return p, False
    _check_count(n_resamples, "n_resamples")
    if c <= 12 and math.factorial(c) <= n_resamples:
        return np.array(list(itertools.permutations(range(c))), dtype=np.int64), True
    rng = np.random.default_rng(seed)
    return rng.permuted(np.tile(np.arange(c), (n_resamples, 1, 1)), axis=-1)[:, 0, :], False


def bootstrap_plan(c: int, n_resamples: int, seed: int, resamples: Any = None) -> np.ndarray:
    """``(B, C)`` condition indices drawn with replacement (scipy's draws for the seed)."""
    if resamples is not None:
        return _as_index(resamples, c, "resamples")
    _check_count(n_resamples, "n_resamples")
    return np.random.default_rng(seed).integers(0, c, (n_resamples, c))


def jackknife_plan(c: int) -> np.ndarray:
    """``(C, C−1)``: leave-one-condition-out index sets (for the BCa acceleration)."""
    keep = ~np.eye(c, dtype=bool)
    return np.broadcast_to(np.arange(c), (c, c))[keep].reshape(c, c - 1)


def _check_count(n: Any, name: str) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}.")


def template_of(m: Measure):
    """The template and parameter values of a measure (for the family hooks)."""
    tpl, values, _ = lookup(m.name)
    return tpl, values
