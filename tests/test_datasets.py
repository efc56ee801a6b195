"""The Dataset type and the preprocessing functions, checked against independent code."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from simgrad.datasets import (
    Dataset,
    average_conditions,
    pca,
    pseudo_population,
    rebin,
    soft_normalize,
    time_window,
)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """BLAS threads oversubscribe the shared 2-core machine; one thread is faster here."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def make(rng, shape=(6, 4, 3)):
    return Dataset(
        rng.normal(size=shape),
        {"c": np.arange(shape[-2]) % 2},
        time=np.arange(shape[0]) * 10.0 if len(shape) == 3 else None,
    )


def test_properties_and_flat_time_major(rng):
    ds = make(rng)
    assert ds.shape == (6, 4, 3) and ds.is_temporal and ds.n_conditions == 4 and ds.n_units == 3
    flat = ds.flat()
    for t in range(6):
        for c in range(4):
            np.testing.assert_array_equal(flat[t * 4 + c], ds.data[t, c])
    assert ds.flat_labels()["c"].tolist() == [0, 1, 0, 1] * 6
    s = Dataset(rng.normal(size=(5, 2)), {"y": [0, 1, 0, 1, 0]})
    assert not s.is_temporal and s.n_conditions == 5 and s.flat().shape == (5, 2)
    assert ds.data.dtype == np.float64 and Dataset(np.ones((2, 2), int)).data.dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"data": np.ones(3)}, ValueError, "1-D"),
        ({"data": np.ones((2, 2, 2, 2))}, ValueError, "4-D"),
        ({"data": np.ones((0, 3))}, ValueError, "empty"),
        ({"data": np.array([[1.0, np.nan]])}, ValueError, "NaN"),
        ({"data": np.array([[1.0, np.inf]])}, ValueError, "NaN or infinite"),
        ({"data": np.array([["a", "b"]])}, TypeError, "numeric"),
        ({"data": np.ones((3, 2)), "labels": {"y": [0, 1]}}, ValueError, "2 entries.*3 samples"),
        ({"data": np.ones((2, 3, 2)), "labels": {"y": [0, 1]}}, ValueError, "3 conditions"),
        ({"data": np.ones((3, 2)), "labels": {"y": np.ones((3, 1))}}, ValueError, "1-D"),
        ({"data": np.ones((3, 2)), "labels": [0, 1, 2]}, TypeError, "dict"),
        ({"data": np.ones((2, 3, 2)), "time": [0.0]}, ValueError, "time"),
        ({"data": np.ones((3, 2)), "name": 3}, TypeError, "name"),
    ],
)
def test_validation_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        Dataset(**kwargs)


def test_error_names_the_dataset():
    with pytest.raises(ValueError, match="'mine'"):
        Dataset(np.array([[np.nan]]), name="mine")


def test_time_window_and_rebin_against_loops(rng):
    ds = make(rng, (10, 3, 2))
    w = time_window(ds, 20, 70)
    np.testing.assert_array_equal(w.data, ds.data[2:7])
    assert w.time.tolist() == [20, 30, 40, 50, 60]
    r = rebin(w, 2)  # 5 bins -> 2 (last dropped)
    expect = np.stack([(w.data[0] + w.data[1]) / 2, (w.data[2] + w.data[3]) / 2])
    np.testing.assert_allclose(r.data, expect)
    assert r.time.tolist() == [25.0, 45.0]
    with pytest.raises(ValueError, match="no time bin"):
        time_window(ds, 500, 600)
    with pytest.raises(ValueError, match="factor"):
        rebin(ds, 0)
    with pytest.raises(ValueError, match="no time axis"):
        rebin(Dataset(np.ones((3, 2))), 2)


def test_average_conditions_against_groupby(rng):
    import pandas as pd

    X = rng.normal(size=(30, 4))
    a, b = rng.integers(0, 3, 30), rng.integers(0, 2, 30)
    out = average_conditions(Dataset(X, {"a": a, "b": b}), by=["a", "b"])
    df = pd.DataFrame(X).assign(a=a, b=b).groupby(["a", "b"]).mean()
    np.testing.assert_allclose(out.data, df.to_numpy())
    assert out.labels["a"].tolist() == [i for i, _ in df.index]
    assert out.labels["b"].tolist() == [j for _, j in df.index]
    # 3-D: averages over the condition axis, per time step
    ds3 = Dataset(rng.normal(size=(5, 6, 2)), {"y": [0, 1, 0, 1, 2, 2]})
    o3 = average_conditions(ds3)
    np.testing.assert_allclose(o3.data[:, 2], ds3.data[:, 4:6].mean(axis=1))
    with pytest.raises(ValueError, match="unknown label"):
        average_conditions(ds3, by=["nope"])


def test_pca_matches_sklearn(rng):
    X = rng.normal(size=(8, 10, 12)) * np.linspace(3, 0.1, 12)
    ds = Dataset(X, {"c": np.arange(10)})
    out = pca(ds, 0.9)
    ref = PCA(0.9, svd_solver="full").fit(ds.flat())
    Z = ref.transform(ds.flat())
    assert out.n_units == ref.n_components_ and out.shape[:2] == (8, 10)
    np.testing.assert_allclose(np.abs(out.flat()), np.abs(Z), atol=1e-9)
    with pytest.raises(ValueError, match="variance"):
        pca(ds, 1.5)


def test_soft_normalize_formula(rng):
    X = rng.normal(size=(20, 3)) * [1, 10, 100]
    out = soft_normalize(Dataset(X), 5.0)
    np.testing.assert_allclose(out.data, X / (X.max(0) - X.min(0) + 5.0))


def test_pseudo_population_draws_real_trials_and_is_seeded(rng):
    n = 400
    unit = rng.integers(0, 5, n)
    cond = rng.integers(0, 3, n)
    trials = np.stack([np.arange(n) * 1.0, np.arange(n) * 2.0], axis=1)  # row id per trial
    data, c = pseudo_population(trials, unit, cond, 8, seed=1)
    assert data.shape == (2, 24, 5) and c.tolist() == sum([[k] * 8 for k in range(3)], [])
    ids = data[0].astype(int)
    np.testing.assert_array_equal(data[1], 2 * data[0])  # time axis follows the same trial
    for u in range(5):
        for k in range(3):
            drawn = ids[c == k, u]
            assert set(drawn) <= set(np.flatnonzero((unit == u) & (cond == k)))
            if ((unit == u) & (cond == k)).sum() >= 8:
                assert len(set(drawn)) == 8  # distinct trials when there are enough
    again, _ = pseudo_population(trials, unit, cond, 8, seed=1)
    other, _ = pseudo_population(trials, unit, cond, 8, seed=2)
    np.testing.assert_array_equal(data, again)
    assert not np.array_equal(data, other)
    # too few trials: reused with replacement
    d2, _ = pseudo_population(np.arange(4.0), [0, 0, 0, 0], [0, 0, 1, 1], 5, seed=0)
    assert set(d2[:5, 0]) <= {0, 1} and set(d2[5:, 0]) <= {2, 3}
    with pytest.raises(ValueError, match="no trial in condition"):
        pseudo_population(np.arange(3.0), [0, 0, 1], [0, 1, 0], 2, n_conditions=2)
    with pytest.raises(ValueError, match="n_per_condition"):
        pseudo_population(np.arange(3.0), [0, 0, 0], [0, 0, 0], 0)
