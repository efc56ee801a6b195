"""Names: parameter parsing, canonical spelling, aliases, cards; batched evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import simgrad as sg
from simgrad.measures.registry import format_number, split_name


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small matrices: one torch thread. On a busy 2-core machine two spinning OpenMP threads
    make tiny LAPACK calls ~50× slower (ridge CV: 150 ms vs 2 ms per call)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


PAPER_ALIASES = {
    "cka": "cka-kernel=linear-hsic=gretton-score",
    "cka-angular_score": "cka-kernel=linear-hsic=gretton-angular_score",
    "nbs": "nbs-score",
    "procrustes-angular_score": "procrustes-angular_score",
    "cca-score": "cca-score",
    "linreg": "linear_regression-r2",
    "ensd": "ensd",
}


@pytest.mark.parametrize("alias,canonical", sorted(PAPER_ALIASES.items()))
def test_paper_aliases_resolve(alias, canonical):
    m = sg.measure(alias)
    assert m.name == canonical
    assert canonical in sg.measures()


def test_every_alias_points_to_a_listed_measure():
    listed = set(sg.measures())
    for short, canonical in sg.aliases().items():
        assert sg.measure(short).name == canonical
        assert canonical in listed or sg.measure(canonical).name == canonical


@pytest.mark.parametrize(
    "spellings",
    [
        (
            "shape_metric-alpha=1-score",
            "shape_metric-alpha=1.0-score",
            "shape_metric-alpha=1e0-score",
        ),
        ("shape_metric-alpha=0.5-distance=angular", "shape_metric-alpha=.50-distance=angular"),
        ("ridge-lambda=100-r2", "ridge-lambda=1e2-r2", "ridge-lambda=100.0-r2"),
        (
            "cka-kernel=(rbf-sigma=1)-hsic=gretton-score",
            "cka-kernel=(rbf-sigma=1.0)-hsic=gretton-score",
            "cka-hsic=gretton-kernel=(rbf-sigma=1.00)-score",  # parameters in any order
        ),
        ("ridge-lambda=10-r2-cv=5folds_rows", "ridge-lambda=1e1-r2-cv=5folds_rows"),
    ],
)
def test_equal_parameter_values_name_the_same_measure(spellings):
    names = {sg.measure(s).name for s in spellings}
    assert len(names) == 1
    (canonical,) = names
    assert canonical == spellings[0]
    assert all(sg.measure(s) is sg.measure(canonical) for s in spellings)


@pytest.mark.parametrize("name", sg.measures())
def test_canonical_names_are_fixed_points(name):
    m = sg.measure(name)
    assert m.name == name
    assert m.card.name == name
    again = sg.measure("-".join(split_name(name)))
    assert again.name == name


def test_canonical_spelling_is_stable():
    """The spelling of these names is a public contract (results files key on it)."""
    expected = [
        "cka-kernel=linear-hsic=gretton-score",
        "cka-kernel=(rbf-sigma=0.5)-hsic=song-distance=angular",
        "nbs-score",
        "nbs-squared_score",
        "procrustes-distance=euclidean",
        "cca-squared_score",
        "shape_metric-alpha=0.5-distance=angular",
        "ridge-lambda=100-pearsonr-cv=5folds_rows-sym",
        "linear_regression-r2-cv=5folds",
        "bures_distance",
        "ensd",
    ]
    listed = set(sg.measures())
    for name in expected:
        assert name in listed
        assert sg.measure(name).name == name


def test_format_number():
    assert [format_number(v) for v in (1, 1.0, 100, 1e2, 0.5, 1e-6, 2.5e10)] == [
        "1",
        "1",
        "100",
        "100",
        "0.5",
        "0.000001",  # not 1e-06: the name grammar splits at dashes (issue 17 item 8)
        "25000000000",
    ]
    with pytest.raises(ValueError, match="finite"):
        format_number(float("nan"))


def test_split_name_respects_parentheses():
    assert split_name("cka-kernel=(rbf-sigma=1)-hsic=gretton-score") == [
        "cka",
        "kernel=(rbf-sigma=1)",
        "hsic=gretton",
        "score",
    ]
    for bad in ("cka-kernel=(rbf-sigma=1-score", "cka-kernel=rbf)-score", "cka--score", "cka-"):
        with pytest.raises(ValueError):
            split_name(bad)


def test_glob_listing_is_sorted_and_filtered():
    names = sg.measures("cka-*")
    assert names == sorted(names) and names
    assert all(n.startswith("cka-") for n in names)
    assert sg.measures("no_such_family-*") == []


def test_cards_are_complete_and_consistent():
    from simgrad.measures.registry import INVARIANCES

    for name in sg.measures():
        c = sg.card(name)
        assert c.form in ("score", "distance")
        tokens = name.split("-")[1:]
        formless = not any(t.endswith("score") or t.startswith("distance=") for t in tokens)
        # a name without a form token (gulp, magnitude_difference, ...) is the named
        # implementation's value, a similarity or a dissimilarity: its card says which;
        # -negative_log is a loss (fsd's −log CKA), a distance form
        is_distance = "distance=" in name or name.endswith("-negative_log")
        assert formless or c.form == ("distance" if is_distance else "score")
        lo, hi = c.range
        assert lo <= hi
        assert set(c.invariances) <= set(INVARIANCES)
        assert c.description and c.formula and c.references and c.estimator
        assert sg.measure(name).is_distance == (c.form == "distance")
        d = c.as_dict()
        assert d["name"] == name and isinstance(d["invariances"], list)
    assert "cka" in sg.card("cka-kernel=linear-hsic=gretton-score").aliases


def test_parameter_errors_name_the_parameter():
    with pytest.raises(ValueError, match="alpha"):
        sg.measure("shape_metric-alpha=2-score")
    with pytest.raises(ValueError, match="lambda"):
        sg.measure("ridge-lambda=-1-r2")
    with pytest.raises(ValueError, match="hsic"):
        sg.measure("cka-kernel=linear-hsic=bogus-score")


# ----------------------------------------------------------------------------- batching
BATCH_NAMES = [
    "cka",
    "cka-kernel=linear-hsic=song-score",
    "cka-kernel=(rbf-sigma=1)-hsic=gretton-score",
    "nbs",
    "procrustes-distance=euclidean",
    "cca-score",
    "shape_metric-alpha=0.5-distance=angular",
    "ensd",
    "ridge-lambda=10-r2-cv=5folds",
    "linear_regression-pearsonr-sym",
]


@pytest.mark.parametrize("name", BATCH_NAMES)
def test_batch_dims_equal_looping(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 6))
    Yb = rng.normal(size=(2, 3, 30, 5))
    m = sg.measure(name)
    got = m(X, Yb, batch_ndim=2)
    assert got.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            want = m(X, Yb[i, j])
            torch.testing.assert_close(got[i, j], want, rtol=1e-10, atol=1e-12)
    # X batched like Y
    Xb = rng.normal(size=(2, 3, 30, 6))
    got = m(Xb, Yb, batch_ndim=2)
    for i in range(2):
        for j in range(3):
            torch.testing.assert_close(got[i, j], m(Xb[i, j], Yb[i, j]), rtol=1e-10, atol=1e-12)


def test_batch_of_3d_inputs_equals_looping():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 10, 6))  # (time, conditions, units)
    Yb = rng.normal(size=(3, 4, 10, 5))
    for name in ("cka", "ridge-lambda=1-r2-cv=5folds"):
        m = sg.measure(name)
        got = m(X, Yb, batch_ndim=1)
        for b in range(3):
            torch.testing.assert_close(got[b], m(X, Yb[b]), rtol=1e-10, atol=1e-12)


def test_score_returns_plain_floats_and_arrays():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(20, 4)), rng.normal(size=(2, 20, 3))
    assert isinstance(sg.score("cka", X, Y[0]), float)
    arr = sg.score("cka", X, Y, batch_ndim=1)
    assert isinstance(arr, np.ndarray) and arr.shape == (2,)


def test_dtype_follows_inputs_and_can_be_forced():
    rng = np.random.default_rng(3)
    X = torch.tensor(rng.normal(size=(20, 4)), dtype=torch.float32)
    Y = torch.tensor(rng.normal(size=(20, 3)), dtype=torch.float32)
    assert sg.measure("cka")(X, Y).dtype == torch.float32
    assert sg.measure("cka")(X, Y, dtype=torch.float64).dtype == torch.float64
    assert sg.measure("cka")(X.numpy(), Y).dtype == torch.float64  # numpy → float64 wins


# ----------------------------------------------------------------------------- display, hooks
def test_short_names_are_the_display_aliases_the_families_declare():
    from simgrad.measures import short_name

    assert short_name("cka-kernel=linear-hsic=gretton-score") == "cka"
    assert short_name("cka-angular-score") == "cka-angular_score"
    assert short_name("nbs-score") == "nbs"
    assert short_name("linear_regression-r2") == "linreg"
    # no display alias: the canonical name (also when the measure has other aliases)
    assert short_name("procrustes-angular-score") == "procrustes-angular_score"
    assert short_name("cka-hsic_song") == "cka-kernel=linear-hsic=song-score"
    assert short_name("ridge-lambda=100-r2-cv=5folds") == "ridge-cv"  # the paper's ridge-CV
    assert short_name("not a measure") == "not a measure"


def test_register_hooks_keeps_earlier_hooks_and_rejects_unknown_ones(monkeypatch):
    from simgrad.measures import registry

    monkeypatch.setattr(registry, "_HOOKS", {})

    def first(t, v):
        return None

    def second(t, v):
        return None

    assert registry.family_hooks("toy") == registry.Hooks()
    registry.register_hooks("toy", streaming=first)
    hooks = registry.register_hooks("toy", theory=second)
    assert hooks.streaming is first and hooks.theory is second and hooks.pairwise is None
    with pytest.raises(TypeError, match="unknown hook"):
        registry.register_hooks("toy", stream=first)


def test_describe_keeps_the_first_paragraph(monkeypatch):
    from simgrad.measures import registry

    monkeypatch.setattr(registry, "_DESCRIPTIONS", {})
    registry.describe("toy", "\n  A toy family:\n  one paragraph.\n\n  Details that stay out.\n")
    assert registry.family_description("toy") == "A toy family: one paragraph."
    registry.describe("empty", None)  # a module run with -OO has no __doc__
    assert registry.family_description("empty") is None
