"""sg.stats against scipy.stats: the same permutations / resamples give the same p-values,
null distributions and percentile / BCa intervals (to 1e-10), with every statistic written
independently here (numpy, scipy, scikit-learn) from the measure's definition."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss
from scipy.spatial.distance import pdist

import simgrad as sg
from simgrad.measures.regression import cv_folds

N = 20


def _c(a):
    return a - a.mean(0)


def np_cka(x, y, song=False):
    if not song:
        xc, yc = _c(x), _c(y)
        return np.sum((xc.T @ yc) ** 2) / np.sqrt(
            np.sum((xc.T @ xc) ** 2) * np.sum((yc.T @ yc) ** 2)
        )
    n = x.shape[0]

    def hsic(k, l):  # Song et al. 2012, eq. 5
        k, l = k - np.diag(np.diag(k)), l - np.diag(np.diag(l))
        one = np.ones(n)
        t = np.trace(k @ l) + one @ k @ one * (one @ l @ one) / ((n - 1) * (n - 2))
        return (t - 2 / (n - 2) * one @ k @ l @ one) / (n * (n - 3))

    k, l = x @ x.T, y @ y.T
    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


def np_procrustes_angular(x, y):
    xc, yc = _c(x), _c(y)
    s = np.linalg.svd(xc.T @ yc, compute_uv=False).sum() / (np.linalg.norm(xc) * np.linalg.norm(yc))
    return 1 - 2 / np.pi * np.arccos(np.clip(s, -1, 1))


def np_linreg(x, y):
    xc, yc = _c(x), _c(y)
    b = np.linalg.lstsq(yc, xc, rcond=None)[0]
    return 1 - np.sum((xc - yc @ b) ** 2) / np.sum(xc**2)


def np_rsa(x, y, spearman=False, rdm="correlation"):
    a, b = pdist(x, rdm), pdist(y, rdm)
    return (ss.spearmanr(a, b) if spearman else ss.pearsonr(a, b))[0]


def sk_ridge_cv(x, y, idx=None, lam=100.0, k=5):
    """sklearn Ridge per fold; every copy of a resampled row is in its original row's fold."""
    from sklearn.linear_model import Ridge

    idx = np.arange(len(x)) if idx is None else idx
    fold_of = np.empty(len(x), int)
    for f, test in enumerate(cv_folds(len(x), k, "conditions", None)):
        fold_of[np.asarray(test)] = f
    scores = []
    for f in range(k):
        tr, te = idx[fold_of[idx] != f], idx[fold_of[idx] == f]
        if te.size == 0:
            continue
        model = Ridge(alpha=lam).fit(y[tr], x[tr])
        mx = x[tr].mean(0)
        pred = model.predict(y[te])
        scores.append(1 - np.sum((x[te] - pred) ** 2) / np.sum((x[te] - mx) ** 2))
    return np.mean(scores)


CASES = {
    "cka": np_cka,
    "cka-unbiased": lambda x, y: np_cka(x, y, song=True),
    "procrustes-angular_score": np_procrustes_angular,
    "cca": None,  # single calls of sg.score (no independent CCA here: tests/test_conformance)
    "linreg": np_linreg,
    "ridge-lambda=100-r2-cv=5folds": None,  # sklearn, below
    "rsa": np_rsa,
    "rsa-correlation-spearman": lambda x, y: np_rsa(x, y, spearman=True),
    "rsa-euclidean-pearson": lambda x, y: np_rsa(x, y, rdm="euclidean"),
}
# duplicated conditions tie in a Spearman RDM comparison; simgrad's ranks break ties (a
# differentiable ranking), scipy averages them, so bootstrap exactness is shown on the two
# Pearson RSA measures and permutation exactness on all three. The Euclidean RDM's distance
# between a condition and its copy is a smoothed zero (a finite-gradient square root), which
# moves that measure by < 1e-8 on resamples with duplicates: its tolerance is 1e-8.
BOOT = [c for c in CASES if c != "rsa-correlation-spearman"]
TOL = {"rsa-euclidean-pearson": 1e-8}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, 6))
    y = x[:, :4] @ rng.normal(size=(4, 5)) + 1.5 * rng.normal(size=(N, 5))
    return x, y


def _stat(name, x, y):
    f = CASES[name]
    if name.startswith("ridge"):
        return lambda ix, iy: sk_ridge_cv(x[ix], y[iy]) if ix is not iy else sk_ridge_cv(x, y, ix)
    if f is None:
        return lambda ix, iy: sg.score(name, x[ix], y[iy])
    return lambda ix, iy: f(x[ix], y[iy])


@pytest.mark.parametrize("name", list(CASES))
def test_permutation_matches_scipy(name, data):
    x, y = data
    stat, seen = _stat(name, x, y), []
    ident = np.arange(N)

    def statistic(i, axis=-1):
        i = np.asarray(i).astype(int)
        if i.ndim == 1:
            return np.float64(stat(ident, i))
        seen.append(i)
        return np.array([stat(ident, j) for j in i])

    ref = ss.permutation_test(
        (ident.astype(float),),
        statistic,
        permutation_type="pairings",
        n_resamples=99,
        vectorized=True,
        alternative="greater",
        rng=7,
    )
    perms = np.concatenate(seen)
    got = sg.stats.permutation_test(name, x, y, permutations=perms)
    np.testing.assert_allclose(got.null_distribution, ref.null_distribution, atol=1e-10, rtol=0)
    assert abs(got.statistic - ref.statistic) < 1e-10
    assert got.pvalue == ref.pvalue
    # the seeded draws are scipy's draws for the same seed
    assert np.array_equal(
        sg.stats.permutation_test(name, x, y, n_resamples=99, seed=7).permutations, perms
    )


@pytest.mark.parametrize("method", ["percentile", "BCa"])
@pytest.mark.parametrize("name", BOOT)
def test_bootstrap_matches_scipy(name, method, data):
    x, y = data
    stat, seen = _stat(name, x, y), []

    def statistic(i, axis=-1):
        i = np.asarray(i).astype(int)
        if i.ndim == 1:
            return np.float64(stat(i, i))
        if i.shape[-1] == N:
            seen.append(i)
        return np.array([stat(j, j) for j in i])

    ref = ss.bootstrap(
        (np.arange(N, dtype=float),),
        statistic,
        n_resamples=99,
        vectorized=True,
        method=method,
        rng=11,
    )
    got = sg.stats.bootstrap(name, x, y, resamples=np.concatenate(seen), method=method)
    tol = TOL.get(name, 1e-10)
    np.testing.assert_allclose(
        got.bootstrap_distribution, ref.bootstrap_distribution, atol=tol, rtol=0
    )
    ci, rc = got.confidence_interval, ref.confidence_interval
    assert abs(ci.low - rc.low) < tol and abs(ci.high - rc.high) < tol
    assert abs(got.standard_error - ref.standard_error) < tol


def test_exact_test_when_few_permutations():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    res = sg.stats.permutation_test("cka", x, y, n_resamples=1000)
    assert res.exact and res.null_distribution.shape == (120,)

    def statistic(i, axis=-1):
        i = np.asarray(i).astype(int)
        return np.array([np_cka(x, y[j]) for j in np.atleast_2d(i)]).reshape(i.shape[:-1])

    ref = ss.permutation_test(
        (np.arange(5.0),),
        statistic,
        permutation_type="pairings",
        n_resamples=1000,
        vectorized=True,
        alternative="greater",
    )
    assert abs(res.pvalue - ref.pvalue) < 1e-12


def test_temporal_data_moves_whole_conditions():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(4, 9, 5)), rng.normal(size=(4, 9, 3))
    res = sg.stats.permutation_test("cka", x, y, n_resamples=20)
    for p, v in zip(res.permutations[:5], res.null_distribution[:5]):
        assert abs(sg.score("cka", x, y[:, p]) - v) < 1e-12
    boot = sg.stats.bootstrap("procrustes-angular_score", x, y, n_resamples=10, method="percentile")
    for r, v in zip(boot.resamples[:5], boot.bootstrap_distribution[:5]):
        assert abs(sg.score("procrustes-angular_score", x[:, r], y[:, r]) - v) < 1e-10
