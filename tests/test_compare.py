"""sg.compare: tidy table from the all-pairs engine, label alignment, xarray, stats."""

from __future__ import annotations

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


def test_stats_columns():
    a, b = reps(n=30)
    df = sg.compare({"l1": a["l1"]}, {"V1": b["V1"]}, stats={"n_resamples": 50, "seed": 0})
    assert {"ci_low", "ci_high", "p_value", "ceiling"} <= set(df.columns)
    assert df["ci_low"].iloc[0] <= df["score"].iloc[0] <= df["ci_high"].iloc[0]
    assert 0 <= df["p_value"].iloc[0] <= 1
    assert np.isnan(df["ceiling"].iloc[0])  # no trials given


def test_stats_equal_the_cli_statistics_and_use_the_distance_tail():
    """sg.compare(stats=) and simgrad compare share sg.stats.score_statistics: a related pair
    is significant under a score and under a distance (its lower tail)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(25, 4))
    Y = X @ rng.normal(size=(4, 3)) + 0.1 * rng.normal(size=(25, 3))
    opts = {"n_resamples": 99, "seed": 3, "tests": ("permutation",)}
    df = sg.compare({"x": X}, {"y": Y}, measures=["cka", "procrustes-distance=angular"], stats=opts)
    assert (df["p_value"] <= 0.02).all(), df
    for m in ("cka", "procrustes-distance=angular"):
        want = sg.stats.score_statistics(m, X, Y, permutations=99, seed=3)["pvalue"]
        assert df.loc[df["measure"] == m, "p_value"].iloc[0] == want


def test_stats_ceiling_from_trials():
    rng = np.random.default_rng(2)
    signal = rng.normal(size=(8, 5))
    trials = signal + 0.5 * rng.normal(size=(6, 8, 5))
    model = signal @ rng.normal(size=(5, 5))
    opts = {"n_resamples": 20, "tests": (), "trials": {"area": trials}}
    df = sg.compare({"m": model}, {"area": trials.mean(0)}, stats=opts)
    want = sg.stats.noise_ceiling("cka", trials, seed=0).ceiling
    assert df["ceiling"].iloc[0] == pytest.approx(want, abs=1e-12)
    with pytest.raises(TypeError, match="trials"):
        sg.compare({"m": model}, {"area": trials.mean(0)}, stats={"trials": trials})


def test_unlabelled_entry_beside_labelled_ones_is_an_error():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4, 3))
    ds = sg.datasets.Dataset(X, labels={"stim": np.array(["d", "c", "b", "a"])}, name="area")
    lab = {"stim": np.array(["a", "b", "c", "d"])}
    with pytest.raises(ValueError, match="no condition labels"):
        sg.compare({"m": X}, {"ds": ds, "raw": X}, labels_a=lab)
    # nothing reordered: unlabelled entries beside labelled ones are fine
    sg.compare({"m": X}, {"ds": ds, "raw": X})
