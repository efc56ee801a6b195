"""RSA without an n×n matrix: polynomial comparisons of Gram-type RDMs in feature space.

For the ``squared_euclidean`` (and ``mahalanobis`` with Λ = I), ``correlation`` and
``cosine`` RDMs every off-diagonal entry has the form

    D_ij = c + g_i + g_j − s·a_iᵀa_j        (i ≠ j)

with A (rows a_i) centred over the samples (1ᵀA = 0):

- squared Euclidean: A = X̃ (centred X), g_i = ‖a_i‖², c = 0, s = 2 (the 1/d of rsatoolbox,
  and any positive scale, leave every comparison below unchanged);
- correlation / cosine: u_i the unit-norm (row-centred, for correlation) patterns, ū their
  mean, A = U − 1ūᵀ, g_i = −ūᵀa_i, c = 1 − ‖ū‖², s = 1 (since u_iᵀu_j = a_iᵀa_j + g-terms).

Call F the full matrix c11ᵀ + g1ᵀ + 1gᵀ − sAAᵀ; D = F − diag(f) with f_i = F_ii (0 for the
squared Euclidean RDM, and 1 − ‖u_i‖² ∈ {0, 1} otherwise: 1 for a zero pattern). With
⟨P, Q⟩ = Σ_ij P_ij Q_ij, 1ᵀA = 0 and K = AAᵀ, L = BBᵀ, every term is a trace:

    ⟨F_X, F_Y⟩ = n²c_x c_y + 2n(c_x Σh + c_y Σg) + 2n gᵀh + 2 Σg Σh + s_x s_y ‖AᵀB‖²_F

so, over the M = n(n−1) ordered pairs i ≠ j (the same cosines as over the upper triangle):

    P  = Σ D^X_ij D^Y_ij = ⟨F_X, F_Y⟩ − fˣᵀfʸ,    S₂ = Σ D_ij² = ⟨F, F⟩ − fᵀf,
    S₁ = Σ D_ij = n²c + 2n Σg − Σf,
    cosine  = P / √(S₂ˣ S₂ʸ),
    pearson = (P − S₁ˣS₁ʸ/M) / √((S₂ˣ − S₁ˣ²/M)(S₂ʸ − S₁ʸ²/M)).

The matrix comparisons use G = −½HDH = ½Φ, Φ = s·K + H diag(f) H (H F H = −sHKH = −sK);
``corr_cov`` subtracts the off-diagonal mean m = S₁/M, i.e. f → f − m·1. With
⟨HΔH, HΔ'H⟩ = (1 − 2/n) fᵀf' + Σf Σf'/n² and ⟨K, HΔ'H⟩ = Σ f'_i ‖a_i‖²:

    ⟨Φ_X, Φ_Y⟩ = s_x s_y ‖AᵀB‖² + s_x Σ fʸ_i‖a_i‖² + s_y Σ fˣ_i‖b_i‖²
                 + (1 − 2/n) fˣᵀfʸ + Σfˣ Σfʸ / n²,
    cosine_cov / corr_cov = ⟨Φ_X, Φ_Y⟩ / √(⟨Φ_X, Φ_X⟩⟨Φ_Y, Φ_Y⟩).

Cost: AᵀB, AᵀA, BᵀB (O(n·(pq + p² + q²))) and O(n·(p + q)); no n×n matrix. The same
:func:`combine` serves the single pair, the all-pairs hook (per-representation
:class:`Side` and the cross products of the driver) and the streaming hook (the sums of
:class:`~simgrad.measures.moments.PairMoments`). Degenerate (constant) RDMs give 0, as the
n×n route (:func:`~simgrad.measures.rsa.compare.safe_cosine`).

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> X = torch.randn(40, 3, generator=g, dtype=torch.float64)
>>> Y = torch.randn(40, 2, generator=g, dtype=torch.float64)
>>> from simgrad.measures.rsa.rdms import rdm
>>> from simgrad.measures.rsa.compare import compare_rdms
>>> a = feature_space_score(X, Y, "correlation", "pearson")
>>> b = compare_rdms(rdm(X, "correlation"), rdm(Y, "correlation"), "pearson")
>>> bool(abs(a - b) < 1e-12)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..linalg import (
    bures_similarity,
    bures_sq_metric,
    center,
    fro2,
    gram_feature,
    nuclear_terms,
    tiny,
    unit_rows,
)
from .compare import safe_cosine

__all__ = [
    "GRAM_RDMS",
    "POLYNOMIAL",
    "bures_factor",
    "bures_feature_space",
    "Cross",
    "Side",
    "combine",
    "factor",
    "feature_space_score",
    "use_feature_space",
]

GRAM_RDMS = ("squared_euclidean", "mahalanobis", "correlation", "cosine")
POLYNOMIAL = ("cosine", "pearson", "cosine_cov", "corr_cov")


def use_feature_space(n: int, p: int, q: int) -> bool:
    """Feature space when its multiply-adds n·(pq + p² + q²) beat forming the two RDMs and
    their comparison, n²·(p + q + 3) (as linear CKA's rule)."""
    return n * (p * q + p * p + q * q) <= n * n * (p + q + 3)


@dataclass
class Side:
    """Per-input sums: n, c, s, Σg, Σf, Σ‖a_i‖², and its self products (a :class:`Cross`
    with itself)."""

    n: int
    c: torch.Tensor
    s: float
    sg: torch.Tensor
    sf: torch.Tensor
    sa: torch.Tensor
    self_cross: Cross | None = None


@dataclass
class Cross:
    """Pair sums: ‖AᵀB‖², gᵀh, fˣᵀfʸ, Σ fʸ_i‖a_i‖², Σ fˣ_i‖b_i‖²."""

    ab: torch.Tensor
    gh: torch.Tensor
    ff: torch.Tensor
    fy_a: torch.Tensor
    fx_b: torch.Tensor


@dataclass
class Factor:
    """A (centred rows), g, f and the :class:`Side` of one input."""

    a: torch.Tensor
    g: torch.Tensor
    f: torch.Tensor
    side: Side


def factor(x: torch.Tensor, kind: str) -> Factor:
    """The feature-space factor of one ``(..., n, d)`` input for a Gram-type RDM."""
    n = x.shape[-2]
    if kind in ("squared_euclidean", "mahalanobis"):
        a = center(x)
        sq = (a * a).sum(-1)
        # a detached scale keeps the fourth powers in range; the comparisons ignore it
        scale = sq.detach().mean(-1, keepdim=True).clamp_min(tiny(sq))
        a = a / scale.sqrt().unsqueeze(-1)
        g = sq / scale
        f = torch.zeros_like(g)
        c = torch.zeros_like(g[..., 0])
        s = 2.0
    elif kind in ("correlation", "cosine"):
        raw = x - x.mean(-1, keepdim=True) if kind == "correlation" else x
        nz = (raw * raw).sum(-1) > 0
        u = unit_rows(raw)
        ubar = u.mean(-2, keepdim=True)
        a = u - ubar
        g = -(a @ ubar.transpose(-1, -2)).squeeze(-1)
        c = 1 - (ubar * ubar).sum((-2, -1))
        f = torch.where(nz, torch.zeros_like(g), torch.ones_like(g))
        s = 1.0
    else:
        raise ValueError(f"No feature-space route for rdm={kind!r}; use one of {GRAM_RDMS}.")
    rn = (a * a).sum(-1)
    side = Side(n, c, s, g.sum(-1), f.sum(-1), rn.sum(-1))
    fa = (f * rn).sum(-1)
    side.self_cross = Cross(fro2(gram_feature(a)), (g * g).sum(-1), (f * f).sum(-1), fa, fa)
    return Factor(a, g, f, side)


def cross(fx: Factor, fy: Factor, ab: torch.Tensor | None = None) -> Cross:
    """The pair sums of two factors (``ab`` = ‖AᵀB‖² when already known)."""
    if ab is None:
        ab = fro2(fx.a.transpose(-1, -2) @ fy.a)
    ra, rb = (fx.a * fx.a).sum(-1), (fy.a * fy.a).sum(-1)
    return Cross(
        ab,
        (fx.g * fy.g).sum(-1),
        (fx.f * fy.f).sum(-1),
        (fy.f * ra).sum(-1),
        (fx.f * rb).sum(-1),
    )


def _full(sx: Side, sy: Side, c: Cross) -> torch.Tensor:
    """⟨F_X, F_Y⟩ − fˣᵀfʸ = Σ_{i≠j} D^X_ij D^Y_ij."""
    n = sx.n
    return (
        n * n * sx.c * sy.c
        + 2 * n * (sx.c * sy.sg + sy.c * sx.sg)
        + 2 * n * c.gh
        + 2 * sx.sg * sy.sg
        + sx.s * sy.s * c.ab
        - c.ff
    )


def _phi(sx: Side, sy: Side, c: Cross, mx, my) -> torch.Tensor:
    """⟨Φ_X, Φ_Y⟩ with f → f − m·1."""
    n = sx.n
    ff = c.ff - my * sx.sf - mx * sy.sf + n * mx * my
    return (
        sx.s * sy.s * c.ab
        + sx.s * (c.fy_a - my * sx.sa)
        + sy.s * (c.fx_b - mx * sy.sa)
        + (1 - 2 / n) * ff
        + (sx.sf - n * mx) * (sy.sf - n * my) / (n * n)
    )


def combine(sx: Side, sy: Side, c: Cross, method: str) -> torch.Tensor:
    """The comparison ``method`` (one of :data:`POLYNOMIAL`) from the sums."""
    assert sx.self_cross is not None and sy.self_cross is not None
    n = sx.n
    m = n * (n - 1)
    s2x, s2y = _full(sx, sx, sx.self_cross), _full(sy, sy, sy.self_cross)
    s1x = n * n * sx.c + 2 * n * sx.sg - sx.sf
    s1y = n * n * sy.c + 2 * n * sy.sg - sy.sf
    if method == "cosine":
        return safe_cosine(_full(sx, sy, c), s2x, s2y, expanded=True)
    if method == "pearson":
        cov = _full(sx, sy, c) - s1x * s1y / m
        return safe_cosine(cov, s2x - s1x * s1x / m, s2y - s1y * s1y / m, s2x, s2y, expanded=True)
    if method in ("cosine_cov", "corr_cov"):
        mx, my = (s1x / m, s1y / m) if method == "corr_cov" else (0.0, 0.0)
        num = _phi(sx, sy, c, mx, my)
        phx, phy = _phi(sx, sx, sx.self_cross, mx, mx), _phi(sy, sy, sy.self_cross, my, my)
        return safe_cosine(num, phx, phy, s2x, s2y, expanded=True)
    raise ValueError(f"No feature-space route for compare={method!r}; use one of {POLYNOMIAL}.")


def feature_space_score(x: torch.Tensor, y: torch.Tensor, kind: str, method: str) -> torch.Tensor:
    """compare(RDM(X), RDM(Y)) for a Gram-type RDM and a polynomial comparison, without an
    n×n matrix (see the module docstring). Lower precisions are computed in float64 (the
    expanded sums cancel) and the result cast back."""
    dtype = torch.promote_types(x.dtype, y.dtype)
    wide = torch.float64 if dtype != torch.float64 else dtype
    fx, fy = factor(x.to(wide), kind), factor(y.to(wide), kind)
    return combine(fx.side, fy.side, cross(fx, fy), method).to(dtype)


# ----------------------------------------------------------------------------- Bures
def bures_factor(x: torch.Tensor, kind: str) -> torch.Tensor | None:
    """F with G = −½HDH = FFᵀ, or ``None`` when D has a zero pattern (f ≠ 0: G is then not
    of this form and the n×n route is used).

    Squared Euclidean (rsatoolbox's 1/d): G = X̃X̃ᵀ/d, F = X̃/√d. Correlation / cosine without
    zero patterns: D = 11ᵀ − UUᵀ, G = ½ H UUᵀ H, F = (U − 1ūᵀ)/√2.
    """
    if kind in ("squared_euclidean", "mahalanobis"):
        return center(x) / x.shape[-1] ** 0.5
    raw = x - x.mean(-1, keepdim=True) if kind == "correlation" else x
    if bool(((raw * raw).sum(-1) == 0).any()):
        return None
    u = unit_rows(raw)
    return (u - u.mean(-2, keepdim=True)) / 2**0.5


def bures_feature_space(fx: torch.Tensor, fy: torch.Tensor, metric: bool = False) -> torch.Tensor:
    """Bures similarity ‖FₓᵀF_y‖_* / (‖Fₓ‖‖F_y‖), or the squared metric
    ‖Fₓ‖² + ‖F_y‖² − 2‖FₓᵀF_y‖_*, of G_X = FₓFₓᵀ and G_Y = F_yF_yᵀ: tr √(G_X^½ G_Y G_X^½)
    is the nuclear norm of FₓᵀF_y (p×q), so no n×n matrix or eigendecomposition is needed.
    """
    combine = bures_sq_metric if metric else bures_similarity
    return combine(*nuclear_terms(fx, fy))
