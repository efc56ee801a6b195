"""Permutation metric against brute force over unit permutations; mutual kNN and CKNNA
against explicit numpy implementations of Huh et al. 2024's definitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import simgrad as sg


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


# ----------------------------------------------------------------------------- permutation
def _brute_force(x, y):
    """Best (cosine, euclidean) over all permutations of the zero-padded centred units."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    d = max(xc.shape[1], yc.shape[1])
    xc = np.pad(xc, ((0, 0), (0, d - xc.shape[1])))
    yc = np.pad(yc, ((0, 0), (0, d - yc.shape[1])))
    best_cos, best_euc = -np.inf, np.inf
    for perm in itertools.permutations(range(d)):
        yp = yc[:, perm]
        best_cos = max(best_cos, np.sum(xc * yp) / (np.linalg.norm(xc) * np.linalg.norm(yc)))
        best_euc = min(best_euc, np.linalg.norm(xc - yp))
    return best_cos, best_euc


@pytest.mark.parametrize("p,q", [(4, 4), (5, 3), (2, 5), (1, 1)])
def test_permutation_metric_equals_brute_force(p, q):
    rng = np.random.default_rng(10 * p + q)
    for _trial in range(3):
        x = rng.normal(size=(15, p)) * rng.uniform(0.5, 3, size=p)
        y = np.c_[x[:, ::-1][:, : min(p, q)], rng.normal(size=(15, max(0, q - p)))][:, :q]
        y = y + 0.8 * rng.normal(size=y.shape)
        cos, euc = _brute_force(x, y)
        assert abs(sg.score("permutation_metric-score", x, y) - cos) < 1e-12
        assert (
            abs(
                sg.score("permutation_metric-distance=angular", x, y)
                - np.arccos(np.clip(cos, -1, 1))
            )
            < 1e-10
        )
        assert abs(sg.score("permutation_metric-distance=euclidean", x, y) - euc) < 1e-10
        assert abs(sg.score("permutation_metric-distance=squared_euclidean", x, y) - euc**2) < 1e-9
        assert (
            abs(
                sg.score("permutation_metric-angular_score", x, y)
                - (1 - 2 / np.pi * np.arccos(np.clip(cos, -1, 1)))
            )
            < 1e-10
        )


def test_permutation_metric_identities_and_batches():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 5))
    y = x[:, [3, 0, 4, 1, 2]] + 7.0  # permuted, translated copy
    assert sg.score("permutation_metric-distance=angular", x, y) == pytest.approx(0, abs=1e-7)
    assert sg.score("permutation_metric-distance=euclidean", x, y) == pytest.approx(0, abs=1e-9)
    ys = rng.normal(size=(3, 20, 4))
    out = sg.score("permutation_metric-distance=angular", x, ys, batch_ndim=1)
    for b in range(3):
        assert out[b] == pytest.approx(sg.score("permutation_metric", x, ys[b]), abs=1e-14)
    # rotations are not free: a generic rotation of X is far from X
    q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    assert sg.score("permutation_metric-distance=angular", x, x @ q) > 0.1


# ----------------------------------------------------------------------------- neighbours
def _neighbours(a, k):
    u = a / np.linalg.norm(a, axis=1, keepdims=True)
    s = u @ u.T
    np.fill_diagonal(s, -np.inf)
    return [set(np.argsort(-row, kind="stable")[:k]) for row in s], u @ u.T


def _mutual_knn_ref(x, y, k):
    nx, _ = _neighbours(x, k)
    ny, _ = _neighbours(y, k)
    return np.mean([len(a & b) / k for a, b in zip(nx, ny)])


def _hsic_u(a, b):
    """Song et al. 2012, eq. (5), written out with the explicit matrix product."""
    m = a.shape[0]
    at, bt = a.copy(), b.copy()
    np.fill_diagonal(at, 0)
    np.fill_diagonal(bt, 0)
    val = (
        np.sum(at * bt.T)
        + at.sum() * bt.sum() / ((m - 1) * (m - 2))
        - 2 * (at @ bt).sum() / (m - 2)
    )
    return val / (m * (m - 3))


def _cknna_ref(x, y, k):
    nx, kx = _neighbours(x, k)
    ny, ly = _neighbours(y, k)
    n = len(nx)
    mk, ml = np.zeros((n, n)), np.zeros((n, n))
    for i in range(n):
        mk[i, list(nx[i])] = 1
        ml[i, list(ny[i])] = 1
    both = mk * ml
    return _hsic_u(both * kx, both * ly) / np.sqrt(
        _hsic_u(mk * kx, mk * kx) * _hsic_u(ml * ly, ml * ly)
    )


@pytest.mark.parametrize("n,p,q,k", [(30, 6, 4, 5), (50, 3, 8, 10), (12, 20, 15, 3)])
def test_neighbour_measures_match_reference(n, p, q, k):
    rng = np.random.default_rng(n + k)
    x = rng.normal(size=(n, p))
    y = x[:, : min(p, q)] @ rng.normal(size=(min(p, q), q)) + 0.7 * rng.normal(size=(n, q))
    assert abs(sg.score(f"mutual_knn-topk={k}-score", x, y) - _mutual_knn_ref(x, y, k)) < 1e-12
    assert abs(sg.score(f"cknna-topk={k}-score", x, y) - _cknna_ref(x, y, k)) < 1e-10


def test_neighbour_measures_properties():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 6))
    q = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    for name in ("mutual_knn-topk=5-score", "cknna-topk=5-score"):
        assert sg.score(name, x, 2.0 * x @ q) == pytest.approx(1.0, abs=1e-12)
        card = sg.card(name)
        assert not card.differentiable and "translation" not in card.invariances
    assert not sg.card("cknna-topk=5-score").symmetric
    ys = rng.normal(size=(2, 40, 3))
    out = sg.score("cknna-topk=5-score", x, ys, batch_ndim=1)
    for b in range(2):
        assert out[b] == pytest.approx(sg.score("cknna-topk=5-score", x, ys[b]), abs=1e-14)


def test_neighbour_bad_input():
    x = np.random.default_rng(3).normal(size=(6, 3))
    with pytest.raises(ValueError, match="topk=10.*samples"):
        sg.score("mutual_knn-topk=10-score", x, x)
    with pytest.raises(ValueError, match="topk"):
        sg.measure("cknna-topk=1-score")


def test_invariance_claims():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(30, 5))
    qm = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    a = rng.normal(size=(5, 5))
    transforms = {
        "permutation": lambda t: t[:, [3, 1, 4, 0, 2]],
        "orthogonal": lambda t: t @ qm,
        "isotropic_scaling": lambda t: 2.5 * t,
        "translation": lambda t: t + 3 * rng.normal(size=5),
        "invertible_linear": lambda t: t @ a,
    }
    names = (
        sg.measures("permutation_metric-*") + sg.measures("mutual_knn-*") + sg.measures("cknna-*")
    )
    for name in names:
        card, base = sg.card(name), sg.score(name, x, y)
        for inv, t in transforms.items():
            same = abs(sg.score(name, x, t(y)) - base) < 1e-9
            assert same == (inv in card.invariances), (name, inv)
