"""sg.allowed_region: the paper's asymmetry between CKA and angular Procrustes, the NBS–CKA
rank bounds (paper §4.6) at every reached point, and the target layout."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import simgrad as sg
from simgrad.optim import boundary_targets


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _centred(a: np.ndarray) -> np.ndarray:
    a = a.reshape(-1, a.shape[-1])
    return a - a.mean(0)


def _np_cka(x, y):
    x, y = _centred(x), _centred(y)
    return np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def _np_nbs(x, y):
    x, y = _centred(x), _centred(y)
    return np.linalg.svd(x.T @ y, compute_uv=False).sum() / (np.linalg.norm(x) * np.linalg.norm(y))


def _np_rank(a):
    return np.linalg.matrix_rank(_centred(a))


def test_boundary_targets_layout():
    t = boundary_targets(5)
    assert t.shape == (16, 2) and len({tuple(r) for r in t}) == 16
    np.testing.assert_allclose(t[:5], [[0, 0], [0.25, 0], [0.5, 0], [0.75, 0], [1, 0]])
    np.testing.assert_allclose(t[8], [1, 1])
    np.testing.assert_allclose(t[-1], [0, 0.25])
    on_edge = (t == 0) | (t == 1)
    assert on_edge.any(1).all()
    with pytest.raises(ValueError, match="points_per_side"):
        boundary_targets(1)


def test_cka_procrustes_asymmetry_free_variant():
    """Paper E8/C6: high CKA with low angular Procrustes is reachable, the converse is not.
    Variant B (X and Y free, (20, 10)); 3 points per side, lr 0.025 for 400 steps to keep the
    test short (the paper: 5 points, lr 0.01, 1000 steps gives the same reached points)."""
    r = sg.allowed_region(
        None,
        "cka",
        "procrustes-angular_score",
        variant="free",
        points_per_side=3,
        max_iter=400,
        lr=0.025,
    )
    assert r.variant == "free" and r.reached.shape == (8, 2) and r.polygon.shape == (9, 2)
    for tr, p in zip(r.trajectories, r.reached):  # reached scores, recomputed with numpy
        x, y = tr.final_reference, tr.final
        assert x.shape == y.shape == (20, 10)
        assert _np_cka(x, y) == pytest.approx(p[0], abs=1e-9)
        s = 1 - 2 / math.pi * math.acos(min(1.0, _np_nbs(x, y)))
        assert s == pytest.approx(p[1], abs=1e-9)
    cka, proc = r.reached[:, 0], r.reached[:, 1]
    assert np.any((cka >= 0.85) & (proc <= 0.4))  # high CKA, low angular Procrustes: reachable
    every = np.concatenate([t.scores for t in r.trajectories])
    assert not np.any((every[:, 1] >= 0.8) & (every[:, 0] <= 0.5))  # the converse never occurs
    assert r.reached[4].min() >= 0.98  # the (1, 1) corner is reached
    # slope analysis near (1, 1): the line from the (0.95, 0) run is steep, the other shallow
    assert r.slopes[0] > 2 > 1 > r.slopes[1]
    assert 0 < r.area < 1


def _check_rank_bounds(r, ref=None):
    """CKA/√(r_X r_Y) ≤ NBS² ≤ min(r_X, r_Y)·CKA at every reached point (ranks by numpy)."""
    for tr, (cka, nbs) in zip(r.trajectories, r.reached):
        x = tr.final_reference if ref is None else ref
        y = tr.final
        rx, ry = _np_rank(x), _np_rank(y)
        c, n = _np_cka(x, y), _np_nbs(x, y)
        assert c == pytest.approx(cka, abs=1e-9) and n == pytest.approx(nbs, abs=1e-9)
        assert c / math.sqrt(rx * ry) <= n**2 + 1e-12
        assert n**2 <= min(rx, ry) * c + 1e-12
    expected = [
        [_np_rank(t.final_reference if ref is None else ref), _np_rank(t.final)]
        for t in r.trajectories
    ]
    np.testing.assert_array_equal(r.ranks, expected)


def test_cka_nbs_rank_bounds_free_variant():
    r = sg.allowed_region(
        None, "cka", "nbs", variant="free", shape=(12, 3), points_per_side=3, max_iter=300, lr=0.025
    )
    _check_rank_bounds(r)
    assert r.ranks.max() <= 3  # rank-3 data: the bounds are tight (NBS² ≤ 3·CKA)


def test_cka_nbs_rank_bounds_fixed_variant_real_data(data_dir):
    ds = sg.datasets.load("hatsopoulos2007-condavg", window=(-300, 400), bin_ms=50)
    ref = ds.data[:, :, :12]  # 12 of the 141 M1 units keep the test short
    r = sg.allowed_region(ref, "cka", "nbs", variant="fixed", points_per_side=3, max_iter=200)
    _check_rank_bounds(r, ref)
    assert r.variant == "fixed" and all(t.final_reference is None for t in r.trajectories)
    assert r.reached[4].min() > 0.95  # (1, 1)


def test_allowed_region_errors():
    x = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match="same measure"):
        sg.allowed_region(x, "cka", "cka-kernel=linear-hsic=gretton-score")
    with pytest.raises(ValueError, match="variant"):
        sg.allowed_region(x, "cka", "nbs", variant="C")
    with pytest.raises(ValueError, match="not differentiable"):
        sg.allowed_region(x, "cka", "cknna-topk=10-score")
    with pytest.raises(ValueError, match="targets"):
        sg.allowed_region(x, "cka", "nbs", targets=[[0.1, 0.2, 0.3]])
