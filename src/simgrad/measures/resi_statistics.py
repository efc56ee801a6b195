"""Representation statistics compared between X and Y (ReSi, Klabunde et al.).

Each measure summarizes each representation by one number and returns the absolute
difference, a dissimilarity (card form ``distance``; 0 when the statistics agree):

- ``magnitude_difference``      | ‖x̄‖ − ‖ȳ‖ |, x̄ the mean sample (row)
- ``concentricity_difference``  | (1/n) Σ_i cos(x_i, x̄) − (1/n) Σ_i cos(y_i, ȳ) |
- ``uniformity_difference``     | U(X) − U(Y) |, U(X) = log((1/n²) Σ_ij exp(−2‖x_i − x_j‖²))
  (Wang & Isola 2020 with t = 2, the diagonal included, as ReSi computes it)

All are differentiable (a zero mean sample gives cosines of 0; ``abs`` has slope 0 at 0).

>>> import torch
>>> X = torch.randn(30, 4, dtype=torch.float64)
>>> float(magnitude_difference(X, X)), float(uniformity_difference(X, X + 1.0))
(0.0, 0.0)
"""

from __future__ import annotations

import math

import torch

from .linalg import center, pairwise_sq_dists, safe_sqrt, tiny
from .plain import card_fields, register_plain
from .registry import describe

__all__ = [
    "concentricity_difference",
    "magnitude_difference",
    "squared_distances",
    "uniformity",
    "uniformity_difference",
]


def _norm(v: torch.Tensor) -> torch.Tensor:
    return safe_sqrt((v * v).sum(-1))


def magnitude_difference(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """| ‖mean row of X‖ − ‖mean row of Y‖ |."""
    return (_norm(x.mean(-2)) - _norm(y.mean(-2))).abs()


def _concentricity(x: torch.Tensor) -> torch.Tensor:
    mu = x.mean(-2, keepdim=True)
    num = (x * mu).sum(-1)
    den = _norm(x) * _norm(mu)
    ok = den > tiny(x)
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), 0 * num).mean(-1)


def concentricity_difference(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """| mean cosine of the samples to their mean, X minus Y |."""
    return (_concentricity(x) - _concentricity(y)).abs()


def squared_distances(x: torch.Tensor) -> torch.Tensor:
    """(…, n, n) squared Euclidean distances of the rows, from the column-centred Gram
    (translation-free, so no cancellation from a large mean), clamped at 0, zero diagonal."""
    xc = center(x)
    return pairwise_sq_dists(xc @ xc.transpose(-1, -2))


def uniformity(x: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    """log((1/n²) Σ_ij exp(−t ‖x_i − x_j‖²)), by a log-sum-exp."""
    n = x.shape[-2]
    return torch.logsumexp((-t * squared_distances(x)).flatten(-2), -1) - 2 * math.log(n)


def uniformity_difference(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """| U(X) − U(Y) | with t = 2."""
    return (uniformity(x) - uniformity(y)).abs()


_REFS = (
    "Klabunde et al. 2025, ReSi: A Comprehensive Benchmark for Representational Similarity "
    "Measures (ICLR); github.com/mklabunde/resi (measures/statistics.py)",
    "Klabunde et al. 2025, Similarity of Neural Network Models: A Survey of Functional and "
    "Representational Measures (ACM Computing Surveys)",
)


def _card(what, formula, rng, inv, cost, extra_ref=()):
    return lambda values: card_fields(
        form="distance",
        what=what,
        formula=formula,
        rng=rng,
        refs=_REFS + tuple(extra_ref),
        invariances=inv,
        cost=cost,
    )


register_plain(
    "magnitude_difference",
    magnitude_difference,
    _card(
        "absolute difference of the norms of the mean samples (dissimilarity)",
        "| ‖x̄‖ − ‖ȳ‖ |, x̄ = (1/n) Σ_i x_i",
        (0.0, float("inf")),
        ("permutation", "orthogonal"),
        "O(n·d)",
    ),
)
register_plain(
    "concentricity_difference",
    concentricity_difference,
    _card(
        "absolute difference of the mean cosine similarity of the samples to their mean "
        "(dissimilarity)",
        "| (1/n) Σ_i cos(x_i, x̄) − (1/n) Σ_i cos(y_i, ȳ) |",
        (0.0, 2.0),
        ("permutation", "orthogonal", "isotropic_scaling"),
        "O(n·d)",
    ),
)
register_plain(
    "uniformity_difference",
    uniformity_difference,
    _card(
        "absolute difference of the uniformity (log mean Gaussian potential, t = 2) "
        "(dissimilarity)",
        "| U(X) − U(Y) |, U(X) = log((1/n²) Σ_ij exp(−2‖x_i − x_j‖²))",
        (0.0, float("inf")),
        ("permutation", "orthogonal", "translation"),
        "O(n²·d) time, O(n²) memory",
        (
            "Wang & Isola 2020, Understanding Contrastive Representation Learning through "
            "Alignment and Uniformity on the Hypersphere (ICML)",
        ),
    ),
)

describe(
    "magnitude_difference",
    "Magnitude difference (ReSi): how far apart the lengths of the two representations' mean "
    "samples are; a statistic of each representation, not a comparison of samples.",
)
describe(
    "concentricity_difference",
    "Concentricity difference (ReSi): the difference of how closely the samples point in the "
    "direction of their mean (mean cosine to the mean sample).",
)
describe(
    "uniformity_difference",
    "Uniformity difference (ReSi, after Wang & Isola 2020): the difference of how uniformly "
    "the samples spread, measured by the log mean Gaussian potential of all pairs.",
)
