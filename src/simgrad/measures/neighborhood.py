"""Nearest-neighbour measures of ReSi (Klabunde et al. 2024/2025) and platonic-rep (Huh et al.
2024).

Every measure compares the k nearest neighbours of each sample in X with those in Y; the
neighbours are found by cosine similarity (ReSi's ``NearestNeighbors(metric="cosine")``; the
platonic-rep pipeline L2-normalizes before its inner-product neighbours, which gives the same
sets), the sample itself excluded, nearest first. N_X(i) is that list for sample i, r_X(i, j) the
1-based rank of j in it.

- ``jaccard_similarity``   (1/n) Σ_i |N_X(i) ∩ N_Y(i)| / |N_X(i) ∪ N_Y(i)|               (k = 10)
- ``rank_similarity``      (1/n) Σ_i (1/H_{|C_i|}) Σ_{j∈C_i} 2 / ((1 + |r_X − r_Y|)(r_X + r_Y)),
  C_i = N_X(i) ∩ N_Y(i), H_m = Σ_{l≤m} 1/l; 0 for a sample with no shared neighbour  (k = 10)
- ``second_order_cosine_similarity``  (1/n) Σ_i cos(d_X(i, U_i), d_Y(i, U_i)) with
  U_i = N_X(i) ∪ N_Y(i) and d the cosine distances 1 − cos (ReSi)                      (k = 10)
- ``cycle_knn-topk=K``     (1/n) Σ_i 1[∃ j ∈ N_Y(i): i ∈ N_X(j)]  (platonic-rep ``cycle_knn``)
- ``lcs_knn-topk=K``       (1/n) Σ_i LCS(N_X(i), N_Y(i)), the longest common subsequence of
  the two ordered lists, in [0, K] (platonic-rep ``lcs_knn``, not divided by K)
- ``edit_distance_knn-topk=K``  1 − (1/n) Σ_i Lev(N_X(i), N_Y(i)) / K, Lev the Levenshtein
  distance of the ordered lists (platonic-rep ``edit_distance_knn``)

All select neighbours discretely: not differentiable (autograd would return zero or the
piecewise gradient given the sets).

>>> import torch
>>> X = torch.randn(40, 6, dtype=torch.float64)
>>> float(jaccard_similarity(X, 2 * X)), float(edit_distance_knn(X, X, 5))
(1.0, 1.0)
"""

from __future__ import annotations

import torch

from .neighbors import check_topk, knn_indices, knn_mask, unit_rows
from .plain import card_fields, register_plain
from .registry import Param, describe

__all__ = [
    "cycle_knn",
    "edit_distance_knn",
    "jaccard_similarity",
    "lcs_knn",
    "rank_similarity",
    "second_order_cosine_similarity",
]

RESI_K = 10


def _masks(x: torch.Tensor, y: torch.Tensor, k: int):
    check_topk(x.shape[-2], k)
    with torch.no_grad():
        ux, uy = unit_rows(x), unit_rows(y)
        sx, sy = ux @ ux.transpose(-1, -2), uy @ uy.transpose(-1, -2)
        return knn_mask(sx, k), knn_mask(sy, k), sx, sy


def jaccard_similarity(x: torch.Tensor, y: torch.Tensor, k: int = RESI_K) -> torch.Tensor:
    """Mean Jaccard index of the k-nearest-neighbour sets (see the module docstring)."""
    mx, my, _, _ = _masks(x, y, k)
    m = (mx & my).sum(-1).to(x.dtype)
    return (m / (2 * k - m)).mean(-1)


def _rank_matrix(x: torch.Tensor, k: int) -> torch.Tensor:
    """(…, n, n): r(i, j) for j among i's k nearest neighbours, 0 elsewhere."""
    idx = knn_indices(x, k)
    ranks = torch.arange(1, k + 1, dtype=x.dtype, device=x.device).expand(idx.shape)
    out = torch.zeros((*x.shape[:-1], x.shape[-2]), dtype=x.dtype, device=x.device)
    return out.scatter(-1, idx, ranks)


def rank_similarity(x: torch.Tensor, y: torch.Tensor, k: int = RESI_K) -> torch.Tensor:
    """ReSi's rank similarity (see the module docstring)."""
    check_topk(x.shape[-2], k)
    with torch.no_grad():
        rx, ry = _rank_matrix(x, k), _rank_matrix(y, k)
        common = (rx > 0) & (ry > 0)
        one = torch.ones_like(rx)
        term = 2 / ((1 + (rx - ry).abs()) * torch.where(common, rx + ry, one))
        total = torch.where(common, term, 0 * rx).sum(-1)
        count = common.sum(-1)
        harmonic = torch.cat(
            [torch.zeros(1, dtype=x.dtype), (1 / torch.arange(1, k + 1, dtype=x.dtype)).cumsum(0)]
        ).to(x.device)[count]
        safe = torch.where(count > 0, harmonic, torch.ones_like(harmonic))
        return torch.where(count > 0, total / safe, 0 * total).mean(-1)


def second_order_cosine_similarity(
    x: torch.Tensor, y: torch.Tensor, k: int = RESI_K
) -> torch.Tensor:
    """Mean cosine of the cosine-distance profiles over the union of neighbours."""
    mx, my, sx, sy = _masks(x, y, k)
    with torch.no_grad():
        u = (mx | my).to(x.dtype)
        a, b = (1 - sx) * u, (1 - sy) * u
        num = (a * b).sum(-1)
        den = ((a * a).sum(-1) * (b * b).sum(-1)).sqrt()
        return torch.where(den > 0, num / torch.where(den > 0, den, 1 + 0 * den), 0 * num).mean(-1)


def cycle_knn(x: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """Fraction of samples i that are a neighbour in X of one of their neighbours in Y."""
    mx, my, _, _ = _masks(x, y, k)
    return (my & mx.transpose(-1, -2)).any(-1).to(x.dtype).mean(-1)


def _dp_lists(a: torch.Tensor, b: torch.Tensor, lcs: bool) -> torch.Tensor:
    """LCS length or Levenshtein distance of each pair of (…, k) integer lists, vectorized
    over the leading dimensions (the k×k dynamic programme, one tensor op per cell)."""
    k = a.shape[-1]
    shape = a.shape[:-1]
    prev = [torch.zeros(shape, dtype=torch.long, device=a.device) for _ in range(k + 1)]
    if not lcs:
        prev = [torch.full(shape, j, dtype=torch.long, device=a.device) for j in range(k + 1)]
    for i in range(1, k + 1):
        cur = [prev[0] if lcs else torch.full(shape, i, dtype=torch.long, device=a.device)]
        for j in range(1, k + 1):
            same = a[..., i - 1] == b[..., j - 1]
            if lcs:
                cur.append(torch.where(same, prev[j - 1] + 1, torch.maximum(prev[j], cur[j - 1])))
            else:
                sub = prev[j - 1] + (~same).long()
                cur.append(torch.minimum(torch.minimum(prev[j], cur[j - 1]) + 1, sub))
        prev = cur
    return prev[k]


def lcs_knn(x: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """Mean longest-common-subsequence length of the ordered neighbour lists."""
    check_topk(x.shape[-2], k)
    lengths = _dp_lists(knn_indices(x, k), knn_indices(y, k), lcs=True)
    return lengths.to(x.dtype).mean(-1)


def edit_distance_knn(x: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """1 − mean Levenshtein distance of the ordered neighbour lists / k."""
    check_topk(x.shape[-2], k)
    dist = _dp_lists(knn_indices(x, k), knn_indices(y, k), lcs=False)
    return 1 - dist.to(x.dtype).mean(-1) / k


# ----------------------------------------------------------------------------- registration
_RESI = (
    "Klabunde et al. 2025, ReSi: A Comprehensive Benchmark for Representational Similarity "
    "Measures (ICLR); github.com/mklabunde/resi",
    "Klabunde et al. 2025, Similarity of Neural Network Models: A Survey of Functional and "
    "Representational Measures (ACM Computing Surveys)",
)
_PLATONIC = ("Huh et al. 2024, The Platonic Representation Hypothesis (ICML); platonic-rep",)
_INV = ("permutation", "orthogonal", "isotropic_scaling")
_COST = "O(n²·d + n²·log k) time, O(n²) memory"


def _topk(minimum: int = 1) -> Param:
    return Param(
        "topk",
        kind="int",
        grid=(5, 10),
        check=lambda k: k >= minimum,
        check_msg=f"the number of neighbours must be at least {minimum}.",
    )


def _resi(family, fn, what, formula):
    def card(values):
        return card_fields(
            form="score",
            what=f"{what} (k = {RESI_K} cosine neighbours, ReSi's default); not differentiable "
            "(discrete neighbour sets)",
            formula=formula,
            rng=(0.0, 1.0),
            refs=_RESI,
            differentiable=False,
            invariances=_INV,
            cost=_COST,
        )

    register_plain(family, fn, card)


_resi(
    "jaccard_similarity",
    jaccard_similarity,
    "mean Jaccard index of each sample's nearest-neighbour sets",
    "(1/n) Σ_i |N_X(i) ∩ N_Y(i)| / |N_X(i) ∪ N_Y(i)|",
)
_resi(
    "rank_similarity",
    rank_similarity,
    "rank-weighted agreement of the shared nearest neighbours",
    "(1/n) Σ_i (1/H_|C_i|) Σ_{j∈C_i} 2/((1+|r_X(i,j)−r_Y(i,j)|)(r_X(i,j)+r_Y(i,j))), "
    "C_i = N_X(i) ∩ N_Y(i)",
)
_resi(
    "second_order_cosine_similarity",
    second_order_cosine_similarity,
    "mean cosine of the cosine-distance profiles to the union of both neighbour sets",
    "(1/n) Σ_i cos(d_X(i, U_i), d_Y(i, U_i)), U_i = N_X(i) ∪ N_Y(i), d = 1 − cos",
)


def _platonic(family, fn, what, formula, rng_fn, symmetric):
    def card(values):
        k = values["topk"]
        return card_fields(
            form="score",
            what=f"{what} ({k} cosine neighbours); not differentiable (discrete neighbour "
            "lists)" + ("" if symmetric else "; not symmetric (X→Y→X cycle)"),
            formula=formula.replace("K", str(k)),
            rng=rng_fn(k),
            refs=_PLATONIC,
            differentiable=False,
            symmetric=symmetric,
            invariances=_INV,
            cost=_COST if family == "cycle_knn" else _COST + " + O(n·k²) dynamic programme",
        )

    register_plain(family, lambda x, y, topk: fn(x, y, topk), card, (_topk(),))


_platonic(
    "cycle_knn",
    cycle_knn,
    "fraction of samples that are an X-neighbour of one of their Y-neighbours",
    "(1/n) Σ_i 1[∃ j ∈ N_Y(i): i ∈ N_X(j)], |N| = K",
    lambda k: (0.0, 1.0),
    False,
)
_platonic(
    "lcs_knn",
    lcs_knn,
    "mean longest common subsequence of the ordered neighbour lists",
    "(1/n) Σ_i LCS(N_X(i), N_Y(i)), |N| = K",
    lambda k: (0.0, float(k)),
    True,
)
_platonic(
    "edit_distance_knn",
    edit_distance_knn,
    "one minus the mean normalized edit distance of the ordered neighbour lists",
    "1 − (1/n) Σ_i Lev(N_X(i), N_Y(i)) / K",
    lambda k: (0.0, 1.0),
    True,
)

_TEXT = {
    "jaccard_similarity": "Jaccard similarity of k-nearest-neighbour sets (ReSi): for each "
    "sample, the overlap of its 10 cosine nearest neighbours in X and in Y over their union.",
    "rank_similarity": "Rank similarity of nearest neighbours (ReSi, after Wang et al. 2022): "
    "shared neighbours count more when their ranks agree and when they are close to the sample.",
    "second_order_cosine_similarity": "Second-order cosine similarity (ReSi, after Hamilton "
    "et al. 2016): each sample's cosine distances to the union of its neighbours in X and Y, "
    "compared between the two representations by a cosine.",
    "cycle_knn": "Cycle k-NN (platonic-rep): the fraction of samples that come back to "
    "themselves through a nearest neighbour in Y followed by a nearest neighbour in X.",
    "lcs_knn": "Longest common subsequence of the ordered nearest-neighbour lists "
    "(platonic-rep): order-sensitive overlap of each sample's neighbours, averaged.",
    "edit_distance_knn": "Edit distance of the ordered nearest-neighbour lists (platonic-rep): "
    "one minus the mean Levenshtein distance between each sample's neighbour lists over k.",
}
for _family, _text in _TEXT.items():
    describe(_family, _text)
