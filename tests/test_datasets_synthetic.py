"""Synthetic references: stated structure, seeding, and the matched-spectrum surrogate."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from simgrad.datasets import Dataset, load, matched_spectrum


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """BLAS threads oversubscribe the shared 2-core machine; one thread is faster here."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def cv_accuracy(X, y):
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cross_val_score(LogisticRegression(max_iter=200), X, y, cv=cv).mean()


@pytest.fixture(scope="module")
def ctx():
    return load("context", seed=0)


def power_law_exponent(X, k=50):
    """Slope of log(explained variance ratio) against log(PC index), PCs 1..k."""
    evr = PCA().fit(X).explained_variance_ratio_[:k]
    return -np.polyfit(np.log(np.arange(1, len(evr) + 1)), np.log(evr), 1)[0]


def test_context_structure(ctx):
    assert ctx.shape == (15, 72, 200) and ctx.time[0] == 125
    lab = ctx.labels
    assert set(lab) == {
        "context",
        "motion",
        "colour",
        "choice",
        "motion_coherence",
        "colour_coherence",
    }
    # 2 x 6 x 6 full design
    combos = set(zip(lab["context"], lab["motion_coherence"], lab["colour_coherence"]))
    assert len(combos) == 72
    np.testing.assert_array_equal(lab["motion"], np.sign(lab["motion_coherence"]))
    relevant = np.where(lab["context"] < 0, lab["motion_coherence"], lab["colour_coherence"])
    np.testing.assert_array_equal(lab["choice"], np.sign(relevant))
    assert (ctx.data >= 0).all()  # rates


def test_context_labels_decode_above_chance(ctx):
    late = [5, 10, 14]  # sensory signals start at 0 at the first bin
    for label in ("context", "motion", "colour", "choice"):
        acc = np.mean([cv_accuracy(ctx.data[t], ctx.labels[label]) for t in late])
        assert acc > 0.7, (label, acc)


def test_context_power_law_spectrum(ctx):
    alpha = power_law_exponent(ctx.flat())
    assert 0.7 < alpha < 1.3, alpha
    steeper = power_law_exponent(load("context", seed=0, alpha=2.0).flat())
    assert steeper > alpha + 0.5, (alpha, steeper)


def test_context_latents_before_the_softplus():
    """The latent mixture behind ``context`` has exactly the power-law spectrum
    ``s_i ∝ i^(−alpha/2)``, zero mean and unit standard deviation; the task latents are the
    documented functions of the normalized coherences."""
    from simgrad.datasets.synthetic import (
        _context_task_latents,
        _power_law_mixture,
        _smooth_latents,
    )

    rng = np.random.default_rng(0)
    ctx, m, q = np.array([-1, 1, -1, 1]), np.array([1.0, -0.3, 0.1, 0.5]), np.ones(4)
    task = _context_task_latents(ctx, m, q, T=10)
    assert task.shape == (40, 8)
    tau = np.repeat(np.linspace(0, 1, 10), 4)  # time-major rows
    evidence = np.tile(np.where(ctx < 0, m, q), 10)
    np.testing.assert_allclose(task[:, 0], np.tanh(3 * evidence * tau))
    np.testing.assert_allclose(task[:, 1], np.tile(ctx, 10))
    np.testing.assert_allclose(task[:, 6], tau)
    extra = _smooth_latents(rng, 10, 4, 4)
    X = _power_law_mixture(task, extra, rng, 12, alpha=1.5)
    s = np.linalg.svd(X, compute_uv=False)
    np.testing.assert_allclose(s / s[0], np.arange(1, 13) ** -0.75, rtol=1e-10)
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-12)
    assert abs(X.std() - 1) < 1e-12


def test_context_seeded(ctx):
    np.testing.assert_array_equal(ctx.data, load("context", seed=0).data)
    assert not np.allclose(ctx.data, load("context", seed=1).data)


def test_toy2d_geometry():
    ds = load("toy2d")
    assert ds.shape == (10, 6, 2)
    assert ds.labels["choice"].tolist() == [1, 1, 1, -1, -1, -1]
    assert ds.labels["stimulus"].tolist() == [1, 2, 3, -1, -2, -3]
    X = ds.data
    np.testing.assert_allclose(X[:, 3:], -X[:, :3])  # rotation by pi for the other choice
    np.testing.assert_allclose(X[:, 2, 1], 2.0 * X[:, 0, 1])  # second axis scaled by 1 + 2a
    np.testing.assert_allclose(X[:, 1, 0], X[:, 0, 0])  # first axis unscaled
    noisy = load("toy2d", noise=0.1, seed=3)
    np.testing.assert_array_equal(noisy.data, load("toy2d", noise=0.1, seed=3).data)


def test_exp_gaussian_spectrum():
    ds = load("exp-gaussian", seed=0, decay=5.0)
    assert ds.shape == (200, 50)
    np.testing.assert_allclose(ds.data.mean(0), 0, atol=1e-12)
    s2 = np.linalg.svd(ds.data, compute_uv=False) ** 2
    np.testing.assert_allclose(s2[1:] / s2[:-1], np.exp(-1 / 5.0), rtol=1e-8)
    assert abs(cv_accuracy(ds.data, ds.labels["pc1"]) - 0.5) > 0.3
    np.testing.assert_array_equal(ds.data, load("exp-gaussian", seed=0).data)


def test_ultrametric_hierarchy():
    ds = load("ultrametric", seed=0)
    assert ds.shape == (100, 50) and set(np.unique(ds.data)) == {-1.0, 1.0}
    cat, sup = ds.labels["category"], ds.labels["superclass"]
    assert np.bincount(cat).tolist() == [10] * 10 and np.bincount(sup).tolist() == [50] * 2
    np.testing.assert_array_equal(sup, cat // 5)
    agree = (ds.data @ ds.data.T) / 50  # overlap of +-1 patterns
    same_cat = cat[:, None] == cat[None]
    same_sup = (sup[:, None] == sup[None]) & ~same_cat
    off = ~np.eye(100, dtype=bool)
    # ultrametric: siblings overlap more than cousins, cousins more than strangers
    # expected overlaps with gamma=0.8: 0.8**2=0.64, 0.8**4=0.41, 0.8**6=0.26
    strangers = sup[:, None] != sup[None]
    m1, m2, m3 = agree[same_cat & off].mean(), agree[same_sup].mean(), agree[strangers].mean()
    assert m1 > m2 > m3
    assert abs(m1 - 0.64) < 0.1 and abs(m2 - 0.8**4) < 0.15
    assert cv_accuracy(ds.data, cat) > 0.8  # chance 0.1
    np.testing.assert_array_equal(ds.data, load("ultrametric", seed=0).data)


def test_matched_spectrum_against_independent_construction(ctx):
    g = matched_spectrum(ctx, seed=4)
    assert g.shape == ctx.shape and g.labels.keys() == ctx.labels.keys()
    X = ctx.flat() - ctx.flat().mean(0)
    np.testing.assert_allclose(
        np.linalg.svd(g.flat(), compute_uv=False), np.linalg.svd(X, compute_uv=False), rtol=1e-9
    )
    # the paper's recipe, written out: U_G diag(s) V_G^T from the SVD of N(0,1) noise
    G = np.random.default_rng(4).normal(size=X.shape)
    Ug, _, Vgt = np.linalg.svd(G, full_matrices=False)
    expect = Ug @ np.diag(np.linalg.svd(X, compute_uv=False)) @ Vgt
    np.testing.assert_allclose(g.flat(), expect, atol=1e-9)
    np.testing.assert_array_equal(g.data, matched_spectrum(ctx, seed=4).data)
    # singular vectors are random: the surrogate is far from X
    assert abs(np.corrcoef(g.flat().ravel(), X.ravel())[0, 1]) < 0.1
    wide = Dataset(np.random.default_rng(0).normal(size=(5, 20)))
    assert matched_spectrum(wide).shape == (5, 20)
    with pytest.raises(TypeError, match="Dataset"):
        matched_spectrum(np.ones((3, 2)))


def test_bad_options():
    with pytest.raises(ValueError, match="n_units"):
        load("context", n_units=3)
    with pytest.raises(ValueError, match="alpha"):
        load("context", alpha=-1)
    with pytest.raises(ValueError, match="gamma"):
        load("ultrametric", gamma=2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        load("toy2d", n_units=3)


def test_load_records_options_and_datasets_pickle():
    import pickle

    ds = load("toy2d", noise=0.1, seed=2)
    assert ds.extra["load"] == {"name": "toy2d", "noise": 0.1, "seed": 2}
    back = pickle.loads(pickle.dumps(ds))  # sweeps ship datasets to Dask workers
    np.testing.assert_array_equal(back.data, ds.data)
    copy = ds.replace(name="other")
    copy.extra["x"] = 1
    assert "x" not in ds.extra
