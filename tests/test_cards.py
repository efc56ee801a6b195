"""Every measure has a complete card; docs/measures.md is the rendering of the registry."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import simgrad as sg
from simgrad.cli import main
from simgrad.measures.catalog import family_text, render
from simgrad.measures.registry import INVARIANCES, aliases, family_description


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


ROOT = Path(__file__).resolve().parents[1]
NAMES = sg.measures()
# RSA's distance comparisons are spelled without a form, as similarity-repository does
_RSA_DIST = ("-compare=euclidean", "-compare=bures_metric")
MY_FAMILIES = ("rsa", "svcca", "pwcca", "permutation_metric", "mutual_knn", "cknna")


def test_at_least_100_canonical_names():
    assert len(NAMES) >= 100
    assert len(set(NAMES)) == len(NAMES)


def test_every_card_is_complete():
    problems = []
    for name in NAMES:
        c = sg.card(name)
        ok = (
            c.name == name
            and c.family == name.split("-")[0]
            and c.form in ("score", "distance")
            and (c.form == "distance")
            == ("distance=" in name or c.family.endswith("distance") or name.endswith(_RSA_DIST))
            and all(
                isinstance(getattr(c, f), str) and getattr(c, f).strip()
                for f in ("description", "formula", "estimator", "cost")
            )
            and len(c.range) == 2
            and c.range[0] < c.range[1]
            and not any(math.isnan(v) for v in c.range)
            and all(
                isinstance(getattr(c, f), bool) for f in ("metric", "symmetric", "differentiable")
            )
            and set(c.invariances) <= set(INVARIANCES)
            and len(c.references) >= 1
            and all(r.strip() for r in c.references)
        )
        if not ok:
            problems.append(name)
        for a in c.aliases:
            if sg.measure(a).name != name:
                problems.append(f"alias {a} of {name}")
    assert not problems, problems


def test_every_alias_resolves_and_is_listed_on_its_card():
    for short, canonical in aliases().items():
        m = sg.measure(short)
        # an alias names a listed measure by its canonical spelling
        assert m.name == canonical and canonical in NAMES, (short, canonical, m.name)
        assert m is sg.measure(canonical)
        assert short in m.card.aliases


def test_every_family_describes_itself():
    """The catalogue's family index shows each family's own paragraph, not a member's card."""
    families = {sg.card(name).family: name for name in NAMES}
    for family, example in sorted(families.items()):
        text = family_description(family)
        assert text and len(text) > 80, family
        members = {sg.card(n).description for n in NAMES if sg.card(n).family == family}
        assert text not in members, family
        assert family_text(family, [sg.card(example)]) == text
    assert family_description("no_such_family") is None


def test_docs_table_is_up_to_date():
    committed = (ROOT / "docs" / "measures.md").read_text(encoding="utf-8")
    assert committed == render(), (
        "docs/measures.md is stale: run `python -m simgrad.measures.catalog > docs/measures.md`"
    )
    for name in NAMES:
        assert f"| `{name}` |" in committed


def test_cli_lists_and_prints_cards(capsys):
    assert main(["measures", "rsa-rdm=correlation-*-score"]) == 0
    out = capsys.readouterr().out
    assert "rsa-rdm=correlation-compare=kendall-score" in out
    assert main(["measures", "--card", "pwcca"]) == 0
    out = capsys.readouterr().out
    assert "pwcca-score" in out and "symmetric       no" in out
    assert main(["measures", "--card", "rsa-rdm=nope-compare=cosine-score"]) == 2


@pytest.mark.parametrize("family", MY_FAMILIES)
def test_new_families_value_within_card_range_and_finite(family):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5))
    y = x[:, :3] @ rng.normal(size=(3, 4)) + rng.normal(size=(16, 4))
    for name in sg.measures(f"{family}-*"):
        c = sg.card(name)
        v = sg.score(name, x, y)
        assert np.isfinite(v), name
        lo, hi = c.range
        assert lo - 1e-12 <= v <= hi + 1e-12, (name, v, c.range)
        if c.symmetric:
            assert abs(v - sg.score(name, y, x)) < 1e-9, name
        if c.form == "distance":
            assert abs(sg.score(name, x, x)) < 1e-6, name


@pytest.mark.parametrize("family", MY_FAMILIES)
def test_new_families_reject_bad_input(family):
    name = sg.measures(f"{family}-*")[0]
    x = np.random.default_rng(1).normal(size=(12, 3))
    with pytest.raises(ValueError, match="samples"):
        sg.score(name, x, x[:10])
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sg.score(name, x, bad)
    with pytest.raises(TypeError):
        sg.score(name, x, np.array([["a"] * 3] * 12))
