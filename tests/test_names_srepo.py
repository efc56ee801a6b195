"""similarity-repository's measure names (issue 16, part 1: forms, cross-validated alignment,
CCA family, PLS, kernel ridge, CKA kernels) resolve, and give the values of independent
implementations (scikit-learn, numpy written from the definitions)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import simgrad as sg

# similarity-repository's measure names (``shared/spec/similarity_repository_names.txt``,
# snapshot 035b3be) in this part of issue 16; the RSA names (helper "rsa") and the
# neighbourhood/ReSi measures (helper "resi") are tested by their own modules.
SREPO_NAMES = (
    "cca-distance=angular",
    "cca-distance=angular-cv=5folds",
    "cca-distance=euclidean",
    "cca-distance=squared_euclidean",
    "cca-score",
    "cca-squared_score",
    "cka-kernel=(laplace-sigma={sigma})-hsic=gretton-distance=angular",
    "cka-kernel=(laplace-sigma={sigma})-hsic=gretton-distance=euclidean",
    "cka-kernel=(laplace-sigma={sigma})-hsic=gretton-distance=squared_euclidean",
    "cka-kernel=(laplace-sigma={sigma})-hsic=gretton-score",
    "cka-kernel=(laplace-sigma={sigma})-hsic=lange-distance=angular",
    "cka-kernel=(laplace-sigma={sigma})-hsic=lange-distance=euclidean",
    "cka-kernel=(laplace-sigma={sigma})-hsic=lange-distance=squared_euclidean",
    "cka-kernel=(laplace-sigma={sigma})-hsic=lange-score",
    "cka-kernel=(rbf-sigma={sigma})-hsic=gretton-distance=angular",
    "cka-kernel=(rbf-sigma={sigma})-hsic=gretton-distance=euclidean",
    "cka-kernel=(rbf-sigma={sigma})-hsic=gretton-distance=one_minus_score",
    "cka-kernel=(rbf-sigma={sigma})-hsic=gretton-distance=squared_euclidean",
    "cka-kernel=(rbf-sigma={sigma})-hsic=gretton-score",
    "cka-kernel=(rbf-sigma={sigma})-hsic=gretton-score-negative_log",
    "cka-kernel=(rbf-sigma={sigma})-hsic=lange-distance=angular",
    "cka-kernel=(rbf-sigma={sigma})-hsic=lange-distance=euclidean",
    "cka-kernel=(rbf-sigma={sigma})-hsic=lange-distance=squared_euclidean",
    "cka-kernel=(rbf-sigma={sigma})-hsic=lange-score",
    "cka-kernel=(rbf-sigma={sigma})-hsic=song-distance=angular",
    "cka-kernel=(rbf-sigma={sigma})-hsic=song-distance=euclidean",
    "cka-kernel=(rbf-sigma={sigma})-hsic=song-distance=squared_euclidean",
    "cka-kernel=(rbf-sigma={sigma})-hsic=song-score",
    "cka-kernel=linear-hsic=gretton-distance=angular",
    "cka-kernel=linear-hsic=gretton-distance=euclidean",
    "cka-kernel=linear-hsic=gretton-distance=one_minus_score",
    "cka-kernel=linear-hsic=gretton-distance=squared_euclidean",
    "cka-kernel=linear-hsic=gretton-score",
    "cka-kernel=linear-hsic=gretton-score-negative_log",
    "cka-kernel=linear-hsic=lange-distance=angular",
    "cka-kernel=linear-hsic=lange-distance=euclidean",
    "cka-kernel=linear-hsic=lange-distance=squared_euclidean",
    "cka-kernel=linear-hsic=lange-score",
    "cka-kernel=linear-hsic=song-distance=angular",
    "cka-kernel=linear-hsic=song-distance=euclidean",
    "cka-kernel=linear-hsic=song-distance=squared_euclidean",
    "cka-kernel=linear-hsic=song-score",
    "ensd",
    "ensd-distance=angular_normalized",
    "kernel_ridge-lambda=1-r2",
    "linear_regression",
    "linear_regression-pearsonr",
    "linear_regression-pearsonr-cv=5folds",
    "linear_regression-pearsonr2-cv=5folds",
    "linear_regression-r2-cv=5folds",
    "nbs-distance=angular",
    "nbs-distance=angular-cv=5folds",
    "nbs-distance=euclidean",
    "nbs-distance=squared_euclidean",
    "nbs-score",
    "permutation_metric-distance=angular",
    "permutation_metric-distance=euclidean",
    "permutation_metric-distance=squared_euclidean",
    "permutation_metric-score",
    "pls",
    "pls-pearsonr",
    "pls-pearsonr-components=25-cv=5folds",
    "pls-pearsonr-components={n_components}",
    "pls-pearsonr-cv=5folds",
    "procrustes-distance=angular",
    "procrustes-distance=angular-cv=5folds",
    "procrustes-distance=euclidean",
    "procrustes-distance=squared_euclidean",
    "procrustes-score",
    "pwcca-distance=angular",
    "pwcca-distance=euclidean",
    "pwcca-distance=one_minus_score",
    "pwcca-distance=squared_euclidean",
    "pwcca-score",
    "ridge-lambda=1-pearsonr",
    "ridge-lambda=1-pearsonr-cv=5folds",
    "ridge-lambda=1-pearsonr2-cv=5folds",
    "ridge-lambda=1-r2",
    "ridge-lambda=1-r2-cv=5folds",
    "ridge-pearsonr-cv=5folds",
    "ridge-pearsonr-cv=5folds-reverse",
    "shape_metric-alpha={alpha}-distance=angular",
    "shape_metric-alpha={alpha}-distance=angular-cv=5folds",
    "shape_metric-alpha={alpha}-distance=euclidean",
    "shape_metric-alpha={alpha}-distance=squared_euclidean",
    "shape_metric-alpha={alpha}-score",
    "svcca-dim=10-distance=angular",
    "svcca-dim=10-distance=angular-cv=5folds",
    "svcca-dim=10-distance=euclidean",
    "svcca-dim=10-distance=squared_euclidean",
    "svcca-dim=10-score",
    "svcca-dim=10-squared_score",
    "svcca-dim={dim}-distance=angular",
    "svcca-dim={dim}-distance=euclidean",
    "svcca-dim={dim}-distance=squared_euclidean",
    "svcca-dim={dim}-score",
    "svcca-distance=angular",
    "svcca-distance=euclidean",
    "svcca-distance=squared_euclidean",
    "svcca-score",
    "svcca-var=0.95-distance=angular",
    "svcca-var=0.95-distance=angular-cv=5folds",
    "svcca-var=0.95-distance=euclidean",
    "svcca-var=0.95-distance=squared_euclidean",
    "svcca-var=0.95-score",
    "svcca-var=0.95-squared_score",
    "svcca-var=0.99-distance=angular",
    "svcca-var=0.99-distance=angular-cv=5folds",
    "svcca-var=0.99-distance=euclidean",
    "svcca-var=0.99-distance=squared_euclidean",
    "svcca-var=0.99-score",
    "svcca-var=0.99-squared_score",
)
FILL = {"sigma": ("0.5", "2"), "alpha": ("0.5", "1"), "n_components": ("3", "5"), "dim": ("5", "8")}


def _names() -> list[str]:
    out = []
    for line in SREPO_NAMES:
        keys = re.findall(r"\{(\w+)\}", line)
        for i in range(2 if keys else 1):
            name = line
            for k in keys:
                name = name.replace("{" + k + "}", FILL[k][i])
            out.append(name)
    return out


NAMES = _names()


def _xy(n=60, p=6, q=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * np.geomspace(2, 0.5, p)
    r = min(p, q)
    Y = X[:, :r] @ rng.normal(size=(r, q)) + 0.5 * rng.normal(size=(n, q))
    return X, Y


@pytest.mark.parametrize("name", NAMES)
def test_name_resolves_with_complete_card_and_finite_value(name):
    m = sg.measure(name)
    c = m.card
    assert c.description and c.formula and c.references and c.range[0] < c.range[1]
    X, Y = _xy()
    v = sg.score(name, X, Y)
    assert np.isfinite(v)
    assert c.range[0] - 1e-9 <= v <= c.range[1] + 1e-9, (v, c.range)


# ----------------------------------------------------------------------------- forms
def _centred_norms(X, Y):
    return np.linalg.norm(X - X.mean(0)), np.linalg.norm(Y - Y.mean(0))


def test_forms_follow_similarity_repository_conversions():
    X, Y = _xy()
    s = sg.score("cka", X, Y)
    nx, ny = _centred_norms(X, Y)
    base = "cka-kernel=linear-hsic=gretton-"
    assert sg.score(base + "distance=one_minus_score", X, Y) == pytest.approx(1 - s, abs=1e-12)
    assert sg.score(base + "score-negative_log", X, Y) == pytest.approx(-math.log(s), abs=1e-12)
    d2 = nx**2 + ny**2 - 2 * nx * ny * s
    assert sg.score(base + "distance=squared_euclidean", X, Y) == pytest.approx(d2, rel=1e-10)
    assert sg.score(base + "distance=euclidean", X, Y) == pytest.approx(math.sqrt(d2), rel=1e-10)
    p = sg.score("pwcca-score", X, Y)
    assert sg.score("pwcca-distance=one_minus_score", X, Y) == pytest.approx(1 - p, abs=1e-12)


def test_nbs_and_cca_euclidean_are_procrustes_and_netrep_alpha0():
    X, Y = _xy()
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    nuc = np.linalg.svd(Xc.T @ Yc, compute_uv=False).sum()
    proc = math.sqrt(max((Xc**2).sum() + (Yc**2).sum() - 2 * nuc, 0))
    assert sg.score("nbs-distance=euclidean", X, Y) == pytest.approx(proc, rel=1e-10)
    assert sg.score("cca-distance=euclidean", X, Y) == pytest.approx(
        sg.score("shape_metric-alpha=0-distance=euclidean", X, Y), rel=1e-12
    )


def _netrep_alpha0_euclid(A, B, eps=1e-7):
    """netrep LinearMetric(alpha=0) Euclidean distance, written from its definition."""
    d = max(A.shape[1], B.shape[1])
    A = np.pad(A - A.mean(0), ((0, 0), (0, d - A.shape[1])))
    B = np.pad(B - B.mean(0), ((0, 0), (0, d - B.shape[1])))

    def whiten(M):
        lam, V = np.linalg.eigh(M.T @ M)
        lam = np.maximum(lam, eps)
        Z = V @ np.diag(lam**-0.5) @ V.T
        return M @ Z * math.sqrt(lam.sum() / d)

    Aw, Bw = whiten(A), whiten(B)
    U, _, Vt = np.linalg.svd(Aw.T @ Bw)
    return np.linalg.norm(Aw - Bw @ (U @ Vt).T)


def test_svcca_euclidean_is_netrep_alpha0_on_pca_reduced_data():
    from sklearn.decomposition import PCA

    X, Y = _xy(p=8, q=7)
    for k in (3, 5):
        ref = _netrep_alpha0_euclid(PCA(k).fit_transform(X), PCA(k).fit_transform(Y))
        assert sg.score(f"svcca-dim={k}-distance=euclidean", X, Y) == pytest.approx(ref, rel=1e-7)


def test_svcca_bare_is_var_099_and_squared_score():
    X, Y = _xy()
    assert sg.measure("svcca-score").name == "svcca-var=0.99-score"
    rho = _canonical_correlations(*_pca(X, Y, 3))
    assert sg.score("svcca-dim=3-squared_score", X, Y) == pytest.approx((rho**2).mean(), abs=1e-10)


def _pca(X, Y, k):
    from sklearn.decomposition import PCA

    return PCA(k).fit_transform(X), PCA(k).fit_transform(Y)


def _canonical_correlations(A, B):
    qa, _ = np.linalg.qr(A - A.mean(0))
    qb, _ = np.linalg.qr(B - B.mean(0))
    return np.linalg.svd(qa.T @ qb, compute_uv=False)


def test_cca_normalisations():
    X, Y = _xy(p=6, q=4)
    rho = _canonical_correlations(X, Y)
    assert sg.score("cca-score", X, Y) == pytest.approx(rho.sum() / math.sqrt(6 * 4), abs=1e-10)
    assert sg.score("mean_cca_corr-score", X, Y) == pytest.approx(rho.mean(), abs=1e-10)
    assert "√(r_X r_Y)" in sg.card("cca-score").description


def test_ensd_angular_normalized_is_compute_dist():
    X, Y = _xy()
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)

    def pr(M):
        ev = np.linalg.eigvalsh(M.T @ M)
        return ev.sum() ** 2 / (ev**2).sum()

    kx, ky = Xc @ Xc.T, Yc @ Yc.T
    ensd = np.trace(kx @ ky) * np.trace(kx) * np.trace(ky) / (np.trace(kx @ kx) * np.trace(ky @ ky))
    ref = 2 / math.pi * math.acos(ensd / math.sqrt(pr(Xc) * pr(Yc)))
    assert sg.score("ensd-distance=angular_normalized", X, Y) == pytest.approx(ref, abs=1e-10)


# ----------------------------------------------------------------------------- CKA kernels
def _cka_numpy(K, L):
    n = K.shape[0]
    H = np.eye(n) - 1 / n
    Kc, Lc = H @ K @ H, H @ L @ H
    return (Kc * Lc).sum() / np.sqrt((Kc * Kc).sum() * (Lc * Lc).sum())


def _laplace(X, s):
    from scipy.spatial.distance import pdist, squareform

    d = pdist(X)
    return np.exp(-squareform(d) / (math.sqrt(2) * s * np.median(d)))


def test_laplace_cka_matches_numpy():
    X, Y = _xy(n=30)
    for s in (0.5, 2.0):
        ref = _cka_numpy(_laplace(X, s), _laplace(Y, s))
        name = f"cka-kernel=(laplace-sigma={s:g})-hsic=gretton-score"
        assert sg.score(name, X, Y) == pytest.approx(ref, abs=1e-10)


# ----------------------------------------------------------------------------- regression
def test_kernel_ridge_matches_sklearn():
    KernelRidge = pytest.importorskip("sklearn.kernel_ridge").KernelRidge
    X, Y = _xy()
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    for lam in (1.0, 7.5):
        Xh = KernelRidge(alpha=lam, kernel="linear").fit(Yc, Xc).predict(Yc)
        ref = 1 - ((Xc - Xh) ** 2).sum() / (Xc**2).sum()
        assert sg.score(f"kernel_ridge-lambda={lam:g}-r2", X, Y) == pytest.approx(ref, abs=1e-10)


def test_ridgecv_lambda_matches_sklearn_ridgecv():
    RidgeCV = pytest.importorskip("sklearn.linear_model").RidgeCV
    from simgrad.measures.ridge_cv import loo_lambda

    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 6))
    for noise in (0.1, 3.0, 30.0):
        Z = X @ rng.normal(size=(6, 5)) + noise * rng.normal(size=(50, 5))
        ref = RidgeCV(alphas=np.logspace(-8, 8, 17)).fit(Z, X).alpha_
        assert loo_lambda(torch.tensor(X), torch.tensor(Z)) == pytest.approx(ref)


def _folds(n, k=5, seed=0):
    return np.array_split(np.random.default_rng(seed).permutation(n), k)


def test_ridge_pearsonr_cv_and_reverse_match_sklearn():
    RidgeCV = pytest.importorskip("sklearn.linear_model").RidgeCV
    X, Y = _xy()

    def ref(A, B):
        rs = []
        for test in _folds(len(A)):
            train = np.setdiff1d(np.arange(len(A)), test)
            m = RidgeCV(alphas=np.logspace(-8, 8, 17)).fit(B[train], A[train])
            a, ah = A[test] - A[train].mean(0), m.predict(B[test]) - A[train].mean(0)
            rs.append((a * ah).sum() / np.sqrt((a * a).sum() * (ah * ah).sum()))
        return np.mean(rs)

    assert sg.score("ridge-pearsonr-cv=5folds", X, Y) == pytest.approx(ref(X, Y), abs=1e-8)
    assert sg.score("ridge-pearsonr-cv=5folds-reverse", X, Y) == pytest.approx(ref(Y, X), abs=1e-8)


def test_pearsonr2_is_square_of_pearsonr_per_fold():
    X, Y = _xy()
    lam = 1.0
    rs = []
    for test in _folds(len(X)):
        train = np.setdiff1d(np.arange(len(X)), test)
        mx, my = X[train].mean(0), Y[train].mean(0)
        Yt = Y[train] - my
        B = np.linalg.solve(Yt.T @ Yt + lam * np.eye(Y.shape[1]), Yt.T @ (X[train] - mx))
        a, ah = X[test] - mx, (Y[test] - my) @ B
        rs.append((a * ah).sum() ** 2 / ((a * a).sum() * (ah * ah).sum()))
    assert sg.score("ridge-lambda=1-pearsonr2-cv=5folds", X, Y) == pytest.approx(np.mean(rs))
    assert sg.measure("linear_regression").name == "linear_regression-r2"


def test_pls_matches_sklearn():
    PLSRegression = pytest.importorskip("sklearn.cross_decomposition").PLSRegression
    X, Y = _xy(p=5, q=7)
    for k in (1, 3, 5):
        m = PLSRegression(n_components=k, scale=False, tol=1e-15, max_iter=100000).fit(Y, X)
        a, ah = X - X.mean(0), m.predict(Y) - X.mean(0)
        ref = (a * ah).sum() / np.sqrt((a * a).sum() * (ah * ah).sum())
        # scikit-learn's NIPALS stops at its tolerance (~1e-8 here); ours is the exact SVD
        assert sg.score(f"pls-pearsonr-components={k}", X, Y) == pytest.approx(ref, abs=1e-6)
    assert sg.measure("pls").name == "pls-pearsonr-components=25"


def test_pls_cv_matches_sklearn_on_held_out_folds():
    PLSRegression = pytest.importorskip("sklearn.cross_decomposition").PLSRegression
    X, Y = _xy(p=5, q=7)
    rs = []
    for test in _folds(len(X)):
        train = np.setdiff1d(np.arange(len(X)), test)
        m = PLSRegression(n_components=3, scale=False, tol=1e-15, max_iter=100000)
        m.fit(Y[train], X[train])
        a, ah = X[test] - X[train].mean(0), m.predict(Y[test]) - X[train].mean(0)
        rs.append((a * ah).sum() / np.sqrt((a * a).sum() * (ah * ah).sum()))
    v = sg.score("pls-pearsonr-components=3-cv=5folds", X, Y)
    assert v == pytest.approx(np.mean(rs), abs=1e-6)


# ----------------------------------------------------------------------------- cv alignment
def _cv_angle_numpy(X, Y, alpha):
    """netrep LinearMetric(alpha).fit(train).score(test), angular, averaged over folds."""
    d = max(X.shape[1], Y.shape[1])
    out = []
    for test in _folds(len(X)):
        train = np.setdiff1d(np.arange(len(X)), test)

        def fit(M, train=train):
            M = np.pad(M, ((0, 0), (0, d - M.shape[1])))
            mu = M[train].mean(0)
            C = (M[train] - mu).T @ (M[train] - mu)
            lam, V = np.linalg.eigh(C)
            lam = np.maximum(lam, 1e-7)
            Z = V @ np.diag(alpha + (1 - alpha) * lam**-0.5) @ V.T
            return mu, Z, M

        mx, zx, Xp = fit(X)
        my, zy, Yp = fit(Y)
        U, _, Vt = np.linalg.svd(((Xp[train] - mx) @ zx).T @ ((Yp[train] - my) @ zy))
        Q = (U @ Vt).T
        a, b = (Xp[test] - mx) @ zx, (Yp[test] - my) @ zy @ Q
        out.append(math.acos((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b))))
    return np.mean(out)


@pytest.mark.parametrize(
    "name,alpha",
    [
        ("procrustes-distance=angular-cv=5folds", 1.0),
        ("nbs-distance=angular-cv=5folds", 1.0),
        ("cca-distance=angular-cv=5folds", 0.0),
        ("shape_metric-alpha=0.5-distance=angular-cv=5folds", 0.5),
    ],
)
def test_cv_alignment_matches_netrep_definition(name, alpha):
    X, Y = _xy(p=6, q=5)
    assert sg.score(name, X, Y) == pytest.approx(_cv_angle_numpy(X, Y, alpha), abs=1e-8)


def test_cv_alignment_uses_whole_conditions_for_3d_input():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 10, 5))
    Y = X @ rng.normal(size=(5, 5)) + 0.3 * rng.normal(size=(4, 10, 5))
    v = sg.score("procrustes-distance=angular-cv=5folds", X, Y)
    assert 0 < v < math.pi / 2
    with pytest.raises(ValueError, match="conditions"):
        sg.score("procrustes-distance=angular-cv=5folds", X[:, :3], Y[:, :3])
