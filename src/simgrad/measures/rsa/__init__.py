"""Representational similarity analysis (RSA): a representational dissimilarity matrix (RDM)
between the samples of each input, then a comparison of the two RDMs, as in rsatoolbox.

Names are ``rsa-rdm=R-compare=C-{score, distance=angular, angular_score}`` (without a form:
the score, as similarity-repository spells them), and ``rsa-rdm=R-compare=C`` for the
distance comparisons ``euclidean`` and ``bures_metric``. RDMs: ``squared_euclidean``,
``euclidean``, ``correlation``, ``cosine``, ``mahalanobis``, ``poisson``, ``gaussian``
(:mod:`~simgrad.measures.rsa.rdms`); comparisons: ``cosine``, ``pearson``, ``spearman``,
``rho_a``, ``kendall`` (= ``tau_b``), ``tau_a``, ``cosine_cov``, ``corr_cov``, ``bures``,
``bures_metric``, ``euclidean``, ``(soft_spearman-strength=S)``
(:mod:`~simgrad.measures.rsa.compare`), each with rsatoolbox's (or the named source's)
definition.

The polynomial comparisons (cosine, pearson, cosine_cov, corr_cov) of the squared-Euclidean,
correlation and cosine RDMs are computed in feature space, without an n×n matrix, when that
is cheaper (:mod:`~simgrad.measures.rsa.feature_space`: the derivation), also for all pairs
and over minibatches (squared-Euclidean RDMs stream like linear CKA). The rank comparisons
are exact and not differentiable (:mod:`simgrad.measures.ranks`). Memory otherwise: one n×n
RDM per input plus its M-entry upper triangle; no n²×n² objects.

>>> import torch
>>> X = torch.randn(30, 5, dtype=torch.float64)
>>> round(float(rsa_score(X, 2 * X + 1, "euclidean", "pearson")), 10)
1.0
"""

from __future__ import annotations

from ..ranks import kendall_tau, rankdata, soft_rank
from ..registry import describe
from . import hooks as _hooks  # noqa: F401  (registers the driver hooks)
from .compare import COMPARISONS, DISTANCES, EXACT_COMPARISONS, RANK_BASED, compare_rdms
from .feature_space import feature_space_score
from .names import Comparison
from .rdms import RDMS, rdm, upper_triangle
from .score import rsa_score

__all__ = [
    "COMPARISONS",
    "DISTANCES",
    "EXACT_COMPARISONS",
    "RANK_BASED",
    "RDMS",
    "Comparison",
    "compare_rdms",
    "feature_space_score",
    "kendall_tau",
    "rankdata",
    "rdm",
    "rsa_score",
    "soft_rank",
    "upper_triangle",
]

describe("rsa", __doc__)
