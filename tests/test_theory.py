"""Closed forms of sg.theory against scores measured on constructed data (paper.md §4.3, §4.6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simgrad as sg
from simgrad.analysis import theory as th

MEASURES = ["cka", "nbs", "procrustes-angular_score", "cka-angular_score"]
SCALES = [0.0, 0.5, 2.0]


def _gap(pred, meas):
    """|pred − meas|, read in the similarity domain when a score sits within 1e-6 of 1:
    there arccos amplifies a 1e-16 rounding of the similarity to ~1e-8 in the score."""
    pred, meas = np.asarray(pred, float), np.asarray(meas, float)
    near = np.maximum(1 - pred, 1 - meas) < 1e-6
    sim = lambda s: np.cos(np.pi / 2 * (1 - s))  # noqa: E731
    return np.where(near, np.abs(sim(pred) - sim(meas)), np.abs(pred - meas))


def _check_all_pcs(X, tol=1e-10):
    """Every PC, scales 0, 0.5, 2: closed form vs sg measure on Y = X̃ with s_i → a·s_i."""
    Xf = X.reshape(-1, X.shape[-1])
    Xc = Xf - Xf.mean(0)
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    r = th.spectrum(X).size
    pcs = np.arange(r)
    worst = 0.0
    for a in SCALES:
        Ys = np.stack([Xc + (a - 1) * s[i] * np.outer(U[:, i], Vt[i]) for i in pcs])
        assert np.allclose(Ys[0], th.pc_perturbed_data(X, 0, a))
        for m in MEASURES:
            pred = th.predict_pc_perturbation(X, m, pcs, a)
            meas = sg.measure(m)(Xf, Ys, batch_ndim=1).numpy()
            worst = max(worst, float(_gap(pred, meas).max()))
    assert worst < tol, worst


def test_closed_forms_random_2d(rng):
    X = rng.normal(size=(60, 12)) * np.linspace(3, 0.2, 12) + 5.0
    _check_all_pcs(X)


def test_closed_forms_random_3d(rng):
    X = rng.normal(size=(6, 10, 8)) * np.geomspace(4, 0.1, 8)
    _check_all_pcs(X)


def test_closed_forms_shared_real_data(data_dir):
    z = np.load(data_dir / "hatsopoulos2007_m1_condavg" / "hatsopoulos2007_condavg.npz")
    # (7 time bins, 8 directions, first 48 units): every PC, kept small for the 2-core budget
    X = z["firing_rate_hz"].transpose(1, 2, 0)[::20, :, :48]
    _check_all_pcs(X)


def test_removing_a_pc_written_out():
    # X̃ has singular values 3, 2, 1 (orthogonal columns, centred): λ = 9, 4, 1.
    X = np.vstack([np.diag([3.0, 2.0, 1.0]), -np.diag([3.0, 2.0, 1.0])]) / math.sqrt(2)
    S1, S2 = 14.0, 81.0 + 16.0 + 1.0
    assert th.predict_pc_perturbation(X, "cka", 0, 0.0) == pytest.approx(math.sqrt(1 - 81 / S2))
    assert th.predict_pc_perturbation(X, "nbs-score", 1, 0.0) == pytest.approx(
        math.sqrt(1 - 4 / S1)
    )
    ang = 1 - 2 / math.pi * math.asin(math.sqrt(1 / S1))
    assert th.predict_pc_perturbation(X, "procrustes-angular-score", 2, 0.0) == pytest.approx(ang)
    # scale 1 leaves the data unchanged
    for m in MEASURES:
        assert th.predict_pc_perturbation(X, m, 1, 1.0) == pytest.approx(1.0)


@pytest.mark.parametrize("measure", MEASURES)
def test_small_perturbation_is_the_leading_order(rng, measure):
    X = rng.normal(size=(50, 7)) * np.geomspace(3, 0.3, 7)
    for pc in (0, 3, 6):
        for eps in (1e-3, -1e-3):
            exact = 1 - th.predict_pc_perturbation(X, measure, pc, 1 + eps)
            approx = 1 - th.small_perturbation(X, measure, pc, eps)
            assert exact == pytest.approx(approx, rel=5e-3)


def test_angular_procrustes_most_sensitive_to_small_pcs(rng):
    X = rng.normal(size=(80, 10)) * np.geomspace(5, 0.05, 10)
    drop = {m: 1 - th.predict_pc_perturbation(X, m, 9, 0.0) for m in MEASURES}
    assert drop["procrustes-angular_score"] > drop["cka-angular_score"] > drop["cka"]
    assert drop["procrustes-angular_score"] > drop["nbs"] > drop["cka"]


@pytest.mark.parametrize("measure", MEASURES)
def test_topk_scores_match_reconstructions(rng, measure):
    X = rng.normal(size=(40, 9)) * np.geomspace(4, 0.2, 9)
    Xc = X - X.mean(0)
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    pred = th.topk_scores(X, measure)
    assert pred.shape == (9,)
    for k in range(1, 10):
        Yk = (U[:, :k] * s[:k]) @ Vt[:k]
        assert _gap(pred[k - 1], sg.score(measure, X, Yk)) < 1e-10
    assert np.all(np.diff(pred) >= -1e-12) and pred[-1] == pytest.approx(1.0)
    assert np.array_equal(th.capture_scores_topk(X, measure, 3), pred[:3])


def test_nbs_cka_bounds_random_and_extremes(rng):
    for _ in range(20):
        n, p, q = rng.integers(5, 30), rng.integers(1, 8), rng.integers(1, 8)
        X, Y = rng.normal(size=(n, p)), rng.normal(size=(n, q))
        lo, nbs2, hi, ok = th.nbs_cka_bounds(X, Y)
        assert ok and lo <= nbs2 <= hi
        assert nbs2 == pytest.approx(sg.score("nbs", X, Y) ** 2, abs=1e-12)
        assert hi / min(
            np.linalg.matrix_rank(X - X.mean(0)), np.linalg.matrix_rank(Y - Y.mean(0))
        ) == pytest.approx(sg.score("cka", X, Y), abs=1e-12)
    # rank one: both bounds are tight (NBS² = CKA)
    u = rng.normal(size=(30, 1))
    b = th.nbs_cka_bounds(u @ rng.normal(size=(1, 4)), u @ rng.normal(size=(1, 3)))
    assert b.lower == pytest.approx(b.nbs2) and b.upper == pytest.approx(b.nbs2) and b.ok
    # 3-D input is flattened like the measures
    X3 = rng.normal(size=(4, 5, 6))
    assert th.nbs_cka_bounds(X3, X3 + 0.1 * rng.normal(size=X3.shape)).ok


def test_matched_spectrum_keeps_spectrum_changes_vectors(rng):
    X = rng.normal(size=(5, 12, 9)) * np.geomspace(3, 0.1, 9) + 2
    G = th.matched_spectrum(X, seed=1)
    assert G.shape == X.shape
    assert np.allclose(th.spectrum(G), th.spectrum(X))
    assert np.array_equal(G, th.matched_spectrum(X, seed=1))
    assert not np.allclose(G, th.matched_spectrum(X, seed=2))
    assert sg.score("cka", X, G) < 0.9


def test_errors(rng):
    X = rng.normal(size=(20, 4))
    with pytest.raises(ValueError, match="closed form"):
        th.predict_pc_perturbation(X, "linreg", 0, 0.5)
    with pytest.raises(ValueError, match="Unknown measure"):
        th.predict_pc_perturbation(X, "ckaa", 0, 0.5)
    with pytest.raises(ValueError, match="pc must be in"):
        th.predict_pc_perturbation(X, "cka", 4, 0.5)
    with pytest.raises(TypeError, match="pc"):
        th.predict_pc_perturbation(X, "cka", 1.5, 0.5)
    with pytest.raises(ValueError, match="scale"):
        th.predict_pc_perturbation(X, "cka", 0, float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        th.spectrum(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="same samples"):
        th.nbs_cka_bounds(X, rng.normal(size=(21, 4)))
    with pytest.raises(ValueError, match="constant"):
        th.spectrum(np.ones((5, 3)))


def test_sg_theory_is_wired():
    assert sg.theory.predict_pc_perturbation is th.predict_pc_perturbation


def test_closed_forms_are_the_families_hooks(rng):
    """The driver asks each family's theory hook: linear Gretton CKA, NBS and Procrustes, as
    score or angular score; other parameters, forms and families have none."""
    assert th.theory_measures() == [
        "cka-kernel=linear-hsic=gretton-angular_score",
        "cka-kernel=linear-hsic=gretton-score",
        "nbs-angular_score",
        "nbs-score",
        "procrustes-angular_score",
        "procrustes-score",
    ]
    X = rng.normal(size=(30, 5)) * np.geomspace(3, 0.3, 5)
    # procrustes-score is NBS itself, so it has NBS's closed forms
    assert np.array_equal(th.topk_scores(X, "procrustes-score"), th.topk_scores(X, "nbs"))
    for name in (
        "cka-hsic_song",
        "cka-kernel=(rbf-sigma=1)-hsic=gretton-score",
        "nbs-distance=angular",
        "nbs-squared_score",
        "ensd",
    ):
        with pytest.raises(ValueError, match="no closed form"):
            th.topk_scores(X, name)
