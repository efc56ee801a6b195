"""Per-PC R² against scikit-learn regressions and the half-way capture rule."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression

from simgrad.analysis import n_captured, pc_capture, pc_r2


def _sklearn_r2(X, Y):
    """R² of each PC score of X from an sklearn LinearRegression on Y."""
    pca = PCA().fit(X)
    Z = pca.transform(X)
    pred = LinearRegression().fit(Y, Z).predict(Y)
    return 1 - ((Z - pred) ** 2).sum(0) / (Z**2).sum(0), pca.explained_variance_ratio_


def test_r2_matches_sklearn(rng):
    X = rng.normal(size=(80, 10)) * np.geomspace(4, 0.3, 10)
    its = rng.normal(size=(3, 80, 7))
    its[1] = X[:, :7] + 0.5 * its[1]
    ours = pc_r2(X, its)
    for k in range(3):
        ref, evr = _sklearn_r2(X, its[k])
        assert np.allclose(ours[k], ref, atol=1e-10)
    res = pc_capture(X, its, scores=[0.1, 0.5, 0.9])
    assert np.allclose(res.explained_variance_ratio, evr)


def test_rank_deficient_iterate_and_3d(rng):
    X = rng.normal(size=(5, 12, 6)) * np.geomspace(3, 0.5, 6)
    Xf = X.reshape(-1, 6)
    base = rng.normal(size=(60, 2))
    Y = np.concatenate([base, base @ rng.normal(size=(2, 4))], 1)  # rank 2 in 6 columns
    ours = pc_r2(X, Y.reshape(1, 5, 12, 6))[0]
    Q, _ = np.linalg.qr(base - base.mean(0))  # the true 2-D column space
    U = np.linalg.svd(Xf - Xf.mean(0), full_matrices=False)[0]
    assert np.allclose(ours, ((Q.T @ U) ** 2).sum(0), atol=1e-10)
    ref, _ = _sklearn_r2(Xf, Y)
    assert np.allclose(ours, ref, atol=1e-8)


def test_half_way_first_crossing_and_never(rng):
    X = rng.normal(size=(50, 4)) * np.array([4.0, 2.0, 1.0, 0.5])
    Xc = X - X.mean(0)
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    noise = rng.normal(size=(50, 4))
    its = [noise]
    for k in (1, 2, 3):  # add PCs one at a time, on top of the noise
        its.append(np.concatenate([(U[:, :k] * s[:k]), noise[:, : 4 - k]], 1))
    scores = [0.0, 0.3, 0.6, 0.9]
    res = pc_capture(X, np.stack(its), scores)
    assert np.allclose(res.target, (res.r2[0] + 1) / 2)
    cap = res.capture_score
    assert cap[0] is not None and cap[0] <= 0.3 and cap[0] > 0.0
    assert cap[1] is not None and 0.3 < cap[1] <= 0.6
    assert cap[3] is None or cap[3] > cap[2]
    assert n_captured(res, 0.3) == 1
    assert res.captured_mask()[0]


def test_errors(rng):
    X = rng.normal(size=(20, 3))
    with pytest.raises(ValueError, match="samples"):
        pc_r2(X, rng.normal(size=(2, 21, 3)))
    with pytest.raises(ValueError, match="one entry per iterate"):
        pc_capture(X, rng.normal(size=(2, 20, 3)), [0.1])
    with pytest.raises(ValueError, match="constant"):
        pc_r2(np.ones((20, 3)), rng.normal(size=(1, 20, 3)))
    with pytest.raises(ValueError, match="n_pcs"):
        pc_r2(X, rng.normal(size=(1, 20, 3)), n_pcs=0)
    with pytest.raises(TypeError, match="numeric"):
        pc_r2(np.array([["a"] * 3] * 20), rng.normal(size=(1, 20, 3)))
