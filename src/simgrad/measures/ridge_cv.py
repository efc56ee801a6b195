"""Ridge encoding scores with the penalty chosen inside each training fold, and kernel ridge.

``ridge-pearsonr-cv=Kfolds`` (neuroaimetrics' ``LinearPredictivity``): K outer folds (the
fold rules of :func:`simgrad.measures.regression.cv_folds`); in each training fold the
penalty λ is chosen from ``logspace(-8, 8, 17)`` by leave-one-out error, as scikit-learn's
``RidgeCV`` (efficient LOO with an unpenalized intercept: hat matrix
H = 11ᵀ/n + Ỹ(ỸᵀỸ + λI)⁻¹Ỹᵀ, LOO residual eᵢ/(1 − Hᵢᵢ), mean squared over all targets),
then the ridge fit with that λ predicts the held-out fold, scored by the pooled Pearson r of
:mod:`simgrad.measures.regression`. ``-reverse`` predicts Y from X instead (neuroaimetrics'
``reverseLinearPredictivity``). The λ choice is piecewise constant (no gradient); the score
is differentiable given λ.

``kernel_ridge-lambda=L-r2`` (brain_language_nlp's ``kernel_ridge``): the dual ridge
solution with the linear kernel K = ỸỸᵀ, X̂ = K(K + λI)⁻¹X̃, in-sample pooled R². It equals
``ridge-lambda=L-r2`` (the primal) and scikit-learn's ``KernelRidge(alpha=L,
kernel="linear")`` on centred data; its cost is O(n³) instead of O(n·q² + q³).

>>> import torch
>>> Y = torch.randn(60, 4, dtype=torch.float64)
>>> X = Y @ torch.randn(4, 3, dtype=torch.float64)
>>> round(float(ridgecv_score(X, Y, folds=5)), 6)
1.0
"""

from __future__ import annotations

import numpy as np
import torch

from .linalg import center
from .registry import Param, Template, describe, register
from .regression import CV, LAMBDA, _agg, cv_folds, ridge_coefficients

__all__ = ["RIDGECV_ALPHAS", "kernel_ridge_score", "loo_lambda", "ridgecv_score"]

RIDGECV_ALPHAS = tuple(float(a) for a in np.logspace(-8, 8, 17))


def loo_errors(a: torch.Tensor, b: torch.Tensor, alphas, floor: float | None = None):
    """Exact leave-one-out mean squared errors of ridge regressions of ``b`` on ``a``
    (``(..., m, ·)``, intercept unpenalized, as scikit-learn's ``RidgeCV``), one per λ:
    with Ã = USVᵀ and f = s²/(s² + λ), the hat diagonal hᵢ = 1/m + Σ_k u²_ik f_k, the
    residual e = B̃ − U diag(f) UᵀB̃ and the error mean((eᵢ/(1 − hᵢ))²) over samples and
    targets; ``1 − h`` is clamped at ``floor`` when given. Returns ``(errors (..., len(alphas)),
    (U, s, Vᵀ, UᵀB̃))`` (the SVD serves the fits)."""
    m = a.shape[-2]
    u, s, vh = torch.linalg.svd(center(a), full_matrices=False)
    bc = center(b)
    s2 = s * s
    utb = u.transpose(-1, -2) @ bc
    errs = []
    for lam in alphas:
        f = s2 / (s2 + lam)
        hat_diag = 1 / m + (u * u * f.unsqueeze(-2)).sum(-1)
        resid = bc - u @ (f.unsqueeze(-1) * utb)
        den = 1 - hat_diag if floor is None else (1 - hat_diag).clamp_min(floor)
        errs.append(((resid / den.unsqueeze(-1)) ** 2).mean((-2, -1)))
    return torch.stack(errs, -1), (u, s, vh, utb)


def loo_lambda(x: torch.Tensor, y: torch.Tensor, alphas=RIDGECV_ALPHAS) -> float:
    """The λ of ``alphas`` with the least leave-one-out squared error of predicting ``x``
    from ``y`` (one pair, 2-D; intercept unpenalized, as scikit-learn's ``RidgeCV``; the
    first such λ on ties; ``1 − hᵢ`` clamped at 1e-12)."""
    with torch.no_grad():
        errs, _ = loo_errors(y, x, alphas, floor=1e-12)
    return alphas[int(errs.argmin())]


def ridgecv_score(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    folds: int = 5,
    scheme: str = "conditions",
    n_conditions: int | None = None,
    agg: str = "pearsonr",
) -> torch.Tensor:
    """Outer K-fold score of ridge with λ chosen by LOO on each training fold."""
    n = x.shape[-2]
    if x.ndim > 2:
        flat = [
            ridgecv_score(a, b, folds=folds, scheme=scheme, n_conditions=n_conditions, agg=agg)
            for a, b in zip(x.reshape(-1, *x.shape[-2:]), y.reshape(-1, *y.shape[-2:]))
        ]
        return torch.stack(flat).reshape(x.shape[:-2])
    scores = []
    for test in cv_folds(n, folds, scheme, n_conditions):
        mask = torch.ones(n, dtype=torch.bool)
        mask[test] = False
        train = torch.nonzero(mask).squeeze(-1)
        x_tr, y_tr = x[train], y[train]
        mx, my = x_tr.mean(-2, keepdim=True), y_tr.mean(-2, keepdim=True)
        lam = loo_lambda(x_tr, y_tr)
        b = ridge_coefficients(x_tr - mx, y_tr - my, lam)
        scores.append(_agg(x[test] - mx, (y[test] - my) @ b, agg))
    return torch.stack(scores, -1).mean(-1)


def kernel_ridge_score(x: torch.Tensor, y: torch.Tensor, lam: float, agg: str = "r2"):
    """In-sample score of linear-kernel ridge in the dual: X̂ = K(K + λI)⁻¹X̃, K = ỸỸᵀ."""
    xc, yc = center(x), center(y)
    k = yc @ yc.transpose(-1, -2)
    eye = torch.eye(k.shape[-1], dtype=k.dtype, device=k.device)
    x_hat = k @ torch.linalg.solve(k + lam * eye, xc)
    return _agg(xc, x_hat, agg)


_REFS = (
    "Schrimpf et al. 2018 (Brain-Score); neuroaimetrics LinearPredictivity (RidgeCV)",
    "scikit-learn RidgeCV (efficient leave-one-out)",
)


def _ridgecv_card(values: dict, reverse: bool) -> dict:
    k = values["cv"][0]
    who = "Y from X" if reverse else "X from Y"
    return dict(
        family="ridge",
        form="score",
        description=f"{k}-fold cross-validated Pearson r of ridge regression predicting {who}, "
        "λ chosen per training fold by leave-one-out among logspace(−8, 8, 17) (RidgeCV)"
        + (" (reverse direction)" if reverse else ""),
        formula="⟨X̃_te, Ỹ_te B_λ⟩ / (‖X̃_te‖‖Ỹ_te B_λ‖), λ = argmin LOO error (training fold)"
        + (", X and Y swapped" if reverse else ""),
        range=(-1.0, 1.0),
        metric=False,
        symmetric=False,
        differentiable=True,
        # λ is picked from a fixed grid, so scaling the predictor moves the choice; scaling
        # only the target would not, but a claim must hold for both inputs (the call path
        # rescales each input at extreme magnitudes)
        invariances=("permutation", "orthogonal", "translation"),
        estimator="cross-validated (nested: λ by LOO inside each training fold)",
        cost=f"{k} folds × (SVD O(n·q²) + 17 LOO evaluations O(n·q·p))",
        references=_REFS,
    )


def _register_ridgecv(reverse: bool) -> None:
    def build(cv):
        k, scheme = cv

        def fn(x, y, n_conditions=None):
            a, b = (y, x) if reverse else (x, y)
            return ridgecv_score(a, b, folds=k, scheme=scheme, n_conditions=n_conditions)

        return fn

    register(
        Template(
            "ridge",
            "pearsonr",
            (CV,),
            build,
            lambda v: _ridgecv_card(v, reverse),
            suffix_params=("cv",),
            tail="reverse" if reverse else "",
        )
    )


_register_ridgecv(False)
_register_ridgecv(True)


def _kr_card(values: dict) -> dict:
    lam = values["lambda"]
    return dict(
        family="kernel_ridge",
        form="score",
        description=f"in-sample R² (pooled) of linear-kernel ridge (λ = {lam:g}) predicting X "
        "from Y, solved in the dual (= ridge-lambda=L-r2; scikit-learn KernelRidge)",
        formula="1 − ‖X̃ − K(K + λI)⁻¹X̃‖² / ‖X̃‖², K = ỸỸᵀ",
        range=(-float("inf"), 1.0),
        metric=False,
        symmetric=False,
        differentiable=True,
        invariances=("permutation", "orthogonal", "translation"),
        estimator="in-sample (optimistic)",
        cost="O(n²·q + n³)",
        references=(
            "Jain & Huth 2018; Toneva & Wehbe 2019 (brain_language_nlp kernel_ridge)",
            "scikit-learn KernelRidge",
        ),
    )


register(
    Template(
        "kernel_ridge",
        "r2",
        (
            Param(
                "lambda", kind="float", grid=(1.0,), check=LAMBDA.check, check_msg=LAMBDA.check_msg
            ),
        ),
        lambda **v: lambda x, y, n_conditions=None: kernel_ridge_score(x, y, float(v["lambda"])),
        _kr_card,
    )
)

describe(
    "kernel_ridge",
    """Kernel ridge regression with the linear kernel, predicting the reference X from the
    candidate Y in the dual (K = ỸỸᵀ, X̂ = K(K + λI)⁻¹X̃), scored by the in-sample pooled R²;
    equal to primal ridge, as brain_language_nlp's kernel_ridge and scikit-learn's KernelRidge.""",
)
