"""Partial least squares encoding scores (scikit-learn ``PLSRegression`` semantics).

Predict the reference X from the candidate Y with PLS2 (``scale=False``, as Brain-Score's
``pls_regression`` and mouse-vision's ``PLSNeuralMap``). With centred Ỹ₀ = Ỹ, X̃₀ = X̃, for
each component a = 1…k:

    w_a = leading left singular vector of Ỹ_{a−1}ᵀX̃_{a−1}     (NIPALS' fixed point)
    t_a = Ỹ_{a−1} w_a,   p_a = Ỹ_{a−1}ᵀt_a / tᵀt,   q_a = X̃_{a−1}ᵀt_a / tᵀt
    Ỹ_a = Ỹ_{a−1} − t_a p_aᵀ,   X̃_a = X̃_{a−1} − t_a q_aᵀ

and the coefficients B = W (PᵀW)⁻¹ Qᵀ, X̂ = Ỹ B. The score is the pooled Pearson r of
:mod:`simgrad.measures.regression` (in-sample, or over held-out folds with the same fold
rules). Components stop early when the cross-covariance is exhausted (numerical rank), where
scikit-learn would warn. ``w_a`` is the top eigenvector of Ỹᵀ X̃X̃ᵀỸ, differentiated through
the spectral projector (Daleckii–Krein backward), so gradients stay finite. Default k = 25
(Brain-Score, neuroaimetrics), capped at the candidate's width.

>>> import torch
>>> Y = torch.randn(60, 4, dtype=torch.float64)
>>> X = Y @ torch.randn(4, 3, dtype=torch.float64)
>>> round(float(pls_score(X, Y, components=4)), 8)
1.0
"""

from __future__ import annotations

import torch

from .linalg import sym_matrix_function, tiny
from .registry import Param, Template, alias, describe, register
from .regression import CV, _agg, cv_folds

__all__ = ["pls_coefficients", "pls_score"]


def _top_direction(c: torch.Tensor) -> torch.Tensor:
    """Unit top eigenvector of PSD ``c`` (sign fixed), differentiated through the projector
    on the top eigenvalue (finite at repeated eigenvalues)."""
    lam, v = torch.linalg.eigh(c.detach())
    v0 = v[..., -1]
    v0 = v0 * torch.where(v0.sum(-1, keepdim=True) < 0, -1.0, 1.0)

    def f(l):
        return (l >= l.max(-1, keepdim=True).values).to(l.dtype)

    proj = sym_matrix_function(c, f, torch.zeros_like, eig=(lam, v))
    w = proj @ v0.unsqueeze(-1)
    return (w / (w * w).sum(-2, keepdim=True).clamp_min(tiny(w)).sqrt()).squeeze(-1)


def pls_coefficients(x: torch.Tensor, y: torch.Tensor, components: int) -> torch.Tensor:
    """B (q×p) of PLS2 predicting centred ``x`` (n×p) from centred ``y`` (n×q)."""
    k = min(components, y.shape[-1], y.shape[-2] - 1)
    ws, ps, qs = [], [], []
    xa, ya = x, y
    start = float((y.transpose(-1, -2) @ x).detach().norm())
    for _ in range(k):
        m = ya.transpose(-1, -2) @ xa
        if float(m.detach().norm()) <= 1e-10 * max(start, 1e-300):
            break  # the cross-covariance is exhausted (numerical rank reached)
        w = _top_direction(m @ m.transpose(-1, -2))
        t = ya @ w
        tt = (t * t).sum().clamp_min(tiny(t))
        p = ya.transpose(-1, -2) @ t / tt
        q = xa.transpose(-1, -2) @ t / tt
        ya = ya - t.unsqueeze(-1) * p.unsqueeze(-2)
        xa = xa - t.unsqueeze(-1) * q.unsqueeze(-2)
        ws.append(w)
        ps.append(p)
        qs.append(q)
    if not ws:
        return torch.zeros(y.shape[-1], x.shape[-1], dtype=x.dtype, device=x.device)
    w_, p_, q_ = torch.stack(ws, -1), torch.stack(ps, -1), torch.stack(qs, -1)
    rot = w_ @ torch.linalg.pinv(p_.transpose(-1, -2) @ w_)
    return rot @ q_.transpose(-1, -2)


def pls_score(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    components: int = 25,
    folds: int | None = None,
    scheme: str = "conditions",
    n_conditions: int | None = None,
    agg: str = "pearsonr",
) -> torch.Tensor:
    """Pooled Pearson r of PLS2 predicting ``x`` from ``y`` (in-sample when ``folds`` is None)."""
    if x.ndim > 2:
        flat = [
            pls_score(
                a,
                b,
                components=components,
                folds=folds,
                scheme=scheme,
                n_conditions=n_conditions,
                agg=agg,
            )  # fmt: skip
            for a, b in zip(x.reshape(-1, *x.shape[-2:]), y.reshape(-1, *y.shape[-2:]))
        ]
        return torch.stack(flat).reshape(x.shape[:-2])
    n = x.shape[-2]
    if folds is None:
        xc, yc = x - x.mean(-2, keepdim=True), y - y.mean(-2, keepdim=True)
        return _agg(xc, yc @ pls_coefficients(xc, yc, components), agg)
    scores = []
    for test in cv_folds(n, folds, scheme, n_conditions):
        mask = torch.ones(n, dtype=torch.bool)
        mask[test] = False
        train = torch.nonzero(mask).squeeze(-1)
        mx, my = x[train].mean(-2, keepdim=True), y[train].mean(-2, keepdim=True)
        b = pls_coefficients(x[train] - mx, y[train] - my, components)
        scores.append(_agg(x[test] - mx, (y[test] - my) @ b, agg))
    return torch.stack(scores, -1).mean(-1)


COMPONENTS = Param(
    "components",
    kind="int",
    grid=(25,),
    check=lambda k: k >= 1,
    check_msg="the number of PLS components must be at least 1.",
)


def _card(values: dict, cv: bool) -> dict:
    k = values["components"]
    how = f"{values['cv'][0]}-fold cross-validated" if cv else "in-sample"
    return dict(
        family="pls",
        form="score",
        description=f"{how} Pearson r (pooled) of PLS regression with {k} components "
        "(scikit-learn PLSRegression, scale=False) predicting X from Y",
        formula="⟨X̃, ỸB⟩ / (‖X̃‖‖ỸB‖), B = W(PᵀW)⁻¹Qᵀ (NIPALS PLS2)"
        + (" (held-out folds)" if cv else ""),
        range=(-1.0, 1.0),
        metric=False,
        symmetric=False,
        differentiable=True,
        # PLS directions maximise covariance: a rotation of Y rotates W, a scaling cancels
        invariances=("permutation", "orthogonal", "isotropic_scaling", "translation"),
        estimator="cross-validated" if cv else "in-sample (optimistic)",
        cost=f"O(k·(n·p·q + q³)), k = {k}" + (f" × {values['cv'][0]} folds" if cv else ""),
        references=(
            "Wold et al. 1984; scikit-learn PLSRegression",
            "Schrimpf et al. 2018 (Brain-Score pls_regression); Nayebi et al. 2023 (mouse-vision)",
        ),
    )


def _register(cv: bool) -> None:
    def build(**values):
        k = values["components"]
        folds, scheme = values["cv"] if cv else (None, "conditions")
        return lambda x, y, n_conditions=None: pls_score(
            x, y, components=k, folds=folds, scheme=scheme, n_conditions=n_conditions
        )

    params = (COMPONENTS, CV) if cv else (COMPONENTS,)
    register(
        Template(
            "pls",
            "pearsonr",
            params,
            build,
            lambda v: _card(v, cv),
            suffix_params=tuple(p.name for p in params),
        )
    )


_register(False)
_register(True)
alias("pls", "pls-pearsonr-components=25")
alias("pls-pearsonr", "pls-pearsonr-components=25")
alias("pls-pearsonr-cv=5folds", "pls-pearsonr-components=25-cv=5folds")

describe(
    "pls",
    """Partial least squares regression (PLS2, scikit-learn's PLSRegression without scaling)
    predicting the reference X from the candidate Y through k latent components of maximal
    covariance, scored by the pooled Pearson r in-sample or over held-out folds (Brain-Score,
    mouse-vision, neuroaimetrics).""",
)
