"""Invariance claims of every card, checked both ways.

For each measure in ``sg.measures()`` and each transformation in the registry's vocabulary:
if the card claims the invariance, transforming Y (and, for symmetric measures, X) leaves the
value unchanged; if it does not, the transformation of Y is shown to change the value. The
transformations act on units (columns): permutation, orthogonal rotation, isotropic scaling,
translation (adding a constant per unit), invertible linear maps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import simgrad as sg
from simgrad.measures.registry import INVARIANCES, split_name

ALL = sg.measures()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small matrices: one torch thread. On a busy 2-core machine two spinning OpenMP threads
    make tiny LAPACK calls ~50× slower (ridge CV: 150 ms vs 2 ms per call)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


N, P, Q = 48, 12, 11


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well-conditioned X, Y (n ≫ d) related but far from identical, with non-zero means and
    decaying spectra (so that SVCCA's dim=10 and variance cut-offs drop components)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, P)) * np.geomspace(3.0, 0.3, P) + 1.5
    Y = (
        0.8 * X[:, :Q] @ rng.normal(size=(Q, Q))
        + rng.normal(size=(N, Q)) * np.geomspace(2.0, 0.2, Q)
        - 0.5
    )
    return X, Y


def _orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def _transform(kind: str, A: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = A.shape[1]
    if kind == "permutation":
        perm = rng.permutation(d)
        while np.all(perm == np.arange(d)):
            perm = rng.permutation(d)
        return A[:, perm]
    if kind == "orthogonal":
        return A @ _orthogonal(d, rng)
    if kind == "isotropic_scaling":
        return 3.7 * A
    if kind == "translation":
        return A + rng.normal(scale=2.0, size=d)
    if kind == "invertible_linear":
        # well conditioned but far from orthogonal: singular values between 0.4 and 2.5
        s = np.linspace(2.5, 0.4, d)
        return A @ (_orthogonal(d, rng) * s) @ _orthogonal(d, rng)
    raise AssertionError(kind)


def _value(name: str, X: np.ndarray, Y: np.ndarray) -> float:
    with torch.no_grad():
        return float(sg.measure(name)(X, Y))


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-8 + 1e-8 * max(abs(a), abs(b))


def test_vocabulary():
    for name in ALL:
        assert set(sg.card(name).invariances) <= set(INVARIANCES), name


_LISTED = set(ALL)
_ANGULAR = {
    "distance=angular": math.acos,
    "angular_score": lambda s: 1 - 2 / math.pi * math.acos(s),
}


def _score_sibling(name: str) -> tuple[str, str] | None:
    """(``-score`` sibling, form) for an angular form derived from a listed similarity."""
    tokens = split_name(name)
    for form in _ANGULAR:
        if form in tokens:
            sib = "-".join("score" if t == form else t for t in tokens)
            if sib in _LISTED:
                return sib, form
    return None


# measures whose value barely moves on these data for a reason other than an invariance
_FLAT_ON_TEST_DATA = {
    # exp(−2‖x_i − x_j‖²) vanishes for every pair of these spread-out samples, so the value
    # is log(1/n) for any spread-out Y; the absence of scale invariance is shown in
    # tests/test_resi_statistics.py on closer samples
    "uniformity_difference",
}


def _saturated(card, value: float) -> bool:
    """A value at an end of the card's range (a discrete measure such as cycle_knn at 1 on
    these well-related data) cannot show that a transformation changes it."""
    if card.family in _FLAT_ON_TEST_DATA:
        return True
    return any(abs(value - end) < 1e-12 for end in card.range if math.isfinite(end))


# invariances that hold only for some data, so a card cannot claim them: PLS with k
# components is least squares (invariant to any invertible map of Y) once k ≥ rank(Y)
_DATA_DEPENDENT = {"pls": ("invertible_linear",)}
# invariances that hold for one input only, so the card (whose claims hold for both) cannot
# make them: the reverse RidgeCV regresses X on Y, and its λ grid is fixed, so scaling the
# target Y leaves the score while scaling the predictor X does not
_ONE_SIDED = {"-reverse": ("isotropic_scaling",)}


def _one_sided(name: str, kind: str) -> bool:
    return any(name.endswith(end) and kind in kinds for end, kinds in _ONE_SIDED.items())


@pytest.mark.parametrize("name", ALL)
def test_card_invariances_hold_and_absent_ones_do_not(name):
    card = sg.card(name)
    sibling = _score_sibling(name)
    if sibling is not None:
        # a monotone transform of its -score sibling (checked in full): same claims, and the
        # value is the transform of the sibling's value
        sib, form = sibling
        assert set(card.invariances) == set(sg.card(sib).invariances)
        X, Y = _data()
        s = min(1.0, max(-1.0, _value(sib, X, Y)))
        assert _close(_value(name, X, Y), _ANGULAR[form](s))
        return
    X, Y = _data()
    base = _value(name, X, Y)
    assert np.isfinite(base)
    wrong = []
    for k, kind in enumerate(INVARIANCES):
        moved_y = _value(name, X, _transform(kind, Y, 10 + k))
        if kind in card.invariances:
            if not _close(moved_y, base):
                wrong.append(f"claims {kind} but Y→T(Y) moves {base:.12g} → {moved_y:.12g}")
            if card.symmetric:
                moved_x = _value(name, _transform(kind, X, 20 + k), Y)
                if not _close(moved_x, base):
                    wrong.append(f"claims {kind} but X→T(X) moves {base:.12g} → {moved_x:.12g}")
        elif (
            abs(moved_y - base) < 1e-6
            and not _saturated(card, base)
            and kind not in _DATA_DEPENDENT.get(card.family, ())
            and not _one_sided(name, kind)
        ):
            wrong.append(f"does not claim {kind} but Y→T(Y) leaves it at {base:.12g}")
    assert not wrong, f"{name}: " + "; ".join(wrong)


@pytest.mark.parametrize("name", ALL)
def test_claims_are_closed_under_implication(name):
    """An orthogonal-invariant measure is permutation-invariant; an invertible-linear-invariant
    one is also orthogonal-, permutation- and scale-invariant."""
    inv = set(sg.card(name).invariances)
    if "orthogonal" in inv:
        assert "permutation" in inv
    if "invertible_linear" in inv:
        assert {"orthogonal", "permutation", "isotropic_scaling"} <= inv


@pytest.mark.parametrize("name", [n for n in ALL if sg.card(n).symmetric])
def test_symmetric_cards_are_symmetric(name):
    X, Y = _data(1)
    Yw = Y @ np.random.default_rng(2).normal(size=(Q, P))  # same width for padded metrics
    assert _close(_value(name, X, Yw), _value(name, Yw, X)) or _close(
        _value(name, X, Y), _value(name, Y, X)
    )


@pytest.mark.parametrize(
    "name",
    ["linear_regression-r2", "ridge-lambda=10-r2", "ridge-lambda=10-r2-cv=5folds", "pwcca-score"],
)
def test_asymmetric_measures_are_asymmetric(name):
    if name not in ALL:
        pytest.skip(f"{name} not registered")
    assert not sg.card(name).symmetric
    X, Y = _data(3)
    assert abs(_value(name, X, Y) - _value(name, Y, X)) > 1e-6
