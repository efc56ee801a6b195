"""The four shared recordings: shapes and labels from their READMEs, values recomputed
independently from the files, seeded pseudo-populations, and decodable labels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.io
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

import simgrad as sg
from simgrad.datasets import load


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """BLAS threads oversubscribe the shared 2-core machine; one thread is faster here."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def cv_accuracy(X, y, seed=0):
    """5-fold stratified, seeded, cross-validated logistic regression (the paper's decoder)."""
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cross_val_score(LogisticRegression(max_iter=200), X, y, cv=cv).mean()


def test_available_lists_shared_as_present(data_dir):
    info = {d.name: d for d in sg.datasets.available(data_dir)}
    for name in (
        "hatsopoulos2007-condavg",
        "hatsopoulos-reach-trials",
        "zhang-desimone2011-it",
        "park2025-pfc",
        "context",
    ):
        assert info[name].present, name
    assert not info["siegel2015"].present and info["mante2013"].kind == "paper"
    assert not any(
        d.present for d in sg.datasets.available(data_dir / "nonexistent") if d.kind != "synthetic"
    )


def test_missing_file_error_says_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="park_pfc.npz.*SIMGRAD_DATA_DIR"):
        load("park2025-pfc", data_dir=tmp_path)
    with pytest.raises(ValueError, match="Did you mean park2025-pfc"):
        load("park2025_pcf")


def test_hatsopoulos_condavg(data_dir):
    raw = np.load(data_dir / "hatsopoulos2007_m1_condavg/hatsopoulos2007_condavg.npz")
    full = load("hatsopoulos2007-condavg", window=None, bin_ms=10)
    assert full.shape == (121, 8, 141)
    np.testing.assert_array_equal(full.data, raw["firing_rate_hz"].transpose(1, 2, 0))
    assert load("hatsopoulos2007-condavg").shape == (121, 8, 141)
    ds = load("hatsopoulos2007-condavg", window=(-300, 400), bin_ms=50)
    assert ds.shape == (14, 8, 141) and ds.units == "spikes/s"
    assert ds.labels["direction"].tolist() == list(range(0, 360, 45))
    i0 = int(np.flatnonzero(raw["time_ms"] == -300)[0])
    expect = raw["firing_rate_hz"][:, i0 : i0 + 70].reshape(141, 14, 5, 8).mean(2)
    np.testing.assert_allclose(ds.data, expect.transpose(1, 2, 0))
    np.testing.assert_allclose(ds.time, np.arange(-280, 400, 50))
    assert "Hatsopoulos" in ds.citation and "CC0" in ds.license
    # one sample per direction and time step: decode over (time, direction) rows
    acc = cv_accuracy(ds.flat(), ds.flat_labels()["direction"])
    assert acc > 0.6, acc  # chance 1/8


def test_hatsopoulos_reach_trials(data_dir):
    ds = load("hatsopoulos-reach-trials")
    mat = scipy.io.loadmat(data_dir / "hatsopoulos_reachdata_m1_trials/ReachData.mat")
    assert ds.shape == (158, 143) and not ds.is_temporal
    np.testing.assert_allclose(ds.data, mat["R"].T)
    idx = mat["direction"].ravel().astype(int)
    np.testing.assert_array_equal(ds.labels["direction"], (idx - 1) * 45)
    counts = np.bincount(ds.labels["direction"] // 45).tolist()
    assert counts == [14, 12, 22, 20, 25, 24, 24, 17]
    acc = cv_accuracy(ds.data, ds.labels["direction"])
    assert acc > 0.5, acc  # chance 0.125


def _groupby_rates(counts, unit, cond, n_cond):
    df = pd.DataFrame(counts).assign(u=unit, c=cond).groupby(["c", "u"]).mean()
    arr = df.to_numpy().reshape(n_cond, -1, counts.shape[1]) / 0.05  # cond, unit, time
    return arr.transpose(2, 0, 1)


def test_zhang_desimone(data_dir):
    z = np.load(data_dir / "zhang_desimone2011_it_objects/zhang_desimone_it.npz")
    cond = z["trial_object_idx"].astype(int) * 3 + z["trial_position_idx"]
    ref = _groupby_rates(z["counts_50ms"], z["trial_neuron_idx"], cond, 21)  # (20, 21, 132)
    avg = load("zhang-desimone2011-it", mode="condavg", bin_ms=50, window=None)
    assert avg.shape == (20, 21, 132)
    np.testing.assert_allclose(avg.data, ref, atol=1e-3)  # file stores float32
    ds = load("zhang-desimone2011-it")
    assert ds.shape == (6, 210, 132) and ds.time.tolist() == [-50, 50, 150, 250, 350, 450]
    assert np.bincount(ds.labels["object"]).tolist() == [30] * 7
    assert np.bincount(ds.labels["position"]).tolist() == [70] * 3
    assert ds.extra["categories"]["object"][2] == "face"
    np.testing.assert_array_equal(ds.data, load("zhang-desimone2011-it", seed=0).data)
    assert not np.array_equal(ds.data, load("zhang-desimone2011-it", seed=1).data)
    # pseudo-trial means approach the condition averages
    m = ds.data.reshape(6, 21, 10, 132).mean(2)
    ref100 = ref[8:20].reshape(6, 2, 21, 132).mean(1)
    assert np.corrcoef(m.ravel(), ref100.ravel())[0, 1] > 0.8
    post = [t for t in range(6) if ds.time[t] > 100][:2]
    for label, chance in (("object", 1 / 7), ("position", 1 / 3)):
        acc = np.mean([cv_accuracy(ds.data[t], ds.labels[label]) for t in post])
        assert acc > chance + 0.15, (label, acc)
    base = cv_accuracy(ds.data[0], ds.labels["object"])  # before stimulus onset
    assert base < 0.3, base


def test_park_pfc(data_dir):
    z = np.load(data_dir / "park2025_pfc_look_nolook/park_pfc.npz")
    cond = z["trial_task_idx"].astype(int) * 2 + z["trial_direction_idx"]
    ref = _groupby_rates(z["spike_counts_50ms"], z["trial_unit_idx"], cond, 4)  # (34, 4, 319)
    avg = load("park2025-pfc", mode="condavg", window=None)
    assert avg.shape == (34, 4, 319)
    np.testing.assert_allclose(avg.data, ref, atol=1e-3)
    assert avg.labels["context"].tolist() == [0, 0, 1, 1]
    assert avg.labels["direction"].tolist() == [0, 1, 0, 1]
    ds = load("park2025-pfc")
    assert ds.shape == (24, 40, 319) and ds.time[0] == 25 and ds.time[-1] == 1175
    assert np.bincount(ds.labels["context"] * 2 + ds.labels["direction"]).tolist() == [10] * 4
    assert "Park" in ds.citation and ds.area == "PFC"
    delay = np.flatnonzero((ds.time > 500) & (ds.time < 1000))[::4]
    for label in ("context", "direction"):
        acc = np.mean([cv_accuracy(ds.data[t], ds.labels[label]) for t in delay])
        assert acc > 0.65, (label, acc)  # chance 0.5


def test_options_are_validated(data_dir):
    with pytest.raises(ValueError, match="mode"):
        load("park2025-pfc", mode="average")
    with pytest.raises(ValueError, match="bin_ms"):
        load("zhang-desimone2011-it", bin_ms=75)
    with pytest.raises(ValueError, match="window"):
        load("park2025-pfc", window=(5000, 6000))
    with pytest.raises(TypeError, match="unexpected keyword"):
        load("hatsopoulos-reach-trials", seed=3)
