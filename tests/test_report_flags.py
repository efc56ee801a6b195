"""What the report and the terminal say about a run: captions written from the run, runs
that miss their target flagged, one wording of "PCs captured", region progress."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simgrad.cli import main
from simgrad.pipeline.progress import EtaLines
from simgrad.pipeline.tables import summary_table
from simgrad.report.captions import RunFacts, captions
from simgrad.report.summary import format_summary


def _facts(**kw) -> RunFacts:
    base = dict(
        lr=0.1,
        target=0.99,
        max_iter=300,
        n_seeds=1,
        missed={},
        schemes={"context": "per-time"},
        n_decoded=(7, 10),
        n_pcs=200,
        n_shown=200,
        theory=["cka"],
    )
    return RunFacts(**{**base, **kw})


def test_captions_follow_the_run():
    caps = captions(_facts())
    assert "one decoder per time bin" in caps["decoding"]
    assert "7–10 iterates" in caps["decoding"] and "sampled" in caps["decoding"]
    assert "Every run reached the target 0.99" in caps["scores"]
    assert "shape" in caps["capture"] and "not the level" in caps["capture"]
    assert "all 200 principal components" in caps["spectrum"]
    pooled = captions(
        _facts(schemes={"direction": "pooled-time-blocks"}, missed={"ridge-cv": 0.982})
    )
    assert "per time bin" not in pooled["decoding"] and "time blocks" in pooled["decoding"]
    assert "MISSED the target 0.99 within 300 iterations: ridge-cv (0.982)" in pooled["scores"]
    assert "Every run reached" not in pooled["scores"]
    assert "mean over seeds" in captions(_facts(n_seeds=3))["scores"]
    assert "first 100 of 200" in captions(_facts(n_shown=100))["spectrum"]


def _tables(final_b: float):
    scores = pd.DataFrame(
        {
            "measure": ["cka"] * 2 + ["nbs"] * 2,
            "seed": 0,
            "iteration": [0, 300, 0, 40],
            "score": [0.1, final_b, 0.1, 0.991],
        }
    )
    thr = pd.DataFrame(
        {
            "measure": ["cka", "nbs"],
            "seed": 0,
            "label": "ctx",
            "chance": 0.5,
            "reference_accuracy": 1.0,
            "threshold_accuracy": 0.95,
            "threshold_score": [0.6, None],
        }
    )
    pcs = pd.DataFrame(
        {
            "measure": ["cka"] * 3 + ["nbs"] * 3,
            "seed": 0,
            "pc": [1, 2, 3] * 2,
            "explained_variance_ratio": [0.7, 0.2, 0.1] * 2,
            "capture_score": [0.5, 0.95, None, 0.2, 0.3, 0.99],
        }
    )
    return scores, thr, pcs


def test_summary_and_terminal_flag_a_missed_target():
    s = summary_table(*_tables(0.982), target=0.99)
    assert s.set_index("measure")["target_reached"].to_dict() == {"cka": "0/1", "nbs": "1/1"}
    # PCs captured = capture score ≤ cutoff (never-captured PCs do not count)
    assert s.set_index("measure")["pcs_captured"].to_dict() == {"cka": 1.0, "nbs": 2.0}
    text = format_summary(s, target=0.99)
    rows = {line.split()[0]: line.split() for line in text.splitlines()[2:4]}
    assert rows["cka"][3] == "MISSED" and rows["nbs"][3] == "yes"
    assert "MISSED: cka stopped before the target 0.99" in text
    assert "PCs by 0.9" in text and "captured before the score reached 0.9" in text


def test_distances_reach_their_target_by_falling():
    scores = pd.DataFrame(
        {
            "measure": "procrustes-distance=euclidean",
            "seed": 0,
            "iteration": [0, 9],
            "score": [1.0, 0.05],
        }
    )
    empty_thr = pd.DataFrame(columns=["measure", "seed", "label", "threshold_score"])
    empty_pc = pd.DataFrame(columns=["measure", "seed", "pc", "capture_score"])
    s = summary_table(scores, empty_thr, empty_pc, target=0.1)
    assert s["target_reached"].tolist() == ["1/1"]


def test_seed_range_in_summary():
    scores, thr, pcs = _tables(0.995)
    two = scores.assign(seed=1, score=scores["score"] - 0.01)
    s = summary_table(pd.concat([scores, two]), thr, pcs, target=0.99)
    cka = s.set_index("measure").loc["cka"]
    assert cka["final_score_min"] == pytest.approx(0.985) and cka["final_score_max"] == 0.995
    assert cka["target_reached"] == "1/2"


def test_eta_lines_estimate_the_time_left():
    out, now = [], [0.0]
    eta = EtaLines(200, "x", out.append, clock=lambda: now[0])
    for k in range(201):
        now[0] = float(k)
        eta(k)
    assert len(out) == 11
    assert out[0] == "x: iteration 5/200 (2 %) · 5 s elapsed · about 195 s left"
    assert out[-1].endswith("200 s elapsed · done")


def test_region_prints_progress_with_an_estimate(tmp_path, capsys):
    np.savez(tmp_path / "ref.npz", data=np.random.default_rng(0).normal(size=(20, 5)))
    rc = main(
        [
            "region",
            "--measures",
            "cka,nbs",
            "--data",
            str(tmp_path / "ref.npz"),
            "--points-per-side",
            "2",
            "--max-iter",
            "20",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert rc == 0
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if "region: iteration" in x]
    assert len(lines) >= 5 and "left" in lines[0] and lines[-1].endswith("done")
    assert "ms per iteration" in err
