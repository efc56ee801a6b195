"""Statistics for every measure: permutation nulls, bootstrap intervals, noise ceilings and
scores calibrated against chance (``sg.stats``).

Results mirror scipy's (``scipy.stats.permutation_test``, ``scipy.stats.bootstrap``): with
the same permutations or resamples passed explicitly the p-values and intervals are equal.
Resampling moves whole *conditions*: rows of ``(samples, units)`` data, and every time point
of a condition together for ``(time, conditions, units)`` data. Families with structure
(linear CKA, Procrustes, regression) evaluate resamples through a ``resample`` hook; all
others through one batched call per chunk of resamples. See ``docs/statistics.md``.

>>> import numpy as np, simgrad as sg
>>> rng = np.random.default_rng(0)
>>> X, Y = rng.normal(size=(50, 500)), rng.normal(size=(50, 500))
>>> round(sg.score("cka", X, Y), 2)            # biased CKA of independent data: far from 0
0.91
>>> abs(sg.stats.null_calibrated("cka", X, Y, n_resamples=99).statistic) < 0.1
True
"""

from .bootstrap import BootstrapResult, ConfidenceInterval, bootstrap
from .ceiling import NoiseCeilingResult, noise_ceiling, spearman_brown
from .chance import ChanceLevel, NullCalibratedResult, chance_level, null_calibrated
from .permutation import PermutationTestResult, permutation_test
from .summary import score_statistics

__all__ = [
    "BootstrapResult",
    "ChanceLevel",
    "ConfidenceInterval",
    "NoiseCeilingResult",
    "NullCalibratedResult",
    "PermutationTestResult",
    "bootstrap",
    "chance_level",
    "noise_ceiling",
    "null_calibrated",
    "permutation_test",
    "score_statistics",
    "spearman_brown",
]
