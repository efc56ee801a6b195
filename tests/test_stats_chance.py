"""The seed's finding (Murphy, Zylberberg & Fyshe 2024) reproduced: on independent Gaussian
data, biased linear CKA approaches 1 as units outnumber samples; the unbiased (Song) estimator
and null-calibrated biased CKA stay near 0; Lange's zero-diagonal estimator rises."""

from __future__ import annotations

import numpy as np
import pytest

import simgrad as sg

DS = (10, 100, 1000, 10000)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    rows = {}
    for d in DS:
        x, y = rng.normal(size=(50, d)), rng.normal(size=(50, d))
        rows[d] = dict(
            biased=sg.score("cka", x, y),
            song=sg.score("cka-unbiased", x, y),
            lange=sg.score("cka-lange", x, y),
            calibrated=sg.stats.null_calibrated("cka", x, y, n_resamples=199).statistic,
        )
    return rows


def test_biased_cka_tends_to_one_on_independent_data(table):
    assert table[DS[-1]]["biased"] > 0.9
    assert table[DS[0]]["biased"] < 0.5


@pytest.mark.parametrize("key", ["song", "calibrated"])
def test_unbiased_and_null_calibrated_stay_near_zero(table, key):
    assert all(abs(table[d][key]) < 0.1 for d in DS), {d: table[d][key] for d in DS}


def test_lange_rises_with_units(table):
    vals = [table[d]["lange"] for d in DS]
    assert vals[-1] > 0.5 and vals[-1] > vals[-2] > vals[1] + 0.2
    assert "not unbiased" in sg.card("cka-lange").estimator


def test_chance_level_matches_the_pure_null():
    lvl = sg.stats.chance_level("cka", (50, 1000), n_resamples=30, seed=1)
    assert lvl.scores.shape == (30,) and 0.9 < lvl.mean < 1 and lvl.q95 >= lvl.mean
    rng = np.random.default_rng(2)
    ref = rng.normal(size=(4, 12, 20))
    own = sg.stats.chance_level("procrustes-angular_score", ref, n_resamples=8)
    assert own.shape == (4, 12, 20) and 0 < own.mean < 1


def test_null_calibrated_rescale_and_distance():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 5))
    y = x @ np.linalg.qr(rng.normal(size=(5, 5)))[0]
    r = sg.stats.null_calibrated("cka", x, y, n_resamples=99, method="rescale")
    assert abs(r.statistic - 1) < 1e-9 and r.pvalue == 0.01
    d = sg.stats.null_calibrated("procrustes-distance=euclidean", x, x, n_resamples=99)
    assert d.statistic > 0 and d.pvalue == 0.01
