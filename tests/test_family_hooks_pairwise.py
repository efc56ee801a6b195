"""A family added from outside the package gets ``sg.score`` and a batched ``sg.pairwise``
from its own module alone: a measure template plus a ``pairwise`` hook (per-representation
factor, pair combine), with no other file touched."""

from __future__ import annotations

import importlib
import logging
import sys
import textwrap

import pytest
import torch

import simgrad as sg
from simgrad.measures import registry

TOY = '''
"""toydot: cosine of the two inputs' mean patterns over their shared leading units."""
import torch

from simgrad.measures.registry import Template, register, register_hooks


def _cos(u, v):
    k = min(u.shape[-1], v.shape[-1])
    u, v = u[..., :k], v[..., :k]
    return (u * v).sum(-1) / ((u * u).sum(-1) * (v * v).sum(-1)).sqrt()


def _card(values):
    return dict(family="toydot", form="score", description="toy", formula="cos(x̄, ȳ)",
                range=(-1.0, 1.0), metric=False, symmetric=True, differentiable=True,
                invariances=(), estimator="plug-in", cost="O(n·d)", references=())


def _build():
    return lambda x, y, n_conditions=None: _cos(x.mean(-2), y.mean(-2))


register(Template("toydot", "score", (), _build, _card))

CALLS = []


def _pairwise(A, B, values, ctx):
    CALLS.append(ctx.name)
    return ctx.pairs(lambda x: x.mean(0), _cos, A, B)


register_hooks("toydot", pairwise=_pairwise)
'''


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    """Write the toy family's module into tmp_path, import it, and remove every trace of it
    from the registry afterwards."""
    (tmp_path / "toydot_family.py").write_text(textwrap.dedent(TOY))
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("toydot_family")
    yield mod
    sys.modules.pop("toydot_family", None)
    registry._TEMPLATES.pop("toydot", None)
    registry._HOOKS.pop("toydot", None)
    registry._CACHE.clear()


def _reps(n=30, widths=(3, 5, 4), seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g, dtype=torch.float64) + 0.5 for d in widths]


def test_toy_family_scores_and_pairwise_equal_the_loop(toy_family, caplog):
    reps = _reps()
    m = sg.measure("toydot-score")
    with torch.no_grad():
        loop = torch.stack([torch.stack([m(a, b) for b in reps]) for a in reps])
    assert sg.score("toydot-score", reps[0], reps[1]) == pytest.approx(float(loop[0, 1]))
    with caplog.at_level(logging.DEBUG, logger="simgrad"):
        S = sg.pairwise(reps, measure="toydot-score")
        C = sg.pairwise(reps[:1], reps[1:], measure="toydot-score")
    assert toy_family.CALLS == ["toydot-score", "toydot-score"]  # the hook, not the loop
    assert not any("looping over" in r.getMessage() for r in caplog.records)
    assert torch.allclose(S, loop, atol=1e-12, rtol=0)
    assert torch.allclose(C, loop[:1, 1:], atol=1e-12, rtol=0)
    assert not torch.allclose(S, torch.ones_like(S))  # the values are not trivial


def test_toy_hook_carries_gradients(toy_family):
    reps = [r.requires_grad_() for r in _reps(seed=1)]
    sg.pairwise(reps, measure="toydot-score")[0, 1].backward()
    ref = [r.detach().clone().requires_grad_() for r in reps]
    sg.measure("toydot-score")(ref[0], ref[1]).backward()
    assert torch.allclose(reps[0].grad, ref[0].grad, atol=1e-12)
    assert torch.allclose(reps[1].grad, ref[1].grad, atol=1e-12)


def test_family_without_hook_falls_back_to_the_loop(toy_family, caplog):
    registry._HOOKS.pop("toydot")
    reps = _reps(seed=2)
    with caplog.at_level(logging.DEBUG, logger="simgrad"):
        S = sg.pairwise(reps, measure="toydot-score")
    assert any("looping over 6 single-pair calls" in r.getMessage() for r in caplog.records)
    assert toy_family.CALLS == []
    assert float(S[1, 2]) == pytest.approx(sg.score("toydot-score", reps[1], reps[2]))
    with pytest.raises(ValueError, match="not available"):
        sg.pairwise(reps, measure="toydot-score", algorithm="sample")


def test_hook_returning_none_falls_back_to_the_loop(toy_family):
    registry.register_hooks("toydot", pairwise=lambda A, B, values, ctx: None)
    reps = _reps(seed=3)
    S = sg.pairwise(reps, measure="toydot-score")
    assert float(S[0, 2]) == pytest.approx(sg.score("toydot-score", reps[0], reps[2]))


def test_registry_is_clean_without_the_fixture():
    assert "toydot" not in registry._TEMPLATES and "toydot" not in registry._HOOKS
    with pytest.raises(ValueError, match="Unknown measure"):
        sg.measure("toydot-score")


def test_every_builtin_batched_family_has_a_hook():
    for fam in ("cka", "ensd", "nbs", "procrustes", "bures_distance", "shape_metric", "cca",
                "linear_regression", "ridge", "rsa"):  # fmt: skip
        assert registry.family_hooks(fam).pairwise is not None, fam
