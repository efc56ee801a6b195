"""Gradients of every differentiable measure: gradcheck at random inputs, and finite values
and gradients at the singular points (Y = X, rotations, rank deficiency, constant columns,
fewer samples than units, extreme scales, float32)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import simgrad as sg


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small matrices: one torch thread. On a busy 2-core machine two spinning OpenMP threads
    make tiny LAPACK calls tens of times slower."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _differentiable() -> list[str]:
    return [n for n in sg.measures() if sg.card(n).differentiable]


DIFF = _differentiable()


def _rand(shape, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype)


@pytest.mark.parametrize("name", DIFF)
def test_gradcheck_random_inputs(name):
    m = sg.measure(name)
    X = _rand((12, 4), 1).requires_grad_()
    # −log s is defined for a positive score only (it is refused at s ≤ 0): relate Y to X
    # strongly enough that the unbiased kernel CKAs are positive on these 12 samples
    w = 2.0 if name.endswith("-negative_log") else 0.5
    Y = (_rand((12, 3), 2) + w * X.detach()[:, :3]).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: m(a, b), (X, Y), eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=True
    )


def _orthogonal(d, seed):
    q, _ = torch.linalg.qr(_rand((d, d), seed))
    return q


def _singular_cases():
    X = _rand((14, 5), 3)
    rank_def = _rand((14, 2), 4) @ _rand((2, 5), 5)
    const_col = _rand((14, 5), 6)
    const_col[:, 2] = 3.0
    return {
        "Y=X": (X, X.clone()),
        "Y=XQ": (X, X @ _orthogonal(5, 7)),
        "rank_deficient_Y": (X, rank_def),
        "constant_column": (X, const_col),
        "n<units": (_rand((6, 9), 8), _rand((6, 7), 9)),
        "scale_1e-6": (X * 1e-6, _rand((14, 4), 10) * 1e-6),
        "scale_1e6": (X * 1e6, _rand((14, 4), 10) * 1e6),
        "3d_Y=X": (_rand((3, 5, 4), 11), None),
    }


CASES = _singular_cases()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", list(CASES))
def test_finite_values_and_gradients_at_singular_points(case, dtype):
    X0, Y0 = CASES[case]
    if Y0 is None:
        Y0 = X0.clone()
    failures = []
    for name in DIFF:
        m = sg.measure(name)
        X = X0.to(dtype).clone().requires_grad_()
        Y = Y0.to(dtype).clone().requires_grad_()
        try:
            v = m(X, Y)
        except ValueError as exc:  # a documented refusal (e.g. too few samples for folds)
            if "samples" in str(exc) or "conditions" in str(exc) or "fold" in str(exc):
                continue
            raise
        v.backward()
        ok = (
            bool(torch.isfinite(v))
            and bool(torch.isfinite(X.grad).all())
            and bool(torch.isfinite(Y.grad).all())
        )
        if not ok:
            failures.append(f"{name}: value={float(v)}")
    assert not failures, "non-finite values or gradients:\n" + "\n".join(failures)


def test_identical_inputs_give_perfect_scores_and_zero_distances():
    X = _rand((30, 6), 12)
    for name in ["cka", "nbs", "procrustes-angular_score", "cka-angular_score", "cca-score"]:
        assert sg.score(name, X, X) == pytest.approx(1.0, abs=1e-12)
    for name in [
        "procrustes-distance=angular",
        "cka-distance=angular",
        "procrustes-distance=euclidean",
        "shape_metric-alpha=0.5-distance=angular",
    ]:
        assert sg.score(name, X, X) == pytest.approx(0.0, abs=1e-6)


def test_angular_gradient_is_finite_and_nonzero_near_identity():
    """The clamp acts on the slope only: near Y = X the angular score still has a gradient."""
    X = _rand((40, 5), 13)
    Y = (X + 1e-7 * _rand((40, 5), 14)).requires_grad_()
    v = sg.measure("procrustes-angular_score")(X, Y)
    v.backward()
    assert torch.isfinite(Y.grad).all()
    assert float(Y.grad.abs().max()) > 0


def test_gradient_descent_on_angular_procrustes_reaches_0999():
    """A short optimisation through arccos reaches a 0.999 angular score without NaN."""
    X = torch.tensor(np.random.default_rng(0).normal(size=(40, 6)))
    Y = _rand((40, 6), 15).requires_grad_()
    opt = torch.optim.Adam([Y], lr=0.05)
    m = sg.measure("procrustes-angular_score")
    for _ in range(600):
        opt.zero_grad()
        s = m(X, Y)
        if float(s.detach()) >= 0.999:
            break
        (-s).backward()
        assert torch.isfinite(Y.grad).all()
        opt.step()
    assert float(s.detach()) >= 0.999
