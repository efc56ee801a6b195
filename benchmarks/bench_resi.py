"""Speed of the neighbourhood and ReSi measures against the work each cannot avoid.

For every measure of issue 16's second part, the script times the forward pass (no
gradient) and, in the same run and interleaved, the unavoidable work it is built on: the
cosine Grams and the k-nearest-neighbour selection for neighbour measures, the n×n distance
matrices for distance-based ones, a thin SVD for column-space measures, the cross-product and
its singular values for alignment measures, the unit correlation matrix for matching
measures, the distance matrices plus one symmetric eigendecomposition per input for IMD. It
prints best-of-repeats times and their ratio (the statistic least disturbed by other load).
A ratio over 10 is explained in the NOTES printed below the table.

Usage::

    python benchmarks/bench_resi.py                      # n = 1000, p = 64, q = 48
    python benchmarks/bench_resi.py --n 2000 --repeats 5 --threads 2
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

import simgrad as sg
from simgrad.measures.linalg import center
from simgrad.measures.neighbors import knn_indices
from simgrad.measures.resi_statistics import squared_distances


def _knn(x, y, k=10):
    return knn_indices(x, k), knn_indices(y, k)


def _dist(x, y):
    return squared_distances(x).sqrt(), squared_distances(y).sqrt()


def _svd(x, y):
    return torch.linalg.svd(x, full_matrices=False), torch.linalg.svd(y, full_matrices=False)


def _cross_svd(x, y):
    return torch.linalg.svdvals(center(x).T @ center(y))


def _corr(x, y):
    xc, yc = center(x), center(y)
    return (xc / xc.norm(dim=0)).T @ (yc / yc.norm(dim=0))


def _dist_eig(x, y):
    a, b = _dist(x, y)
    return torch.linalg.eigvalsh(a), torch.linalg.eigvalsh(b)


def _grams(x, y):
    return x @ x.T, y @ y.T


def _five_svd(x, y):
    return [torch.linalg.svd(y[: 4 * len(y) // 5], full_matrices=False) for _ in range(5)]


def _five_corr(x, y):
    return [_corr(x[: 4 * len(x) // 5], y[: 4 * len(y) // 5]) for _ in range(5)]


# measure name -> (baseline label, baseline function)
CASES: dict[str, tuple[str, Callable]] = {
    "jaccard_similarity": ("cosine kNN (k=10)", _knn),
    "rank_similarity": ("cosine kNN (k=10)", _knn),
    "second_order_cosine_similarity": ("cosine kNN (k=10)", _knn),
    "cycle_knn-topk=10": ("cosine kNN (k=10)", _knn),
    "lcs_knn-topk=10": ("cosine kNN (k=10)", _knn),
    "edit_distance_knn-topk=10": ("cosine kNN (k=10)", _knn),
    "mutual_knn-topk=10": ("cosine kNN (k=10)", _knn),
    "cknna-topk=10": ("cosine kNN (k=10)", _knn),
    "magnitude_difference": ("distance matrices", _dist),
    "concentricity_difference": ("distance matrices", _dist),
    "uniformity_difference": ("distance matrices", _dist),
    "rsm_norm_difference": ("distance matrices", _dist),
    "distance_correlation": ("distance matrices", _dist),
    "eigenspace_overlap_score": ("thin SVDs", _svd),
    "gulp": ("thin SVDs", _svd),
    "bures_distance": ("XᵀY + singular values", _cross_svd),
    "orthogonal_procrustes_centered_and_normalized": ("XᵀY + singular values", _cross_svd),
    "orthogonal_angular_shape_metric_centered": ("XᵀY + singular values", _cross_svd),
    "aligned_cosine_similarity": ("XᵀY + singular values", _cross_svd),
    "permutation_procrustes": ("XᵀY + singular values", _cross_svd),
    "wreath_procrustes": ("unit correlations", _corr),
    "wreath_cka": ("n×n Grams", _grams),
    "hard_correlation_match": ("unit correlations", _corr),
    "soft_correlation_match": ("unit correlations", _corr),
    "isc": ("unit correlations", _corr),
    "max_match": ("thin SVDs", _svd),
    "pairwisematching": ("5 × unit correlations", _five_corr),
    "versa": ("5 × thin SVD of Y", _five_svd),
    "imd": ("distances + eigvalsh", _dist_eig),
}

NOTES = {
    "rsm_norm_difference": "largest singular value of an n×n matrix (full svdvals, O(n³)) on "
    "top of the O(n²·d) distances",
    "wreath_cka": "the max-over-units kernel is an elementwise (n, n, d) pass, not a BLAS "
    "product; unavoidable for the definition (no Gram identity for a max)",
    "lcs_knn-topk=10": "k² = 100 vectorized dynamic-programme steps",
    "edit_distance_knn-topk=10": "k² = 100 vectorized dynamic-programme steps",
    "max_match": "iterated projections until the matched sets stop shrinking",
    "versa": "17 λ leave-one-out errors, RDMs and Kendall τ on each held-out fold",
    "hard_correlation_match": "Hungarian assignment (scipy) on the p×q correlations",
    "permutation_procrustes": "Hungarian assignment (scipy) on XᵀY",
    "wreath_procrustes": "Hungarian assignment (scipy) on the unit inner products",
    "aligned_cosine_similarity": "full SVD (U and V) instead of singular values",
}


def _best(fn: Callable, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--p", type=int, default=64)
    ap.add_argument("--q", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.normal(size=(args.n, args.p)))
    Y = torch.tensor(
        X.numpy()[:, : args.q] @ rng.normal(size=(args.q, args.q))
        + rng.normal(size=(args.n, args.q))
    )
    print(
        f"n={args.n} p={args.p} q={args.q} float64, {args.threads} thread(s), best of "
        f"{args.repeats}"
    )
    print(f"{'measure':48s} {'time s':>9s} {'baseline':>24s} {'base s':>9s} {'ratio':>7s}")
    over = []
    for name, (label, base) in CASES.items():
        m = sg.measure(name)
        with torch.no_grad():
            m(X, Y)  # warm-up
            tb, tm = float("inf"), float("inf")
            for _ in range(args.repeats):
                tb = min(tb, _best(lambda b=base: b(X, Y), 1))
                tm = min(tm, _best(lambda f=m: f(X, Y), 1))
        ratio = tm / tb
        flag = " *" if ratio > 10 else ""
        print(f"{name:48s} {tm:9.4f} {label:>24s} {tb:9.4f} {ratio:7.1f}{flag}")
        if ratio > 10:
            over.append(name)
    if over:
        print("\nNOTES (* ratio > 10):")
        for name in over:
            print(f"  {name}: {NOTES.get(name, 'no note')}")


if __name__ == "__main__":
    main()
