"""Bad input to sg.stats: one clear ValueError each, before any resampling."""

from __future__ import annotations

import numpy as np
import pytest

import simgrad as sg

rng = np.random.default_rng(0)
X, Y = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))


def test_too_few_conditions():
    with pytest.raises(ValueError, match="at least 3 conditions"):
        sg.stats.permutation_test("cka", X[:2], Y[:2])
    with pytest.raises(ValueError, match="at least 3 conditions"):
        sg.stats.bootstrap("cka", rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 2, 3)))


def test_measure_minimum_surfaces_before_work():
    with pytest.raises(ValueError, match="4 samples"):
        sg.stats.permutation_test("cka-unbiased", X[:3], Y[:3])
    with pytest.raises(ValueError, match="folds"):
        sg.stats.bootstrap("ridge-lambda=100-r2-cv=5folds", X[:4], Y[:4])


def test_unknown_over_and_options():
    with pytest.raises(ValueError, match="over='time'"):
        sg.stats.permutation_test("cka", X, Y, over="time")
    with pytest.raises(ValueError, match="alternative"):
        sg.stats.permutation_test("cka", X, Y, alternative="bigger")
    with pytest.raises(ValueError, match="method"):
        sg.stats.bootstrap("cka", X, Y, method="basic-ish")
    with pytest.raises(ValueError, match="confidence_level"):
        sg.stats.bootstrap("cka", X, Y, confidence_level=95)
    with pytest.raises(ValueError, match="n_resamples"):
        sg.stats.permutation_test("cka", X, Y, n_resamples=0)


def test_bad_explicit_indices():
    with pytest.raises(ValueError, match="permutation of 0..C-1"):
        sg.stats.permutation_test("cka", X, Y, permutations=np.zeros((3, 20), int))
    with pytest.raises(ValueError, match="shape"):
        sg.stats.bootstrap("cka", X, Y, resamples=np.zeros((3, 19), int))
    with pytest.raises(ValueError, match="index conditions"):
        sg.stats.bootstrap("cka", X, Y, resamples=np.full((3, 20), 20))


def test_non_finite_resample_scores():
    # every resample draws one condition 20 times: constant data, an undefined score
    same = np.repeat(np.arange(20)[:, None], 20, axis=1)
    with pytest.raises(ValueError, match="not finite on bootstrap resample 0"):
        sg.stats.bootstrap("procrustes-angular_score", X, Y, resamples=same, method="percentile")


def test_trials_of_unequal_shape():
    with pytest.raises(ValueError, match="same shape"):
        sg.stats.noise_ceiling("cka", [np.zeros((5, 3)), np.zeros((5, 4))])
    with pytest.raises(ValueError, match=r"\(trials, conditions, units\)"):
        sg.stats.noise_ceiling("cka", np.zeros((5, 3)))
    with pytest.raises(ValueError, match="n_trials"):
        sg.stats.noise_ceiling("cka", rng.normal(size=(4, 6, 3)), n_trials=9)
    with pytest.raises(ValueError, match="distance"):
        sg.stats.noise_ceiling("procrustes-distance=euclidean", rng.normal(size=(4, 6, 3)))


def test_cross_validated_measure_without_hook_is_refused(monkeypatch):
    from simgrad.measures import registry

    hooks = registry.family_hooks("ridge")
    monkeypatch.setitem(registry._HOOKS, "ridge", registry.Hooks(pairwise=hooks.pairwise))
    with pytest.raises(ValueError, match="cross-validated"):
        sg.stats.bootstrap("ridge-lambda=100-r2-cv=5folds", X, Y)
