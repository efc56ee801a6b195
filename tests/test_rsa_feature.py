"""RSA's feature-space route, streaming and all pairs against rsatoolbox and the n×n route;
the names of similarity-repository; defined values at constant RDMs (issue 17 item 7)."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
import torch
from rsatoolbox.data import Dataset
from rsatoolbox.rdm import calc_rdm, compare

import simgrad as sg
from simgrad.measures.rsa import rdm, rsa_score
from simgrad.measures.rsa.feature_space import GRAM_RDMS, POLYNOMIAL

_RSATOOLBOX = {"cosine": "cosine", "pearson": "corr", "cosine_cov": "cosine_cov",
               "corr_cov": "corr_cov"}  # fmt: skip
NAMES = Path("/work/shared/spec/similarity_repository_names.txt")


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _pair(n, p, q, seed=0, zero_row=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, p, generator=g, dtype=torch.float64) * torch.linspace(2, 0.5, p) + 1.5
    y = 0.5 * x[:, :q] @ torch.randn(q, q, generator=g, dtype=torch.float64)[: min(p, q)]
    y = y + torch.randn(n, q, generator=g, dtype=torch.float64) if p >= q else torch.randn(
        n, q, generator=g, dtype=torch.float64)  # fmt: skip
    if zero_row:
        x[3] = 0.0  # a zero (and constant) pattern
    return x, y


def _rsatoolbox(x, y, kind, method):
    method_rdm = {"squared_euclidean": "euclidean", "mahalanobis": "mahalanobis"}.get(kind, kind)
    if kind == "cosine":  # rsatoolbox has no cosine RDM: its RDMs from the pdist vector
        from rsatoolbox.rdm import RDMs
        from scipy.spatial.distance import pdist

        rx, ry = RDMs(pdist(x, "cosine")[None]), RDMs(pdist(y, "cosine")[None])
    else:
        rx = calc_rdm(Dataset(x), method=method_rdm)
        ry = calc_rdm(Dataset(y), method=method_rdm)
    return float(compare(rx, ry, method=_RSATOOLBOX[method])[0, 0])


@pytest.mark.parametrize("shape", [(60, 7, 5), (9, 20, 30)])
@pytest.mark.parametrize("kind", GRAM_RDMS)
def test_feature_route_equals_matrix_route_and_rsatoolbox(kind, shape):
    x, y = _pair(*shape)
    for method in POLYNOMIAL:
        f = float(rsa_score(x, y, kind, method, route="feature"))
        m = float(rsa_score(x, y, kind, method, route="matrix"))
        ref = _rsatoolbox(x.numpy(), y.numpy(), kind, method)
        assert abs(f - m) < 1e-10 and abs(f - ref) < 1e-10, (kind, method, f, m, ref)


@pytest.mark.parametrize("kind", ("correlation", "cosine"))
def test_feature_route_with_a_zero_pattern(kind):
    x, y = _pair(40, 6, 4, zero_row=True)
    for method in POLYNOMIAL:
        f = rsa_score(x, y, kind, method, route="feature")
        m = rsa_score(x, y, kind, method, route="matrix")
        assert abs(float(f - m)) < 1e-12, method


def test_feature_route_is_batched_and_float32():
    x, y = _pair(50, 6, 4)
    xb, yb = torch.stack([x, 2 * x]), torch.stack([y, y.flip(0)])
    for method in POLYNOMIAL:
        b = rsa_score(xb, yb, "correlation", method, route="feature")
        loop = [rsa_score(xb[i], yb[i], "correlation", method, route="matrix") for i in (0, 1)]
        assert torch.allclose(b, torch.stack(loop), atol=1e-12)
        f32 = rsa_score(x.float(), y.float(), "squared_euclidean", method, route="feature")
        assert f32.dtype == torch.float32
        assert abs(float(f32) - float(rsa_score(x, y, "squared_euclidean", method))) < 1e-6


@pytest.mark.parametrize("kind", GRAM_RDMS)
def test_feature_route_gradcheck(kind):
    x, y = _pair(12, 3, 2, seed=4)
    x.requires_grad_()
    y.requires_grad_()
    for method in POLYNOMIAL:
        assert torch.autograd.gradcheck(
            lambda a, b, method=method: rsa_score(a, b, kind, method, route="feature"), (x, y)
        ), method


def test_the_measure_uses_the_cheaper_route(monkeypatch):
    score = importlib.import_module("simgrad.measures.rsa.score")

    calls = []
    real = score.feature_space_score
    monkeypatch.setattr(score, "feature_space_score", lambda *a: calls.append(1) or real(*a))
    x, y = _pair(100, 5, 4)
    sg.measure("rsa-rdm=squared_euclidean-compare=cosine")(x, y)
    assert calls
    calls.clear()
    x, y = _pair(8, 30, 20)  # n ≪ d: the RDMs are cheaper
    sg.measure("rsa-rdm=squared_euclidean-compare=cosine")(x, y)
    assert not calls


@pytest.mark.parametrize("method", POLYNOMIAL)
def test_streaming_equals_the_full_computation(method):
    from simgrad.streaming import stream_score

    x, y = _pair(203, 6, 5, seed=7)
    for kind in GRAM_RDMS:
        name = f"rsa-rdm={kind}-compare={method}-score"
        streamed = stream_score(name, zip(x.split(37), y.split(37)))
        assert abs(float(streamed) - sg.score(name, x, y)) < 1e-10
        assert abs(float(streamed) - _rsatoolbox(x.numpy(), y.numpy(), kind, method)) < 1e-10
        full = float(rsa_score(x, y, kind, method, route="matrix"))
        assert abs(float(streamed) - full) < 1e-10


def test_streaming_refuses_zero_patterns():
    from simgrad.streaming import stream_score

    x, y = _pair(50, 6, 5, zero_row=True)
    with pytest.raises(ValueError, match="zero pattern"):
        stream_score("rsa-rdm=correlation-compare=pearson", zip(x.split(20), y.split(20)))


@pytest.mark.parametrize("method", POLYNOMIAL)
@pytest.mark.parametrize("algorithm", ["auto", "feature", "sample"])
def test_all_pairs_equal_single_pairs(method, algorithm):
    reps = [_pair(30, w, 3, seed=w)[0] for w in (3, 4, 6)]
    for kind in ("squared_euclidean", "correlation", "cosine"):
        name = f"rsa-rdm={kind}-compare={method}-score"
        s = np.asarray(sg.pairwise(reps, measure=name, algorithm=algorithm))
        ref = np.array([[sg.score(name, a, b) for b in reps] for a in reps])
        np.testing.assert_allclose(s, ref, atol=1e-10)


# ----------------------------------------------------------------------------- names
def _rsa_names() -> list[str]:
    if not NAMES.exists():
        return []
    return [ln.strip() for ln in NAMES.read_text().splitlines() if ln.startswith("rsa-")]


@pytest.mark.skipif(not NAMES.exists(), reason="similarity-repository name list not present")
def test_every_similarity_repository_rsa_name_resolves_with_a_finite_value():
    x, y = _pair(20, 5, 4)
    x, y = x.abs(), y.abs()  # poisson needs rates
    names = _rsa_names()
    assert len(names) >= 50
    for name in names:
        m = sg.measure(name)
        assert np.isfinite(sg.score(name, x, y)), name
        assert m.card.description and m.card.formula, name


def test_formless_names_are_the_score():
    x, y = _pair(20, 5, 4)
    for c in ("spearman", "pearson", "rho_a", "(soft_spearman-strength=10)"):
        assert sg.measure(f"rsa-rdm=correlation-compare={c}").name.endswith("-score")
        assert sg.score(f"rsa-rdm=correlation-compare={c}", x, y) == sg.score(
            f"rsa-rdm=correlation-compare={c}-score", x, y
        )
    assert sg.measure("rsa-rdm=euclidean-compare=tau_b").name == (
        "rsa-rdm=euclidean-compare=kendall-score"
    )
    canon = sg.measure("rsa-rdm=correlation-compare=soft_spearman-strength=10").name
    assert sg.measure(canon).name == canon


def test_euclidean_comparison_is_resi_definition():
    """ReSi: ‖S − S'‖₂ of the condensed RSMs (S = 1 − D for correlation, D for euclidean)."""
    from scipy.spatial.distance import pdist

    x, y = _pair(25, 6, 4)
    a, b = x.numpy(), y.numpy()
    ac, bc = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    s_x = 1 - pdist(ac, "cosine")
    s_y = 1 - pdist(bc, "cosine")
    assert sg.score("rsa-rdm=correlation-compare=euclidean", x, y) == pytest.approx(
        float(np.linalg.norm(s_x - s_y)), abs=1e-10
    )
    ref = float(np.linalg.norm(pdist(a) - pdist(b)))
    assert sg.score("rsa-rdm=euclidean-compare=euclidean", x, y) == pytest.approx(ref, abs=1e-10)


def test_mahalanobis_with_a_noise_precision_matches_rsatoolbox():
    x, y = _pair(15, 5, 4)
    g = np.random.default_rng(3)
    px = (lambda a: a @ a.T / 5 + np.eye(5))(g.normal(size=(5, 5)))
    py = (lambda a: a @ a.T / 4 + np.eye(4))(g.normal(size=(4, 4)))
    rx = calc_rdm(Dataset(x.numpy()), method="mahalanobis", noise=px)
    ry = calc_rdm(Dataset(y.numpy()), method="mahalanobis", noise=py)
    ours = rdm(x, "mahalanobis", torch.as_tensor(px)).numpy()
    np.testing.assert_allclose(ours[np.triu_indices(15, 1)], rx.get_vectors()[0], atol=1e-12)
    noise = (torch.as_tensor(px), torch.as_tensor(py))
    for method in ("pearson", "spearman", "corr_cov", "bures_metric"):
        ref = float(compare(rx, ry, method={"pearson": "corr"}.get(method, method))[0, 0])
        got = float(rsa_score(x, y, "mahalanobis", method, noise=noise))
        # rsatoolbox's Bures keeps √ of rounding-noise eigenvalues (≈1e-8 relative)
        rel = 1e-7 if method == "bures_metric" else 1e-10
        assert got == pytest.approx(ref, rel=rel, abs=1e-10), method


def test_poisson_refuses_negative_data():
    x, y = _pair(10, 3, 3)
    with pytest.raises(ValueError, match="non-negative"):
        sg.score("rsa-rdm=poisson-compare=pearson", x, y)


# ----------------------------------------------------------------------------- issue 17 item 7
def _constant_rdm_inputs():
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(10, 10, dtype=torch.float64, generator=g))
    eye = torch.eye(10, dtype=torch.float64)
    return {"eye": eye, "rotated_eye": 3.7 * q, "one_hot": 0.3 * eye + 0.1}


@pytest.mark.parametrize("case", list(_constant_rdm_inputs()))
def test_constant_rdm_gives_zero_and_zero_gradients(case):
    """X whose RDM is constant (up to rounding) is uncorrelated with anything: value 0 and a
    zero gradient (before: all-NaN soft-Spearman gradients, pearson/corr_cov ≈ 1e154)."""
    x0 = _constant_rdm_inputs()[case]
    y0 = torch.randn(10, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for kind in ("squared_euclidean", "euclidean"):
        for c in ("pearson", "corr_cov", "(soft_spearman-strength=10)"):
            for route_y in (y0, y0[:, :2]):
                x, y = x0.clone().requires_grad_(), route_y.clone().requires_grad_()
                v = sg.measure(f"rsa-rdm={kind}-compare={c}-score")(x, y)
                v.backward()
                assert float(v.detach()) == 0.0, (kind, c)
                assert torch.isfinite(x.grad).all() and float(x.grad.abs().max()) == 0.0
                assert float(y.grad.abs().max()) == 0.0


@pytest.mark.parametrize("variant", ["a", "b"])
def test_kendall_torch_route_equals_scipy_route(monkeypatch, variant):
    """The CPU route counts with scipy's Fenwick tree; the torch route (other devices) must give
    the same τ, ties included."""
    ranks = importlib.import_module("simgrad.measures.ranks")
    g = np.random.default_rng(5)
    x = torch.as_tensor(np.round(g.normal(size=(3, 997)) * 3))
    y = torch.as_tensor(np.round(g.normal(size=(3, 997)) * 2)) + x
    cpu = ranks.kendall_tau(x, y, variant)
    monkeypatch.setattr(ranks, "_cpu_tau", lambda a, b, v: None)
    assert torch.allclose(ranks.kendall_tau(x, y, variant), cpu, atol=1e-14, rtol=0)


@pytest.mark.parametrize("kind", GRAM_RDMS)
def test_bures_by_factors_equals_the_matrix_route_and_rsatoolbox(kind):
    x, y = _pair(40, 6, 4, seed=2)
    for method in ("bures", "bures_metric"):
        f = float(rsa_score(x, y, kind, method))  # factor route (p·q ≤ n²)
        m = float(rsa_score(x, y, kind, method, route="matrix"))
        assert abs(f - m) < 1e-10 * max(1.0, abs(m)), (method, f, m)
        if kind != "cosine":
            method_rdm = {"squared_euclidean": "euclidean"}.get(kind, kind)
            rx = calc_rdm(Dataset(x.numpy()), method=method_rdm)
            ry = calc_rdm(Dataset(y.numpy()), method=method_rdm)
            ref = float(compare(rx, ry, method=method)[0, 0])
            assert abs(f - ref) < 1e-6 * max(1.0, abs(ref))  # rsatoolbox keeps √noise
        reps = [x, y, _pair(40, 5, 4, seed=9)[0]]
        name = f"rsa-rdm={kind}-compare={method}" + ("-score" if method == "bures" else "")
        s = np.asarray(sg.pairwise(reps, measure=name))
        ref_pairs = np.array([[sg.score(name, a, b) for b in reps] for a in reps])
        np.testing.assert_allclose(s, ref_pairs, atol=1e-10, rtol=1e-10)


def test_bures_with_a_zero_pattern_uses_the_rdms():
    x, y = _pair(30, 5, 4, zero_row=True)
    f = float(rsa_score(x, y, "correlation", "bures"))
    assert f == pytest.approx(float(rsa_score(x, y, "correlation", "bures", route="matrix")))
    x.requires_grad_()
    rsa_score(x, y, "correlation", "bures").backward()
    assert torch.isfinite(x.grad).all()
