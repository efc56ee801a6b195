"""SVCCA (Raghu et al. 2017) and PWCCA (Morcos et al. 2018).

SVCCA reduces each input to its leading principal components, then averages the canonical
correlations of the reduced data::

    X_k = X̃ P_k,  P_k = projector on the top-k eigenvectors of X̃ᵀX̃
    SVCCA = (1 / min(k_X, k_Y)) Σ_i ρ_i(X_k, Y_k)

``svcca-var=V`` keeps, for each input separately, the fewest components explaining at least a
fraction V of its variance; ``svcca-dim=K`` keeps K (or all, if fewer). The mean over
min(k_X, k_Y) correlations is Raghu et al.'s definition (``cca-score`` instead divides by
√(r_X r_Y)). The number of components is piecewise constant; in between, the projector is a
spectral function of X̃ᵀX̃ with a Daleckii–Krein backward, so gradients stay finite.

PWCCA is the projection-weighted mean canonical correlation::

    h_i = W_X u_i  (canonical variates of X, unit norm),  α_i = Σ_j |⟨h_i, x̃_j⟩|,
    PWCCA = Σ_i α_i ρ_i / Σ_i α_i

with x̃_j the j-th unit of the centred X. The weights come from the *reference* X only, so
PWCCA is not symmetric. Singular vectors enter the weights, so it is not differentiable
(its gradient is undefined at repeated canonical correlations, e.g. Y = X).

>>> import torch
>>> X = torch.randn(100, 6, dtype=torch.float64)
>>> round(float(svcca(X, X @ torch.randn(6, 6, dtype=X.dtype), "dim", 6)), 8)
1.0
"""

from __future__ import annotations

import torch

from .cca import whiten
from .forms import register_similarity
from .linalg import center, rank_tol, sym_matrix_function
from .registry import Param, alias, describe, format_number

__all__ = ["pca_reduce", "pwcca", "svcca"]


def _keep_mask(lam: torch.Tensor, mode: str, value: float) -> torch.Tensor:
    """Which eigenvalues (ascending, as eigh returns them) belong to the kept components."""
    d = lam.shape[-1]
    lam = lam.clamp_min(0)
    if mode == "dim":
        k = torch.full(lam.shape[:-1], min(int(value), d), device=lam.device)
    else:
        desc = lam.flip(-1)
        frac = desc.cumsum(-1) / desc.sum(-1, keepdim=True).clamp_min(torch.finfo(lam.dtype).tiny)
        # smallest k with explained fraction ≥ V (a 1e-12 slack for rounding)
        k = ((frac < value - 1e-12).sum(-1) + 1).clamp(max=d)
    idx = torch.arange(d, device=lam.device)
    return idx >= (d - k).unsqueeze(-1)


def pca_reduce(x: torch.Tensor, mode: str, value: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Centred ``x`` projected on its leading principal subspace, and the number of kept
    components with non-zero variance. ``mode`` is ``"var"`` (fraction) or ``"dim"`` (count).
    """
    xc = center(x)
    c = xc.transpose(-1, -2) @ xc
    with torch.no_grad():
        lam = torch.linalg.eigvalsh(c)
        keep = _keep_mask(lam, mode, value)
        tol = rank_tol(c.dtype) * lam.clamp_min(0).sum(-1, keepdim=True)
        k = (keep & (lam > tol)).sum(-1).to(x.dtype)

    def f(ev: torch.Tensor) -> torch.Tensor:
        return _keep_mask(ev, mode, value).to(ev.dtype)

    proj = sym_matrix_function(c, f, torch.zeros_like)
    return xc @ proj, k


def svcca(x: torch.Tensor, y: torch.Tensor, mode: str = "var", value: float = 0.99):
    """SVCCA of ``(..., n, p)`` and ``(..., n, q)`` (see the module docstring)."""
    xk, kx = pca_reduce(x, mode, value)
    yk, ky = pca_reduce(y, mode, value)
    wx, _ = whiten(xk)
    wy, _ = whiten(yk)
    rho = torch.linalg.svdvals(wx.transpose(-1, -2) @ wy)
    return rho.sum(-1) / torch.minimum(kx, ky).clamp_min(1)


def pwcca(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Projection-weighted CCA of the reference ``x`` and the candidate ``y`` (no gradient)."""
    with torch.no_grad():
        wx, _ = whiten(x)
        wy, _ = whiten(y)
        u, rho, _ = torch.linalg.svd(wx.transpose(-1, -2) @ wy, full_matrices=False)
        h = wx @ u  # canonical variates of X: orthonormal columns (zero past X's rank)
        alpha = (h.transpose(-1, -2) @ center(x)).abs().sum(-1)
        tiny = torch.finfo(x.dtype).tiny
        return (alpha * rho).sum(-1) / alpha.sum(-1).clamp_min(tiny)


# ----------------------------------------------------------------------------- registration
VAR = Param(
    "var",
    kind="float",
    grid=(0.95, 0.99),
    check=lambda v: 0 < v <= 1,
    check_msg="the explained-variance fraction must lie in (0, 1].",
)
DIM = Param(
    "dim",
    kind="int",
    grid=(10,),
    check=lambda k: k >= 1,
    check_msg="the number of components must be at least 1.",
)
_REFS = (
    "Raghu et al. 2017, SVCCA: Singular vector canonical correlation analysis",
    "Hotelling 1936, Relations between two sets of variates",
)


def _svcca_card(values: dict) -> dict:
    if "var" in values:
        how = (
            f"the fewest principal components explaining ≥ {format_number(values['var'])} of "
            "the variance (each input separately)"
        )
    else:
        how = f"the top {values['dim']} principal components (all, if fewer)"
    return dict(
        family="svcca",
        form="score",
        description=f"SVCCA: mean canonical correlation after keeping {how}",
        formula="Σ_i ρ_i(X̃P_kX, ỸP_kY) / min(k_X, k_Y)",
        range=(0.0, 1.0),
        metric=False,
        symmetric=True,
        differentiable=True,
        invariances=("permutation", "orthogonal", "isotropic_scaling", "translation"),
        estimator="plug-in (in-sample)",
        cost="O(n·d² + d³)",
        references=_REFS,
    )


def _svcca_build(mode):
    def build(**values):
        value = values[mode]
        return lambda x, y, n_conditions=None: svcca(x, y, mode, value)

    return build


register_similarity("svcca", (VAR,), _svcca_build("var"), _svcca_card)
register_similarity("svcca", (DIM,), _svcca_build("dim"), _svcca_card)


def _pwcca_card(values: dict) -> dict:
    return dict(
        family="pwcca",
        form="score",
        description="projection-weighted CCA: canonical correlations weighted by how much of "
        "the reference X's units each X canonical variate accounts for; asymmetric (weights "
        "from X only), not differentiable (singular vectors)",
        formula="Σ α_i ρ_i / Σ α_i, α_i = Σ_j |⟨h_i, x̃_j⟩|, h_i = i-th canonical variate of X",
        range=(0.0, 1.0),
        metric=False,
        symmetric=False,
        differentiable=False,
        # weights depend on X alone and CCA on the span of Y: any invertible map of Y is free
        invariances=(
            "permutation",
            "orthogonal",
            "isotropic_scaling",
            "translation",
            "invertible_linear",
        ),
        estimator="plug-in (in-sample)",
        cost="O(n·d² + d³)",
        references=(
            "Morcos et al. 2018, Insights on representational similarity in neural networks "
            "with canonical correlation",
        )
        + _REFS[1:],
    )


def _pwcca_build():
    return lambda x, y, n_conditions=None: pwcca(x, y)


register_similarity("pwcca", (), _pwcca_build, _pwcca_card)

alias("svcca", "svcca-var=0.99-score")
alias("pwcca", "pwcca-score")

describe(
    "svcca",
    """Singular-vector CCA (Raghu et al. 2017): each input is reduced to its leading principal
    components (a variance fraction or a fixed count), then the canonical correlations of the
    reduced data are averaged over min(k_X, k_Y).""",
)
describe(
    "pwcca",
    """Projection-weighted CCA (Morcos et al. 2018): canonical correlations averaged with
    weights given by how much of the reference X each canonical variate accounts for; not
    symmetric and not differentiable (singular vectors enter the weights).""",
)
