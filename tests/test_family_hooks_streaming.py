"""A family written outside the package scores, pairs, streams and has a closed form through
its hooks alone (issue 13, acceptance 4: adding a family touches no other file).

The toy family lives in a module written into tmp_path: its measure, a pairwise hook, a
streaming hook and a theory hook. Nothing else is touched; the registry is restored afterwards.
"""

from __future__ import annotations

import importlib
import sys
import textwrap

import numpy as np
import pytest
import torch

import simgrad as sg
from simgrad.analysis import theory
from simgrad.measures import registry
from simgrad.streaming import StreamingSimilarity, stream_score, streamable

TOY_MODULE = textwrap.dedent(
    '''
    """Toy family: s = ‖X̃ᵀỸ‖²_F / (‖X̃ᵀX̃‖_F ‖ỸᵀỸ‖_F), written from scratch."""
    import numpy as np

    from simgrad.measures.moments import Stream, surrogate_stream
    from simgrad.measures.pc_theory import PCTheory
    from simgrad.measures.registry import Template, alias, register, register_hooks


    def products(x, y):
        xc, yc = x - x.mean(-2, keepdim=True), y - y.mean(-2, keepdim=True)
        return xc.mT @ xc, yc.mT @ yc, xc.mT @ yc


    def toy(cxx, cyy, cxy):
        f = lambda a: (a * a).sum((-2, -1))
        return f(cxy) / (f(cxx) * f(cyy)).sqrt()


    def card(values):
        return dict(
            family="toy", form="score", description="toy second-moment score",
            formula="‖X̃ᵀỸ‖² / (‖X̃ᵀX̃‖ ‖ỸᵀỸ‖)", range=(0.0, 1.0), metric=False,
            symmetric=True, differentiable=True, invariances=("orthogonal",),
            estimator="plug-in", cost="O(n·d²)", references=("a test",),
        )


    def build():
        return lambda x, y, n_conditions=None: toy(*products(x, y))


    register(Template("toy", "score", (), build, card))
    register(Template("toy", "via_surrogate", (), build, card))
    alias("toy", "toy-score", display=True)


    def streaming(template, values):
        if template.form == "via_surrogate":
            return surrogate_stream(template, values)
        return Stream(lambda m: toy(*m.covariances()))


    def perturbed(lam, i, a):
        s2 = float(np.sum(lam**2))
        return s2 - lam[i] ** 2 + a**2 * lam[i] ** 2, np.sqrt(
            s2 * (s2 - lam[i] ** 2 + a**4 * lam[i] ** 2))


    def leading(lam, i, eps):
        p = lam[i] ** 2 / float(np.sum(lam**2))
        return 2 * p * (1 - p) * eps**2


    def centred_gram_pieces(x):
        xc = x - x.mean(-2, keepdim=True)
        cxx = xc.mT @ xc
        return xc, (cxx * cxx).sum().sqrt()


    def combine(fa, fb):
        cxy = fa[0].mT @ fb[0]
        return (cxy * cxy).sum() / (fa[1] * fb[1])


    register_hooks(
        "toy",
        pairwise=lambda A, B, values, ctx: ctx.pairs(centred_gram_pieces, combine, A, B),
        streaming=streaming,
        theory=lambda template, values: PCTheory(perturbed, lambda lam: lam**2, leading),
    )
    '''
)

_STATE = ("_TEMPLATES", "_HOOKS", "_ALIASES", "_DISPLAY", "_DESCRIPTIONS", "_CACHE")


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    """Import the toy module from tmp_path; restore the registry and sys.modules after."""
    saved = {
        k: {n: list(v) if isinstance(v, list) else v for n, v in getattr(registry, k).items()}
        for k in _STATE
    }
    (tmp_path / "toy_family_mod.py").write_text(TOY_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("toy_family_mod")
    yield module
    sys.modules.pop("toy_family_mod", None)
    for k in _STATE:
        table = getattr(registry, k)
        table.clear()
        table.update(saved[k])


def _data(n=2000, p=12, q=7, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) * rng.uniform(0.5, 3, size=p) + 4.0
    y = x[:, :q] @ rng.normal(size=(q, q)) + rng.normal(size=(n, q)) - 30.0
    return x, y


def test_toy_family_scores_and_streams_through_its_hook(toy_family):
    x, y = _data()
    full = sg.score("toy-score", x, y)
    t = [torch.as_tensor(a) for a in (x, y)]
    assert abs(full - float(toy_family.toy(*toy_family.products(*t)))) < 1e-12
    assert abs(full - sg.score("cka", x, y)) < 1e-10  # it is linear CKA written out
    assert streamable("toy-score") and streamable("toy")
    acc = StreamingSimilarity(["toy-score", "toy-via_surrogate", "nbs"])
    for s in range(0, len(x), 300):  # ragged last batch
        acc.update(x[s : s + 300], y[s : s + 300])
    got = acc.compute()
    assert acc.n_samples == len(x)
    assert abs(got["toy-score"] - full) < 1e-10
    assert abs(got["toy-via_surrogate"] - full) < 1e-10
    assert abs(got["nbs"] - sg.score("nbs", x, y)) < 1e-10
    assert abs(stream_score("toy", zip(np.array_split(x, 7), np.array_split(y, 7))) - full) < 1e-10


def test_toy_family_reaches_score_pairwise_and_streaming_through_its_module_alone(toy_family):
    rng = np.random.default_rng(3)
    reps = [rng.normal(size=(300, d)) @ rng.normal(size=(d, d)) for d in (4, 9, 6)]
    calls = []
    hook = registry.family_hooks("toy").pairwise
    # count the hook's calls (the toy_family fixture restores the registry afterwards)
    registry.register_hooks("toy", pairwise=lambda *a: calls.append(1) or hook(*a))
    S = sg.pairwise(reps, measure="toy-score").detach().numpy()
    assert calls, "sg.pairwise did not use the family's pairwise hook"
    loop = np.array([[sg.score("toy-score", a, b) for b in reps] for a in reps])
    np.testing.assert_allclose(S, loop, rtol=0, atol=1e-12)
    acc = StreamingSimilarity(["toy-score"])
    for a, b in zip(np.array_split(reps[0], 4), np.array_split(reps[1], 4)):
        acc.update(a, b)
    assert abs(acc.compute()["toy-score"] - loop[0, 1]) < 1e-10


def test_streams_on_the_same_statistic_share_one_accumulator(toy_family):
    x, y = _data(n=500)
    alone, shared = StreamingSimilarity(["cka"]), StreamingSimilarity(["cka", "toy", "ensd"])
    for acc in (alone, shared):
        acc.update(x, y)
    assert alone.nbytes == shared.nbytes > 0


def test_toy_family_has_a_closed_form_through_its_theory_hook(toy_family):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 6)) * np.geomspace(3, 0.3, 6)
    for pc in range(6):
        for a in (0.0, 0.5, 2.0):
            pred = theory.predict_pc_perturbation(X, "toy", pc, a)
            meas = sg.score("toy", X, theory.pc_perturbed_data(X, pc, a))
            assert abs(pred - meas) < 1e-10
    assert np.array_equal(theory.topk_scores(X, "toy"), theory.topk_scores(X, "cka"))
    assert "toy-score" in theory.theory_measures("toy-*")


def test_a_family_without_hooks_is_refused_by_both_drivers(toy_family):
    registry._HOOKS.pop("toy")
    assert not streamable("toy-score")
    with pytest.raises(ValueError, match="cannot be streamed"):
        StreamingSimilarity(["toy"])
    with pytest.raises(ValueError, match="no closed form"):
        theory.predict_pc_perturbation(np.eye(4), "toy", 0, 0.5)


def test_registry_is_restored_after_the_toy_family():
    assert "toy" not in registry._TEMPLATES and "toy" not in registry._HOOKS
    assert "toy" not in sg.aliases()
    with pytest.raises(ValueError, match="Unknown measure"):
        sg.measure("toy-score")
