"""How high a score gets by chance, and scores calibrated against that.

- :func:`chance_level`: the measure between a representation and *independent* Gaussian data
  of the same shape (or between two independent Gaussians of given shape), B draws evaluated
  as one batch. The main job's report places its optimized scores against this
  (``results/chance.csv``).
- :func:`null_calibrated`: the score minus the mean of its permutation null (or rescaled,
  ``(s − m)/(s_max − m)``), the correction Murphy, Zylberberg & Fyshe (2024) argue for:
  biased linear CKA of independent data tends to 1 as units outnumber samples, while the
  null-calibrated score stays near 0. The unbiased (Song) HSIC removes the bias in
  expectation; Lange's zero-diagonal estimator does not (its value on independent data rises
  with d; see ``docs/statistics.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._array import as_tensor
from ..measures.registry import Measure
from ..measures.registry import measure as get_measure
from ._engine import CHUNK_ELEMENTS
from .permutation import PermutationTestResult, permutation_test

__all__ = ["ChanceLevel", "NullCalibratedResult", "chance_level", "null_calibrated"]


@dataclass(frozen=True)
class NullCalibratedResult:
    """``statistic``: the calibrated score; ``raw``: the measure as given; ``null_mean``;
    ``pvalue`` and ``null_distribution`` from the permutation test; ``method``."""

    statistic: float
    raw: float
    null_mean: float
    pvalue: float
    null_distribution: np.ndarray
    method: str
    measure: str


def null_calibrated(
    measure: Any,
    X: Any,
    Y: Any,
    *,
    n_resamples: int = 1000,
    over: str = "conditions",
    seed: int = 0,
    method: str = "subtract",
    permutations: Any = None,
    dtype: torch.dtype | None = None,
    device: Any = None,
) -> NullCalibratedResult:
    """The score calibrated by its permutation null m = mean(null):

        subtract:  s − m                 rescale:  (s − m) / (s_max − m)

    with s_max the top of the card's range (for a distance: ``m − s`` and
    ``(m − s)/(m − d_min)``), so 0 is chance and (rescale) 1 the maximum.

    >>> import numpy as np, simgrad as sg
    >>> rng = np.random.default_rng(1)
    >>> X, Y = rng.normal(size=(40, 300)), rng.normal(size=(40, 300))
    >>> r = sg.stats.null_calibrated("cka", X, Y, n_resamples=99)
    >>> r.raw > 0.8, abs(r.statistic) < 0.05
    (True, True)
    """
    if method not in ("subtract", "rescale"):
        raise ValueError(f"method must be 'subtract' or 'rescale', got {method!r}.")
    res: PermutationTestResult = permutation_test(
        measure,
        X,
        Y,
        n_resamples=n_resamples,
        over=over,
        seed=seed,
        permutations=permutations,
        dtype=dtype,
        device=device,
        alternative="greater",
    )
    m = measure if isinstance(measure, Measure) else get_measure(measure)
    dist = m.is_distance
    lo, hi = m.card.range
    s, mu = res.statistic, res.null_mean
    value = (mu - s) if dist else (s - mu)
    if method == "rescale":
        span = (mu - lo) if dist else (hi - mu)
        value = value / span if np.isfinite(span) and span > 0 else float("nan")
    pval = res.pvalue
    if dist:
        from .permutation import pvalue

        pval = pvalue(s, res.null_distribution, "less", res.exact)
    return NullCalibratedResult(float(value), s, mu, pval, res.null_distribution, method, m.name)


@dataclass(frozen=True)
class ChanceLevel:
    """The measure's distribution between data and independent Gaussian data of the same
    shape: ``mean``, ``sd``, quantiles ``q95``/``q99`` (for a distance the low quantiles
    ``q05``/``q01`` are what chance reaches) and all ``scores``."""

    measure: str
    scores: np.ndarray
    mean: float
    sd: float
    q95: float
    q99: float
    q05: float
    q01: float
    shape: tuple[int, ...]


def _gaussian(shape: tuple[int, ...], b: int, gen: torch.Generator, like: torch.Tensor):
    return torch.randn((b, *shape), generator=gen, dtype=like.dtype).to(like.device)


def chance_level(
    measure: Any,
    X: Any,
    *,
    units: int | None = None,
    n_resamples: int = 100,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    device: Any = None,
) -> ChanceLevel:
    """Scores of ``measure(X, G_b)`` for ``n_resamples`` independent standard Gaussian G_b of
    X's shape (``units`` replaces the unit count). ``X`` may be a shape tuple instead: both
    sides are then independent Gaussians (the pure null at that n and d). Evaluated through
    the measure's batch dimension in chunks; cost ≈ one call on a batch of n_resamples.

    >>> import simgrad as sg
    >>> lvl = sg.stats.chance_level("cka", (50, 1000), n_resamples=20)
    >>> lvl.mean > 0.9
    True
    """
    m = measure if isinstance(measure, Measure) else get_measure(measure)
    gen = torch.Generator().manual_seed(int(seed))
    if isinstance(X, tuple) and all(isinstance(v, (int, np.integer)) for v in X):
        shape = tuple(int(v) for v in X)
        x = None
        like = torch.empty(0, dtype=dtype or torch.float64, device=device)
    else:
        x = as_tensor(X, "X", dtype=dtype, device=device)
        shape, like = tuple(x.shape), x
    if len(shape) not in (2, 3) or n_resamples < 2:
        raise ValueError(
            f"chance_level needs 2-D or 3-D data and n_resamples ≥ 2; got {shape}, {n_resamples}."
        )
    y_shape = shape[:-1] + (units or shape[-1],)
    rows = int(np.prod(shape[:-1]))
    chunk = max(1, CHUNK_ELEMENTS // (rows * (shape[-1] + y_shape[-1])))
    out = []
    with torch.no_grad():
        for s in range(0, n_resamples, chunk):
            b = min(chunk, n_resamples - s)
            g = _gaussian(y_shape, b, gen, like)
            xs = _gaussian(shape, b, gen, like) if x is None else x
            out.append(m(xs, g, batch_ndim=1).reshape(-1).double().cpu().numpy())
    sc = np.concatenate(out)
    q = np.quantile(sc, [0.01, 0.05, 0.95, 0.99])
    return ChanceLevel(
        m.name, sc, float(sc.mean()), float(sc.std(ddof=1)), *map(float, q[[2, 3, 1, 0]]), shape
    )
