"""The paper's qualitative findings (paper.md §5), reproduced on shared recordings.

Y is optimized from N(0, 1) (seed 0, Adam lr 0.1, stop at 0.99) towards each reference under
CKA and angular Procrustes; along the recorded trajectory we check that

* the first PC is captured first under every measure;
* before a score of 0.9, angular Procrustes has captured more PCs than CKA;
* angular Procrustes reaches the decoding threshold (90 % of the way from chance to the
  neural accuracy) at a lower score than CKA, or CKA never reaches it.

Trajectories are computed once per module and thinned to iterates ≥ 0.01 apart in score.
Condition-averaged M1 (112 samples, 141 units) is not used for PC capture: with at least as
many units as samples a random Y already regresses every PC perfectly (R² ≡ 1).
"""

from __future__ import annotations

import numpy as np
import pytest

import simgrad as sg
from simgrad.analysis import decode, decode_iterates, decoding_thresholds, n_captured, pc_capture

MEASURES = ("cka", "procrustes-angular_score")
DATASETS = {  # name: label to decode
    "context": "context",  # synthetic (15, 72, 200); 1080 samples > 200 units
    "park2025-pfc": "context",  # shared recording (24, 40, 319); 960 samples > 319 units
}


def _thin(scores: np.ndarray, step: float = 0.01) -> np.ndarray:
    keep, last = [0], scores[0]
    for j in range(1, scores.size):
        if abs(scores[j] - last) >= step:
            keep.append(j)
            last = scores[j]
    if keep[-1] != scores.size - 1:
        keep.append(scores.size - 1)
    return np.array(keep)


@pytest.fixture(scope="module")
def runs():
    from tests.conftest import shared_data_dir

    if shared_data_dir() is None:
        pytest.skip("shared data folder not available")
    out = {}
    for name, label in DATASETS.items():
        ds = sg.datasets.load(name)
        labels = {label: ds.labels[label]}
        ref = decode(ds, labels, seed=0)
        for m in MEASURES:
            tr = sg.optimize(ds, m, seed=0, max_iter=400, target=0.99)
            sel = _thin(np.asarray(tr.recorded_scores))
            its, sc = np.asarray(tr.recorded)[sel], np.asarray(tr.recorded_scores)[sel]
            pcs = pc_capture(ds.data, its, sc)
            dec = decode_iterates(its, labels, seed=0)
            thr = decoding_thresholds(sc, dec.accuracy, ref.accuracy, ref.chance)[label]
            out[name, m] = (pcs, thr, float(sc[-1]))
            print(
                f"{name:24s} {m:26s} final={sc[-1]:.3f} k={sel.size} "
                f"capture={[None if c is None else round(c, 3) for c in pcs.capture_score[:6]]} "
                f"n@0.9={n_captured(pcs, 0.9)} ref={thr['reference_accuracy']:.3f} "
                f"chance={thr['chance']:.3f} thr_score={thr['threshold_score']}"
            )
    return out


@pytest.mark.parametrize("name", list(DATASETS))
def test_first_pc_captured_first(runs, name):
    for m in MEASURES:
        caps = runs[name, m][0].capture_score
        assert caps[0] is not None, (name, m)
        assert all(c is None or c >= caps[0] for c in caps[1:]), (name, m, caps[:5])


@pytest.mark.parametrize("name", list(DATASETS))
def test_procrustes_captures_more_pcs_before_0_9(runs, name):
    n_proc = n_captured(runs[name, "procrustes-angular_score"][0], 0.9)
    n_cka = n_captured(runs[name, "cka"][0], 0.9)
    assert n_proc > n_cka, (n_proc, n_cka)


@pytest.mark.parametrize(
    "name",
    [
        "context",
        pytest.param(
            "park2025-pfc",
            marks=pytest.mark.xfail(
                strict=True,
                reason="measured (seed 0): angular Procrustes reaches the context-decoding "
                "threshold at 0.760, CKA at 0.729 — the paper's ordering does not hold here",
            ),
        ),
    ],
)
def test_procrustes_decodes_at_lower_score(runs, name):
    proc = runs[name, "procrustes-angular_score"][1]["threshold_score"]
    cka = runs[name, "cka"][1]["threshold_score"]
    assert proc is not None, name
    assert cka is None or proc < cka, (proc, cka)
