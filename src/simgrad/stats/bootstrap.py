"""``sg.stats.bootstrap``: confidence intervals by resampling conditions with replacement.

Follows ``scipy.stats.bootstrap`` (Efron & Tibshirani 1993, ch. 14): the percentile interval
is the (α, 1 − α) quantiles of the bootstrap distribution θ*_b, α = (1 − level)/2; BCa moves
them to

    α₁ = Φ(z₀ + (z₀ + z_α)/(1 − â(z₀ + z_α))),   α₂ = Φ(z₀ + (z₀ + z₁₋α)/(1 − â(z₀ + z₁₋α)))

with z₀ = Φ⁻¹((#{θ* < θ̂} + #{θ* ≤ θ̂})/(2B)) and the acceleration â = Σ U³ / (6 (Σ U²)^{3/2}),
U_i = (C − 1)(θ̄₍.₎ − θ₍ᵢ₎) from the leave-one-condition-out jackknife.

Duplicated conditions: a resample holds some conditions more than once. Plug-in measures
(CKA, CCA, Procrustes, in-sample regression, RSA, …) simply weight them more. A
cross-validated measure would see a duplicate on both sides of a split and score its own
copy; the families' ``resample`` hooks keep all copies of a condition in the fold of the
original condition (regression), and a cross-validated measure without such a hook is refused.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.special import ndtr, ndtri

from ._engine import _hook, evaluate, observed
from ._resample import bootstrap_plan, condition_rows, jackknife_plan, prepare

__all__ = ["BootstrapResult", "ConfidenceInterval", "bootstrap", "interval"]

METHODS = ("BCa", "percentile")


@dataclass(frozen=True)
class ConfidenceInterval:
    low: float
    high: float


@dataclass(frozen=True)
class BootstrapResult:
    """As ``scipy.stats.BootstrapResult`` (``confidence_interval``, ``bootstrap_distribution``,
    ``standard_error`` = the ddof-1 standard deviation of the distribution), plus the
    ``statistic`` on the data as given and the ``(B, C)`` ``resamples`` used."""

    confidence_interval: ConfidenceInterval
    bootstrap_distribution: np.ndarray
    standard_error: float
    statistic: float
    resamples: np.ndarray
    method: str
    confidence_level: float
    measure: str


def interval(
    theta_b: np.ndarray,
    theta_hat: float,
    level: float,
    method: str,
    jackknife: np.ndarray | None = None,
) -> ConfidenceInterval:
    """The two-sided percentile or BCa interval from a bootstrap distribution (and, for BCa,
    the leave-one-out values ``jackknife``), exactly as ``scipy.stats.bootstrap``.

    >>> ci = interval(np.arange(101.0), 50.0, 0.9, "percentile")
    >>> round(ci.low, 9), round(ci.high, 9)
    (5.0, 95.0)
    """
    alpha = (1 - level) / 2
    if method == "percentile":
        lo, hi = alpha, 1 - alpha
    else:
        assert jackknife is not None
        b = theta_b.shape[0]
        pct = (np.count_nonzero(theta_b < theta_hat) + np.count_nonzero(theta_b <= theta_hat)) / (
            2 * b
        )
        z0 = ndtri(pct)
        n_j = float(jackknife.shape[0])
        u = (n_j - 1) * (jackknife.mean() - jackknife)
        a_hat = 1 / 6 * (np.sum(u**3) / n_j**3) / (np.sum(u**2) / n_j**2) ** 1.5
        z_a = float(ndtri(alpha))
        n1, n2 = z0 + z_a, z0 - z_a
        with np.errstate(invalid="ignore", divide="ignore"):
            lo, hi = ndtr(z0 + n1 / (1 - a_hat * n1)), ndtr(z0 + n2 / (1 - a_hat * n2))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            warnings.warn(
                "The BCa interval cannot be calculated (a degenerate bootstrap or jackknife "
                "distribution, e.g. a saturated score); use method='percentile'.",
                RuntimeWarning,
                stacklevel=3,
            )
            return ConfidenceInterval(float("nan"), float("nan"))
    q = np.quantile(theta_b, [lo, hi])
    return ConfidenceInterval(float(q[0]), float(q[1]))


def _check(method: str, level: float) -> str:
    canon = {m.lower(): m for m in METHODS}.get(str(method).lower())
    if canon is None:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}.")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ValueError(f"confidence_level must lie strictly between 0 and 1, got {level!r}.")
    return canon


def bootstrap(
    measure: Any,
    X: Any,
    Y: Any,
    *,
    n_resamples: int = 1000,
    over: str = "conditions",
    method: str = "BCa",
    confidence_level: float = 0.95,
    seed: int = 0,
    resamples: Any = None,
    dtype: torch.dtype | None = None,
    device: Any = None,
) -> BootstrapResult:
    """Bootstrap interval of ``measure(X, Y)``, conditions resampled with replacement (the
    same conditions in X and Y; whole conditions across time for 3-D data).

    ``resamples`` (``(B, C)`` integer condition indices) replaces the seeded draws.

    >>> import numpy as np, simgrad as sg
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 5)); Y = X + rng.normal(size=(40, 5))
    >>> ci = sg.stats.bootstrap("cka", X, Y, n_resamples=200).confidence_interval
    >>> ci.low < sg.score("cka", X, Y) < ci.high
    True
    """
    method = _check(method, confidence_level)
    prep = prepare(measure, X, Y, over=over, dtype=dtype, device=device, what="a bootstrap")
    card = prep.measure.card
    if "cross-validated" in card.estimator and _hook(prep) is None:
        raise ValueError(
            f"{prep.measure.name} is cross-validated and its family has no resample hook that "
            "keeps duplicated conditions on one side of each split; a plain bootstrap would "
            "score conditions against their own copies."
        )
    idx = bootstrap_plan(prep.conditions, n_resamples, seed, resamples)
    stat = observed(prep)
    rows = condition_rows(idx, prep.n_time, prep.conditions)
    theta_b = evaluate(prep, rows, rows, what="bootstrap resample")
    jack = None
    if method == "BCa":
        jr = condition_rows(jackknife_plan(prep.conditions), prep.n_time, prep.conditions)
        jack = evaluate(prep, jr, jr, what="jackknife sample")
    return BootstrapResult(
        confidence_interval=interval(theta_b, stat, confidence_level, method, jack),
        bootstrap_distribution=theta_b,
        standard_error=float(np.std(theta_b, ddof=1)) if theta_b.size > 1 else float("nan"),
        statistic=stat,
        resamples=idx,
        method=method,
        confidence_level=float(confidence_level),
        measure=prep.measure.name,
    )
