"""SVCCA and PWCCA against independent numpy implementations written from the papers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import simgrad as sg


@pytest.fixture(autouse=True)
def _one_thread():
    """Small matrices: one thread avoids OpenMP spin-waits on the shared 2-core machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _pca_reduce(a: np.ndarray, var: float | None = None, dim: int | None = None) -> np.ndarray:
    """Raghu et al. 2017, step 1: SVD of the centred data, keep the top singular directions."""
    ac = a - a.mean(0)
    u, s, _ = np.linalg.svd(ac, full_matrices=False)
    s = s[s > 1e-10 * s.max()]
    if dim is not None:
        k = min(dim, len(s))
    else:
        frac = np.cumsum(s**2) / np.sum(s**2)
        k = int(np.searchsorted(frac, var - 1e-12) + 1)
    return u[:, :k] * s[:k]


def _canonical_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Björck–Golub: cosines of principal angles between the column spaces (QR + SVD)."""
    qa, _ = np.linalg.qr(a - a.mean(0))
    qb, _ = np.linalg.qr(b - b.mean(0))
    return np.linalg.svd(qa.T @ qb, compute_uv=False)


def _svcca_ref(x, y, var=None, dim=None):
    xr, yr = _pca_reduce(x, var, dim), _pca_reduce(y, var, dim)
    rho = _canonical_correlations(xr, yr)
    return rho.sum() / min(xr.shape[1], yr.shape[1])


def _pwcca_ref(x, y):
    """Morcos et al. 2018: CCA, orthonormalize X's canonical variates (QR), weight each
    correlation by Σ_units |⟨variate, unit activity⟩|, normalized to sum 1."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    qx, rx = np.linalg.qr(xc)
    qy, _ = np.linalg.qr(yc)
    u, rho, _ = np.linalg.svd(qx.T @ qy, full_matrices=False)
    a = np.linalg.solve(rx, u)  # canonical weights: variates = X̃ a
    variates = xc @ a
    p, _ = np.linalg.qr(variates)
    w = np.abs(p.T @ xc).sum(1)
    w = w / w.sum()
    return float(np.sum(w * rho))


SHAPES = [(60, 8, 5), (40, 6, 6), (120, 12, 20)]


@pytest.mark.parametrize("n,p,q", SHAPES)
def test_svcca_matches_reference(n, p, q):
    rng = np.random.default_rng(n + p + q)
    x = rng.normal(size=(n, p)) @ rng.normal(size=(p, p))  # unequal variances
    y = x[:, : min(p, q)] @ rng.normal(size=(min(p, q), q)) + rng.normal(size=(n, q))
    for var in (0.5, 0.8, 0.95, 0.99):
        ours = sg.score(f"svcca-var={var}-score", x, y)
        assert abs(ours - _svcca_ref(x, y, var=var)) < 1e-10, var
    for dim in (1, 3, 10):
        ours = sg.score(f"svcca-dim={dim}-score", x, y)
        assert abs(ours - _svcca_ref(x, y, dim=dim)) < 1e-10, dim


def test_svcca_with_fewer_samples_than_units():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(15, 30)), rng.normal(size=(15, 25))
    for var in (0.9, 0.99):
        assert abs(sg.score(f"svcca-var={var}-score", x, y) - _svcca_ref(x, y, var=var)) < 1e-9


@pytest.mark.parametrize("n,p,q", SHAPES)
def test_pwcca_matches_reference(n, p, q):
    rng = np.random.default_rng(n * p + q)
    x = rng.normal(size=(n, p)) @ rng.normal(size=(p, p))
    y = x[:, : min(p, q)] @ rng.normal(size=(min(p, q), q)) + 0.5 * rng.normal(size=(n, q))
    assert abs(sg.score("pwcca-score", x, y) - _pwcca_ref(x, y)) < 1e-10
    assert abs(sg.score("pwcca-score", y, x) - _pwcca_ref(y, x)) < 1e-10


def test_pwcca_is_asymmetric_and_card_says_so():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(50, 4)) * [5, 1, 1, 0.2], rng.normal(size=(50, 6))
    assert abs(sg.score("pwcca", x, y) - sg.score("pwcca", y, x)) > 1e-3
    card = sg.card("pwcca-score")
    assert not card.symmetric and not card.differentiable and "asymmetric" in card.description


def test_full_dimension_svcca_is_mean_canonical_correlation():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(80, 5)), rng.normal(size=(80, 5))
    # both full rank with p = q: SVCCA keeping everything = mean canonical correlation
    assert abs(sg.score("svcca-dim=10-score", x, y) - sg.score("cca-score", x, y)) < 1e-12


def test_svcca_gradients():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(14, 5, dtype=torch.float64, generator=g) * torch.tensor(
        [4.0, 2, 1, 0.5, 0.1], dtype=torch.float64
    )
    y = torch.randn(14, 3, dtype=torch.float64, generator=g, requires_grad=True)
    for name in ("svcca-var=0.9-score", "svcca-dim=3-score", "svcca-var=0.99-angular_score"):
        m = sg.measure(name)
        assert m.differentiable
        assert torch.autograd.gradcheck(lambda t, m=m: m(x, t), (y,)), name
    # singular points: Y = X, Y a rotation of X, rank-deficient Y
    q = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64, generator=g))[0]
    for y0 in (x, x @ q, torch.cat([x[:, :2], x[:, :2]], 1)):
        yy = y0.clone().requires_grad_(True)
        v = sg.measure("svcca-var=0.99-distance=angular")(x, yy)
        v.backward()
        assert torch.isfinite(yy.grad).all()


def test_batched_and_3d():
    rng = np.random.default_rng(5)
    x, ys = rng.normal(size=(40, 6)), rng.normal(size=(2, 40, 4))
    for name in ("svcca-var=0.95-score", "pwcca-score"):
        out = sg.score(name, x, ys, batch_ndim=1)
        assert out.shape == (2,)
        for b in range(2):
            assert abs(out[b] - sg.score(name, x, ys[b])) < 1e-12
        x3, y3 = rng.normal(size=(4, 10, 6)), rng.normal(size=(4, 10, 3))
        assert (
            abs(sg.score(name, x3, y3) - sg.score(name, x3.reshape(40, 6), y3.reshape(40, 3)))
            < 1e-12
        )


def test_invariance_claims():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(60, 5)) @ rng.normal(size=(5, 5))
    y = rng.normal(size=(60, 5)) @ rng.normal(size=(5, 5))
    q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    a = rng.normal(size=(5, 5))
    transforms = {
        "permutation": lambda t: t[:, [3, 1, 4, 0, 2]],
        "orthogonal": lambda t: t @ q,
        "isotropic_scaling": lambda t: 2.5 * t,
        "translation": lambda t: t + 3 * rng.normal(size=5),
        "invertible_linear": lambda t: t @ a,
    }
    for name in ("svcca-var=0.9-score", "svcca-dim=3-score", "pwcca-score"):
        card, base = sg.card(name), sg.score(name, x, y)
        for inv, t in transforms.items():
            same = abs(sg.score(name, x, t(y)) - base) < 1e-9
            assert same == (inv in card.invariances), (name, inv)


def test_bad_parameters():
    with pytest.raises(ValueError, match="var"):
        sg.measure("svcca-var=1.5-score")
    with pytest.raises(ValueError, match="dim"):
        sg.measure("svcca-dim=0-score")
