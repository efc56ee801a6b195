"""Duplicated conditions under the bootstrap (docs/statistics.md, "Duplicates")."""

from __future__ import annotations

import numpy as np
import pytest

import simgrad as sg
from simgrad.stats import _engine
from simgrad.stats import _resample as R


def _pair(seed=0, n=40):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    return x, x[:, :5] @ rng.normal(size=(5, 8)) * 0.3 + rng.normal(size=(n, 8))


@pytest.mark.parametrize(
    "name", ["ridge-lambda=100-r2-cv=5folds", "linear_regression-r2-cv=5folds"]
)
def test_cross_validated_duplicates_stay_in_one_fold(name):
    """Copies of a condition share its original fold: the held-out side never holds a copy of
    a training condition. A naive split (the generic path) scores conditions against their
    own copies and inflates the bootstrap distribution above the score on the data."""
    x, y = _pair()
    prep = R.prepare(name, x, y, over="conditions")
    rows = R.condition_rows(R.bootstrap_plan(40, 200, 0), 1, 40)
    kept = _engine.evaluate(prep, rows, rows)
    naive = _engine.evaluate(prep, rows, rows, use_hook=False)
    observed = sg.score(name, x, y)
    assert kept.mean() <= observed + 0.02 < naive.mean()


def test_weighted_fold_equals_the_fit_on_copies():
    """The hook's row-weighted fit is the fit on the duplicated rows, fold by fold."""
    from simgrad.measures.regression import cv_folds, regression_score  # noqa: F401

    x, y = _pair(1, 20)
    idx = np.random.default_rng(5).integers(0, 20, 20)
    got = sg.stats.bootstrap(
        "ridge-lambda=10-r2-cv=5folds", x, y, resamples=idx[None], method="percentile"
    ).bootstrap_distribution[0]
    fold_of = np.empty(20, int)
    for f, t in enumerate(cv_folds(20, 5, "conditions", None)):
        fold_of[np.asarray(t)] = f
    scores = []
    for f in range(5):
        tr, te = idx[fold_of[idx] != f], idx[fold_of[idx] == f]
        if te.size == 0:
            continue
        mx, my = x[tr].mean(0), y[tr].mean(0)
        yc = y[tr] - my
        b = np.linalg.solve(yc.T @ yc + 10 * np.eye(8), yc.T @ (x[tr] - mx))
        res = x[te] - mx - (y[te] - my) @ b
        scores.append(1 - (res**2).sum() / ((x[te] - mx) ** 2).sum())
    assert got == pytest.approx(np.mean(scores), abs=1e-10)
