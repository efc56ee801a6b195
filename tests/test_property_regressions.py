"""Falsifying cases of tests/test_properties.py, kept as explicit regression tests.

A run with ``SIMGRAD_HYPOTHESIS_EXAMPLES=30`` found 14 measures that returned non-finite
gradients (or crashed) where the contract asks for a finite value inside the card's range
with finite gradients, or a one-line ``ValueError``. Each row below is the concrete case the
property test drew (its ``_rotate``d dict: kind, n, dx, dy, dtype, scale, seed) and is rebuilt
here with the same generator, so this file needs neither hypothesis nor its profile.

Causes and fixes:

- CKA ``distance=euclidean`` / ``squared_euclidean`` (forms.py): ‖X̃‖²·‖Ỹ‖² overflowed in
  float32 for data at 1e9 (the value came out 0, the gradient NaN); now computed from norms
  divided by a detached scale, c²·((a − b)² + 2ab(1 − s)).
- ``...-distance=angular-cv=5folds[_rows]`` (crossval.py): a held-out fold whose X, or whose
  Y after the training alignment, is 0 (held-out rows at the training mean, or outside the
  training span) gave 0/0 — an arbitrary angle (0, π/2 or π) with NaN gradients; now a
  one-line ``ValueError``.
- ``versa`` (versa.py): folds of fewer than 3 held-out samples have RDMs with fewer than 3
  pairs (1 sample: none, and the Kendall τ crashed); now a one-line ``ValueError`` first.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import simgrad as sg
from helpers import property_case

# (measure, kind, n, dx, dy, dtype, scale, seed) as drawn by the property test
EUCLIDEAN_CASES = [
    ("cka-kernel=(laplace-sigma=1)-hsic=lange-distance=squared_euclidean", "related", 3, 7, 2,
     "float32", 1e9, 979592302),
    ("cka-kernel=(rbf-sigma=0.5)-hsic=lange-distance=squared_euclidean", "ties", 15, 8, 8,
     "float32", 1e9, 2101918197),
    ("cka-kernel=(rbf-sigma=1)-hsic=lange-distance=squared_euclidean", "ties", 4, 6, 9,
     "float32", 1e9, 1397679443),
    ("cka-kernel=(rbf-sigma=2)-hsic=gretton-distance=squared_euclidean", "normal", 6, 5, 8,
     "float32", 1e9, 145476911),
    ("cka-kernel=linear-hsic=gretton-distance=euclidean", "duplicated_rows", 13, 8, 10,
     "float32", 1e9, 1341562840),
]  # fmt: skip
CV_CASES = [
    ("cca-distance=angular-cv=5folds", "duplicated_rows", 5, 10, 3, "float32", 10.0, 910134392),
    ("nbs-distance=angular-cv=5folds_rows", "one_hot", 5, 5, 6, "float64", 1e-133, 38110180),
    ("shape_metric-alpha=0-distance=angular-cv=5folds_rows", "normal", 10, 5, 2, "float32",
     1e-3, 1375081860),
    ("shape_metric-alpha=1-distance=angular-cv=5folds", "identity", 11, 1, 2, "float64",
     1e101, 469396808),
    ("svcca-dim=10-distance=angular-cv=5folds", "ties", 5, 4, 9, "float32", 1e-4, 45475806),
    ("svcca-dim=10-distance=angular-cv=5folds_rows", "one_hot", 12, 5, 5, "float32", 10.0,
     1519251114),
    ("svcca-var=0.95-distance=angular-cv=5folds_rows", "identity", 5, 5, 7, "float32", 1e-4,
     609310341),
    ("svcca-var=0.99-distance=angular-cv=5folds_rows", "identity", 5, 1, 9, "float64", 1e136,
     327062672),
]  # fmt: skip
VERSA_CASES = [("versa", "normal", 5, 5, 7, "float64", 1e32, 1436164742)]


_case = property_case  # the property test's generator: same draws in the same order


def _value_and_gradient(name: str, X: torch.Tensor, Y: torch.Tensor) -> float:
    """The property test's contract for a measure that answers: finite value inside the
    card's range, finite gradients."""
    m = sg.measure(name)
    v = m(X, Y)
    lo, hi = m.card.range
    value = float(v)
    assert math.isfinite(value) and lo <= value <= hi * (1 + 1e-6), (name, value)
    gx, gy = torch.autograd.grad(v, (X, Y))
    assert bool(torch.isfinite(gx).all()) and bool(torch.isfinite(gy).all()), name
    return value


@pytest.mark.parametrize("case", EUCLIDEAN_CASES, ids=[c[0] for c in EUCLIDEAN_CASES])
def test_euclidean_forms_at_float32_scale_1e9(case):
    """The value equals the float64 law of cosines (it was 0, the gradient NaN)."""
    name, *rest = case
    X, Y = _case(*rest)
    value = _value_and_gradient(name, X, Y)
    xd, yd = X.detach().double(), Y.detach().double()
    s = float(sg.measure(name.rsplit("-", 1)[0] + "-score")(xd, yd))
    nx = float(torch.linalg.norm(xd - xd.mean(0)))
    ny = float(torch.linalg.norm(yd - yd.mean(0)))
    d2 = max(nx * nx + ny * ny - 2 * nx * ny * s, 0.0)
    expected = d2 if name.endswith("squared_euclidean") else math.sqrt(d2)
    assert value == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("case", CV_CASES, ids=[c[0] for c in CV_CASES])
def test_cv_angle_with_a_zero_held_out_fold_is_refused(case):
    """A held-out fold with zero norm (X, or Y after the training alignment) has no angle:
    a one-line ValueError, not 0/0 with NaN gradients."""
    name, *rest = case
    X, Y = _case(*rest)
    with pytest.raises(ValueError, match="cross-validated angle undefined") as info:
        sg.measure(name)(X, Y)
    assert "\n" not in str(info.value)


def test_cv_angle_on_ordinary_data_keeps_finite_gradients():
    """The guard refuses only degenerate folds: ordinary data still gives a value."""
    rng = np.random.default_rng(0)
    for name in ("nbs-distance=angular-cv=5folds_rows", "svcca-dim=10-distance=angular-cv=5folds"):
        X, Y = _case("normal", 40, 6, 5, "float64", 1.0, int(rng.integers(2**31)))
        assert 0.0 < _value_and_gradient(name, X, Y) < math.pi


@pytest.mark.parametrize("case", VERSA_CASES, ids=[c[0] for c in VERSA_CASES])
def test_versa_with_too_few_held_out_samples_is_refused(case):
    name, *rest = case
    X, Y = _case(*rest)
    with pytest.raises(ValueError, match="at least 3 held-out samples") as info:
        sg.measure(name)(X, Y)
    assert "\n" not in str(info.value)
    X15, Y15 = _case("normal", 15, 5, 7, "float64", 1.0, 1)
    assert -1.0 <= float(sg.measure(name)(X15, Y15)) <= 1.0
