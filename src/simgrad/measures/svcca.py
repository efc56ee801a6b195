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
(its gradient is undefined at repeated canonical correlations, e.g. Y = X). CCA runs on an
orthonormal basis of each input's numerical column space (float64 SVD; dead, constant and
collinear units drop out), so there are min(r_X, r_Y) canonical pairs. Inside a block of
tied correlations (|Δρ| ≤ 1e-8) the variates are not unique and the α_i depend on the basis
chosen; the variates are then taken along X's principal directions inside the block. Wide
layers always have such a block: r_X + r_Y > n − 1 forces r_X + r_Y − n + 1 correlations of
exactly 1 (in-sample CCA overfits).

Further forms (similarity-repository's): ``svcca-...-squared_score`` is the mean *squared*
canonical correlation over min(k_X, k_Y); ``svcca-...-distance=euclidean`` (and its square)
is netrep's α = 0 shape distance of the PCA-reduced data (that project derives the svcca
names from its cca ones by PCA preprocessing): with W the whitened reduced data, v the kept
variance, D = max(k_X, k_Y) and ε = 1e-7 netrep's eigenvalue floor (padded directions),
r² = (v + (D − k)ε)/D, the distance is √(k_X r_X² + k_Y r_Y² − 2 r_X r_Y Σρ). The bare
``svcca-score`` (and its forms) means ``svcca-var=0.99-...`` (Raghu et al.'s 99 % default).
``pwcca`` also has ``distance=one_minus_score`` (sim_metric's ``pwcca_dist``) and the
law-of-cosines Euclidean forms of :mod:`simgrad.measures.forms`.

>>> import torch
>>> X = torch.randn(100, 6, dtype=torch.float64)
>>> round(float(svcca(X, X @ torch.randn(6, 6, dtype=X.dtype), "dim", 6)), 8)
1.0
"""

from __future__ import annotations

import torch

from .cca import whiten
from .forms import ANGULAR_FORMS, EUCLIDEAN_FORMS, register_similarity
from .linalg import center, fro2, rank_tol, safe_sqrt, sym_matrix_function
from .registry import Param, Template, alias, describe, format_number, register

__all__ = ["column_basis", "pca_projector", "pca_reduce", "pwcca", "svcca", "svcca_euclidean"]


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
    proj, k = pca_projector(xc.transpose(-1, -2) @ xc, mode, value)
    return xc @ proj, k


def pca_projector(c: torch.Tensor, mode: str, value: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Projector on the leading principal subspace of the Gram ``c = X̃ᵀX̃`` (Daleckii–Krein
    backward) and the number of kept components with non-zero variance."""
    with torch.no_grad():
        lam = torch.linalg.eigvalsh(c)
        keep = _keep_mask(lam, mode, value)
        tol = rank_tol(c.dtype) * lam.clamp_min(0).sum(-1, keepdim=True)
        k = (keep & (lam > tol)).sum(-1).to(c.dtype)

    def f(ev: torch.Tensor) -> torch.Tensor:
        return _keep_mask(ev, mode, value).to(ev.dtype)

    return sym_matrix_function(c, f, torch.zeros_like), k


def _svcca_parts(x, y, mode, value):
    xk, kx = pca_reduce(x, mode, value)
    yk, ky = pca_reduce(y, mode, value)
    wx, _ = whiten(xk)
    wy, _ = whiten(yk)
    rho = torch.linalg.svdvals(wx.transpose(-1, -2) @ wy)
    return rho, kx, ky, xk, yk


def svcca(x: torch.Tensor, y: torch.Tensor, mode: str = "var", value: float = 0.99, power: int = 1):
    """SVCCA of ``(..., n, p)`` and ``(..., n, q)`` (see the module docstring); ``power=2``
    averages the squared canonical correlations."""
    rho, kx, ky, _, _ = _svcca_parts(x, y, mode, value)
    return (rho**power).sum(-1) / torch.minimum(kx, ky).clamp_min(1)


def svcca_euclidean(
    x: torch.Tensor, y: torch.Tensor, mode: str, value: float, squared: bool = False
) -> torch.Tensor:
    """netrep's α = 0 Euclidean shape distance of the PCA-reduced inputs (module docstring)."""
    rho, kx, ky, xk, yk = _svcca_parts(x, y, mode, value)
    eps = 1e-7  # netrep's eigenvalue floor: padded (zero) directions count as ε each
    d = torch.maximum(kx, ky)
    rx2 = (fro2(xk) + (d - kx) * eps) / d.clamp_min(1)
    ry2 = (fro2(yk) + (d - ky) * eps) / d.clamp_min(1)
    d2 = (kx * rx2 + ky * ry2 - 2 * safe_sqrt(rx2 * ry2) * rho.sum(-1)).clamp_min(0)
    return d2 if squared else safe_sqrt(d2)


def _svd(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Thin left singular vectors and singular values (descending) of one matrix.

    LAPACK's divide-and-conquer SVD (``gesdd``, the CPU driver of ``torch.linalg.svd``) can fail
    to converge on matrices with many repeated singular values — e.g. the whitened
    cross-product of two wide ReLU layers, whose canonical correlations cluster at exactly 1
    once r_X + r_Y > n. The fallback is the symmetric eigensolver on the smaller side's Gram:
    ``AAᵀ = UΛUᵀ``, with each σ_i recomputed as ``‖Aᵀu_i‖`` (accurate also for small σ).
    """
    try:
        u, s, _ = torch.linalg.svd(a, full_matrices=False)
        return u, s
    except torch.linalg.LinAlgError:
        k = min(a.shape)
        if a.shape[0] > a.shape[1]:  # U = A V Σ⁻¹ from the small q×q Gram, re-orthonormalised
            _, v = torch.linalg.eigh(a.T @ a)
            u, _ = torch.linalg.qr(a @ v.flip(-1))
        else:
            _, u = torch.linalg.eigh(a @ a.T)
            u = u.flip(-1)
        s = (a.T @ u[:, :k]).norm(dim=0)
        order = torch.argsort(s, descending=True)
        return u[:, :k][:, order], s[order]


def column_basis(xc: torch.Tensor, rtol: float) -> torch.Tensor:
    """Orthonormal basis (float64, n × r) of the numerical column space of centred ``xc``:
    the left singular vectors with σ_i² > ``rtol`` · Σσ² (dead and constant units, and
    directions below the tolerance, drop out). Full column rank (all eigenvalues of X̃ᵀX̃
    above the cut) takes the Householder QR of X̃ instead, which spans the same space."""
    xc = xc.double()
    lam = torch.linalg.eigvalsh(xc.T @ xc) if xc.shape[0] >= xc.shape[1] else None
    if lam is not None and bool((lam > rtol * lam.clamp_min(0).sum()).all()):
        return torch.linalg.qr(xc)[0]
    u, s = _svd(xc)
    keep = s * s > rtol * (s * s).sum()
    return u[:, : int(keep.sum())]


def _untie(h: torch.Tensor, rho: torch.Tensor, xc: torch.Tensor, gap: float = 1e-8):
    """Canonical variates ``h`` with each block of tied correlations (consecutive ρ closer than
    ``gap``) rotated to the principal directions of X inside the block.

    Within a block of equal ρ any orthonormal basis is a valid set of canonical variates, but
    the weights α_i = Σ_j |⟨h_i, x̃_j⟩| depend on the basis: this fixes it (the SVD of H_Cᵀ X̃)
    instead of leaving it to the LAPACK driver. Such blocks are the rule for wide layers:
    r_X + r_Y > n − 1 forces r_X + r_Y − n + 1 correlations of exactly 1.
    """
    r = rho.tolist()
    start = 0
    for i in range(1, len(r) + 1):
        if i == len(r) or r[i - 1] - r[i] > gap:
            if i - start > 1:
                p, _ = _svd(h[:, start:i].T @ xc)
                h[:, start:i] = h[:, start:i] @ p
            start = i
    return h


def _pwcca_one(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    xc = center(x.double())
    qx = column_basis(xc, rank_tol(x.dtype))
    qy = column_basis(center(y.double()), rank_tol(y.dtype))
    k = min(qx.shape[1], qy.shape[1])
    if k == 0:
        return torch.zeros((), dtype=torch.float64)
    u, rho = _svd(qx.T @ qy)  # ρ: canonical correlations; Q_X u: canonical variates of X
    rho = rho[:k]
    h = _untie(qx @ u[:, :k], rho, xc)
    alpha = (h.T @ xc).abs().sum(-1)
    return (alpha * rho).sum() / alpha.sum().clamp_min(torch.finfo(alpha.dtype).tiny)


def pwcca(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Projection-weighted CCA of the reference ``x`` and the candidate ``y`` (no gradient).

    Exact on rank-deficient inputs: each centred input is first reduced to an orthonormal
    basis of its numerical column space (float64 SVD, directions with σ² ≤ ``rank_tol`` · Σσ²
    of each input's dtype dropped), so there are min(r_X, r_Y) canonical pairs; on full-rank
    inputs this is the plain CCA of the data.
    """
    with torch.no_grad():
        batch = torch.broadcast_shapes(x.shape[:-2], y.shape[:-2])
        xb = x.expand(*batch, *x.shape[-2:]).reshape(-1, *x.shape[-2:])
        yb = y.expand(*batch, *y.shape[-2:]).reshape(-1, *y.shape[-2:])
        out = torch.stack([_pwcca_one(a, b) for a, b in zip(xb, yb)])
        return out.reshape(batch).to(x.dtype)


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


def _svcca_sq_card(values: dict) -> dict:
    c = _svcca_card(values)
    c.update(
        description=c["description"].replace("mean canonical", "mean squared canonical"),
        formula="Σ_i ρ_i²(X̃P_kX, ỸP_kY) / min(k_X, k_Y)",
    )
    return c


def _svcca_euclid_card(values: dict, squared: bool) -> dict:
    c = _svcca_card(values)
    c.update(
        form="distance",
        description=("squared " if squared else "")
        + "netrep α = 0 Euclidean shape distance of the PCA-reduced inputs, "
        + c["description"].split(": ", 1)[1],
        formula=("" if squared else "√(")
        + "k_X r_X² + k_Y r_Y² − 2 r_X r_Y Σρ_i"
        + ("" if squared else ")")
        + ", r² = (kept variance + (D − k)·1e-7) / D, D = max(k_X, k_Y)",
        range=(0.0, float("inf")),
        invariances=("permutation", "orthogonal", "translation"),
        references=_REFS + ("Williams et al. 2021, Generalized shape metrics (netrep)",),
    )
    return c


for _param, _mode in ((VAR, "var"), (DIM, "dim")):

    def _build_sq(_mode=_mode, **values):
        value = values[_mode]
        return lambda x, y, n_conditions=None: svcca(x, y, _mode, value, power=2)

    register(Template("svcca", "squared_score", (_param,), _build_sq, _svcca_sq_card))
    for _form in EUCLIDEAN_FORMS:
        _sq = _form == "distance=squared_euclidean"

        def _build_e(_mode=_mode, _sq=_sq, **values):
            value = values[_mode]
            return lambda x, y, n_conditions=None: svcca_euclidean(x, y, _mode, value, _sq)

        def _card_e(values, _sq=_sq):
            return _svcca_euclid_card(values, _sq)

        register(Template("svcca", _form, (_param,), _build_e, _card_e))

# the bare name is Raghu et al.'s default: 99 % of the variance
for _form in ANGULAR_FORMS + EUCLIDEAN_FORMS + ("squared_score",):
    alias(f"svcca-{_form}", f"svcca-var=0.99-{_form}")


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


register_similarity(
    "pwcca",
    (),
    _pwcca_build,
    _pwcca_card,
    extra_forms=("distance=one_minus_score",) + EUCLIDEAN_FORMS,
)

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
