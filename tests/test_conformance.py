"""Conformance of the measure core against independent implementations (float64, 1e-10).

Every reference below is computed outside simgrad: rsatoolbox, scikit-learn, scipy, or the
definition written out in numpy with explicit n×n matrices, QR/SVD routes or loops.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from sklearn.linear_model import LinearRegression, Ridge

import simgrad as sg


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small matrices: one torch thread. On a busy 2-core machine two spinning OpenMP threads
    make tiny LAPACK calls tens of times slower."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


TOL = 1e-10

# (X shape, Y shape): n > units, n < units, different widths, 3-D (time, conditions, units)
SHAPES = [
    ((60, 12), (60, 12)),
    ((10, 25), (10, 30)),
    ((50, 9), (50, 4)),
    ((5, 8, 6), (5, 8, 4)),
]
IDS = ["n>d", "n<d", "widths", "3d"]


def _pair(shape_x, shape_y, seed=0, coupling=0.7):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=shape_x) + 0.3
    Y = rng.normal(size=shape_y)
    k = min(shape_x[-1], shape_y[-1])
    Y[..., :k] += coupling * X[..., :k] @ rng.normal(size=(k, k))
    return X, Y


def _flat(A):
    return A.reshape(-1, A.shape[-1]) if A.ndim == 3 else A


def _c(A):
    A = _flat(A)
    return A - A.mean(0)


# ----------------------------------------------------------------------------- CKA
def _hsic_gretton(K, L):
    n = K.shape[0]
    H = np.eye(n) - 1.0 / n
    return np.trace(K @ H @ L @ H) / (n - 1) ** 2


def _hsic_song(K, L):
    """Song et al. 2012, eq. 5, written with explicit zero-diagonal matrices."""
    n = K.shape[0]
    K0 = K - np.diag(np.diag(K))
    L0 = L - np.diag(np.diag(L))
    one = np.ones(n)
    return (
        np.trace(K0 @ L0)
        + (one @ K0 @ one) * (one @ L0 @ one) / ((n - 1) * (n - 2))
        - 2.0 / (n - 2) * (one @ K0 @ L0 @ one)
    ) / (n * (n - 3))


def _hsic_song_loops(K, L):
    """The same U-statistic as a mean over ordered 4-tuples of distinct indices (tiny n)."""
    n = K.shape[0]
    from itertools import permutations

    total = 0.0
    count = 0
    for i, j, q, r in permutations(range(n), 4):
        total += K[i, j] * L[i, j] + K[i, j] * L[q, r] - 2 * K[i, j] * L[i, q]
        count += 1
    return total / count


def _hsic_lange(K, L):
    n = K.shape[0]
    H = np.eye(n) - 1.0 / n
    Kc, Lc = H @ K @ H, H @ L @ H
    np.fill_diagonal(Kc, 0)
    np.fill_diagonal(Lc, 0)
    return np.sum(Kc * Lc)


def _cka_np(K, L, hsic):
    return hsic(K, L) / math.sqrt(hsic(K, K) * hsic(L, L))


def test_song_closed_form_equals_u_statistic_loops():
    rng = np.random.default_rng(3)
    A, B = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    K, L = A @ A.T, B @ B.T
    assert _hsic_song(K, L) == pytest.approx(_hsic_song_loops(K, L), abs=1e-12)


@pytest.mark.parametrize("shapes", SHAPES, ids=IDS)
@pytest.mark.parametrize(
    "hsic,ref", [("gretton", _hsic_gretton), ("song", _hsic_song), ("lange", _hsic_lange)]
)
def test_linear_cka_estimators(shapes, hsic, ref):
    X, Y = _pair(*shapes)
    Xf, Yf = _flat(X), _flat(Y)
    expected = _cka_np(Xf @ Xf.T, Yf @ Yf.T, ref)
    got = sg.score(f"cka-kernel=linear-hsic={hsic}-score", X, Y)
    assert got == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("hsic", ["gretton", "song", "lange"])
def test_feature_and_sample_space_agree(hsic):
    """Tall data takes the feature-space route; the sample-space route is CKA of the Grams."""
    from simgrad.measures.cka import choose_algorithm, cka_from_grams

    X, Y = _pair((30, 7), (30, 5))
    assert choose_algorithm(30, 7, 5) == "feature"
    xc, yc = (torch.as_tensor(_flat(a) - _flat(a).mean(0)) for a in (X, Y))
    sample = float(cka_from_grams(xc @ xc.T, yc @ yc.T, hsic))
    assert sg.score(f"cka-kernel=linear-hsic={hsic}-score", X, Y) == pytest.approx(sample, abs=TOL)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
@pytest.mark.parametrize(
    "hsic,ref", [("gretton", _hsic_gretton), ("song", _hsic_song), ("lange", _hsic_lange)]
)
def test_rbf_cka(sigma, hsic, ref):
    X, Y = _pair((25, 6), (25, 4))

    def rbf(A):
        D = scipy.spatial.distance.squareform(scipy.spatial.distance.pdist(A))
        s = sigma * np.median(scipy.spatial.distance.pdist(A))
        return np.exp(-(D**2) / (2 * s**2))

    import scipy.spatial  # noqa: F401

    expected = _cka_np(rbf(X), rbf(Y), ref)
    got = sg.score(f"cka-kernel=(rbf-sigma={sigma})-hsic={hsic}-score", X, Y)
    assert got == pytest.approx(expected, abs=TOL)


# ----------------------------------------------------------------------------- rsatoolbox
def _rsa_compare(X, Y, method):
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm, compare

    r1 = calc_rdm(Dataset(_flat(X)), method="euclidean")
    r2 = calc_rdm(Dataset(_flat(Y)), method="euclidean")
    return float(compare(r1, r2, method=method)[0, 0])


@pytest.mark.parametrize("shapes", SHAPES, ids=IDS)
def test_cka_equals_rsatoolbox_cosine_cov(shapes):
    X, Y = _pair(*shapes)
    assert sg.score("cka", X, Y) == pytest.approx(_rsa_compare(X, Y, "cosine_cov"), abs=TOL)


@pytest.mark.parametrize("shapes", SHAPES, ids=IDS)
def test_nbs_equals_rsatoolbox_bures(shapes):
    """rsatoolbox's `bures` takes square roots of the tiny, noisy eigenvalues of rank-deficient
    n×n kernels (centred kernels always are), which limits its accuracy to ~1e-7. The exact
    check uses the same fidelity with eigenvalues below 1e-12 × the largest treated as zero."""
    X, Y = _pair(*shapes)
    got = sg.score("nbs", X, Y)
    assert got == pytest.approx(_rsa_compare(X, Y, "bures"), abs=1e-6)

    def sqrt_psd(K):
        lam, V = np.linalg.eigh(K)
        lam = np.where(lam > 1e-12 * lam.max(), lam, 0.0)
        return (V * np.sqrt(lam)) @ V.T

    Xc, Yc = _c(X), _c(Y)
    K, L = Xc @ Xc.T, Yc @ Yc.T
    fidelity = np.linalg.svd(sqrt_psd(K) @ sqrt_psd(L), compute_uv=False).sum()
    assert got == pytest.approx(fidelity / math.sqrt(np.trace(K) * np.trace(L)), abs=TOL)


# ----------------------------------------------------------------------------- Procrustes
@pytest.mark.parametrize("shapes", SHAPES, ids=IDS)
def test_procrustes_against_scipy(shapes):
    X, Y = _pair(*shapes)
    Xc, Yc = _c(X), _c(Y)
    d = max(Xc.shape[1], Yc.shape[1])
    Xp = np.pad(Xc, ((0, 0), (0, d - Xc.shape[1])))
    Yp = np.pad(Yc, ((0, 0), (0, d - Yc.shape[1])))
    R, _ = scipy.linalg.orthogonal_procrustes(Yp, Xp)  # argmin ‖Y R − X‖
    cos = np.sum(Xp * (Yp @ R)) / (np.linalg.norm(Xp) * np.linalg.norm(Yp))
    angle = math.acos(min(1.0, cos))
    assert sg.score("procrustes-distance=angular", X, Y) == pytest.approx(angle, abs=TOL)
    assert sg.score("procrustes-angular_score", X, Y) == pytest.approx(
        1 - 2 / math.pi * angle, abs=TOL
    )
    assert sg.score("nbs", X, Y) == pytest.approx(cos, abs=TOL)
    eu = np.linalg.norm(Xp - Yp @ R)
    assert sg.score("procrustes-distance=euclidean", X, Y) == pytest.approx(eu, rel=TOL)
    assert sg.score("procrustes-distance=squared_euclidean", X, Y) == pytest.approx(eu**2, rel=1e-9)
    assert sg.score("bures_distance", X, Y) == pytest.approx(eu, rel=TOL)


# ----------------------------------------------------------------------------- shape metrics
def _netrep_whiten(A, alpha, tol=1e-7):
    """netrep's partial whitening as Williams et al. 2021 define it."""
    if alpha > 1 - tol:
        return A
    lam, V = np.linalg.eigh(A.T @ A)
    lam = np.maximum(lam, tol)
    d = alpha + (1 - alpha) * lam ** (-0.5)
    new_var = np.sum(alpha**2 * lam + 2 * alpha * (1 - alpha) * lam**0.5 + (1 - alpha) ** 2)
    d = d * np.sqrt(np.sum(lam) / new_var)
    return A @ ((V * d) @ V.T)


def _netrep_distance(X, Y, alpha, method):
    Xc, Yc = _c(X), _c(Y)
    d = max(Xc.shape[1], Yc.shape[1])
    Xc = np.pad(Xc, ((0, 0), (0, d - Xc.shape[1])))
    Yc = np.pad(Yc, ((0, 0), (0, d - Yc.shape[1])))
    Xw, Yw = _netrep_whiten(Xc, alpha), _netrep_whiten(Yc, alpha)
    U, _, Vt = np.linalg.svd(Xw.T @ Yw)
    Xa, Ya = Xw @ U, Yw @ Vt.T
    if method == "angular":
        return math.acos(min(1.0, np.sum(Xa * Ya) / (np.linalg.norm(Xa) * np.linalg.norm(Ya))))
    return np.linalg.norm(Xa - Ya)


@pytest.mark.parametrize("shapes", [SHAPES[0], SHAPES[2], SHAPES[3]], ids=["n>d", "widths", "3d"])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("method", ["angular", "euclidean"])
def test_shape_metric_matches_netrep_definition(shapes, alpha, method):
    X, Y = _pair(*shapes)
    expected = _netrep_distance(X, Y, alpha, method)
    got = sg.score(f"shape_metric-alpha={alpha}-distance={method}", X, Y)
    assert got == pytest.approx(expected, rel=TOL, abs=TOL)


# ----------------------------------------------------------------------------- CCA
def _canonical_correlations(X, Y):
    Qx, _ = np.linalg.qr(_c(X))
    Qy, _ = np.linalg.qr(_c(Y))
    return np.linalg.svd(Qx.T @ Qy, compute_uv=False)


@pytest.mark.parametrize("shapes", [SHAPES[0], SHAPES[2], SHAPES[3]], ids=["n>d", "widths", "3d"])
def test_cca_against_qr_svd_route(shapes):
    X, Y = _pair(*shapes)
    rho = _canonical_correlations(X, Y)
    p, q = _flat(X).shape[1], _flat(Y).shape[1]
    assert sg.score("cca-score", X, Y) == pytest.approx(rho.sum() / math.sqrt(p * q), abs=TOL)
    assert sg.score("cca-squared_score", X, Y) == pytest.approx(
        (rho**2).sum() / math.sqrt(p * q), abs=TOL
    )
    assert sg.score("cca-distance=angular", X, Y) == pytest.approx(
        math.acos(rho.sum() / math.sqrt(p * q)), abs=TOL
    )
    if p == q:  # equal ranks: the mean canonical correlation
        assert sg.score("cca-score", X, Y) == pytest.approx(rho.mean(), abs=TOL)


def test_cca_equals_shape_metric_alpha0_and_whitened_cka():
    X, Y = _pair((80, 6), (80, 6))
    assert sg.score("cca-distance=angular", X, Y) == pytest.approx(
        sg.score("shape_metric-alpha=0-distance=angular", X, Y), abs=1e-9
    )
    Xw = _c(X) @ np.linalg.inv(scipy.linalg.sqrtm(_c(X).T @ _c(X))).real
    Yw = _c(Y) @ np.linalg.inv(scipy.linalg.sqrtm(_c(Y).T @ _c(Y))).real
    assert sg.score("cka", Xw, Yw) == pytest.approx(sg.score("cca-squared_score", X, Y), abs=TOL)


# ----------------------------------------------------------------------------- identities
@pytest.mark.parametrize("shapes", SHAPES, ids=IDS)
def test_ensd_identity(shapes):
    X, Y = _pair(*shapes)

    def pr(A):
        lam = np.linalg.eigvalsh(_c(A).T @ _c(A))
        return lam.sum() ** 2 / (lam**2).sum()

    expected = sg.score("cka", X, Y) * math.sqrt(pr(X) * pr(Y))
    assert sg.score("ensd", X, Y) == pytest.approx(expected, rel=TOL)


@pytest.mark.parametrize("shapes", SHAPES, ids=IDS)
def test_nbs_cka_rank_bounds(shapes):
    X, Y = _pair(*shapes)
    cka, nbs = sg.score("cka", X, Y), sg.score("nbs", X, Y)
    rx, ry = np.linalg.matrix_rank(_c(X)), np.linalg.matrix_rank(_c(Y))
    assert cka / math.sqrt(rx * ry) - 1e-12 <= nbs**2 <= min(rx, ry) * cka + 1e-12


@pytest.mark.parametrize("scale", [0.0, 0.5, 2.0])
def test_one_pc_perturbation_closed_forms(scale):
    """paper.md §4.3: Y = X̃ with singular value s_i replaced by a·s_i."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(70, 8)) * np.linspace(3, 0.5, 8)
    Xc = _c(X)
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    lam = s**2
    S1, S2 = lam.sum(), (lam**2).sum()
    for i in range(len(s)):
        s2 = s.copy()
        s2[i] *= scale
        Y = (U * s2) @ Vt
        li = lam[i]
        cka = (S2 - li**2 + scale**2 * li**2) / math.sqrt(S2 * (S2 - li**2 + scale**4 * li**2))
        nbs = (S1 - li + scale * li) / math.sqrt(S1 * (S1 - li + scale**2 * li))
        assert sg.score("cka", X, Y) == pytest.approx(cka, abs=TOL)
        assert sg.score("nbs", X, Y) == pytest.approx(nbs, abs=TOL)
        assert sg.score("procrustes-angular_score", X, Y) == pytest.approx(
            1 - 2 / math.pi * math.acos(min(1.0, nbs)), abs=1e-9
        )


# ----------------------------------------------------------------------------- regression
def _pooled_r2(X, Xhat):
    return 1 - np.sum((X - Xhat) ** 2) / np.sum((X - X.mean(0)) ** 2)


@pytest.mark.parametrize("shapes", [SHAPES[0], SHAPES[2], SHAPES[3]], ids=["n>d", "widths", "3d"])
def test_linear_regression_against_sklearn(shapes):
    X, Y = _pair(*shapes)
    Xf, Yf = _flat(X), _flat(Y)
    pred = LinearRegression().fit(Yf, Xf).predict(Yf)
    assert sg.score("linreg", X, Y) == pytest.approx(_pooled_r2(Xf, pred), abs=TOL)
    Xc = Xf - Xf.mean(0)
    r = np.sum(Xc * (pred - Xf.mean(0))) / (np.linalg.norm(Xc) * np.linalg.norm(pred - Xf.mean(0)))
    assert sg.score("linear_regression-pearsonr", X, Y) == pytest.approx(r, abs=TOL)


@pytest.mark.parametrize("lam", [1.0, 100.0])
def test_ridge_in_sample_against_sklearn(lam):
    X, Y = _pair((60, 5), (60, 9))
    pred = Ridge(alpha=lam).fit(Y, X).predict(Y)
    assert sg.score(f"ridge-lambda={lam}-r2", X, Y) == pytest.approx(_pooled_r2(X, pred), abs=TOL)


def _cv_reference(X, Y, test_sets, lam, agg):
    scores = []
    n = X.shape[0]
    for test in test_sets:
        train = np.setdiff1d(np.arange(n), test)
        model = Ridge(alpha=lam) if lam > 0 else LinearRegression()
        model.fit(Y[train], X[train])
        mu = X[train].mean(0)
        xt, xh = X[test] - mu, model.predict(Y[test]) - mu
        if agg == "r2":
            scores.append(1 - np.sum((xt - xh) ** 2) / np.sum(xt**2))
        else:
            scores.append(np.sum(xt * xh) / (np.linalg.norm(xt) * np.linalg.norm(xh)))
    return float(np.mean(scores))


@pytest.mark.parametrize("lam", [0.0, 10.0])
@pytest.mark.parametrize("agg", ["r2", "pearsonr"])
def test_cv_forms_against_sklearn_folds(lam, agg):
    from sklearn.model_selection import KFold

    rng = np.random.default_rng(4)
    T, C = 4, 10
    X3, Y3 = _pair((T, C, 5), (T, C, 7), seed=5)
    Xf, Yf = _flat(X3), _flat(Y3)
    fam = "linear_regression" if lam == 0 else f"ridge-lambda={lam}"
    # contiguous row blocks of the time-major flattening, as KFold(shuffle=False)
    rows = [te for _, te in KFold(5, shuffle=False).split(Xf)]
    assert sg.score(f"{fam}-{agg}-cv=5folds_rows", X3, Y3) == pytest.approx(
        _cv_reference(Xf, Yf, rows, lam, agg), abs=TOL
    )
    # whole conditions: condition c owns rows c, c+C, ...; conditions permuted with seed 0
    perm = np.random.default_rng(0).permutation(C)
    cond_sets = [np.flatnonzero(np.isin(np.arange(T * C) % C, f)) for f in np.array_split(perm, 5)]
    assert sg.score(f"{fam}-{agg}-cv=5folds", X3, Y3) == pytest.approx(
        _cv_reference(Xf, Yf, cond_sets, lam, agg), abs=TOL
    )
    # 2-D input: seeded shuffled samples
    X2, Y2 = Xf[:33], Yf[:33]
    perm2 = np.random.default_rng(0).permutation(33)
    sets2 = [np.sort(f) for f in np.array_split(perm2, 5)]
    assert sg.score(f"{fam}-{agg}-cv=5folds", X2, Y2) == pytest.approx(
        _cv_reference(X2, Y2, sets2, lam, agg), abs=TOL
    )
    del rng


@pytest.mark.parametrize("agg", ["r2", "pearsonr"])
def test_cv_from_fold_moments_with_an_offset_and_a_wide_candidate(agg):
    """The cross-validated forms fit each fold from the fold moments (totals minus the fold):
    data far from the origin (cancellation) and more candidate units than training rows."""
    X3, Y3 = _pair((3, 10, 4), (3, 10, 40), seed=8)
    X3, Y3 = X3 + 1e3, Y3 - 5e2
    Xf, Yf = _flat(X3), _flat(Y3)
    perm = np.random.default_rng(0).permutation(10)
    sets = [np.flatnonzero(np.isin(np.arange(30) % 10, f)) for f in np.array_split(perm, 5)]
    for lam in (0.0, 1.0):
        fam = "linear_regression" if lam == 0 else f"ridge-lambda={lam}"
        assert sg.score(f"{fam}-{agg}-cv=5folds", X3, Y3) == pytest.approx(
            _cv_reference(Xf, Yf, sets, lam, agg), abs=1e-8
        )


def test_symmetrized_regression_is_the_mean_of_both_directions():
    X, Y = _pair((40, 5), (40, 6))
    both = 0.5 * (sg.score("ridge-lambda=10-r2", X, Y) + sg.score("ridge-lambda=10-r2", Y, X))
    assert sg.score("ridge-lambda=10-r2-sym", X, Y) == pytest.approx(both, abs=TOL)


def test_random_linreg_is_about_q_over_n():
    """paper.md §3.1: for random Y, R² ≈ q/(n−1)."""
    rng = np.random.default_rng(0)
    vals = [
        sg.score("linreg", rng.normal(size=(400, 30)), rng.normal(size=(400, 20)))
        for _ in range(20)
    ]
    assert np.mean(vals) == pytest.approx(20 / 399, rel=0.1)
