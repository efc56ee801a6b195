"""The nuclear norm's one-SVD autograd Function, the one-product Gram backward, SVDs split
over threads, and the terms shared between the measures of a joint objective."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import simgrad as sg
from simgrad.measures.linalg import center, cross, gram_feature
from simgrad.measures.nuclear import nuclear_norm
from simgrad.measures.shared import batch_constant, shared_terms
from simgrad.optim.objective import Objective


def _with_spectrum(s, seed=0, shape=(5, 4)):
    """A (p, q) matrix with singular values ``s`` (random orthogonal factors)."""
    g = torch.Generator().manual_seed(seed)
    p, q = shape
    u = torch.linalg.qr(torch.randn(p, p, generator=g, dtype=torch.float64))[0][:, : len(s)]
    v = torch.linalg.qr(torch.randn(q, q, generator=g, dtype=torch.float64))[0][:, : len(s)]
    return u @ torch.diag(torch.tensor(s, dtype=torch.float64)) @ v.T


def test_nuclear_norm_gradcheck_float64():
    a = torch.randn(3, 6, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(nuclear_norm, (a,))


def test_nuclear_norm_gradcheck_at_repeated_singular_values():
    """‖A‖_* is smooth wherever A has full rank, repeated singular values included."""
    a = _with_spectrum([2.0, 1.0, 1.0, 1.0]).requires_grad_(True)
    assert torch.autograd.gradcheck(nuclear_norm, (a,))


def test_nuclear_norm_finite_subgradient_at_singular_points():
    """Zero and repeated singular values: the value equals svdvals', the gradient is finite and
    a subgradient of the nuclear norm (⟨G, A⟩ = ‖A‖_*, spectral norm of G ≤ 1)."""
    for s in ([3.0, 3.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [2.0, 2.0, 2.0, 2.0], [0.0] * 4):
        a = _with_spectrum(s).requires_grad_(True)
        v = nuclear_norm(a)
        (g,) = torch.autograd.grad(v, a)
        assert torch.isfinite(g).all()
        assert float(v.detach()) == pytest.approx(sum(s), abs=1e-12)
        assert float(v.detach()) == pytest.approx(float(torch.linalg.svdvals(a.detach()).sum()))
        assert float((g * a.detach()).sum()) == pytest.approx(sum(s), abs=1e-12)
        assert float(torch.linalg.matrix_norm(g, 2)) <= 1 + 1e-12


def test_gram_backward_gradcheck():
    x = torch.randn(2, 7, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(gram_feature, (x,))


def test_expanded_reference_centred_once_with_equal_values():
    x = torch.randn(6, 3, dtype=torch.float64)
    xe = x.expand(4, 6, 3)
    assert batch_constant(xe) is not None
    assert batch_constant(xe.clone()) is None
    assert batch_constant(xe.detach().requires_grad_(False)) is not None
    torch.testing.assert_close(center(xe), center(xe.contiguous()), rtol=0, atol=0)
    torch.testing.assert_close(gram_feature(center(xe)), gram_feature(center(xe.contiguous())))


def test_shared_scope_reuses_and_forgets():
    x, y = torch.randn(6, 3), torch.randn(6, 2)
    with shared_terms():
        a, b = cross(x, y), cross(x, y)
        c = center(y)
        y.add_(1.0)  # modified in place: a new version, computed again
        d = center(y)
    assert a is b and c is not d
    assert cross(x, y) is not cross(x, y)


@pytest.mark.parametrize("names", [("cka", "procrustes-angular_score"), ("cka", "nbs")])
def test_joint_objective_equals_separate_measures(names):
    """Shared terms change neither the values nor the gradients (up to rounding)."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(30, 8, generator=g, dtype=torch.float64)
    y0 = torch.randn(5, 30, 8, generator=g, dtype=torch.float64)
    obj = Objective.resolve(dict.fromkeys(names, 0.5))
    y = y0.clone().requires_grad_(True)
    vals = obj.values(x, y, None)
    (gy,) = torch.autograd.grad(vals.sum(), y)
    ref_vals, ref_g = [], torch.zeros_like(y0)
    for name in names:
        yy = y0.clone().requires_grad_(True)
        v = sg.measure(name).fn(x.expand(5, 30, 8).contiguous(), yy)
        ref_g += torch.autograd.grad(v.sum(), yy)[0]
        ref_vals.append(v.detach())
    torch.testing.assert_close(vals.detach(), torch.stack(ref_vals, -1), rtol=0, atol=1e-12)
    torch.testing.assert_close(gy, ref_g, rtol=0, atol=1e-10)
    assert np.isfinite(gy.numpy()).all()
