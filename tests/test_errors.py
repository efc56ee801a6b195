"""Bad input raises ValueError/TypeError with a message naming the problem — never a NaN
result or a traceback from deep inside torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import simgrad as sg


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small matrices: one torch thread. On a busy 2-core machine two spinning OpenMP threads
    make tiny LAPACK calls ~50× slower (ridge CV: 150 ms vs 2 ms per call)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


# one measure per family of the core (the input checks are shared, the families' own
# failure modes differ)
NAMES = [
    "cka",
    "cka-kernel=linear-hsic=song-score",
    "nbs",
    "procrustes-distance=euclidean",
    "cca-score",
    "shape_metric-alpha=0.5-distance=angular",
    "ensd",
    "linreg",
    "ridge-lambda=10-r2-cv=5folds",
]


def _xy(n=20, p=5, q=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, p)), rng.normal(size=(n, q))


@pytest.mark.parametrize("name", NAMES)
def test_mismatched_samples(name):
    X, _ = _xy()
    Y = np.random.default_rng(1).normal(size=(21, 4))
    with pytest.raises(ValueError, match="same samples"):
        sg.measure(name)(X, Y)


def test_mismatched_time_or_conditions():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"same \(time, conditions\)"):
        sg.score("cka", rng.normal(size=(4, 10, 3)), rng.normal(size=(4, 9, 3)))
    with pytest.raises(ValueError, match="X must be 3-D"):
        sg.score("cka", rng.normal(size=(40, 3)), rng.normal(size=(4, 10, 3)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("which", ["X", "Y"])
def test_nan_or_inf(bad, which):
    X, Y = _xy()
    (X if which == "X" else Y)[3, 2] = bad
    with pytest.raises(ValueError, match=rf"{which} contains 1 NaN or infinite"):
        sg.score("cka", X, Y)
    t = torch.tensor(X if which == "X" else Y)
    with pytest.raises(ValueError, match="NaN or infinite"):
        sg.measure("nbs")(t, Y) if which == "X" else sg.measure("nbs")(X, t)


@pytest.mark.parametrize("shape", [(20,), (2, 3, 20, 5)], ids=["1-D", "4-D"])
def test_wrong_number_of_dimensions(shape):
    X, _ = _xy()
    Y = np.random.default_rng(0).normal(size=shape)
    with pytest.raises(ValueError, match=r"Y must have shape \(samples, units\)"):
        sg.score("cka", X, Y)
    with pytest.raises(ValueError, match="-D"):
        sg.score("cka", Y, Y)


def test_zero_dimensional_and_python_scalars():
    with pytest.raises(ValueError, match="0-D"):
        sg.score("cka", 1.0, 2.0)


@pytest.mark.parametrize(
    "X,Y,match",
    [
        (np.zeros((0, 5)), np.zeros((0, 4)), "at least 2 samples, got 0"),
        (np.ones((1, 5)), np.ones((1, 4)), "at least 2 samples, got 1"),
        (np.zeros((10, 0)), np.zeros((10, 4)), "at least one unit"),
    ],
    ids=["empty", "one sample", "no units"],
)
def test_empty_and_single_sample(X, Y, match):
    with pytest.raises(ValueError, match=match):
        sg.score("cka", X, Y)


def test_complex_input_is_a_type_error():
    X, Y = _xy()
    with pytest.raises(TypeError, match="real numbers"):
        sg.score("cka", X + 1j, Y)
    with pytest.raises(TypeError, match="real numbers"):
        sg.score("cka", X, torch.tensor(Y + 1j))


@pytest.mark.parametrize(
    "Y",
    [
        np.array([["a"] * 4] * 20),
        np.array([[object()] * 4] * 20, dtype=object),
        np.array(["2020-01-01"] * 80, dtype="datetime64[D]").reshape(20, 4),
    ],
    ids=["str", "object", "datetime"],
)
def test_non_numeric_dtypes_are_type_errors(Y):
    X, _ = _xy()
    with pytest.raises(TypeError, match="Y must be a numeric array"):
        sg.score("cka", X, Y)


def test_ragged_lists():
    X, _ = _xy()
    with pytest.raises((TypeError, ValueError), match="Y"):
        sg.score("cka", X, [[1.0, 2.0], [3.0]])


def test_integer_and_bool_arrays_are_accepted():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, size=(30, 4))
    Y = rng.integers(0, 5, size=(30, 3)) > 2
    v = sg.score("cka", X, Y)
    assert 0.0 <= v <= 1.0


@pytest.mark.parametrize(
    "name,close",
    [
        ("ckaa", "cka"),
        ("procrustes-angular-scor", "procrustes-angular-score"),
        ("nbs-scor", "nbs-score"),
        ("cca-scroe", "cca-score"),
    ],
)
def test_unknown_name_suggests_close_names(name, close):
    with pytest.raises(ValueError, match="Unknown measure") as err:
        sg.measure(name)
    msg = str(err.value)
    assert repr(name) in msg and "Did you mean" in msg and close in msg


def test_unknown_family_points_to_the_listing():
    with pytest.raises(ValueError, match=r"sg\.measures"):
        sg.measure("zzzz-qqqq")


def test_name_must_be_a_string():
    with pytest.raises(TypeError, match="string"):
        sg.measure(3)  # type: ignore[arg-type]


def test_batch_ndim_must_be_a_non_negative_int():
    X, Y = _xy()
    for bad in (-1, 1.5, "1"):
        with pytest.raises(ValueError, match="batch_ndim"):
            sg.measure("cka")(X, Y, batch_ndim=bad)


# ----------------------------------------------------------------------------- constants
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("which", ["X", "Y"])
def test_constant_representation_is_refused(name, which):
    """A representation with zero variance in every unit has no similarity to anything:
    every measure refuses it (ValueError) rather than return NaN or an arbitrary 0."""
    X, Y = _xy()
    if which == "X":
        X = np.full_like(X, 2.5)
    else:
        Y = np.zeros_like(Y)
    with pytest.raises(ValueError, match=rf"{which} is constant across samples"):
        sg.measure(name)(X, Y)


def test_constant_member_of_a_batch_is_refused():
    X, _ = _xy()
    Yb = np.random.default_rng(0).normal(size=(3, 20, 4))
    Yb[1] = 7.0
    with pytest.raises(ValueError, match="Y is constant"):
        sg.measure("cka")(X, Yb, batch_ndim=1)


@pytest.mark.parametrize("name", ["cka", "nbs", "cca-score", "ensd", "linreg"])
def test_constant_columns_alone_are_fine(name):
    """A few dead units are common in recordings: values and gradients stay finite."""
    X, Y = _xy()
    Y[:, 1] = 4.0
    y = torch.tensor(Y, requires_grad=True)
    v = sg.measure(name)(X, y)
    (g,) = torch.autograd.grad(v, y)
    assert torch.isfinite(v) and torch.isfinite(g).all()


def test_compute_on_constant_input_gives_a_documented_finite_value():
    """``Measure.compute`` skips validation (for inner loops); a constant input then gives 0
    for the scale-invariant similarities, not NaN."""
    from simgrad._array import Pair

    X, _ = _xy()
    x = torch.tensor(X)
    zero = torch.zeros(20, 4, dtype=torch.float64)
    for name in ("cka", "nbs", "ensd"):
        assert float(sg.measure(name).compute(Pair(x, zero, None))) == 0.0


# ----------------------------------------------------------------------------- family limits
def test_unbiased_hsic_needs_four_samples():
    X, Y = _xy(n=3)
    with pytest.raises(ValueError, match="at least 4 samples"):
        sg.score("cka-kernel=linear-hsic=song-score", X, Y)


def test_cross_validation_needs_enough_folds():
    rng = np.random.default_rng(0)
    X3, Y3 = rng.normal(size=(4, 3, 5)), rng.normal(size=(4, 3, 5))
    with pytest.raises(ValueError, match="cv=5folds"):
        sg.score("ridge-lambda=1-r2-cv=5folds", X3, Y3)  # 3 conditions < 5 folds
    with pytest.raises(ValueError, match="cv=5folds"):
        sg.score("linear_regression-r2-cv=5folds", X3[0, :, :], Y3[0, :, :])
