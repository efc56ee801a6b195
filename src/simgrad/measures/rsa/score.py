"""The single-pair RSA measure: compare(RDM(X), RDM(Y)) by the cheaper exact route.

Polynomial comparisons (cosine, pearson, cosine_cov, corr_cov) of Gram-type RDMs
(squared_euclidean, correlation, cosine, mahalanobis without a noise matrix) are evaluated
in feature space when that needs fewer multiply-adds than the two RDMs
(:mod:`~simgrad.measures.rsa.feature_space`); the Bures comparisons of these RDMs (without
zero patterns) are the nuclear norm of a p×q product (no n×n eigendecomposition); every
other pair forms the RDMs. Rank
comparisons are exact and carry no gradient.

>>> import torch
>>> X = torch.randn(30, 5, dtype=torch.float64)
>>> round(float(rsa_score(X, 2 * X + 1, "euclidean", "pearson")), 10)
1.0
"""

from __future__ import annotations

import torch

from .compare import RANK_BASED, compare_rdms
from .feature_space import (
    GRAM_RDMS,
    POLYNOMIAL,
    bures_factor,
    bures_feature_space,
    feature_space_score,
    use_feature_space,
)
from .rdms import rdm

__all__ = ["ROUTES", "rsa_score"]

ROUTES = ("auto", "feature", "matrix")


def _route(x: torch.Tensor, y: torch.Tensor, kind: str, compare: str, route: str) -> str:
    if route not in ROUTES:
        raise ValueError(f"route must be one of {list(ROUTES)}, got {route!r}.")
    possible = kind in GRAM_RDMS and compare in POLYNOMIAL
    if route == "feature" and not possible:
        raise ValueError(
            f"rdm={kind!r}, compare={compare!r} has no feature-space route (it needs an RDM in "
            f"{list(GRAM_RDMS)} and a comparison in {list(POLYNOMIAL)})."
        )
    if route != "auto":
        return route
    n, p, q = x.shape[-2], x.shape[-1], y.shape[-1]
    return "feature" if possible and use_feature_space(n, p, q) else "matrix"


def rsa_score(
    x: torch.Tensor,
    y: torch.Tensor,
    rdm_kind: str = "correlation",
    compare: str = "pearson",
    strength: float | None = None,
    *,
    noise: tuple[torch.Tensor | None, torch.Tensor | None] | None = None,
    route: str = "auto",
) -> torch.Tensor:
    """RSA of ``(..., n, p)`` and ``(..., n, q)``: compare(RDM(X), RDM(Y)).

    ``noise``: the noise precision matrices (Λ_X, Λ_Y) of ``rdm_kind="mahalanobis"``
    (``None`` entries: identity). ``route``: ``"auto"`` (fewer flops), ``"feature"`` or
    ``"matrix"`` (the n×n RDMs).
    """
    nx, ny = noise if noise is not None else (None, None)
    if nx is not None or ny is not None:
        route = "matrix" if route == "auto" else route
        if route == "feature":
            raise ValueError("A noise precision matrix needs route='matrix' (or 'auto').")
    elif (
        compare in ("bures", "bures_metric")
        and rdm_kind in GRAM_RDMS
        and route == "auto"
        and x.shape[-1] * y.shape[-1] <= x.shape[-2] ** 2  # the p×q product beats n×n
    ):
        fx, fy = bures_factor(x, rdm_kind), bures_factor(y, rdm_kind)
        if fx is not None and fy is not None:
            return bures_feature_space(fx, fy, compare == "bures_metric")
    elif _route(x, y, rdm_kind, compare, route) == "feature":
        return feature_space_score(x, y, rdm_kind, compare)
    if compare in RANK_BASED:
        with torch.no_grad():
            return compare_rdms(rdm(x, rdm_kind, nx), rdm(y, rdm_kind, ny), compare)
    return compare_rdms(rdm(x, rdm_kind, nx), rdm(y, rdm_kind, ny), compare, strength)
