"""The main job's "by chance" table and report section (results/chance.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import simgrad as sg
from simgrad.pipeline.chance import CHANCE_COLUMNS, chance_table


def test_chance_table_against_the_stats_function():
    ref = np.random.default_rng(0).normal(size=(3, 20, 12))
    scores = pd.DataFrame(
        {
            "measure": "cka",
            "seed": [0, 0, 1, 1],
            "iteration": [0, 5, 0, 5],
            "score": [0.2, 0.9, 0.25, 0.95],
        }
    )
    t = chance_table(ref, ["cka"], scores, n_draws=16, seed=4)
    lvl = sg.stats.chance_level("cka", ref, n_resamples=16, seed=4)
    row = t.iloc[0]
    assert list(t.columns) == CHANCE_COLUMNS
    assert row["null_mean"] == lvl.mean and row["samples"] == 60 and row["units"] == 12
    assert row["initial_score"] == 0.225 and row["final_score"] == 0.925
    assert (row["final_low"], row["final_high"], row["seeds"]) == (0.9, 0.95, 2)
    assert row["final_above_null"] == np.mean(lvl.scores < 0.925) == 1


def test_run_writes_chance_csv_and_report_section(tmp_path):
    data = sg.datasets.load("context", n_units=20, n_time=3, seed=1).to_npz(tmp_path / "r.npz")
    sg.run(
        data=data,
        measures=["cka", "procrustes-angular_score"],
        max_iter=10,
        labels=[],
        out=tmp_path / "out",
        progress=False,
    )
    df = pd.read_csv(tmp_path / "out" / "results" / "chance.csv")
    assert list(df.columns) == CHANCE_COLUMNS and len(df) == 2
    assert (df["null_q95"] > df["null_mean"]).all() and (df["final_above_null"] == 1).all()
    assert "How high each score gets by chance" in (tmp_path / "out" / "report.html").read_text()
