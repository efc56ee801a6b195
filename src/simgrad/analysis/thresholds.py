"""First-crossing thresholds along a trajectory (never the last score: a pitfall of the
original code).

A curve ``values[j]`` is recorded at scores ``scores[j]`` (iteration order). The threshold
score of a ``target`` is read at the **first** recorded iterate whose value reaches it,
interpolated linearly between that iterate and the previous one; a target that is never
reached gives ``None`` — never the last score.

>>> first_crossing([0.1, 0.5, 0.9], [0.0, 0.4, 0.8], 0.6)
0.7
>>> first_crossing([0.1, 0.5, 0.9], [0.0, 0.4, 0.8], 0.95) is None
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["first_crossing", "first_crossings"]


def _vec(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one entry per recorded iterate), got {arr.shape}.")
    return arr


def first_crossing(scores: Any, values: Any, target: float) -> float | None:
    """Score at which ``values`` first reaches ``target`` (``values[j] >= target``).

    With ``j`` the first such index: ``scores[0]`` if ``j == 0``; otherwise the linear
    interpolation between iterates ``j − 1`` and ``j``. ``None`` when never reached.
    """
    s, v = _vec(scores, "scores"), _vec(values, "values")
    if s.shape != v.shape:
        raise ValueError(f"scores and values must have the same length, got {s.size} and {v.size}.")
    if s.size == 0:
        raise ValueError("scores is empty.")
    t = float(target)
    if not math.isfinite(t):
        raise ValueError(f"target must be finite, got {target!r}.")
    hit = np.flatnonzero(v >= t)
    if hit.size == 0:
        return None
    j = int(hit[0])
    if j == 0:
        return float(s[0])
    v0, v1 = v[j - 1], v[j]
    frac = (t - v0) / (v1 - v0) if v1 != v0 else 1.0
    return float(s[j - 1] + frac * (s[j] - s[j - 1]))


def first_crossings(scores: Any, values: Any, targets: Any) -> list[float | None]:
    """:func:`first_crossing` for every column: ``values`` ``(k, m)``, ``targets`` ``(m,)``."""
    v = np.asarray(values, dtype=np.float64)
    tg = np.asarray(targets, dtype=np.float64)
    if v.ndim != 2 or tg.ndim != 1 or v.shape[1] != tg.size:
        raise ValueError(f"values must be (k, m) and targets (m,), got {v.shape} and {tg.shape}.")
    return [first_crossing(scores, v[:, i], tg[i]) for i in range(tg.size)]
