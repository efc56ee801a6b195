"""The paper's qualitative findings (Cloos et al., ICLR 2025), reproduced on shared recordings.

Y is optimized from N(0, 1) (seed 0, Adam lr 0.1, stop at 0.99) towards each reference under
CKA and angular Procrustes; along the recorded trajectory we check that

* the first PC is captured first under every measure;
* before a score of 0.9, angular Procrustes has captured more PCs than CKA;
* angular Procrustes reaches the decoding threshold (90 % of the way from chance to the
  neural accuracy) at a lower score than CKA, or CKA never reaches it.

Datasets (both shared recordings, default preprocessing except where noted):

* ``park2025-pfc`` (24, 40, 319): labels ``direction`` and ``context``;
* ``zhang-desimone2011-it`` with ``trials_per_condition=5`` (6, 105, 132): labels
  ``position`` (3 classes) and ``object`` (7). Five pseudo-trials per condition instead of ten
  only halves the cost; it was chosen for cost before any result was seen.
* ``hatsopoulos2007-condavg`` (121, 8, 141): label ``direction`` (8 classes; one condition per
  class, so decoding uses the pooled-time-blocks scheme).

Trajectories are computed once per module and thinned to iterates ≥ 0.01 apart in score; PC
capture uses every PC (the top 20 are all captured before 0.9 under both measures, so a
top-20 count could not separate them). Counter-examples measured here are kept as strict
xfails with their numbers. Run with ``-s`` to see the results table.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import simgrad as sg
from helpers import shared_data_dir, thin
from simgrad.analysis import decode, decode_iterates, decoding_thresholds, n_captured, pc_capture

MEASURES = ("cka", "procrustes-angular_score")
DATASETS = {  # name: (load options, labels to decode)
    "park2025-pfc": ({}, ("direction", "context")),
    "zhang-desimone2011-it": ({"trials_per_condition": 5}, ("position", "object")),
    "hatsopoulos2007-condavg": ({}, ("direction",)),
}


def _fmt(x):
    return "never" if x is None else f"{x:.3f}"


@pytest.fixture(scope="module")
def runs():
    if shared_data_dir() is None:
        pytest.skip("shared data folder not available")
    out = {}
    rows = []
    for name, (opts, label_names) in DATASETS.items():
        ds = sg.datasets.load(name, **opts)
        labels = {k: ds.labels[k] for k in label_names}
        ref = decode(ds, labels, seed=0)
        for m in MEASURES:
            tr = sg.optimize(ds, m, seed=0, max_iter=400, target=0.99)
            sel = thin(np.asarray(tr.recorded_scores))
            its, sc = np.asarray(tr.recorded)[sel], np.asarray(tr.recorded_scores)[sel]
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # capture must be informative (samples > units)
                pcs = pc_capture(ds.data, its, sc)
            dec = decode_iterates(its, labels, seed=0)
            thr = decoding_thresholds(sc, dec.accuracy, ref.accuracy, ref.chance)
            out[name, m] = (pcs, thr, float(sc[-1]))
            for lab in label_names:
                t = thr[lab]
                rows.append(
                    f"{name:22s} {m:25s} {sc[-1]:5.3f} {sel.size:3d} "
                    f"{' '.join(_fmt(c) for c in pcs.capture_score[:4]):27s} "
                    f"{n_captured(pcs, 0.9):4d} {lab:9s} {t['chance']:.3f} "
                    f"{t['reference_accuracy']:.3f} {_fmt(t['threshold_score'])}"
                )
    print(
        "\ndataset                measure                   final   k capture PC1..PC4"
        "            n@0.9 label     chance ref   thr_score"
    )
    print("\n".join(rows))
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
    "name,label",
    [
        ("zhang-desimone2011-it", "position"),
        ("zhang-desimone2011-it", "object"),
        ("hatsopoulos2007-condavg", "direction"),
        pytest.param(
            "park2025-pfc",
            "direction",
            marks=pytest.mark.xfail(
                strict=True,
                reason="measured (seed 0): angular Procrustes reaches the direction-decoding "
                "threshold at 0.678, CKA at 0.524 — the paper's ordering does not hold here",
            ),
        ),
        pytest.param(
            "park2025-pfc",
            "context",
            marks=pytest.mark.xfail(
                strict=True,
                reason="measured (seed 0): angular Procrustes reaches the context-decoding "
                "threshold at 0.760, CKA at 0.729 — the paper's ordering does not hold here",
            ),
        ),
    ],
)
def test_procrustes_decodes_at_lower_score(runs, name, label):
    proc = runs[name, "procrustes-angular_score"][1][label]["threshold_score"]
    cka = runs[name, "cka"][1][label]["threshold_score"]
    assert proc is not None, (name, label)
    assert cka is None or proc < cka, (proc, cka)
