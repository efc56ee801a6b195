"""One measure's statistics in one call, shared by ``sg.compare(stats=...)`` and ``simgrad
compare --permutations/--bootstrap/--ceiling-trials``: the permutation p-value (the tail a
measure's form calls "more similar": ``greater`` for a score, ``less`` for a distance), the
bootstrap interval (BCa, or the percentile interval of the same resamples where BCa is
degenerate, e.g. a saturated score: ``ci_method`` says which) and the noise ceiling of
trial-resolved reference data."""

from __future__ import annotations

import math
import warnings
from typing import Any

from ..measures import measure as get_measure
from .bootstrap import bootstrap, interval
from .ceiling import noise_ceiling
from .permutation import permutation_test

__all__ = ["score_statistics"]


def score_statistics(
    name: str,
    X: Any,
    Y: Any,
    *,
    permutations: int = 0,
    resamples: int = 0,
    seed: int = 0,
    trials: Any = None,
) -> dict[str, Any]:
    """``pvalue``, ``null_mean`` (with ``permutations``), ``ci_low``, ``ci_high``,
    ``ci_method`` (with ``resamples``) and ``ceiling``, ``ceiling_low``, ``ceiling_high``
    (with ``trials``: ``(trials, [time,] conditions, units)`` of the reference; scores only)
    of measure ``name`` between ``X`` and ``Y``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 5)); Y = X @ rng.normal(size=(5, 4))
    >>> s = score_statistics("cka", X, Y, permutations=99, resamples=99)
    >>> s["pvalue"] <= 0.01 and s["ci_low"] <= s["ci_high"]
    True
    """
    for what, n in (("permutations", permutations), ("resamples", resamples)):
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"{what} must be a non-negative integer count, got {n!r}.")
    distance = get_measure(name).is_distance
    out: dict[str, Any] = {}
    if permutations:
        alt = "less" if distance else "greater"
        res = permutation_test(name, X, Y, n_resamples=permutations, seed=seed, alternative=alt)
        out.update(pvalue=res.pvalue, null_mean=res.null_mean)
    if resamples:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # BCa degenerate: handled below
            b = bootstrap(name, X, Y, n_resamples=resamples, seed=seed)
        ci, method = b.confidence_interval, "BCa"
        if not (math.isfinite(ci.low) and math.isfinite(ci.high)):
            ci = interval(b.bootstrap_distribution, b.statistic, 0.95, "percentile")
            method = "percentile"
        out.update(ci_low=ci.low, ci_high=ci.high, ci_method=method)
    if trials is not None and not distance:
        c = noise_ceiling(name, trials, seed=seed)
        out.update(
            ceiling=c.ceiling,
            ceiling_low=c.confidence_interval.low,
            ceiling_high=c.confidence_interval.high,
        )
    return out
