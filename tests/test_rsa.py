"""RSA measures against rsatoolbox (calc_rdm + compare), scipy and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from rsatoolbox.data import Dataset
from rsatoolbox.rdm import RDMs, calc_rdm, compare
from scipy.spatial.distance import pdist

import simgrad as sg
from simgrad.measures.ranks import rankdata_pair
from simgrad.measures.rsa import (
    EXACT_COMPARISONS,
    RDMS,
    kendall_tau,
    rankdata,
    rdm,
    soft_rank,
)


@pytest.fixture(autouse=True)
def _one_thread():
    """Small matrices: one thread avoids OpenMP spin-waits on the shared 2-core machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


_RSATOOLBOX_METHOD = {
    "cosine": "cosine",
    "pearson": "corr",
    "spearman": "spearman",
    "kendall": "kendall",
    "tau_a": "tau-a",
    "rho_a": "rho-a",
    "cosine_cov": "cosine_cov",
    "corr_cov": "corr_cov",
    "bures": "bures",
    "bures_metric": "bures_metric",
}


def _reference_rdm(x: np.ndarray, kind: str, noise: np.ndarray | None = None) -> RDMs:
    """The RDM as rsatoolbox (or scipy, for kinds rsatoolbox lacks) computes it."""
    d = x.shape[1]
    if kind == "squared_euclidean":
        # rsatoolbox's "euclidean" is the squared distance divided by the number of units
        return calc_rdm(Dataset(x), method="euclidean")
    if kind == "euclidean":
        sq = calc_rdm(Dataset(x), method="euclidean").get_vectors() * d
        return RDMs(np.sqrt(sq))
    if kind == "correlation":
        return calc_rdm(Dataset(x), method="correlation")
    if kind == "mahalanobis":
        return calc_rdm(Dataset(x), method="mahalanobis", noise=noise)
    if kind == "poisson":
        return calc_rdm(Dataset(x), method="poisson")
    if kind == "gaussian":  # thingsvision's compute_rdm(method="gaussian"), written out
        sq = pdist(x, metric="sqeuclidean")
        return RDMs(1 - np.exp(-sq / (2 * sq.sum() / x.shape[0] ** 2))[None])
    return RDMs(pdist(x, metric="cosine")[None])


def _precision(d: int) -> np.ndarray:
    """A fixed, non-diagonal noise precision matrix of d units."""
    a = np.random.default_rng(d).normal(size=(d, d))
    return a @ a.T / d + np.eye(d)


def _data(shape, seed, ties=False, kind=""):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    if kind == "poisson":  # counts-like, non-negative
        x = np.abs(x) * 3
    return np.round(x) if ties else x


# (d = 2 correlation patterns are avoided: their correlations are ±1, so the RDM is all ties
# broken by rounding noise, and ranks then depend on the order of floating-point operations)
SHAPES = [((12, 5), (12, 3)), ((25, 4), (25, 9)), ((9, 30), (9, 3))]


@pytest.mark.parametrize("kind", RDMS)
@pytest.mark.parametrize("shapes", SHAPES)
def test_every_pair_matches_rsatoolbox(kind, shapes):
    x, y = _data(shapes[0], 1, kind=kind), _data(shapes[1], 2, kind=kind)
    rx, ry = _reference_rdm(x, kind), _reference_rdm(y, kind)
    for method in EXACT_COMPARISONS + ("bures_metric",):
        form = "" if method == "bures_metric" else "-score"
        ours = sg.score(f"rsa-rdm={kind}-compare={method}{form}", x, y)
        ref = float(compare(rx, ry, method=_RSATOOLBOX_METHOD[method])[0, 0])
        # rsatoolbox's Bures takes √ of the rounding-noise eigenvalues of rank-deficient
        # matrices (≈1e-8 error); ours drops them and is checked to 1e-12 against the exact
        # nuclear-norm form below, and to 1e-12 against a factor-SVD route.
        tol = 1e-7 if method.startswith("bures") else 1e-10
        if method == "bures_metric":  # not normalised: relative to its scale
            tol *= max(1.0, abs(ref))
        assert abs(ours - ref) < tol, (kind, method, ours, ref)


@pytest.mark.parametrize("kind", RDMS)
def test_bures_equals_factor_nuclear_norm(kind):
    # Independent route: G = −½HDH from rsatoolbox's RDM, factor G = AAᵀ by numpy's eigh
    # (eigenvalues < 1e-9·max dropped), fidelity = ‖AᵀB‖_* by numpy's SVD.
    x, y = _data((8, 10), 15, kind=kind), _data((8, 12), 16, kind=kind)

    def factor(rdms):
        d = rdms.get_matrices()[0]
        h = np.eye(8) - 1 / 8
        g = -0.5 * h @ d @ h
        lam, v = np.linalg.eigh(g)
        keep = lam > 1e-9 * lam.max()
        return v[:, keep] * np.sqrt(lam[keep]), lam.sum()

    (a, ta), (b, tb) = factor(_reference_rdm(x, kind)), factor(_reference_rdm(y, kind))
    exact = np.linalg.svd(a.T @ b, compute_uv=False).sum() / np.sqrt(ta * tb)
    assert abs(sg.score(f"rsa-rdm={kind}-compare=bures-score", x, y) - exact) < 1e-12


@pytest.mark.parametrize("shapes", SHAPES)
def test_bures_rank_deficient_equals_nuclear_norm(shapes):
    # −½HDH of squared distances is X̃X̃ᵀ, of correlation distances ½·HÛÛᵀH (Û the
    # row-centred, row-normalized patterns): fidelity = ‖AᵀB‖_* for G = AAᵀ, G' = BBᵀ.
    x, y = _data(shapes[0], 1), _data(shapes[1], 2)

    def factors(a, kind):
        if kind == "squared_euclidean":
            return a - a.mean(0)
        u = a - a.mean(1, keepdims=True)
        u = u / np.linalg.norm(u, axis=1, keepdims=True)
        return (u - u.mean(0)) / np.sqrt(2)

    for kind in ("squared_euclidean", "correlation"):
        a, b = factors(x, kind), factors(y, kind)
        exact = np.linalg.svd(a.T @ b, compute_uv=False).sum() / (
            np.linalg.norm(a) * np.linalg.norm(b)
        )
        assert abs(sg.score(f"rsa-rdm={kind}-compare=bures-score", x, y) - exact) < 1e-12


@pytest.mark.parametrize("method", ["spearman", "kendall", "tau_a", "rho_a"])
def test_rank_comparisons_with_ties_match_rsatoolbox(method):
    # integer-valued data → many tied distances
    x, y = _data((14, 3), 3, ties=True), _data((14, 2), 4, ties=True)
    rx, ry = _reference_rdm(x, "squared_euclidean"), _reference_rdm(y, "squared_euclidean")
    assert len(np.unique(rx.get_vectors())) < rx.get_vectors().size  # ties present
    ours = sg.score(f"rsa-rdm=squared_euclidean-compare={method}-score", x, y)
    ref = float(compare(rx, ry, method=_RSATOOLBOX_METHOD[method])[0, 0])
    assert abs(ours - ref) < 1e-10


def test_rdms_match_scipy_pdist():
    x = _data((15, 6), 5)
    metrics = {
        "squared_euclidean": "sqeuclidean",
        "euclidean": "euclidean",
        "correlation": "correlation",
        "cosine": "cosine",
    }
    for kind, metric in metrics.items():
        d = rdm(torch.as_tensor(x), kind).numpy()
        ref = pdist(x, metric) / (6 if kind == "squared_euclidean" else 1)  # rsatoolbox's 1/d
        np.testing.assert_allclose(d[np.triu_indices(15, 1)], ref, atol=1e-12)
        assert np.all(np.diag(d) == 0)


def test_kendall_matches_scipy_on_long_vectors_with_ties():
    rng = np.random.default_rng(6)
    for m in (1, 2, 7, 1000, 4097):
        a = rng.integers(0, 30, size=m).astype(float)
        b = a + rng.integers(-10, 10, size=m)
        tb = kendall_tau(torch.as_tensor(a), torch.as_tensor(b)).item()
        ref = scipy.stats.kendalltau(a, b).statistic if m > 1 else np.nan
        if np.isfinite(ref):
            assert abs(tb - ref) < 1e-12
        # tau-a closed form: (concordant − discordant) / (m(m−1)/2), written out by brute force
        if m <= 1000:
            s = np.sign(a[:, None] - a[None]) * np.sign(b[:, None] - b[None])
            ta = s[np.triu_indices(m, 1)].sum() / max(m * (m - 1) / 2, 1)
            assert abs(kendall_tau(torch.as_tensor(a), torch.as_tensor(b), "a").item() - ta) < 1e-12


def test_kendall_exact_when_values_differ_only_in_their_lowest_bits():
    """The CPU route sorts keys packed with their index, which orders them up to their low
    bits: values equal there but not in full (and exact ties, ±0) must still count right."""
    rng = np.random.default_rng(11)
    for m in (3, 64, 2049):
        a = 1.0 + rng.integers(0, 40, m) * 2.0**-48
        b = -1.0 - rng.integers(0, 40, m) * 2.0**-45 + (a - 1) * 3
        b[: m // 4] = rng.choice([0.0, -0.0], m // 4)
        for x, y in ((a, b), (b, a)):
            tb = kendall_tau(torch.as_tensor(x), torch.as_tensor(y)).item()
            assert abs(tb - scipy.stats.kendalltau(x, y).statistic) < 1e-12
            s = np.sign(x[:, None] - x[None]) * np.sign(y[:, None] - y[None])
            ta = s[np.triu_indices(m, 1)].sum() / (m * (m - 1) / 2)
            assert abs(kendall_tau(torch.as_tensor(x), torch.as_tensor(y), "a").item() - ta) < 1e-12


@pytest.mark.parametrize("threads", [1, 2])
def test_kendall_and_ranks_on_long_tied_vectors_serial_and_threaded(threads):
    """Past 2¹⁶ entries the CPU route ranks x and y in two threads and cuts the discordant
    count at an x-group boundary: ties across the cut must not be counted."""
    rng = np.random.default_rng(12)
    m = 70_001
    a = rng.integers(0, 7, m).astype(float)  # long x-groups: the cut lands inside one
    b = np.round(a + rng.normal(size=m), 1)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        tb = kendall_tau(torch.as_tensor(a), torch.as_tensor(b)).item()
        ra, rb = rankdata_pair(torch.as_tensor(a), torch.as_tensor(b))
    finally:
        torch.set_num_threads(before)
    assert abs(tb - scipy.stats.kendalltau(a, b).statistic) < 1e-12
    np.testing.assert_array_equal(ra.numpy(), scipy.stats.rankdata(a))
    np.testing.assert_array_equal(rb.numpy(), scipy.stats.rankdata(b))


def test_rankdata_matches_scipy_batched():
    v = torch.as_tensor(np.random.default_rng(7).integers(0, 5, size=(3, 40)).astype(float))
    np.testing.assert_array_equal(rankdata(v).numpy(), scipy.stats.rankdata(v.numpy(), axis=1))


def test_squared_euclidean_cosine_cov_is_linear_cka():
    x, y = _data((30, 6), 8), _data((30, 4), 9)
    xc, yc = x - x.mean(0), y - y.mean(0)
    cka = np.linalg.norm(xc.T @ yc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
    ours = sg.score("rsa-rdm=squared_euclidean-compare=cosine_cov-score", x, y)
    assert abs(ours - cka) < 1e-12


def test_soft_spearman_tends_to_spearman():
    x, y = _data((10, 4), 10), _data((10, 3), 11)
    exact = sg.score("rsa-rdm=correlation-compare=spearman-score", x, y)
    errs = [
        abs(
            sg.score(f"rsa-rdm=correlation-compare=(soft_spearman-strength={s})-score", x, y)
            - exact
        )
        for s in (0.1, 1, 10, 1e5)
    ]
    assert errs[-1] < 1e-10
    assert errs[0] > errs[-1]
    # both spellings give the same measure
    a = sg.measure("rsa-rdm=correlation-compare=soft_spearman-strength=10-score")
    b = sg.measure("rsa-rdm=correlation-compare=(soft_spearman-strength=10)-score")
    assert a is b and a.name == "rsa-rdm=correlation-compare=(soft_spearman-strength=10)-score"


def test_soft_rank_ties_and_jacobian():
    v = torch.tensor([[0.5, 0.5, -1.0, 2.0]], dtype=torch.float64)
    assert soft_rank(v, 1e6).tolist() == [[2.5, 2.5, 1.0, 4.0]]
    z = torch.randn(2, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    z.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: soft_rank(t, 0.7), (z,))


_DIFF = ["cosine", "pearson", "cosine_cov", "corr_cov", "bures", "(soft_spearman-strength=1)"]


@pytest.mark.parametrize("kind", RDMS)
def test_gradcheck_differentiable_comparisons(kind):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(7, 3, dtype=torch.float64, generator=g)
    y = torch.randn(7, 3, dtype=torch.float64, generator=g)
    if kind == "poisson":  # rates: non-negative
        x, y = x.abs(), y.abs()
    y.requires_grad_()
    for c in _DIFF:
        m = sg.measure(f"rsa-rdm={kind}-compare={c}-score")
        assert m.differentiable
        assert torch.autograd.gradcheck(lambda t, m=m: m(x, t), (y,)), c


def test_gradients_finite_at_singular_points():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(8, 3, dtype=torch.float64, generator=g)
    const = torch.cat([x[:, :2], torch.ones(8, 1, dtype=torch.float64)], 1)
    for kind in (k for k in RDMS if k != "poisson"):
        for c in _DIFF:
            m = sg.measure(f"rsa-rdm={kind}-compare={c}-distance=angular")
            for y0 in (x.clone(), const, x[:, :1] * 2):
                y = y0.clone().requires_grad_(True)
                v = m(x, y)
                v.backward()
                assert torch.isfinite(v) and torch.isfinite(y.grad).all(), (kind, c)


def test_rank_measures_are_marked_and_detached():
    m = sg.measure("rsa-rdm=euclidean-compare=kendall-score")
    assert not m.differentiable and not m.card.differentiable
    y = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    assert not m(torch.randn(6, 3, dtype=torch.float64), y).requires_grad


def test_batched_and_3d_inputs():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(10, 4))
    ys = rng.normal(size=(3, 10, 2))
    for name in (
        "rsa",
        "rsa-rdm=euclidean-compare=kendall-score",
        "rsa-rdm=cosine-compare=bures-score",
        "rsa-rdm=correlation-compare=(soft_spearman-strength=10)-score",
    ):
        batched = sg.score(name, x, ys, batch_ndim=1)
        assert batched.shape == (3,)
        for b in range(3):
            assert abs(batched[b] - sg.score(name, x, ys[b])) < 1e-12
    x3, y3 = rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 5, 6))
    assert sg.score("rsa", x3, y3) == pytest.approx(
        sg.score("rsa", x3.reshape(20, 3), y3.reshape(20, 6)), abs=1e-14
    )


def test_degenerate_inputs_never_nan():
    x = np.random.default_rng(13).normal(size=(6, 3))
    one_unit = np.random.default_rng(0).normal(size=(6, 1))  # correlation patterns constant
    dup = np.repeat(np.random.default_rng(1).normal(size=(3, 2)), 2, axis=0)  # tied samples
    with_const = np.c_[one_unit, np.ones(6)]
    for y in (one_unit, dup, with_const):
        for name in sg.measures("rsa-*"):
            try:
                v = sg.score(name, x, y)
            except ValueError as exc:  # a degenerate estimator is a one-line error (issue 17)
                assert "\n" not in str(exc), name
                continue
            lo, hi = sg.card(name).range
            assert np.isfinite(v) and lo - 1e-9 <= v <= hi + 1e-9, (name, v)


def test_bad_compare_value_is_named():
    with pytest.raises(ValueError, match="compare"):
        sg.measure("rsa-rdm=correlation-compare=pearsonn-score")
    with pytest.raises(ValueError, match="strength"):
        sg.measure("rsa-rdm=correlation-compare=soft_spearman-strength=-1-score")


def test_invariance_claims_hold():
    rng = np.random.default_rng(14)
    x, y = rng.normal(size=(12, 4)), rng.normal(size=(12, 4))
    q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    transforms = {
        "permutation": lambda a: a[:, [2, 0, 3, 1]],
        "orthogonal": lambda a: a @ q,
        "isotropic_scaling": lambda a: 3.7 * a,
        "translation": lambda a: a + rng.normal(size=4) * 3,
    }
    for name in sg.measures("rsa-rdm=*-score"):
        card = sg.card(name)
        base = sg.score(name, x, y)
        for inv, t in transforms.items():
            same = abs(sg.score(name, x, t(y)) - base) < 1e-9
            assert same == (inv in card.invariances), (name, inv)
