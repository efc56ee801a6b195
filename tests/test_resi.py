"""ReSi, platonic-rep and related measures against numpy implementations written from the
papers' definitions (independently of the torch code), scipy/dcor/sklearn where they have
the statistic, and the names of similarity-repository resolving to finite values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist, cosine

import simgrad as sg

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _xy(n=40, p=6, q=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + 0.3
    Y = X[:, :q] @ rng.normal(size=(q, q)) + 0.7 * rng.normal(size=(n, q)) - 0.2
    return X, Y


# ----------------------------------------------------------------------------- numpy refs
def _knn(A, k):
    S = 1 - cdist(A, A, "cosine")
    np.fill_diagonal(S, -np.inf)
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def np_jaccard(A, B, k=10):
    a, b = _knn(A, k), _knn(B, k)
    return np.mean([len(set(i) & set(j)) / len(set(i) | set(j)) for i, j in zip(a, b)])


def np_rank(A, B, k=10):
    a, b = _knn(A, k), _knn(B, k)
    out = []
    for ai, bi in zip(a, b):
        common = set(ai) & set(bi)
        if not common:
            out.append(0.0)
            continue
        s = sum(
            2
            / (
                (1 + abs(list(ai).index(j) - list(bi).index(j)))
                * (list(ai).index(j) + list(bi).index(j) + 2)
            )
            for j in common
        )
        out.append(s / sum(1 / m for m in range(1, len(common) + 1)))
    return np.mean(out)


def np_second_order(A, B, k=10):
    a, b = _knn(A, k), _knn(B, k)
    DA, DB = cdist(A, A, "cosine"), cdist(B, B, "cosine")
    vals = []
    for i in range(len(A)):
        u = sorted(set(a[i]) | set(b[i]))
        vals.append(1 - cosine(DA[i, u], DB[i, u]))
    return np.mean(vals)


def np_cycle(A, B, k):
    a, b = _knn(A, k), _knn(B, k)
    return np.mean([any(i in a[j] for j in b[i]) for i in range(len(A))])


def _lcs(s, t):
    dp = np.zeros((len(s) + 1, len(t) + 1), int)
    for i in range(1, len(s) + 1):
        for j in range(1, len(t) + 1):
            dp[i, j] = (
                dp[i - 1, j - 1] + 1 if s[i - 1] == t[j - 1] else max(dp[i - 1, j], dp[i, j - 1])
            )
    return dp[-1, -1]


def _lev(s, t):
    dp = np.zeros((len(s) + 1, len(t) + 1), int)
    dp[:, 0], dp[0, :] = np.arange(len(s) + 1), np.arange(len(t) + 1)
    for i in range(1, len(s) + 1):
        for j in range(1, len(t) + 1):
            dp[i, j] = min(
                dp[i - 1, j] + 1, dp[i, j - 1] + 1, dp[i - 1, j - 1] + (s[i - 1] != t[j - 1])
            )
    return dp[-1, -1]


def np_lcs(A, B, k):
    return np.mean([_lcs(i, j) for i, j in zip(_knn(A, k), _knn(B, k))])


def np_edit(A, B, k):
    return 1 - np.mean([_lev(i, j) for i, j in zip(_knn(A, k), _knn(B, k))]) / k


def np_magnitude(A, B):
    return abs(np.linalg.norm(A.mean(0)) - np.linalg.norm(B.mean(0)))


def np_concentricity(A, B):
    c = lambda M: np.mean(1 - cdist(M, M.mean(0, keepdims=True), "cosine"))  # noqa: E731
    return abs(c(A) - c(B))


def np_uniformity(A, B):
    u = lambda M: np.log(np.exp(-2 * cdist(M, M, "sqeuclidean")).sum() / len(M) ** 2)  # noqa: E731
    return abs(u(A) - u(B))


def np_rsm_norm(A, B):
    return np.linalg.norm(cdist(A, A) - cdist(B, B), ord=2)


def np_eos(A, B):
    def basis(M):
        u, s, _ = np.linalg.svd(M, full_matrices=False)
        return u[:, : np.linalg.matrix_rank(M)]

    return np.linalg.norm(basis(A).T @ basis(B)) ** 2 / max(A.shape[1], B.shape[1])


def np_gulp(A, B):
    """GULP at λ = 0 from its definition (Boix-Adserà et al.): T1 + T2 − 2 T3."""
    n = len(A)

    def prep(M):
        M = M - M.mean(0)
        return math.sqrt(n) * M / np.linalg.norm(M)

    a, b = prep(A), prep(B)
    ca, cb, cab = a.T @ a / n, b.T @ b / n, a.T @ b / n
    pa, pb = np.linalg.pinv(ca), np.linalg.pinv(cb)
    return (
        np.trace(ca @ pa @ ca @ pa)
        + np.trace(cb @ pb @ cb @ pb)
        - 2 * np.trace(pa @ cab @ pb @ cab.T)
    )


def np_bures(A, B):
    H = np.eye(len(A)) - 1 / len(A)
    K, L = H @ A @ A.T @ H, H @ B @ B.T @ H
    ev = np.real(np.linalg.eigvals(K @ L)).clip(0)
    ev[ev < 1e-9 * ev.max()] = 0  # rounding noise of the rank-deficient product (√ amplifies it)
    return math.sqrt(np.trace(K) + np.trace(L) - 2 * np.sqrt(ev).sum())


def _corr(A, B):
    return np.corrcoef(A.T, B.T)[: A.shape[1], A.shape[1] :]


def np_hard(A, B):
    C = _corr(A, B)
    r, c = linear_sum_assignment(C, maximize=True)
    return C[r, c].mean()


def np_soft(A, B):
    C = _corr(A, B)
    return (C.max(1).mean() + C.max(0).mean()) / 2


def np_isc(A, B):
    return _corr(A, B).mean()


def _pad(A, B):
    d = max(A.shape[1], B.shape[1])
    return (np.pad(A, ((0, 0), (0, d - A.shape[1]))), np.pad(B, ((0, 0), (0, d - B.shape[1]))))


def np_aligned_cos(A, B):
    A, B = _pad(A, B)
    R, _ = orthogonal_procrustes(A, B)
    AR = A @ R
    return np.mean([a @ b / np.linalg.norm(a) / np.linalg.norm(b) for a, b in zip(AR, B)])


def np_perm_procrustes(A, B):
    A, B = _pad(A, B)
    r, c = linear_sum_assignment(A.T @ B, maximize=True)
    return np.linalg.norm(A[:, r] - B[:, c])


def _cn(M):
    M = M - M.mean(0)
    return M / np.linalg.norm(M)


def np_opcn(A, B):
    A, B = _pad(_cn(A), _cn(B))
    R, _ = orthogonal_procrustes(A, B)
    return np.linalg.norm(A @ R - B)


def np_angular(A, B):
    A, B = _pad(_cn(A), _cn(B))
    R, _ = orthogonal_procrustes(A, B)
    return np.arccos(np.clip(np.trace(R.T @ A.T @ B), -1, 1))


def np_imd(A, B, k=5):
    ts = np.logspace(-1, 1, 256)

    def trace(M):
        D = cdist(M, M, "sqeuclidean")
        np.fill_diagonal(D, np.inf)
        W = np.zeros_like(D)
        for i, row in enumerate(np.argsort(D, axis=1)[:, :k]):
            W[i, row] = 1
        W = np.maximum(W, W.T)
        d = W.sum(1)
        L = np.eye(len(M)) - W / np.sqrt(np.outer(d, d))
        lam = np.linalg.eigvalsh(L)
        return np.exp(-np.outer(ts, lam)).sum(1) / len(M) * 1e6

    return np.max(np.exp(-2 * (ts + 1 / ts)) * np.abs(trace(A) - trace(B)))


def np_wreath_procrustes(A, B):
    """modelsym wreath_procrustes with batch = samples, channels = units."""
    A, B = _pad(A / np.linalg.norm(A, axis=0), B / np.linalg.norm(B, axis=0))
    C = A.T @ B
    r, c = linear_sum_assignment(C, maximize=True)
    return 1 - math.sqrt(((A**2).sum() + (B**2).sum() - 2 * C[r, c].sum()) / (4 * A.shape[1]))


def np_wreath_cka(A, B):
    def kernel(H):
        H = H - H.mean(0)
        H = H / np.linalg.norm(H, axis=0)
        n = len(H)
        K = np.zeros((n, n))
        for i in range(n):
            for j in range(n):
                if i != j:
                    K[i, j] = np.max(H[i] * H[j])
        return K

    def hsic(K, L):
        n = len(K)
        return (
            (K * L).sum()
            + K.sum() * L.sum() / ((n - 1) * (n - 2))
            - 2 / (n - 2) * (K.sum(1) * L.sum(1)).sum()
        ) / (n * (n - 3))

    K, L = kernel(A), kernel(B)
    return hsic(K, L) / math.sqrt(hsic(K, K) * hsic(L, L))


EXACT = {
    "wreath_procrustes": np_wreath_procrustes,
    "wreath_cka": np_wreath_cka,
    "jaccard_similarity": np_jaccard,
    "rank_similarity": np_rank,
    "second_order_cosine_similarity": np_second_order,
    "cycle_knn-topk=7": lambda A, B: np_cycle(A, B, 7),
    "lcs_knn-topk=7": lambda A, B: np_lcs(A, B, 7),
    "edit_distance_knn-topk=7": lambda A, B: np_edit(A, B, 7),
    "magnitude_difference": np_magnitude,
    "concentricity_difference": np_concentricity,
    "uniformity_difference": np_uniformity,
    "rsm_norm_difference": np_rsm_norm,
    "eigenspace_overlap_score": np_eos,
    "gulp": np_gulp,
    "bures_distance": np_bures,
    "hard_correlation_match": np_hard,
    "soft_correlation_match": np_soft,
    "isc": np_isc,
    "aligned_cosine_similarity": np_aligned_cos,
    "permutation_procrustes": np_perm_procrustes,
    "orthogonal_procrustes_centered_and_normalized": np_opcn,
    "orthogonal_angular_shape_metric_centered": np_angular,
    "imd": np_imd,
}


@pytest.mark.parametrize("name", sorted(EXACT))
@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_matches_numpy_definition(name, scale):
    X, Y = _xy()
    X, Y = X * scale, Y * scale
    got = sg.score(name, X, Y)
    want = float(EXACT[name](X, Y))
    assert got == pytest.approx(want, rel=1e-9, abs=1e-10), (got, want)


def test_distance_correlation_matches_dcor():
    dcor = pytest.importorskip("dcor")
    X, Y = _xy()
    assert sg.score("distance_correlation", X, Y) == pytest.approx(
        dcor.distance_correlation(X, Y), abs=1e-10
    )


def test_bures_distance_is_unnormalized_procrustes():
    X, Y = _xy()
    assert sg.score("bures_distance", X, Y) == pytest.approx(
        sg.score("procrustes-distance=euclidean", X, Y), abs=1e-9
    )


def test_uniformity_is_not_scale_invariant_on_close_samples():
    X, Y = _xy()
    X, Y = 0.2 * X, 0.2 * Y
    assert (
        abs(sg.score("uniformity_difference", X, Y) - sg.score("uniformity_difference", X, 3 * Y))
        > 1e-3
    )


def test_max_match_limits():
    X, Y = _xy(p=4, q=4)
    assert sg.score("max_match", X, X @ np.random.default_rng(3).normal(size=(4, 4))) == 1.0
    rng = np.random.default_rng(4)
    assert sg.score("subspacematch", rng.normal(size=(60, 3)), rng.normal(size=(60, 3))) == 0.0


def test_wreath_measures_are_invariant_to_unit_permutation_and_positive_scaling():
    X, _ = _xy(p=4, q=4)
    Y = X[:, [2, 0, 3, 1]] * np.array([0.5, 2.0, 1.3, 3.0])
    assert sg.score("wreath_procrustes", X, Y) == pytest.approx(1, abs=1e-7)
    assert sg.score("wreath_cka", X, Y + 2.0) == pytest.approx(1, abs=1e-12)


def test_pairwisematching_picks_the_matching_unit():
    X, _ = _xy(n=60)
    Y = np.c_[X[:, [3, 1]] * 2 + 1, np.random.default_rng(1).normal(size=(60, 3))]
    v = sg.score("pairwisematching", X[:, [1, 3]], Y)
    assert v == pytest.approx(1.0, abs=1e-12)


def _names() -> list[str]:
    lines = (Path("/work/shared/spec/similarity_repository_names.txt")).read_text().splitlines()
    return [ln for ln in lines if ln and not ln.startswith("#")]


MINE = [
    "jaccard_similarity",
    "rank_similarity",
    "second_order_cosine_similarity",
    "cycle_knn-topk={topk}",
    "lcs_knn-topk={topk}",
    "edit_distance_knn-topk={topk}",
    "cknna-topk={topk}",
    "mutual_knn-topk={topk}",
    "rsm_norm_difference",
    "magnitude_difference",
    "concentricity_difference",
    "uniformity_difference",
    "eigenspace_overlap_score",
    "gulp",
    "imd",
    "hard_correlation_match",
    "soft_correlation_match",
    "aligned_cosine_similarity",
    "permutation_procrustes",
    "orthogonal_procrustes_centered_and_normalized",
    "orthogonal_angular_shape_metric_centered",
    "distance_correlation",
    "isc",
    "max_match",
    "subspacematch",
    "pairwisematching",
    "wreath_cka",
    "wreath_procrustes",
    "bures_distance",
]


@pytest.mark.parametrize("template", MINE)
def test_names_resolve_with_complete_cards_and_finite_values(template):
    X, Y = _xy(n=48)
    for topk in (5, 10):
        name = template.replace("{topk}", str(topk))
        m = sg.measure(name)
        c = m.card
        assert c.description and c.formula and c.references
        v = sg.score(name, X, Y)
        assert np.isfinite(v), name
        lo, hi = c.range
        assert lo - 1e-9 <= v <= hi + 1e-9, (name, v, c.range)
        if c.symmetric:
            assert sg.score(name, Y, X) == pytest.approx(v, abs=1e-9), name


def _np_standardize(A):
    sd = A.std(0)
    Z = (A - A.mean(0)) / np.where(sd > 0, sd, 1)
    return np.where(sd > 0, Z, 0)


def test_versa_matches_sklearn_ridgecv_and_scipy_kendall():
    from scipy.stats import kendalltau
    from sklearn.linear_model import RidgeCV

    from simgrad.measures.regression import cv_folds

    X, Y = _xy(n=50)
    taus = []
    for test in cv_folds(50, 5, "samples", None):
        test = test.numpy()
        train = np.setdiff1d(np.arange(50), test)
        model = RidgeCV(alphas=np.logspace(-8, 8, 17)).fit(_np_standardize(Y[train]), X[train])
        pred = model.predict(_np_standardize(Y[test]))
        iu = np.triu_indices(len(test), 1)
        taus.append(kendalltau((1 - np.corrcoef(pred))[iu], (1 - np.corrcoef(X[test]))[iu])[0])
    assert sg.score("versa", X, Y) == pytest.approx(np.mean(taus), abs=1e-10)


def test_pairwisematching_matches_numpy():
    from simgrad.measures.regression import cv_folds

    X, Y = _xy(n=50)
    scores = []
    for test in cv_folds(50, 5, "samples", None):
        test = test.numpy()
        train = np.setdiff1d(np.arange(50), test)
        pick = _corr(X[train], Y[train]).argmax(1)
        scores.append(
            np.mean([np.corrcoef(X[test, j], Y[test, pick[j]])[0, 1] for j in range(X.shape[1])])
        )
    assert sg.score("pairwisematching", X, Y) == pytest.approx(np.mean(scores), abs=1e-12)
