"""PWCCA on wide, rank-deficient ReLU layers (the layer-correspondence CNN's failure).

Before the fix ``pwcca`` whitened both inputs and took the full SVD of W_XᵀW_Y (LAPACK
``gesdd``), which raised ``torch.linalg.LinAlgError`` ("failed to converge ... ill-conditioned or
has too many repeated singular values") on two 500 × 320 ReLU layers of the MNIST-1D CNN: with
r_X + r_Y > n − 1, r_X + r_Y − n + 1 canonical correlations are exactly 1. The reference below
is numpy/scipy written from Morcos et al. 2018 (CCA on each input's column space, canonical
variates of X, α_i = Σ_j |⟨h_i, x̃_j⟩|) with other algorithms than simgrad's: pivoted QR for the
column spaces, ``gesvd`` for the CCA, ``eigh`` for the tie-break inside blocks of equal ρ.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
import torch

import simgrad as sg
from simgrad.measures import svcca as mod
from simgrad.measures.cca import canonical_correlations, whiten

N, D = 500, 320


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def relu_layers(seed: int, r: int, dead: int = 0, constant: int = 0):
    """Two ReLU layers of a random rank-``r`` projection (n = 500, 320 units), the first
    ``dead`` units all zero and the next ``constant`` ones constant."""
    g = torch.Generator().manual_seed(seed)

    def rep():
        z = torch.randn(N, r, generator=g, dtype=torch.float64)
        a = torch.relu(z @ torch.randn(r, D, generator=g, dtype=torch.float64) / r**0.5)
        a[:, :dead] = 0
        a[:, dead : dead + constant] = 0.5
        return a

    return rep(), rep()


def _basis(a: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis of the column space: pivoted QR, rank from |diag R|."""
    q, r, _ = sl.qr(a, mode="economic", pivoting=True)
    d = np.abs(np.diag(r))
    return q[:, : int((d * d > rtol * (a * a).sum()).sum())]


def pwcca_np(x: np.ndarray, y: np.ndarray, gap: float = 1e-8) -> float:
    """Morcos et al. 2018: Σ α_i ρ_i / Σ α_i over the min(r_X, r_Y) canonical pairs.

    Inside a block of equal ρ the canonical variates are any orthonormal basis of the block;
    simgrad (documented) takes X's principal directions there: eigenvectors of BBᵀ, B = H_Cᵀ X̃.
    """
    xc, yc = x - x.mean(0), y - y.mean(0)
    qx, qy = _basis(xc), _basis(yc)
    k = min(qx.shape[1], qy.shape[1])
    u, rho, _ = sl.svd(qx.T @ qy, full_matrices=False, lapack_driver="gesvd")
    h, rho = qx @ u[:, :k], rho[:k]
    edges = [0] + [i + 1 for i in range(k - 1) if rho[i] - rho[i + 1] > gap] + [k]
    for a, b in zip(edges[:-1], edges[1:]):
        if b - a > 1:
            m = h[:, a:b].T @ xc
            _, v = np.linalg.eigh(m @ m.T)
            h[:, a:b] = h[:, a:b] @ v[:, ::-1]
    alpha = np.abs(h.T @ xc).sum(1)
    return float((alpha * rho).sum() / alpha.sum())


def test_wide_relu_layers_no_longer_fail():
    """This pair made the old ``torch.linalg.svd(W_XᵀW_Y)`` raise LinAlgError (OpenBLAS,
    torch 2.13 CPU): full-rank 320-unit layers, 141 canonical correlations equal to 1."""
    x, y = relu_layers(4, r=480)
    assert int((canonical_correlations(x, y) > 1 - 1e-8).sum()) == 2 * D - (N - 1)
    v = float(sg.score("pwcca", x, y))
    assert np.isfinite(v) and 0 <= v <= 1
    assert v == pytest.approx(pwcca_np(x.numpy(), y.numpy()), abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_dead_and_constant_units_low_rank(seed):
    """ReLU of a rank-40 projection with 60 dead and 20 constant units: r ≈ 40 ≪ 320."""
    x, y = relu_layers(seed, r=40, dead=60, constant=20)
    v = float(mod.pwcca(x, y))
    assert v == pytest.approx(pwcca_np(x.numpy(), y.numpy()), abs=1e-10)
    # float32 activations: same value to float32 accuracy, no failure
    v32 = float(mod.pwcca(x.float(), y.float()))
    assert v32 == pytest.approx(v, abs=1e-4)


def test_value_independent_of_the_svd_driver(monkeypatch):
    """The eigh fallback (taken when LAPACK's SVD does not converge) gives the same value."""
    x, y = relu_layers(2, r=480, dead=30)
    expected = float(mod.pwcca(x, y))

    def fail(*args, **kwargs):
        raise torch.linalg.LinAlgError("linalg.svd: The algorithm failed to converge")

    monkeypatch.setattr(torch.linalg, "svd", fail)
    assert float(mod.pwcca(x, y)) == pytest.approx(expected, abs=1e-8)


def test_full_rank_without_ties_unchanged():
    """Ordinary full-rank data (p + q < n): the plain CCA of the data, as before the fix."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(200, 12, generator=g, dtype=torch.float64)
    y = x[:, :8] @ torch.randn(8, 9, generator=g, dtype=torch.float64)
    y = y + 0.7 * torch.randn(200, 9, generator=g, dtype=torch.float64)
    v = float(mod.pwcca(x, y))
    assert v == pytest.approx(pwcca_np(x.numpy(), y.numpy()), abs=1e-12)
    # the formula before the fix: whitened data, full SVD of W_XᵀW_Y
    wx, _ = whiten(x)
    wy, _ = whiten(y)
    u, rho, _ = torch.linalg.svd(wx.T @ wy, full_matrices=False)
    alpha = ((wx @ u).T @ (x - x.mean(0))).abs().sum(-1)
    assert v == pytest.approx(float((alpha * rho).sum() / alpha.sum()), abs=1e-10)


def test_batched_and_degenerate():
    x, y = relu_layers(3, r=40, dead=10)
    xb, yb = torch.stack([x, y]), torch.stack([y, x])
    out = mod.pwcca(xb, yb)
    assert out.shape == (2,)
    assert float(out[1]) == pytest.approx(float(mod.pwcca(y, x)), abs=1e-14)
    assert float(mod.pwcca(torch.zeros(50, 4), torch.randn(50, 3))) == 0.0


@pytest.mark.parametrize(("seed", "r", "dead"), [(0, 40, 60), (4, 480, 0)])
def test_cca_and_svcca_on_the_same_layers(seed, r, dead):
    """``cca`` and ``svcca-dim=K`` on the same layers: finite and equal to Björck–Golub
    (cosines of the principal angles between the column spaces, pivoted QR + gesvd)."""
    x, y = relu_layers(seed, r=r, dead=dead, constant=10)
    xc, yc = x.numpy() - x.numpy().mean(0), y.numpy() - y.numpy().mean(0)
    qx, qy = _basis(xc), _basis(yc)
    rho = sl.svd(qx.T @ qy, compute_uv=False, lapack_driver="gesvd")
    ref = rho.sum() / np.sqrt(qx.shape[1] * qy.shape[1])
    assert float(sg.score("cca", x, y)) == pytest.approx(ref, abs=1e-8)
    k = 20  # svcca-dim=20: the top 20 principal components of each, then CCA
    px = np.linalg.svd(xc, full_matrices=False)[0][:, :k]
    py = np.linalg.svd(yc, full_matrices=False)[0][:, :k]
    ref_sv = sl.svd(px.T @ py, compute_uv=False, lapack_driver="gesvd").sum() / k
    assert float(sg.score(f"svcca-dim={k}", x, y)) == pytest.approx(ref_sv, abs=1e-8)
