"""``simgrad run --seeds N`` optimizes a measure's seeds as one batch
(``pipeline.unit.optimize_units`` → ``optim.optimize.optimize_seeds``): its tables must equal
those of running every seed alone, and a run whose checkpoints hold some seeds must resume
them and batch only the rest.

Tolerance: the batched run evaluates the measure on a ``(seeds, n, d)`` tensor, so its matrix
products may round differently from the single ``(n, d)`` ones (last bits, ~1e-16 relative);
Adam amplifies nothing at these few steps, so scores agree to 1e-9 (observed: exactly or
~1e-15). Decoding accuracies, recorded iterations and iteration counts are discrete and must be
equal; thresholds and capture scores interpolate scores, so 1e-9 too.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simgrad.optim import optimize
from simgrad.optim.optimize import optimize_seeds
from simgrad.options import RunOptions
from simgrad.pipeline import compute

MEASURES = ["cka", "procrustes-angular_score"]
TABLES = ("scores", "decoding", "thresholds", "pc_capture", "pc_r2")


def _opts(out, seeds) -> RunOptions:
    return RunOptions.create(
        dataset="toy2d", measures=MEASURES, seeds=list(seeds), max_iter=25, out=out
    )


def _equal(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    a = a.reset_index(drop=True)
    b = b.reset_index(drop=True)
    assert list(a.columns) == list(b.columns) and a.shape == b.shape, what
    for c in a.columns:
        if a[c].dtype.kind == "f":
            np.testing.assert_allclose(a[c], b[c], rtol=0, atol=1e-9, err_msg=f"{what}.{c}")
        else:
            assert a[c].tolist() == b[c].tolist(), f"{what}.{c}"


@pytest.fixture(scope="module")
def batched(tmp_path_factory):
    out = tmp_path_factory.mktemp("batched")
    return compute(_opts(out, (0, 1, 2)), progress=False)


def test_batched_seeds_equal_seeds_run_one_by_one(batched, tmp_path):
    for seed in (0, 1, 2):
        alone = compute(_opts(tmp_path / f"s{seed}", (seed,)), progress=False)
        for name in TABLES:
            got = getattr(batched, name)
            _equal(got[got["seed"] == seed], getattr(alone, name), f"{name}[seed {seed}]")
    assert set(batched.scores["seed"]) == {0, 1, 2}


def test_resume_reuses_checkpointed_seeds_and_batches_the_rest(batched, tmp_path):
    out = tmp_path / "o"
    compute(_opts(out, (1,)), progress=False)  # seed 1 of each measure checkpointed
    res = compute(_opts(out, (0, 1, 2)), progress=False)
    units = res.info["timings"]["units"]
    assert [(u["seed"], u["resumed"]) for u in units] == [(0, False), (1, True), (2, False)] * 2
    for name in TABLES:
        _equal(getattr(res, name), getattr(batched, name), name)
    again = compute(_opts(out, (0, 1, 2)), progress=False)
    assert all(u["resumed"] for u in again.info["timings"]["units"])
    json.dumps(again.info)  # run.json stays serializable


def test_optimize_seeds_in_any_order_equals_single_runs():
    X = np.random.default_rng(0).normal(size=(40, 5))
    trajs = optimize_seeds(X, "cka", [7, 2], max_iter=20, target=None)
    for t in trajs:
        one = optimize(X, "cka", seed=t.seed, max_iter=20, target=None)
        np.testing.assert_allclose(t.scores, one.scores, rtol=0, atol=1e-12)
        assert t.recorded_iterations.tolist() == one.recorded_iterations.tolist()
    assert [t.seed for t in trajs] == [7, 2]
    with pytest.raises(ValueError, match="distinct"):
        optimize_seeds(X, "cka", [1, 1])
    with pytest.raises(ValueError, match="at least one"):
        optimize_seeds(X, "cka", [])
