"""Matched-spectrum surrogate (Cloos et al., ICLR 2025): capture scores agree with the real data's.

For a shared recording X and its Gaussian surrogate G (same centred singular values, random
singular vectors; ``sg.datasets.matched_spectrum``), Y is optimized towards each with the same
seed under CKA and angular Procrustes. The scores at which the top ``N_PCS`` PCs are captured
should agree: mean |difference| ≤ 0.1 (in score units) over the PCs captured in both, with
every PC captured in both. The Spearman correlation of the two capture orders is reported, not
asserted (under angular Procrustes the top PCs are captured within ~0.05 of each other, so
their order is mostly noise). Numbers per dataset and measure are printed (``pytest -s``).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

import simgrad as sg
from helpers import thin
from simgrad.analysis import pc_capture

N_PCS = 10
DATASETS = {  # name: load options
    "zhang-desimone2011-it": {"trials_per_condition": 5},  # (6, 105, 132)
    "park2025-pfc": {},  # (24, 40, 319)
}


def _captures(data: np.ndarray, measure: str) -> np.ndarray:
    tr = sg.optimize(data, measure, seed=0, max_iter=400, target=0.99)
    sc = np.asarray(tr.recorded_scores)
    sel = thin(sc)
    caps = pc_capture(data, np.asarray(tr.recorded)[sel], sc[sel], n_pcs=N_PCS).capture_score
    return np.array([np.nan if c is None else c for c in caps])


@pytest.mark.parametrize("measure", ["cka", "procrustes-angular_score"])
@pytest.mark.parametrize("name", list(DATASETS))
def test_surrogate_capture_agrees(data_dir, name, measure):
    ds = sg.datasets.load(name, **DATASETS[name])
    real = _captures(ds.data, measure)
    surr = _captures(sg.datasets.matched_spectrum(ds, seed=1).data, measure)
    both = ~np.isnan(real) & ~np.isnan(surr)
    mad = float(np.abs(real[both] - surr[both]).mean())
    rho = float(spearmanr(real[both], surr[both]).statistic)
    print(
        f"\n{name} {measure}: real {np.round(real, 3)}\n  surrogate {np.round(surr, 3)}"
        f"\n  mean|diff| = {mad:.3f}  Spearman = {rho:.3f}  captured in both = {both.sum()}"
    )
    assert both.all(), (real, surr)
    assert mad <= 0.1, (mad, real, surr)
