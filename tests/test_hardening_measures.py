"""Issue 17 (items 1, 2, 3, 8, 12, 13) and issue 18 (sg.score of a list): the measure call path.

Each test failed before the fix it names. Independent references: closed forms (a scale-free
measure's value does not depend on the data scale; X = I has a zero unbiased self-HSIC),
float64 on the same data for float16/bfloat16, and a fresh interpreter for name round trips.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import simgrad as sg
from simgrad.measures.registry import format_number, lookup

SCALE_FREE = [n for n in sg.measures("*") if "isotropic_scaling" in sg.card(n).invariances]
NOT_SCALE_FREE = [n for n in sg.measures("*") if n not in set(SCALE_FREE)]


def _pair(n=30, p=5, q=4, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, p, generator=g, dtype=dtype), torch.randn(n, q, generator=g, dtype=dtype)


# ----------------------------------------------------------------------------- item 1
@pytest.mark.parametrize("form", ["score", "angular_score", "distance=angular"])
@pytest.mark.parametrize("kernel", ["linear", "(rbf-sigma=1)"])
def test_unbiased_cka_refuses_zero_self_hsic(form, kernel):
    """X = I: every centred sample is orthogonal to the others and equally long, so the
    U-statistic HSIC of X with itself is 0 — it used to return 1.2e137 (angular score 1.0)."""
    X = np.eye(20)
    Y = np.random.default_rng(0).normal(size=(20, 6))
    name = f"cka-kernel={kernel}-hsic=song-{form}"
    with pytest.raises(ValueError, match="song HSIC of X with itself is 0"):
        sg.score(name, X, Y)
    # the gradient path refuses too (it reached 1e152)
    Xt = torch.tensor(X, requires_grad=True)
    with pytest.raises(ValueError, match="undefined"):
        sg.measure(name)(Xt, Y)


def test_lange_cka_at_identity_is_in_range_and_matches_numpy():
    """Lange's zero-diagonal HSIC of X = I is positive (off-diagonal −1/n): a finite value,
    checked against the definition written in numpy."""
    X = np.eye(20)
    Y = np.random.default_rng(0).normal(size=(20, 6))
    n = 20
    H = np.eye(n) - 1 / n

    def hz(a, b):
        ka, kb = H @ a @ a.T @ H, H @ b @ b.T @ H
        np.fill_diagonal(ka, 0)
        np.fill_diagonal(kb, 0)
        return (ka * kb).sum()

    ref = hz(X, Y) / np.sqrt(hz(X, X) * hz(Y, Y))
    got = sg.score("cka-kernel=linear-hsic=lange-score", X, Y)
    assert abs(got - ref) < 1e-12 and -1 <= got <= 1


def test_no_value_outside_card_range():
    """The final check of Measure.__call__: a value out of range is an error, never a number."""
    m = sg.measure("cka")
    with pytest.raises(ValueError, match="range"):
        m.check_value(torch.tensor(1.5, dtype=torch.float64))
    with pytest.raises(ValueError, match="range"):
        m.check_value(torch.tensor([0.5, float("nan")], dtype=torch.float64))
    m.check_value(torch.tensor(1.0 + 1e-15, dtype=torch.float64))  # rounding is fine


# ----------------------------------------------------------------------------- item 2
@pytest.mark.parametrize(
    "name", ["nbs", "procrustes-angular_score", "cka", "linreg", "mutual_knn", "cca-score"]
)
@pytest.mark.parametrize(
    "dtype,scales",
    [(torch.float32, (1e-13, 1e10, 1e-30, 1e30)), (torch.float64, (1e-160, 1e-300, 1e300))],
)
def test_scale_free_measures_exact_at_any_scale(name, dtype, scales):
    """A scale-invariant measure gives its unit-scale value at any representable scale
    (nbs was inf at 1e-13 and 0 at 1e10 in float32; linreg 1.0 at 1e-160; mutual_knn 1.0 at
    1e±300)."""
    X, Y = _pair(dtype=dtype)
    ref = sg.score(name, X, Y)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    for s in scales:
        assert sg.score(name, X * s, Y * s) == pytest.approx(ref, abs=tol), (name, s)
        assert sg.score(name, X * s, Y) == pytest.approx(ref, abs=tol), (name, s)


def test_scale_free_gradient_is_the_rescaled_gradient():
    """∇f(sX) = ∇f(X)/s for a scale-invariant f, through the rescaling."""
    X, Y = _pair()
    m = sg.measure("nbs")
    x1 = X.clone().requires_grad_()
    (g1,) = torch.autograd.grad(m(x1, Y), x1)
    xs = (X * 1e-200).requires_grad_()
    (gs,) = torch.autograd.grad(m(xs, Y), xs)
    assert torch.allclose(gs * 1e-200, g1, rtol=1e-9, atol=0)


@pytest.mark.parametrize("name", ["procrustes-distance=euclidean", "ridge-lambda=1-r2"])
@pytest.mark.parametrize(
    "dtype,scale",
    [
        (torch.float64, 1e-160),
        (torch.float64, 1e100),
        (torch.float32, 1e-13),
        (torch.float32, 1e10),
    ],
)
def test_scale_dependent_measures_refuse_outside_safe_range(name, dtype, scale):
    """Measures that depend on the scale refuse data whose fourth powers would overflow or
    underflow (ridge R² was 1.0 at 1e-160)."""
    X, Y = _pair(dtype=dtype)
    with pytest.raises(ValueError, match="not scale-invariant"):
        sg.score(name, X * scale, Y * scale)


def test_scale_free_claim_holds_for_each_input_separately():
    """The rescaling divides X and Y by separate powers of two, so every measure claiming
    isotropic_scaling must be invariant to scaling each input alone (checked on the raw
    function, without the guard)."""
    X, Y = _pair(n=24)
    for name in SCALE_FREE:
        m = sg.measure(name)
        try:
            base = m.fn(X, Y)
        except ValueError:
            continue
        for xs, ys in ((X * 8.0, Y), (X, Y * 0.125)):
            assert torch.allclose(m.fn(xs, ys), base, rtol=1e-9, atol=1e-9), name


# ----------------------------------------------------------------------------- item 3
@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize(
    "name",
    [
        "nbs",
        "procrustes-angular_score",
        "cka",
        "rsa",
        "rsa-rdm=correlation-compare=spearman-score",
        "linreg",
        "cca-score",
    ],
)
def test_half_precision_is_upcast(name, half):
    """float16/bfloat16 inputs are computed in float32 (raw torch errors or NaN before)."""
    X, Y = _pair(n=40)
    Xh, Yh = X.to(half), Y.to(half)
    got = sg.score(name, Xh, Yh)
    ref = sg.score(name, Xh.double(), Yh.double())
    assert np.isfinite(got) and abs(got - ref) < 1e-4, (name, got, ref)
    Xg = Xh.clone().requires_grad_()
    out = sg.measure(name)(Xg, Yh)
    assert out.dtype == torch.float32
    if sg.card(name).differentiable:
        out.backward()
        assert Xg.grad is not None and Xg.grad.dtype == half
        assert bool(torch.isfinite(Xg.grad).all())


# ----------------------------------------------------------------------------- item 8
def test_number_spelling_round_trips():
    from simgrad.measures.registry import parse_number

    for v in (1e-5, 0.00001, 1e-6, 2.5e-7, 1e-300, -0.5, -2, 1e20, 0.1, 123.456, 5e-324):
        text = format_number(v)
        assert "-" not in text.strip("()").lstrip("-") or text.startswith("("), text
        assert parse_number(text) == float(v), (v, text)


def test_ridge_small_lambda_name_parses_back():
    name = sg.measure("ridge-lambda=0.00001-r2").name
    assert name == "ridge-lambda=0.00001-r2"
    assert lookup(name)[2] == name
    tiny = sg.measure("ridge-lambda=(1e-300)-r2").name
    assert lookup(tiny)[2] == tiny


def test_every_registered_name_round_trips():
    """Every canonical and alias name resolves to a canonical name that parses back to
    itself (no cache involved: lookup parses)."""
    from simgrad.measures.registry import aliases

    for name in sg.measures("*") + list(aliases()):
        canon = lookup(name)[2]
        assert lookup(canon)[2] == canon, (name, canon)


def test_canonical_names_parse_in_a_fresh_process():
    names = [sg.measure(n).name for n in ("ridge-lambda=0.00001-r2", "ridge-lambda=(1e-300)-r2")]
    code = (
        "import json, sys, simgrad as sg; "
        "print(json.dumps([sg.measure(n).name for n in json.loads(sys.argv[1])]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(names)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == names


# ----------------------------------------------------------------------------- item 12
@pytest.mark.parametrize("sigma", ["1e300", "1e-300", "0"])
def test_rbf_sigma_out_of_range_is_refused_by_name(sigma):
    with pytest.raises(ValueError, match="sigma"):
        sg.measure(f"cka-kernel=(rbf-sigma={sigma})-hsic=gretton-score")


# ----------------------------------------------------------------------------- item 13
def test_unknown_name_case_insensitive_suggestion():
    with pytest.raises(ValueError, match="Did you mean: cka"):
        sg.measure("CKA")


def test_long_name_is_not_echoed():
    with pytest.raises(ValueError) as info:
        sg.measure("x" * 100_000)
    assert len(str(info.value)) < 400


def test_list_name_is_a_clear_type_error_for_measure():
    with pytest.raises(TypeError, match="sg.score\\(list"):
        sg.measure(["cka"])


# ----------------------------------------------------------------------------- issue 18
def test_score_of_a_list_is_a_mapping():
    X, Y = _pair()
    got = sg.score(["cka", "nbs"], X, Y)
    assert list(got) == ["cka", "nbs"]
    assert got["cka"] == sg.score("cka", X, Y) and got["nbs"] == sg.score("nbs", X, Y)
    assert sg.score(["cka"], X, Y) == {"cka": sg.score("cka", X, Y)}
    assert isinstance(sg.score("cka", X, Y), float)
    with pytest.raises(ValueError, match="Unknown measure"):
        sg.score(["cka", "nope"], X, Y)
    with pytest.raises(TypeError):
        sg.score({"cka"}, X, Y)


def test_measures_command_lists_aliases(capsys):
    from simgrad.cli import main

    assert main(["measures", "nbs*"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("nbs-score "))
    assert " nbs " in f" {line} "
    assert main(["measures", "linreg"]) == 0
    assert "linear_regression-r2" in capsys.readouterr().out
