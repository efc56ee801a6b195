"""A cheap version of the layer-correspondence test (Kornblith et al. 2019, Table 2) whose
full run is docs/experiments/layer_correspondence.py (table in docs/models.md).

Three 8-layer ReLU MLPs on scikit-learn's digits, trained from different seeds; for each
layer of one network, the most similar layer of another is picked. The full run (5 seeds,
500 held-out digits) gives, for this setting: angular Procrustes 33%, linear CKA 23%,
linear regression 12.5% (it always picks the first layer: chance). The test asserts that
ordering's robust part: Procrustes and linear CKA pick the right layer more often than linear
regression, which sits at chance.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest
import torch
from torch import nn

import simgrad as sg

datasets = pytest.importorskip("sklearn.datasets")
N_LAYERS = 8


def _net(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    mods: list[nn.Module] = []
    for _ in range(N_LAYERS):
        mods += [nn.Linear(64, 64), nn.ReLU()]
    return nn.Sequential(*mods, nn.Linear(64, 10))


def _fraction(reps: list[dict], name: str) -> float:
    hits = total = 0
    for i, j in permutations(range(len(reps)), 2):
        S = sg.pairwise(list(reps[i].values()), list(reps[j].values()), name).numpy()
        hits += int((S.argmax(1) == np.arange(N_LAYERS)).sum())
        total += N_LAYERS
    return hits / total


def test_layer_correspondence_ordering():
    X, y = datasets.load_digits(return_X_y=True)
    X = torch.tensor(X / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    perm = np.random.default_rng(0).permutation(len(X))
    tr, te = torch.tensor(perm[:1200]), torch.tensor(perm[1200:1500])
    reps = []
    for seed in range(3):
        net = _net(seed)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        g = torch.Generator().manual_seed(seed)
        for _ in range(10):
            for idx in tr[torch.randperm(len(tr), generator=g)].split(64):
                opt.zero_grad()
                nn.functional.cross_entropy(net(X[idx]), y[idx]).backward()
                opt.step()
        layers = [str(2 * k + 1) for k in range(N_LAYERS)]
        reps.append(sg.activations(net, X[te], layers=layers))
    f = {m: _fraction(reps, m) for m in ("cka", "procrustes-angular_score", "linreg")}
    print(f)
    assert f["linreg"] <= 0.2, f
    assert f["procrustes-angular_score"] > f["linreg"], f
    assert f["cka"] > f["linreg"], f
