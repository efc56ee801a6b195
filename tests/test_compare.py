"""sg.compare: tidy table from the all-pairs engine, label alignment, xarray, stats."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import simgrad as sg
from simgrad.datasets import Dataset


def reps(seed: int = 0, n: int = 48):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    return {
        "l1": X,
        "l2": np.tanh(X @ rng.normal(size=(6, 9))),
        "l3": rng.normal(size=(n, 4)),
    }, {"V1": X[:, :3] + 0.1 * rng.normal(size=(n, 3)), "IT": rng.normal(size=(n, 5))}


def test_table_matches_score_and_order():
    a, b = reps()
    df = sg.compare(a, b, measures=("cka", "procrustes-angular_score", "rsa"))
    assert list(df.columns) == ["a", "b", "measure", "score"]
    assert len(df) == 3 * 3 * 2
    assert list(df["a"][:6]) == ["l1", "l1", "l2", "l2", "l3", "l3"]
    for r in df.itertuples():
        assert r.score == pytest.approx(sg.score(r.measure, a[r.a], b[r.b]), abs=1e-10)


def test_all_pairs_of_one_side_and_single_arrays():
    a, _ = reps()
    df = sg.compare(a)
    assert len(df) == 9
    diag = df[df["a"] == df["b"]]["score"]
    assert np.allclose(diag, 1.0)
    one = sg.compare(a["l1"], a["l2"])
    assert list(one[["a", "b"]].iloc[0]) == ["a", "b"]


def test_xarray_form():
    xr = pytest.importorskip("xarray")
    a, b = reps()
    da = sg.compare(a, b, measures=["cka", "rsa"], output="xarray")
    assert isinstance(da, xr.DataArray) and da.dims == ("measure", "a", "b")
    assert list(da.coords["a"].values) == ["l1", "l2", "l3"]
    assert float(da.sel(measure="rsa", a="l2", b="IT")) == pytest.approx(
        sg.score("rsa", a["l2"], b["IT"])
    )


def _dataset(data: np.ndarray, order: np.ndarray) -> Dataset:
    return Dataset(data, {"direction": order}, name="toy", area="M1")


def test_label_alignment_reorders_conditions():
    rng = np.random.default_rng(1)
    T, C = 4, 8
    model = rng.normal(size=(T, C, 5))
    brain = model @ rng.normal(size=(5, 7))
    dirs = np.arange(C) * 45
    perm = rng.permutation(C)
    shuffled = _dataset(brain[:, perm], dirs[perm])  # conditions stored in another order
    aligned = sg.compare({"rnn": model}, shuffled, labels_a={"direction": dirs})
    truth = sg.score("cka", model, brain)
    assert aligned["score"].iloc[0] == pytest.approx(truth, abs=1e-12)
    unaligned = sg.compare({"rnn": model}, {"M1": brain[:, perm]})
    assert abs(unaligned["score"].iloc[0] - truth) > 1e-3  # the classic bug, for contrast


def test_label_mismatch_and_sample_count_errors():
    rng = np.random.default_rng(2)
    data = rng.normal(size=(3, 4, 5))
    ds = _dataset(data, np.array([0, 90, 180, 270]))
    with pytest.raises(ValueError, match="labels do not match"):
        sg.compare({"m": data}, ds, labels_a={"direction": np.array([0, 90, 180, 45])})
    with pytest.raises(ValueError, match="shares no label name"):
        sg.compare({"m": data}, ds, labels_a={"angle": np.arange(4)})
    with pytest.raises(ValueError, match="3 values for 4 conditions"):
        sg.compare({"m": data}, ds, labels_a={"direction": np.arange(3)})
    with pytest.raises(ValueError, match="sample counts differ"):
        sg.compare({"m": rng.normal(size=(10, 3))}, {"b": rng.normal(size=(11, 3))})
    with pytest.raises(ValueError, match="output"):
        sg.compare({"m": data}, output="frames")


HAS_STATS = importlib.util.find_spec("simgrad.stats") is not None


@pytest.mark.skipif(not HAS_STATS, reason="simgrad.stats is not in this tree")
def test_stats_columns():
    a, b = reps(n=30)
    df = sg.compare({"l1": a["l1"]}, {"V1": b["V1"]}, stats={"n_resamples": 50, "seed": 0})
    assert {"ci_low", "ci_high", "p_value", "ceiling"} <= set(df.columns)
    assert df["ci_low"].iloc[0] <= df["score"].iloc[0] <= df["ci_high"].iloc[0]
    assert 0 <= df["p_value"].iloc[0] <= 1


@pytest.mark.skipif(HAS_STATS, reason="simgrad.stats is present")
def test_stats_without_module_is_a_clear_error():
    a, b = reps()
    with pytest.raises(ImportError, match="simgrad.stats"):
        sg.compare(a, b, stats=True)
