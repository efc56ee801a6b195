"""Neighbourhood measures used to compare models (Huh et al. 2024, "The Platonic
Representation Hypothesis").

Samples are L2-normalized (as the paper's ``compute_score`` does) and compared by inner
product, i.e. cosine similarity; N_X(i) is the set of the k samples most similar to sample i
(itself excluded; ties broken by index order of ``torch.topk``).

- ``mutual_knn-topk=K``  (1/n) Σ_i |N_X(i) ∩ N_Y(i)| / k, in [0, 1].
- ``cknna-topk=K``       CKA restricted to mutual neighbours: with K = ÛÛᵀ, L = V̂V̂ᵀ, the
  masks M_K (i→j for j ∈ N_X(i)), M_L, and HSIC_u Song's unbiased estimator,
  CKNNA = HSIC_u(M_K∘M_L∘K, M_K∘M_L∘L) / √(HSIC_u(M_K∘K, M_K∘K)·HSIC_u(M_L∘L, M_L∘L)).
  This is the platonic-rep reference definition without its ``+1e-6`` in the denominator
  (a non-positive denominator gives 0). The masks are not symmetric, so neither is CKNNA.

Both select neighbours discretely and are marked non-differentiable; given the neighbour
sets, autograd returns the piecewise gradient of CKNNA.

>>> import torch
>>> X = torch.randn(50, 8, dtype=torch.float64)
>>> float(mutual_knn(X, 3 * X, 5)), round(float(cknna(X, 3 * X, 5)), 10)
(1.0, 1.0)
"""

from __future__ import annotations

import torch

from .linalg import safe_sqrt, unit_rows
from .registry import Param, Template, alias, describe, register

__all__ = [
    "cknna",
    "hsic_unbiased",
    "check_topk",
    "knn_indices",
    "knn_mask",
    "mutual_knn",
    "unit_rows",
]


def check_topk(n: int, k: int, minimum_n: int = 2) -> None:
    if k > n - 1:
        raise ValueError(
            f"topk={k} neighbours need more than {k} samples (got {n} samples); use a smaller topk."
        )
    if n < minimum_n:
        raise ValueError(f"CKNNA needs at least {minimum_n} samples, got {n}.")


def knn_mask(k_mat: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean (…, n, n) mask: row i marks the k largest off-diagonal entries of row i."""
    n = k_mat.shape[-1]
    eye = torch.eye(n, dtype=torch.bool, device=k_mat.device)
    s = k_mat.detach().masked_fill(eye, float("-inf"))
    idx = torch.topk(s, k, dim=-1).indices
    return torch.zeros(s.shape, dtype=torch.bool, device=s.device).scatter_(-1, idx, True)


def knn_indices(x: torch.Tensor, k: int) -> torch.Tensor:
    """(…, n, k) indices of each sample's k nearest neighbours by cosine similarity, nearest
    first, the sample itself excluded (ties in index order of ``torch.topk``); no gradient."""
    with torch.no_grad():
        u = unit_rows(x)
        s = u @ u.transpose(-1, -2)
        eye = torch.eye(s.shape[-1], dtype=torch.bool, device=s.device)
        return torch.topk(s.masked_fill(eye, float("-inf")), k, dim=-1).indices


def mutual_knn(x: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """Mean fraction of shared k-nearest neighbours (cosine similarity) of each sample."""
    n = x.shape[-2]
    check_topk(n, k)
    with torch.no_grad():
        ux, uy = unit_rows(x), unit_rows(y)
        mx = knn_mask(ux @ ux.transpose(-1, -2), k)
        my = knn_mask(uy @ uy.transpose(-1, -2), k)
        return (mx & my).sum((-2, -1)).to(x.dtype) / (n * k)


def hsic_unbiased(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Song et al. 2012 unbiased HSIC of (…, m, m) matrices (as platonic-rep writes it):

    [Σ_ij Ã_ij B̃_ji + 1ᵀÃ1·1ᵀB̃1/((m−1)(m−2)) − 2·1ᵀÃB̃1/(m−2)] / (m(m−3)),
    Ã, B̃ = a, b with zeroed diagonals. No m×m×m product: 1ᵀÃB̃1 = (1ᵀÃ)·(B̃1).
    """
    m = a.shape[-1]
    off = 1 - torch.eye(m, dtype=a.dtype, device=a.device)
    at, bt = a * off, b * off
    t1 = (at * bt.transpose(-1, -2)).sum((-2, -1))
    t2 = at.sum((-2, -1)) * bt.sum((-2, -1)) / ((m - 1) * (m - 2))
    t3 = 2 * (at.sum(-2) * bt.sum(-1)).sum(-1) / (m - 2)
    return (t1 + t2 - t3) / (m * (m - 3))


def cknna(x: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """Centered kernel nearest-neighbour alignment (see the module docstring)."""
    n = x.shape[-2]
    check_topk(n, k, minimum_n=4)
    ux, uy = unit_rows(x), unit_rows(y)
    kx, ly = ux @ ux.transpose(-1, -2), uy @ uy.transpose(-1, -2)
    mk, ml = knn_mask(kx, k).to(x.dtype), knn_mask(ly, k).to(x.dtype)
    both = mk * ml
    kl = hsic_unbiased(both * kx, both * ly)
    kk = hsic_unbiased(mk * kx, mk * kx)
    ll = hsic_unbiased(ml * ly, ml * ly)
    den2 = kk * ll
    pos = den2 > 0
    den = safe_sqrt(torch.where(pos, den2, torch.ones_like(den2)))
    return torch.where(pos, kl / den, torch.zeros_like(kl))


# ----------------------------------------------------------------------------- registration
def _topk(minimum: int) -> Param:
    return Param(
        "topk",
        kind="int",
        grid=(5, 10),
        check=lambda k: k >= minimum,
        check_msg=f"the number of neighbours must be at least {minimum}.",
    )


_REFS = ("Huh et al. 2024, The Platonic Representation Hypothesis (ICML)",)


def _card_knn(values):
    k = values["topk"]
    return dict(
        family="mutual_knn",
        form="score",
        description=f"mutual {k}-nearest-neighbour alignment (cosine neighbours of each "
        "sample); not differentiable (discrete neighbour sets)",
        formula=f"(1/n) Σ_i |N_X(i) ∩ N_Y(i)| / {k}",
        range=(0.0, 1.0),
        metric=False,
        symmetric=True,
        differentiable=False,
        invariances=("permutation", "orthogonal", "isotropic_scaling"),
        estimator="plug-in (in-sample)",
        cost="O(n²·d + n² log k) time, O(n²) memory",
        references=_REFS,
    )


def _card_cknna(values):
    k = values["topk"]
    return dict(
        family="cknna",
        form="score",
        description=f"CKA (unbiased HSIC) restricted to mutual {k}-nearest-neighbour pairs; "
        "not differentiable (discrete neighbour sets), not symmetric (directed masks)",
        formula="HSIC_u(M_K∘M_L∘K, M_K∘M_L∘L) / √(HSIC_u(M_K∘K, M_K∘K) HSIC_u(M_L∘L, M_L∘L))",
        range=(-float("inf"), float("inf")),
        metric=False,
        symmetric=False,
        differentiable=False,
        invariances=("permutation", "orthogonal", "isotropic_scaling"),
        estimator="unbiased HSIC U-statistic (Song et al. 2012) on masked kernels",
        cost="O(n²·d + n² log k) time, O(n²) memory",
        references=_REFS + ("Song et al. 2012, Feature selection via dependence maximization",),
    )


register(
    Template(
        "mutual_knn",
        "score",
        (_topk(1),),
        lambda topk: lambda x, y, n_conditions=None: mutual_knn(x, y, topk),
        _card_knn,
    )
)
register(
    Template(
        "cknna",
        "score",
        (_topk(2),),
        lambda topk: lambda x, y, n_conditions=None: cknna(x, y, topk),
        _card_cknna,
    )
)

alias("mutual_knn", "mutual_knn-topk=10-score")
alias("cknna", "cknna-topk=10-score")

describe(
    "mutual_knn",
    """Mutual k-nearest neighbours (Huh et al. 2024): the mean fraction of each sample's k
    nearest neighbours (cosine similarity of L2-normalized samples) shared by X and Y.""",
)
describe(
    "cknna",
    """CKA restricted to mutual nearest neighbours (CKNNA, Huh et al. 2024): Song's unbiased
    HSIC of the cosine kernels masked to pairs that are among each other's k nearest
    neighbours in both representations; local, not symmetric.""",
)
