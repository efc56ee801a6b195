"""Noise ceilings: split-half reliability with the Spearman–Brown correction."""

from __future__ import annotations

import numpy as np
import pytest

import simgrad as sg


def _trials(rng, k=16, c=12, d=20, noise=2.0):
    return rng.normal(size=(c, d)) + noise * rng.normal(size=(k, c, d))


def test_spearman_brown_formula_and_split_halves():
    assert sg.stats.spearman_brown(0.5) == pytest.approx(2 / 3)
    rng = np.random.default_rng(0)
    trials = _trials(rng, k=6)
    r = sg.stats.noise_ceiling("cka", trials, n_splits=5, seed=3)
    order = np.random.default_rng(3).permutation(6)  # the first split, rebuilt by hand
    a, b = trials[order[:3]].mean(0), trials[order[3:]].mean(0)
    half = sg.score("cka", a, b)
    assert r.half_scores[0] == pytest.approx(half, abs=1e-12)
    assert r.split_scores[0] == pytest.approx(2 * half / (1 + half), abs=1e-12)
    assert r.confidence_interval.low <= r.ceiling <= r.confidence_interval.high


def test_ceiling_grows_with_trials_synthetic():
    trials = _trials(np.random.default_rng(1))
    c = [sg.stats.noise_ceiling("cka", trials, n_trials=k, n_splits=40).ceiling for k in (4, 8, 16)]
    assert c[0] < c[1] < c[2]


def test_temporal_trials_and_dataset_grouping():
    rng = np.random.default_rng(2)
    trials = rng.normal(size=(3, 5, 4)) + rng.normal(size=(8, 3, 5, 4))  # (k, time, C, units)
    r = sg.stats.noise_ceiling("procrustes-angular_score", trials, n_splits=10)
    assert r.n_trials == 8 and np.isfinite(r.ceiling)
    labels = {"c": np.repeat(np.arange(5), 4)[::-1].copy()}
    ds = sg.Dataset(rng.normal(size=(3, 20, 4)), labels, name="toy")
    arr = sg.stats.ceiling.trial_array(ds)
    assert arr.shape == (4, 3, 5, 4)
    assert np.array_equal(arr[0, :, 0], ds.data[:, np.flatnonzero(labels["c"] == 0)[0]])


def test_recording_ceilings(data_dir):
    """hatsopoulos-reach-trials (12 trials of each of 8 directions): the CKA ceiling grows
    with the trials used, and differs from the angular-Procrustes ceiling (0.98 vs 0.92 with
    all trials: different measures, different ceilings)."""
    ds = sg.datasets.load("hatsopoulos-reach-trials", data_dir=data_dir)
    grow = [sg.stats.noise_ceiling("cka", ds, n_trials=k, n_splits=30).ceiling for k in (4, 12)]
    assert grow[0] + 0.02 < grow[1]
    cka = sg.stats.noise_ceiling("cka", ds, n_splits=30).ceiling
    proc = sg.stats.noise_ceiling("procrustes-angular_score", ds, n_splits=30).ceiling
    assert cka - proc > 0.03, (cka, proc)
