"""VERSA (NeuroAIMetrics, Soni et al. 2024): RSA of cross-validated ridge predictions.

With X the reference (the target) and Y the candidate (the predictor), on each of 5 folds:

1. standardize the units of Y on the training samples (z-scores, constant units set to 0)
   and, as NeuroAIMetrics does, the held-out samples by their own means and deviations;
2. fit ridge regression with an unpenalized intercept, choosing λ from
   logspace(−8, 8, 17) by the exact leave-one-out squared error averaged over all units
   (sklearn ``RidgeCV`` with its default efficient LOO, one λ for all targets);
3. predict the held-out X; form the RDMs 1 − corr(row_i, row_j) of the prediction and of the
   held-out X (correlation over units) and compare their upper triangles by Kendall's τ_b
   (scipy ``kendalltau``).

The score is the mean τ_b over folds. Folds follow our rule (whole conditions for
``(time, conditions, units)`` input, seeded shuffled samples otherwise); NeuroAIMetrics uses
sklearn ``KFold(5, shuffle=True, random_state=42)``. Not differentiable (ranks, λ choice).

>>> import torch
>>> Y = torch.randn(60, 4, dtype=torch.float64)
>>> X = Y @ torch.randn(4, 3, dtype=torch.float64)
>>> -1.0 <= float(versa(X, Y)) <= 1.0
True
"""

from __future__ import annotations

import torch

from .linalg import center
from .plain import card_fields, register_plain
from .ranks import kendall_tau
from .registry import describe
from .regression import cv_folds
from .ridge_cv import loo_errors

__all__ = ["loo_ridge", "versa"]

ALPHAS = tuple(10.0**e for e in range(-8, 9))


def _standardize(a: torch.Tensor) -> torch.Tensor:
    sd = a.std(-2, unbiased=False, keepdim=True)
    ok = sd > 0
    return torch.where(ok, center(a) / torch.where(ok, sd, torch.ones_like(sd)), 0 * a)


def loo_ridge(a: torch.Tensor, b: torch.Tensor, alphas=ALPHAS):
    """Ridge of ``b`` on ``a`` (…, m, ·) with an intercept and λ chosen by exact leave-one-out
    error (mean over samples and targets): returns (λ index, coefficients, intercept)."""
    errs, (_, s, vh, utb) = loo_errors(a, b, alphas)
    s2 = s * s
    fits = [vh.transpose(-1, -2) @ ((s / (s2 + lam)).unsqueeze(-1) * utb) for lam in alphas]
    best = errs.argmin(-1)
    coef = torch.stack(fits, -3)
    idx = best[..., None, None, None].expand(*coef.shape[:-3], 1, *coef.shape[-2:])
    return (
        best,
        coef.gather(-3, idx).squeeze(-3),
        b.mean(-2, keepdim=True) - a.mean(-2, keepdim=True) @ coef.gather(-3, idx).squeeze(-3),
    )


def _upper_rdm(a: torch.Tensor) -> torch.Tensor:
    r = _standardize(a.transpose(-1, -2)).transpose(-1, -2)  # rows standardized over units
    corr = r @ r.transpose(-1, -2) / a.shape[-1]
    i, j = torch.triu_indices(a.shape[-2], a.shape[-2], 1)
    return (1 - corr)[..., i, j]


def versa(x: torch.Tensor, y: torch.Tensor, n_conditions: int | None = None) -> torch.Tensor:
    """Mean over 5 folds of Kendall's τ_b between the RDMs of the ridge prediction of X from Y
    and of X, on held-out samples."""
    n = x.shape[-2]
    folds = cv_folds(n, 5, "samples", n_conditions)
    smallest = min(len(test) for test in folds)
    if smallest < 3:
        raise ValueError(
            f"versa needs at least 3 held-out samples in each of its 5 folds (Kendall's τ_b of "
            f"their RDMs' pairs), got a fold of {smallest} from {n} samples; use at least 15."
        )
    with torch.no_grad():
        taus = []
        for test in folds:
            train = torch.ones(n, dtype=torch.bool)
            train[test] = False
            _, coef, icpt = loo_ridge(_standardize(y[..., train, :]), x[..., train, :])
            pred = _standardize(y[..., test, :]) @ coef + icpt
            taus.append(kendall_tau(_upper_rdm(pred), _upper_rdm(x[..., test, :]), "b"))
        return torch.stack(taus, -1).mean(-1)


register_plain(
    "versa",
    versa,
    lambda values: card_fields(
        form="score",
        what="Kendall's τ_b between the RDMs (1 − Pearson r over units) of the held-out "
        "reference and of its ridge prediction from the candidate (λ by leave-one-out), "
        "averaged over 5 folds; not differentiable (ranks and the λ choice)",
        formula="mean_folds τ_b(RDM(X_test), RDM(Ŷ_test)), Ŷ = ridge_λ*(z(Y) → X), "
        "λ* = argmin LOO error over logspace(−8, 8, 17)",
        rng=(-1.0, 1.0),
        refs=(
            "Soni et al. 2024, Conclusions about neural network to brain alignment are "
            "profoundly impacted by the similarity measure (bioRxiv); "
            "github.com/anshksoni/NeuroAIMetrics (VERSA)",
        ),
        symmetric=False,
        differentiable=False,
        invariances=("permutation", "isotropic_scaling", "translation"),
        estimator="5-fold cross-validated (whole conditions for 3-D input); λ by exact "
        "leave-one-out within each training fold",
        cost="O(5·(n·p² + 17·n·(p+q)) + 5·m² log² m) (SVD, 17 λ, Kendall τ on m held-out samples)",
    ),
    conditions=True,
)
describe(
    "versa",
    "VERSA (NeuroAIMetrics): representational similarity analysis of cross-validated "
    "encoding-model predictions; the candidate predicts the reference by ridge regression and "
    "the held-out RDMs of prediction and reference are compared by Kendall's τ_b.",
)
