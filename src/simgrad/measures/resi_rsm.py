"""Measures built on distance matrices and column spaces (ReSi, nn_similarity_index).

- ``rsm_norm_difference``       ‖D_X − D_Y‖₂, D the Euclidean distance matrices of the samples
  and ‖·‖₂ the spectral norm: ReSi calls ``np.linalg.norm(S − S', ord=2)`` on the full n×n
  matrices (its comment intends the L2 norm of the vectorized triangle, but the call gives
  the largest singular value, and that is the value of the implementation; followed here).
- ``distance_correlation``      dCor = √(dCov²(X, Y) / √(dCov²(X, X) dCov²(Y, Y))), dCov²(X, Y)
  = (1/n²) Σ_ij A_ij B_ij with A, B the double-centred distance matrices (Székely et al.
  2007, the V-statistic; ReSi's and the ``dcor`` package's default).
- ``eigenspace_overlap_score``  ‖U_Xᵀ U_Y‖²_F / max(d_X, d_Y), U the left singular vectors of
  the (uncentred) data for its non-zero singular values (numpy's ``matrix_rank`` tolerance
  σ_max·max(n, d)·ε) (May et al. 2019, as ReSi computes it).
- ``gulp``                      GULP at λ = 0 (Boix-Adserà et al. 2022), as ReSi calls it:
  T1 + T2 − 2 T3 with the centred, normalized data; at λ = 0 this is exactly
  ‖P_X̃ − P_Ỹ‖²_F = r_X + r_Y − 2‖U_X̃ᵀU_Ỹ‖²_F, P the projector on the column space of the
  centred data and r its rank (the squared distance; no square root, like ReSi).
  Eigenvalues below the rank tolerance count as zero (the reference's exact ``> 0`` test
  inverts rounding noise when d > n).

``bures_distance`` (Tang et al. 2020, in ReSi) is the shape-metric family's measure
(``measures/shape.py``): √(‖X̃‖² + ‖Ỹ‖² − 2‖X̃ᵀỸ‖_*), the Bures distance of the centred
linear kernels; only its description is given here.

>>> import torch
>>> X = torch.randn(30, 4, dtype=torch.float64)
>>> A = torch.randn(4, 4, dtype=torch.float64)
>>> round(float(distance_correlation(X, 2 * X + 1)), 12), float(gulp(X, X @ A)) < 1e-9
(1.0, True)
"""

from __future__ import annotations

import torch

from .linalg import center, double_center, fro2, safe_sqrt, tiny
from .plain import card_fields, register_plain
from .registry import describe
from .resi_statistics import squared_distances

__all__ = [
    "distance_correlation",
    "eigenspace_overlap_score",
    "gulp",
    "rsm_norm_difference",
    "span_basis",
]


def _distances(x: torch.Tensor) -> torch.Tensor:
    return safe_sqrt(squared_distances(x))


def rsm_norm_difference(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Spectral norm of the difference of the Euclidean distance matrices."""
    return torch.linalg.svdvals(_distances(x) - _distances(y))[..., 0]


def distance_correlation(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Székely's distance correlation (V-statistic) of the samples of X and Y."""
    a, b = double_center(_distances(x)), double_center(_distances(y))
    ab, aa, bb = (a * b).mean((-2, -1)), (a * a).mean((-2, -1)), (b * b).mean((-2, -1))
    den2 = aa * bb
    ok = den2 > tiny(x)
    den = safe_sqrt(torch.where(ok, den2, torch.ones_like(den2)))
    return torch.where(ok, safe_sqrt(ab.clamp_min(0) / den), 0 * ab)


def span_basis(x: torch.Tensor) -> torch.Tensor:
    """(…, n, d) orthonormal basis of the column space of ``x``: the left singular vectors of
    the non-zero singular values (numpy ``matrix_rank`` tolerance), the others zeroed."""
    u, s, _ = torch.linalg.svd(x, full_matrices=False)
    tol = s[..., :1] * max(x.shape[-2:]) * torch.finfo(x.dtype).eps
    return u * (s > tol).unsqueeze(-2).to(x.dtype)


def eigenspace_overlap_score(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """‖U_Xᵀ U_Y‖²_F / max(d_X, d_Y) of the uncentred data."""
    with torch.no_grad():
        ux, uy = span_basis(x), span_basis(y)
        return (fro2(ux.transpose(-1, -2) @ uy) / max(x.shape[-1], y.shape[-1])).clamp(0, 1)


def gulp(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared GULP distance at λ = 0: ‖P_X̃ − P_Ỹ‖²_F."""
    with torch.no_grad():
        ux, uy = span_basis(center(x)), span_basis(center(y))
        return (fro2(ux) + fro2(uy) - 2 * fro2(ux.transpose(-1, -2) @ uy)).clamp_min(0)


_RESI = (
    "Klabunde et al. 2025, ReSi: A Comprehensive Benchmark for Representational Similarity "
    "Measures (ICLR); github.com/mklabunde/resi",
)
_RANK = "not differentiable (depends on the numerical rank; the gradient is unbounded as a "
"singular value approaches the rank cut-off)"

_CARDS = {
    "rsm_norm_difference": dict(
        form="distance",
        what="spectral norm of the difference of the Euclidean distance matrices "
        "(ReSi's value: np.linalg.norm(·, ord=2) of the n×n matrices)",
        formula="‖D_X − D_Y‖₂ (largest singular value), D_ij = ‖x_i − x_j‖",
        rng=(0.0, float("inf")),
        refs=_RESI,
        metric=True,
        invariances=("permutation", "orthogonal", "translation"),
        cost="O(n²·d + n³) (distances + singular values)",
    ),
    "distance_correlation": dict(
        form="score",
        what="distance correlation of the samples (V-statistic, Euclidean distances)",
        formula="√(dCov²(X,Y) / √(dCov²(X,X)·dCov²(Y,Y))), dCov²(X,Y) = (1/n²) Σ_ij A_ij B_ij, "
        "A, B the double-centred distance matrices",
        rng=(0.0, 1.0),
        refs=(
            "Székely, Rizzo & Bakirov 2007, Measuring and testing dependence by correlation "
            "of distances (Annals of Statistics)",
        )
        + _RESI,
        invariances=("permutation", "orthogonal", "isotropic_scaling", "translation"),
        cost="O(n²·d) time, O(n²) memory",
    ),
    "eigenspace_overlap_score": dict(
        form="score",
        what="overlap of the column spaces of the uncentred data, divided by the larger "
        "width; " + _RANK,
        formula="‖U_Xᵀ U_Y‖²_F / max(d_X, d_Y), U = left singular vectors of the non-zero "
        "singular values",
        rng=(0.0, 1.0),
        refs=(
            "May et al. 2019, On the downstream performance of compressed word embeddings "
            "(NeurIPS)",
        )
        + _RESI,
        differentiable=False,
        invariances=("permutation", "orthogonal", "isotropic_scaling", "invertible_linear"),
        cost="O(n·d²) (two thin SVDs)",
    ),
    "gulp": dict(
        form="distance",
        what="squared GULP distance at λ = 0 (ReSi's call): the distance between the best "
        "linear predictors, equal to the squared distance of the projectors on the centred "
        "column spaces; " + _RANK,
        formula="‖P_X̃ − P_Ỹ‖²_F = rank X̃ + rank Ỹ − 2‖U_X̃ᵀ U_Ỹ‖²_F",
        rng=(0.0, float("inf")),
        refs=(
            "Boix-Adserà et al. 2022, GULP: a prediction-based metric between "
            "representations (NeurIPS)",
        )
        + _RESI,
        differentiable=False,
        invariances=(
            "permutation",
            "orthogonal",
            "isotropic_scaling",
            "translation",
            "invertible_linear",
        ),
        cost="O(n·d²) (two thin SVDs)",
    ),
}
_FNS = {
    "rsm_norm_difference": rsm_norm_difference,
    "distance_correlation": distance_correlation,
    "eigenspace_overlap_score": eigenspace_overlap_score,
    "gulp": gulp,
}
for _name, _fields in _CARDS.items():
    register_plain(_name, _FNS[_name], lambda values, _f=_fields: card_fields(**_f))

describe(
    "rsm_norm_difference",
    "RSM norm difference (ReSi): how much the Euclidean distance matrices of the samples "
    "differ, measured by the spectral norm of their difference.",
)
describe(
    "distance_correlation",
    "Distance correlation (Székely et al. 2007): the dependence of X and Y measured through "
    "their double-centred Euclidean distance matrices; 0 only under independence.",
)
describe(
    "eigenspace_overlap_score",
    "Eigenspace overlap score (May et al. 2019, in ReSi): how much the column spaces spanned "
    "by the two representations overlap, normalized by the larger width.",
)
describe(
    "gulp",
    "GULP (Boix-Adserà et al. 2022, in ReSi): how differently linear predictors fitted on X "
    "and on Y behave; at λ = 0 the squared distance between the projectors on their centred "
    "column spaces.",
)
describe(
    "bures_distance",
    "Bures distance of the centred linear kernels (Tang et al. 2020): the Wasserstein-type "
    "distance between Gram matrices, equal to the unnormalized orthogonal Procrustes distance.",
)
