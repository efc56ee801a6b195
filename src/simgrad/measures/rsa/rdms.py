"""Representational dissimilarity matrices (RDMs): n×n, zero diagonal, over the rows x_i.

- ``squared_euclidean``  D_ij = ‖x_i − x_j‖² / d (rsatoolbox ``calc_rdm(method="euclidean")``)
- ``euclidean``          D_ij = ‖x_i − x_j‖ (scipy ``pdist``; ReSi's ``inner="euclidean"``)
- ``correlation``        D_ij = 1 − Pearson(x_i, x_j) across units (rsatoolbox
  ``correlation``); a constant pattern has correlation 0 with every other
- ``cosine``             D_ij = 1 − cos(x_i, x_j) (a zero pattern has cosine 0)
- ``mahalanobis``        D_ij = (x_i − x_j)ᵀ Λ (x_i − x_j) / d with a noise *precision* matrix
  Λ (rsatoolbox ``calc_rdm(method="mahalanobis", noise=Λ)``); Λ = I when none is given, as
  rsatoolbox (then equal to ``squared_euclidean``)
- ``poisson``            symmetrised KL divergence of Poisson rates (rsatoolbox
  ``calc_rdm(method="poisson")``): with m = (x + λ₀w) / (1 + w), λ₀ = 1, w = 0.1,
  D_ij = Σ_k (m_ik − m_jk)(log m_ik − log m_jk) / d. Needs x ≥ 0 (counts or rates).
- ``gaussian``           D_ij = 1 − exp(−‖x_i − x_j‖² / mean_kl ‖x_k − x_l‖²) (thingsvision
  ``compute_rdm(method="gaussian")``; the mean over all n² entries, diagonal included)

The divisions by d do not change any scale-invariant comparison; they matter for the
``euclidean`` and ``bures_metric`` comparisons, which then equal rsatoolbox's.

>>> x = torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=torch.float64)
>>> rdm(x, "euclidean")[0, 1].item(), rdm(x, "squared_euclidean")[0, 1].item()
(5.0, 12.5)
"""

from __future__ import annotations

import torch

from ..linalg import pairwise_sq_dists, safe_sqrt, unit_rows, zero_diag

__all__ = ["POISSON_PRIOR", "RDMS", "rdm", "unit_rows", "upper_triangle"]

RDMS = (
    "squared_euclidean",
    "euclidean",
    "correlation",
    "cosine",
    "mahalanobis",
    "poisson",
    "gaussian",
)
POISSON_PRIOR = (1.0, 0.1)  # rsatoolbox's prior_lambda, prior_weight


def _sq_dists(x: torch.Tensor, precision: torch.Tensor | None = None) -> torch.Tensor:
    """‖x_i − x_j‖² (or in the metric Λ) by the Gram form, as rsatoolbox (not centred first:
    integer-valued data give exact integer distances, so ties stay tied for the ranks)."""
    k = x @ x.transpose(-1, -2) if precision is None else x @ precision @ x.transpose(-1, -2)
    return pairwise_sq_dists(k)


def _poisson(x: torch.Tensor) -> torch.Tensor:
    if bool((x.detach() < 0).any()):
        raise ValueError(
            "rdm=poisson needs non-negative data (spike counts or rates); got negative values."
        )
    lam0, w = POISSON_PRIOR
    m = (x + lam0 * w) / (1 + w)
    k = m @ torch.log(m).transpose(-1, -2)
    dg = k.diagonal(dim1=-2, dim2=-1)
    d = dg.unsqueeze(-1) + dg.unsqueeze(-2) - k - k.transpose(-1, -2)
    return zero_diag(d.clamp_min(0)) / x.shape[-1]


def rdm(
    x: torch.Tensor, kind: str = "correlation", noise: torch.Tensor | None = None
) -> torch.Tensor:
    """The n×n RDM of the rows of ``(..., n, d)`` ``x`` (see the module docstring).

    ``noise`` is the d×d noise precision matrix of ``mahalanobis`` (identity when ``None``).
    """
    if kind in ("squared_euclidean", "mahalanobis"):
        if noise is not None and kind != "mahalanobis":
            raise ValueError("A noise precision matrix is only used by rdm=mahalanobis.")
        return _sq_dists(x, noise) / x.shape[-1]
    if noise is not None:
        raise ValueError("A noise precision matrix is only used by rdm=mahalanobis.")
    if kind == "euclidean":
        return safe_sqrt(_sq_dists(x))
    if kind in ("correlation", "cosine"):
        u = unit_rows(x - x.mean(-1, keepdim=True) if kind == "correlation" else x)
        return zero_diag(1 - u @ u.transpose(-1, -2))
    if kind == "poisson":
        return _poisson(x)
    if kind == "gaussian":
        d2 = _sq_dists(x)
        scale = d2.mean((-2, -1), keepdim=True)
        return zero_diag(1 - torch.exp(-d2 / torch.where(scale > 0, scale, torch.ones_like(scale))))
    raise ValueError(f"rdm must be one of {list(RDMS)}, got {kind!r}.")


_TRIU_CACHE: dict = {}


def upper_triangle(d: torch.Tensor) -> torch.Tensor:
    """Strict upper triangle of ``(..., n, n)`` as ``(..., n(n−1)/2)``, row-major (as
    scipy's ``squareform`` and rsatoolbox's RDM vectors). The cached int32 index costs ¼ of
    an n×n float64 matrix, once per n."""
    n = d.shape[-1]
    key = (n, str(d.device))
    if key not in _TRIU_CACHE:
        _TRIU_CACHE.clear()
        iu = torch.triu_indices(n, n, offset=1, device=d.device)
        lin = iu[0] * n + iu[1]
        del iu
        _TRIU_CACHE[key] = lin.to(torch.int32) if n * n < 2**31 else lin
    return torch.index_select(d.flatten(-2), -1, _TRIU_CACHE[key])
