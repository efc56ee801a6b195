"""``sg.stats.permutation_test``: a measure's null distribution under shuffled pairings.

The conditions of Y are permuted relative to X (whole conditions across time for
``(time, conditions, units)`` data) and the measure recomputed; the p-value follows
``scipy.stats.permutation_test``: for ``alternative="greater"``

    p = (#{null ≥ observed − γ} + 1) / (B + 1),      γ = 100·eps·|observed|

(the +1 counts the observed pairing as one member of the null; an exact test over all C!
permutations drops it, and γ absorbs round-off between theoretically equal values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._engine import evaluate, observed
from ._resample import condition_rows, permutation_plan, prepare

__all__ = ["PermutationTestResult", "permutation_test", "pvalue"]

ALTERNATIVES = ("greater", "less", "two-sided")


@dataclass(frozen=True)
class PermutationTestResult:
    """As ``scipy.stats.PermutationTestResult``, plus what was run.

    ``statistic``: the measure on the data as given; ``pvalue``; ``null_distribution``
    ``(B,)``; ``exact``: every distinct permutation was evaluated (no +1 correction);
    ``permutations``: the ``(B, C)`` condition permutations applied to Y.
    """

    statistic: float
    pvalue: float
    null_distribution: np.ndarray
    exact: bool
    permutations: np.ndarray
    measure: str
    alternative: str

    @property
    def null_mean(self) -> float:
        return float(np.mean(self.null_distribution))


def pvalue(observed: float, null: np.ndarray, alternative: str, exact: bool = False) -> float:
    """scipy's p-value of ``observed`` against ``null`` (see the module docstring).

    >>> pvalue(1.0, np.array([0.0, 0.5, 2.0]), "greater")
    0.5
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {list(ALTERNATIVES)}, got {alternative!r}.")
    adj = 0 if exact else 1
    gamma = abs(np.finfo(np.float64).eps * 100 * observed)
    b = null.shape[0]

    def less() -> float:
        return (np.count_nonzero(null <= observed + gamma) + adj) / (b + adj)

    def greater() -> float:
        return (np.count_nonzero(null >= observed - gamma) + adj) / (b + adj)

    p = {"less": less, "greater": greater}.get(alternative)
    value = p() if p is not None else 2 * min(less(), greater())
    return float(np.clip(value, 0.0, 1.0))


def permutation_test(
    measure: Any,
    X: Any,
    Y: Any,
    *,
    n_resamples: int = 1000,
    over: str = "conditions",
    seed: int = 0,
    alternative: str = "greater",
    permutations: Any = None,
    dtype: torch.dtype | None = None,
    device: Any = None,
) -> PermutationTestResult:
    """Permutation test of ``measure(X, Y)`` against pairings shuffled over conditions.

    ``measure`` is a name (any registered measure) or a :class:`~simgrad.Measure`; X, Y are
    ``(samples, units)`` or ``(time, conditions, units)``, numpy or torch (CPU or GPU: pass
    ``device``). ``permutations`` (``(B, C)`` integer rows, each a permutation of the
    conditions) replaces the seeded draws; with ``C! ≤ n_resamples`` every permutation is
    evaluated and the test is exact (``result.exact``). For a distance (``alternative`` is
    about the measure's own value) pass ``alternative="less"``.

    >>> import numpy as np, simgrad as sg
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 5)); Y = X @ rng.normal(size=(5, 4))
    >>> res = sg.stats.permutation_test("cka", X, Y, n_resamples=99)
    >>> res.pvalue
    0.01
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {list(ALTERNATIVES)}, got {alternative!r}.")
    prep = prepare(measure, X, Y, over=over, dtype=dtype, device=device, what="a permutation test")
    perms, exact = permutation_plan(prep.conditions, n_resamples, seed, permutations)
    stat = observed(prep)
    rows = condition_rows(perms, prep.n_time, prep.conditions)
    null = evaluate(prep, None, rows, what="permutation")
    return PermutationTestResult(
        statistic=stat,
        pvalue=pvalue(stat, null, alternative, exact),
        null_distribution=null,
        exact=exact,
        permutations=perms,
        measure=prep.measure.name,
        alternative=alternative,
    )
