"""sg.pairwise: batched all-pairs scores equal the single-pair measures and independent
written-out formulas; algorithm choice, chunking, gradients, errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

import simgrad as sg
from simgrad.allpairs import parse_bytes
from simgrad.allpairs.nuclear import batched_nuclear_norms, svd_nuclear_norms

WIDTHS = (5, 8, 8, 13)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one thread avoids OpenMP hand-off costs on a shared 2-core machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _reps(n=40, widths=WIDTHS, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, 6, generator=g, dtype=dtype)
    # related representations: shared latent + private noise, so scores are not all ~0
    return [
        base @ torch.randn(6, d, generator=g, dtype=dtype)
        + torch.randn(n, d, generator=g, dtype=dtype)
        for d in widths
    ]


def _loop(name, A, B):
    m = sg.measure(name)
    with torch.no_grad():
        return torch.stack([torch.stack([m(a, b) for b in B]) for a in A])


SIMILARITY_FORMS = [
    "cka",
    "cka-hsic_song",
    "cka-lange",
    "ensd",
    "cka-kernel=(rbf-sigma=1)-hsic=gretton-score",
    "cka-kernel=(rbf-sigma=0.5)-hsic=song-score",
    "cka-kernel=(rbf-sigma=2)-hsic=lange-score",
    "nbs",
    "nbs-squared",
    "procrustes-distance=squared_euclidean",
    "shape_metric-alpha=0.5-score",
    "shape_metric-alpha=0-score",
    "cca",
    "cca-squared_score",
    "linreg",
    "linear_regression-pearsonr",
    "ridge-lambda=10-r2",
    "ridge-lambda=100-pearsonr",
    "linear_regression-r2-sym",
    "ridge-lambda=100-r2-cv=5folds",  # loop fallback
]
ANGULAR_FORMS = [
    "cka-angular_score",
    "cka-distance=angular",
    "procrustes-angular_score",
    "procrustes-distance=euclidean",
    "bures_distance",
    "shape_metric-alpha=0.5-distance=euclidean",
    "cca-angular_score",
]
RSA_FORMS = [
    "rsa-rdm=correlation-compare=pearson-score",
    "rsa-rdm=euclidean-compare=spearman-score",
    "rsa-rdm=squared_euclidean-compare=cosine_cov-score",
    "rsa-rdm=cosine-compare=corr_cov-score",
    "rsa-rdm=correlation-compare=rho_a-score",
    "rsa-rdm=correlation-compare=cosine-score",
    "rsa-rdm=correlation-compare=kendall-score",
]


@pytest.mark.parametrize("name", SIMILARITY_FORMS + ANGULAR_FORMS)
def test_cross_matrix_equals_single_pair(name):
    reps = _reps()
    A, B = reps[:2], reps[1:]
    with torch.no_grad():
        S = sg.pairwise(A, B, measure=name)
    ref = _loop(name, A, B)
    assert S.shape == (2, 3)
    # A[1] is B[0]: at identical inputs arccos/sqrt amplify round-off (slope → ∞)
    tol = torch.full_like(ref, 1e-10)
    if name in ANGULAR_FORMS:
        tol[1, 0] = 1e-7 * max(1.0, float(ref.abs().max()))
    assert bool(((S - ref).abs() <= tol).all()), (S - ref).abs().max()


SYMMETRIC_CHECKS = [n for n in SIMILARITY_FORMS if "rbf" not in n or "song" in n]


@pytest.mark.parametrize("name", SYMMETRIC_CHECKS)
def test_symmetric_matrix_equals_single_pair(name):
    reps = _reps(seed=1)
    with torch.no_grad():
        S = sg.pairwise(reps, measure=name)
    ref = _loop(name, reps, reps)
    assert torch.allclose(S, ref, rtol=0, atol=1e-10), (S - ref).abs().max()


@pytest.mark.parametrize("name", RSA_FORMS)
def test_rsa_matrix_equals_single_pair(name):
    pytest.importorskip("simgrad.measures.rsa")
    reps = _reps(n=25, seed=2)
    with torch.no_grad():
        S = sg.pairwise(reps, measure=name)
        S2 = sg.pairwise(reps[:1], reps[2:], measure=name)
    assert torch.allclose(S, _loop(name, reps, reps), rtol=0, atol=1e-10)
    assert torch.allclose(S2, _loop(name, reps[:1], reps[2:]), rtol=0, atol=1e-10)


# ----------------------------------------------------------------------------- independent refs
def _np_hsic(K, L, estimator):
    n = K.shape[0]
    if estimator == "gretton":
        H = np.eye(n) - np.ones((n, n)) / n
        return np.trace(K @ H @ L @ H) / (n - 1) ** 2
    # Song et al. 2012, eq. (5), written out with zero-diagonal kernels
    Kt, Lt = K - np.diag(np.diag(K)), L - np.diag(np.diag(L))
    one = np.ones(n)
    return (
        np.trace(Kt @ Lt)
        + (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2))
        - 2 / (n - 2) * one @ Kt @ Lt @ one
    ) / (n * (n - 3))


@pytest.mark.parametrize("estimator,name", [("gretton", "cka"), ("song", "cka-hsic_song")])
def test_cka_against_written_out_hsic(estimator, name):
    reps = [r.numpy() for r in _reps(n=30, seed=3)]
    S = sg.pairwise(reps, measure=name, algorithm="sample").numpy()
    grams = [x @ x.T for x in reps]  # uncentred: the HSIC estimators centre themselves
    for i in range(len(reps)):
        for j in range(len(reps)):
            k, l = grams[i], grams[j]
            ref = _np_hsic(k, l, estimator) / np.sqrt(
                _np_hsic(k, k, estimator) * _np_hsic(l, l, estimator)
            )
            assert abs(S[i, j] - ref) < 1e-10


def test_nbs_and_r2_against_numpy_and_sklearn():
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    reps = [r.numpy() for r in _reps(n=50, seed=4)]
    nbs = sg.pairwise(reps, measure="nbs").numpy()
    r2 = sg.pairwise(reps, measure="linreg").numpy()
    for i, x in enumerate(reps):
        for j, y in enumerate(reps):
            xc, yc = x - x.mean(0), y - y.mean(0)
            ref = np.linalg.svd(xc.T @ yc, compute_uv=False).sum() / (
                np.linalg.norm(xc) * np.linalg.norm(yc)
            )
            assert abs(nbs[i, j] - ref) < 1e-10
            pred = LinearRegression().fit(y, x).predict(y)
            ref_r2 = r2_score(x, pred, multioutput="variance_weighted")
            assert abs(r2[i, j] - ref_r2) < 1e-10


def test_repsim_pairwise_cka_agrees():
    """Kisung You's repsim (PyPI, C++) computes an M×M linear CKA matrix too. Only its
    "gretton" estimator is compared: its "song"/"lange" options give other numbers than the
    written-out Song et al. (2012) U-statistic checked above."""
    repsim = pytest.importorskip("repsim")
    reps = [r.numpy() for r in _reps(n=40, seed=5)]
    ours = sg.pairwise(reps, measure="cka").numpy()
    theirs = np.asarray(repsim.cka(reps, kernel_type="linear", estimator="gretton"))
    assert np.allclose(ours, theirs, atol=1e-10, rtol=0), np.abs(ours - theirs).max()


# ----------------------------------------------------------------------------- algorithms
def test_algorithm_choice_is_logged_and_overridable(caplog):
    wide = _reps(n=20, widths=(200, 150, 180), seed=6)  # units ≫ samples: Grams are cheaper
    tall = _reps(n=400, widths=(4, 5, 6), seed=6)  # samples ≫ units: covariances
    with caplog.at_level(logging.DEBUG, logger="simgrad"):
        sg.pairwise(wide, measure="cka")
        sg.pairwise(tall, measure="cka")
        forced = sg.pairwise(tall, measure="cka", algorithm="sample")
    msgs = [r.getMessage() for r in caplog.records if r.name.startswith("simgrad.allpairs")]
    assert "→ sample-space algorithm" in msgs[0]
    assert "→ feature-space algorithm" in msgs[1]
    assert "→ sample-space algorithm" in msgs[2]
    assert torch.allclose(
        forced, sg.pairwise(tall, measure="cka", algorithm="feature"), atol=1e-12, rtol=0
    )


@pytest.mark.parametrize(
    "name",
    [
        "nbs",
        "procrustes-distance=euclidean",
        "shape_metric-alpha=0.5-score",
        "cca-squared_score",
        "linreg",
        "ridge-lambda=10-pearsonr",
    ],
)
def test_units_outnumbering_samples_use_the_sample_space_factor(name, caplog):
    """Wide representations are replaced by (X̃X̃ᵀ)^½ (n×n): same values, forced or not."""
    reps = _reps(n=25, widths=(40, 60, 60, 7), seed=14)
    ref = _loop(name, reps, reps)
    off = ~torch.eye(len(reps), dtype=torch.bool)
    with caplog.at_level(logging.DEBUG, logger="simgrad"):
        auto = sg.pairwise(reps, measure=name)
    assert any("sample-space factor" in r.getMessage() for r in caplog.records)
    for S in (
        auto,
        sg.pairwise(reps, measure=name, algorithm="sample"),
        sg.pairwise(reps, measure=name, algorithm="feature"),
    ):
        assert torch.allclose(S[off], ref[off], atol=1e-10, rtol=0)


def test_sample_factor_gradients_are_finite():
    reps = [r.requires_grad_() for r in _reps(n=20, widths=(50, 30, 3), seed=15)]
    sg.pairwise(reps, measure="procrustes-angular_score", algorithm="sample").sum().backward()
    assert all(torch.isfinite(r.grad).all() for r in reps)


def test_fallback_loop_is_logged(caplog):
    reps = _reps(n=30, seed=7)
    with caplog.at_level(logging.DEBUG, logger="simgrad"):
        sg.pairwise(reps[:2], measure="ridge-lambda=100-r2-cv=5folds")
    assert any("looping over" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "name,algorithm",
    [
        ("cka-hsic_song", "sample"),
        ("cka-hsic_song", "feature"),
        ("nbs", "auto"),
        ("cca", "auto"),
        ("linreg", "auto"),
    ],
)
def test_tiny_memory_budget_gives_same_matrix(name, algorithm):
    reps = _reps(n=60, widths=(5, 8, 8, 13, 3), seed=8)
    big = sg.pairwise(reps, measure=name, algorithm=algorithm)
    small = sg.pairwise(reps, measure=name, algorithm=algorithm, memory_budget=4000)
    cross = sg.pairwise(reps[:2], reps[2:], measure=name, algorithm=algorithm, memory_budget="4kB")
    assert torch.allclose(big, small, atol=1e-12, rtol=0)
    assert torch.allclose(big[:2, 2:], cross, atol=1e-12, rtol=0)


def test_stacked_array_and_time_condition_inputs():
    g = torch.Generator().manual_seed(9)
    stacked = torch.randn(3, 6, 5, 4, generator=g, dtype=torch.float64)  # K, T, C, units
    S = sg.pairwise(stacked, measure="cka")
    flat = [s.reshape(30, 4) for s in stacked]
    assert torch.allclose(S, _loop("cka", flat, flat), atol=1e-12)


# ----------------------------------------------------------------------------- gradients, dtype
@pytest.mark.parametrize(
    "name", ["cka-angular_score", "procrustes-angular_score", "cca", "linreg", "cka-hsic_song"]
)
def test_gradients_match_the_loop_and_are_finite(name):
    reps = [r.requires_grad_() for r in _reps(n=30, seed=10)]
    # off-diagonal pairs only: the diagonal's arccos slope is clamped, a convention
    mask = 1 - torch.eye(len(reps), dtype=torch.float64)
    (sg.pairwise(reps, measure=name) * mask).sum().backward()
    ours = [r.grad.clone() for r in reps]
    for r in reps:
        r.grad = None
    m = sg.measure(name)
    total = sum(m(reps[i], reps[j]) for i in range(4) for j in range(4) if i != j)
    total.backward()
    for a, r in zip(ours, reps):
        assert torch.isfinite(a).all()
        assert torch.allclose(a, r.grad, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("name", ["procrustes-angular_score", "cca", "nbs"])
def test_svds_split_over_threads_match_one_thread(name):
    """With several torch threads the nuclear norms run on Python threads (single-threaded
    ops inside): same values and gradients, and the caller's thread setting is restored."""
    reps = _reps(n=50, widths=(5, 8, 8, 13, 6, 9), seed=21)

    def run(threads):
        torch.set_num_threads(threads)
        rs = [r.clone().requires_grad_() for r in reps]
        S = sg.pairwise(rs, measure=name)
        cross = sg.pairwise(rs[:2], rs[2:], measure=name)
        (S * torch.arange(36, dtype=S.dtype).reshape(6, 6)).sum().backward()
        return S.detach(), cross.detach(), [r.grad for r in rs], torch.get_num_threads()

    S1, C1, g1, _ = run(1)
    S2, C2, g2, after = run(2)
    assert after == 2
    assert torch.allclose(S1, S2, atol=1e-12, rtol=0)
    assert torch.allclose(C1, C2, atol=1e-12, rtol=0)
    assert all(torch.allclose(a, b, atol=1e-10, rtol=0) for a, b in zip(g1, g2))
    off = ~torch.eye(6, dtype=torch.bool)  # at identical inputs the loop's arccos is ~1e-8
    assert torch.allclose(S2[off], _loop(name, reps, reps)[off], atol=1e-10, rtol=0)
    mats = [r.T @ r for r in reps[:3]]
    assert torch.allclose(
        svd_nuclear_norms(mats), torch.stack([m.trace() for m in mats]), atol=1e-10, rtol=0
    )  # PSD: nuclear norm = trace


def test_gpu_route_nuclear_norms_match_svdvals():
    """The batched Gram-eigvalsh route used off-CPU (run here on CPU tensors): exact for a
    well-conditioned batch, the svdvals fallback for rank-deficient members; gradients."""
    g = torch.Generator().manual_seed(22)
    good = torch.randn(5, 12, 9, generator=g, dtype=torch.float64) + 3 * torch.eye(12, 9)
    low = torch.randn(3, 12, 2, generator=g, dtype=torch.float64) @ torch.randn(
        3, 2, 9, generator=g, dtype=torch.float64
    )
    m = torch.cat([good, low]).requires_grad_()
    got = batched_nuclear_norms(m)
    ref = torch.linalg.svdvals(m.detach()).sum(-1)
    assert torch.allclose(got, ref, atol=1e-12 * float(ref.max()), rtol=0)
    got.sum().backward()
    u, _, vh = torch.linalg.svd(good)
    assert torch.allclose(m.grad[:5], u[..., :9] @ vh, atol=1e-8)  # ∂‖M‖_* = U Vᵀ
    assert torch.isfinite(m.grad).all()
    assert torch.allclose(batched_nuclear_norms(good.float()).double(), ref[:5], rtol=1e-5)


def test_gradients_finite_at_identical_and_rank_deficient_inputs():
    g = torch.Generator().manual_seed(11)
    x = torch.randn(30, 6, generator=g, dtype=torch.float64)
    q = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))[0]
    low = torch.randn(30, 2, generator=g, dtype=torch.float64) @ torch.randn(
        2, 6, generator=g, dtype=torch.float64
    )
    reps = [t.clone().requires_grad_() for t in (x, x @ q, low)]
    for name in ["procrustes-angular_score", "cka-angular_score", "cca-angular_score", "linreg"]:
        for r in reps:
            r.grad = None
        sg.pairwise(reps, measure=name).sum().backward()
        assert all(torch.isfinite(r.grad).all() for r in reps), name


def test_float32_values_and_device_argument():
    reps = _reps(n=80, seed=12)
    ref = sg.pairwise(reps, measure="procrustes-angular_score")
    r32 = [r.float().requires_grad_() for r in reps]
    S = sg.pairwise(r32, measure="procrustes-angular_score", device="cpu")
    assert S.dtype == torch.float32
    off = ~torch.eye(len(reps), dtype=torch.bool)  # at identity arccos magnifies float32 round-off
    assert torch.allclose(S.double()[off], ref[off], atol=2e-5)
    S.sum().backward()
    assert all(torch.isfinite(r.grad).all() for r in r32)
    S64 = sg.pairwise(r32, measure="cka", dtype=torch.float64)
    assert S64.dtype == torch.float64


# ----------------------------------------------------------------------------- errors
def test_bad_inputs_raise_clear_errors():
    reps = _reps(n=20, seed=13)
    with pytest.raises(ValueError, match="share their samples"):
        sg.pairwise([reps[0], reps[1][:10]])
    with pytest.raises(ValueError, match="reps_a is empty"):
        sg.pairwise([])
    with pytest.raises(ValueError, match=r"reps_b\[0\] is constant"):
        sg.pairwise(reps, [torch.ones(20, 3)])
    bad = reps[0].clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"reps_a\[1\] contains 1 NaN"):
        sg.pairwise([reps[0], bad])
    with pytest.raises(ValueError, match="algorithm must be"):
        sg.pairwise(reps, algorithm="fast")
    with pytest.raises(ValueError, match="not available"):
        sg.pairwise(reps, measure="ridge-lambda=100-r2-cv=5folds", algorithm="sample")
    with pytest.raises(ValueError, match="memory_budget"):
        sg.pairwise(reps, memory_budget="lots")
    with pytest.raises(TypeError, match="sequence of arrays"):
        sg.pairwise("cka")
    with pytest.raises(ValueError, match="Unknown measure"):
        sg.pairwise(reps, measure="ckaa")
    assert parse_bytes("2GiB") == 2 * 2**30


# ----------------------------------------------------------------------------- real data
def test_real_m1_unit_groups(data_dir):
    """Pairwise scores between groups of M1 units (same conditions × times) match the
    single-pair measures on real firing rates."""
    f = np.load(data_dir / "hatsopoulos2007_m1_condavg" / "hatsopoulos2007_condavg.npz")
    rates = f["firing_rate_hz"].transpose(1, 2, 0)[::4]  # (time, condition, unit), 31 times
    groups = np.split(np.random.default_rng(0).permutation(rates.shape[2]), [30, 70, 100])
    reps = [rates[:, :, g] for g in groups]
    for name in ["cka", "procrustes-angular_score", "cca", "linreg"]:
        S = sg.pairwise(reps, measure=name).numpy()
        for i in range(len(reps)):
            for j in range(len(reps)):
                if i != j:
                    assert abs(S[i, j] - sg.score(name, reps[i], reps[j])) < 1e-10, name
    S = sg.pairwise(reps, measure="cka").numpy()
    assert 0.3 < S[0, 1] < 1  # unit groups of one area are strongly but not fully similar


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ("", ".blocks", ".context", ".inputs", ".linear"):
        mod = importlib.import_module("simgrad.allpairs" + name)
        res = doctest.testmod(mod)
        assert res.attempted >= 1 and res.failed == 0, name
