"""Comparisons of two RDMs, with rsatoolbox's definitions (``rsatoolbox.rdm.compare``).

On the strict upper triangles v = vec(D) (M = n(n−1)/2 entries) unless noted:

- ``cosine``     ⟨v_X, v_Y⟩ / (‖v_X‖‖v_Y‖)
- ``pearson``    cosine of the mean-centred vectors (rsatoolbox ``corr``)
- ``spearman``   Pearson correlation of the ranks (ties get their average rank)
- ``rho_a``      12 Σ (r_X − r̄)(r_Y − r̄) / (M³ − M)   (rsatoolbox ``rho-a``)
- ``kendall``    Kendall's τ_b (``tau_b`` is the same comparison; rsatoolbox ``tau-b``)
- ``tau_a``      Kendall's τ_a
- ``cosine_cov`` cosine of the double-centred matrices G = −½ H D H (full n×n matrices)
- ``corr_cov``   the same after subtracting the mean of v from the off-diagonal entries
- ``bures``      Bures similarity tr(√(G_X^½ G_Y G_X^½)) / √(tr G_X tr G_Y)
- ``bures_metric`` the squared Bures metric tr G_X + tr G_Y − 2 tr(√(G_X^½ G_Y G_X^½))
  (rsatoolbox ``bures_metric``: a distance, not normalised)
- ``euclidean``  ‖v_X − v_Y‖ (ReSi's ``outer="euclidean"``: a distance)
- ``soft_spearman`` Pearson correlation of Blondel et al.'s soft ranks

A comparison of a constant RDM (zero variance for pearson/corr_cov, a zero vector for
cosine) is undefined; it is given the defined value 0 with a zero gradient (not a
quotient of rounding noise).

>>> import torch
>>> v = torch.tensor([[0.0, 1, 2], [1, 0, 3], [2, 3, 0]], dtype=torch.float64)
>>> round(float(compare_rdms(v, 2 * v, "pearson")), 12)
1.0
"""

from __future__ import annotations

import torch

from ..linalg import (
    bures_similarity,
    bures_sq_metric,
    double_center,
    owned,
    safe_sqrt,
    sym_matrix_function,
    tiny,
)
from ..ranks import kendall_tau, rankdata_pair, soft_rank
from .rdms import upper_triangle

__all__ = [
    "COMPARISONS",
    "DISTANCES",
    "EXACT_COMPARISONS",
    "MATRIX_BASED",
    "RANK_BASED",
    "compare_rdms",
    "gram_of_rdm",
    "safe_cosine",
]

EXACT_COMPARISONS = (
    "cosine",
    "pearson",
    "spearman",
    "kendall",
    "tau_a",
    "rho_a",
    "cosine_cov",
    "corr_cov",
    "bures",
)
COMPARISONS = EXACT_COMPARISONS + ("soft_spearman",)
DISTANCES = ("euclidean", "bures_metric")
RANK_BASED = ("spearman", "kendall", "tau_a", "rho_a")
MATRIX_BASED = ("cosine_cov", "corr_cov", "bures", "bures_metric")


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Σ a·b over the last axis without an elementwise temporary."""
    return (a.unsqueeze(-2) @ b.unsqueeze(-1)).squeeze(-1).squeeze(-1)


def degenerate(sq: torch.Tensor, ref: torch.Tensor, expanded: bool = False) -> torch.Tensor:
    """True where a (centred) squared norm ``sq`` is rounding noise of the squared norm
    ``ref`` it came from: below (1000·eps)²·ref (a sum of squares of centred entries), or
    below 1000·eps·ref when ``expanded`` (a difference of expanded sums of size ``ref``,
    whose rounding error is eps·ref), or not positive."""
    eps = 1e3 * torch.finfo(sq.dtype).eps
    cut = (eps if expanded else eps * eps) * ref.detach()
    return (sq <= cut) | (sq <= tiny(sq))


def safe_cosine(
    num: torch.Tensor,
    na: torch.Tensor,
    nb: torch.Tensor,
    ref_a: torch.Tensor | None = None,
    ref_b: torch.Tensor | None = None,
    expanded: bool = False,
) -> torch.Tensor:
    """num / √(na·nb), and 0 (zero gradient) where na or nb is degenerate (see
    :func:`degenerate`; ``ref`` defaults to the norm itself)."""
    bad = degenerate(na, na if ref_a is None else ref_a, expanded) | degenerate(
        nb, nb if ref_b is None else ref_b, expanded
    )
    one = torch.ones_like(na)
    den = torch.where(bad, one, na).sqrt() * torch.where(bad, torch.ones_like(nb), nb).sqrt()
    return torch.where(bad, torch.zeros_like(num), num / den)


def _cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return safe_cosine(_dot(a, b), _dot(a, a), _dot(b, b))


def _pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson correlation along the last axis; centres ``a`` and ``b`` in place when they
    carry no autograd graph (callers pass fresh vectors)."""
    ra, rb = _dot(a, a), _dot(b, b)
    ma, mb = a.mean(-1, keepdim=True), b.mean(-1, keepdim=True)
    a = a.sub_(ma) if owned(a) else a - ma
    b = b.sub_(mb) if owned(b) else b - mb
    return safe_cosine(_dot(a, b), _dot(a, a), _dot(b, b), ra, rb)


# ----------------------------------------------------------------------------- matrix comparisons
def _noise_cut(lam: torch.Tensor) -> torch.Tensor:
    """Eigenvalues below 1000·eps·max|λ| are rounding noise: treated as exactly 0, so the
    square roots of a rank-deficient matrix's null space add nothing (rather than √eps)."""
    scale = lam.abs().amax(-1, keepdim=True).clamp_min(tiny(lam))
    return 1e3 * torch.finfo(lam.dtype).eps * scale


def _sqrt_psd(a: torch.Tensor) -> torch.Tensor:
    """A₊^½ (eigenvalues below the noise level set to 0), with a finite backward."""

    def f(lam):
        keep = lam > _noise_cut(lam)
        return torch.where(keep, lam.clamp_min(0).sqrt(), torch.zeros_like(lam))

    def fp(lam):
        cut = _noise_cut(lam)
        keep = lam > cut
        return torch.where(keep, 0.5 / lam.clamp_min(cut).sqrt(), torch.zeros_like(lam))

    return sym_matrix_function(a, f, fp)


def _fidelity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """tr √(A^½ B A^½) of two PSD matrices."""
    ra = _sqrt_psd(a)
    m = ra @ b @ ra
    m = 0.5 * (m + m.transpose(-1, -2))
    lam = torch.linalg.eigvalsh(m)
    keep = lam > _noise_cut(lam)
    return torch.where(keep, safe_sqrt(lam), torch.zeros_like(lam)).sum(-1)


def _trace(a: torch.Tensor) -> torch.Tensor:
    return a.diagonal(dim1=-2, dim2=-1).sum(-1)


def _bures(a: torch.Tensor, b: torch.Tensor, metric: bool) -> torch.Tensor:
    """Squared Bures metric or Bures similarity of two PSD matrices from tr A, tr B and the
    fidelity (the nuclear norm ‖FₐᵀF_b‖_* of factors A = FₐFₐᵀ, B = F_bF_bᵀ)."""
    combine = bures_sq_metric if metric else bures_similarity
    return combine(_trace(a), _trace(b), _fidelity(a, b))


def _offdiag_mean(d: torch.Tensor) -> torch.Tensor:
    n = d.shape[-1]
    return d.sum((-2, -1)) / max(n * (n - 1), 1)


def gram_of_rdm(d: torch.Tensor, subtract_mean: bool) -> torch.Tensor:
    """G = −½ H D' H, D' = D minus its off-diagonal mean off the diagonal when asked.

    One new n×n tensor per input (the rest is done in place when no gradient is tracked).
    """
    g = -0.5 * d
    if subtract_mean:
        m = (-0.5 * _offdiag_mean(d))[..., None, None]
        n = d.shape[-1]
        if owned(g):
            g.sub_(m)
            g.diagonal(dim1=-2, dim2=-1).add_(m[..., 0])
        else:
            g = g - m * (1 - torch.eye(n, dtype=d.dtype, device=d.device))
    return double_center(g, inplace=True)


def _compare_matrices(dx: torch.Tensor, dy: torch.Tensor, compare: str) -> torch.Tensor:
    sub = compare == "corr_cov"
    gx = gram_of_rdm(dx, sub)
    gy = gram_of_rdm(dy, sub)
    if compare in ("bures", "bures_metric"):
        return _bures(gx, gy, compare == "bures_metric")
    # the reference of a degenerate G is the RDM it came from (−½HDH = 0 for constant D)
    return safe_cosine(
        _dot(gx.flatten(-2), gy.flatten(-2)),
        _dot(gx.flatten(-2), gx.flatten(-2)),
        _dot(gy.flatten(-2), gy.flatten(-2)),
        0.25 * _dot(dx.flatten(-2), dx.flatten(-2)),
        0.25 * _dot(dy.flatten(-2), dy.flatten(-2)),
    )


# ----------------------------------------------------------------------------- dispatch
def compare_rdms(
    dx: torch.Tensor, dy: torch.Tensor, compare: str = "pearson", strength: float | None = None
) -> torch.Tensor:
    """Compare two ``(..., n, n)`` RDMs (zero diagonals) with the named comparison."""
    if compare in MATRIX_BASED:
        return _compare_matrices(dx, dy, compare)
    vx, vy = upper_triangle(dx), upper_triangle(dy)
    if compare == "cosine":
        return _cosine(vx, vy)
    if compare == "pearson":
        return _pearson(vx, vy)
    if compare == "euclidean":
        diff = vx - vy
        return safe_sqrt(_dot(diff, diff))
    if compare == "soft_spearman":
        if strength is None or not strength > 0:
            raise ValueError(f"soft_spearman needs a positive strength, got {strength!r}.")
        return _pearson(soft_rank(vx, strength), soft_rank(vy, strength))
    if compare in ("spearman", "rho_a"):
        rx, ry = rankdata_pair(vx, vy)
        if compare == "spearman":
            return _pearson(rx, ry)
        m = rx.shape[-1]
        rx, ry = rx - rx.mean(-1, keepdim=True), ry - ry.mean(-1, keepdim=True)
        return 12 * (rx * ry).sum(-1) / max(float(m) ** 3 - m, 1.0)
    if compare in ("kendall", "tau_b", "tau_a"):
        return kendall_tau(vx, vy, "a" if compare == "tau_a" else "b")
    raise ValueError(f"compare must be one of {list(COMPARISONS + DISTANCES)}, got {compare!r}.")
