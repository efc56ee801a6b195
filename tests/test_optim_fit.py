"""sg.fit_model with the CTRNN worked example: the network dynamics against a numpy Euler loop,
the task generators, fitting to M1 recordings and to the context reference with a task loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import simgrad as sg
from simgrad.optim import CTRNN, center_out_task, context_integration_task


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _np_cka(x, y):
    x = x.reshape(-1, x.shape[-1])
    y = y.reshape(-1, y.shape[-1])
    x, y = x - x.mean(0), y - y.mean(0)
    return np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def test_ctrnn_matches_numpy_euler_loop_and_is_seeded():
    net = CTRNN(3, 7, 2, tau=100.0, dt=20.0, seed=4)
    x = np.random.default_rng(0).normal(size=(9, 5, 3))
    out, states = net(torch.as_tensor(x))
    w_in, w_rec, b = (p.detach().numpy() for p in (net.w_in, net.w_rec, net.b))
    w_out, b_out = net.w_out.detach().numpy(), net.b_out.detach().numpy()
    h = np.zeros((5, 7))
    for t in range(9):
        h = 0.8 * h + 0.2 * np.maximum(0, x[t] @ w_in.T + h @ w_rec.T + b)
        np.testing.assert_allclose(states[t].detach().numpy(), h, atol=1e-12)
        np.testing.assert_allclose(out[t].detach().numpy(), h @ w_out.T + b_out, atol=1e-12)
    again = CTRNN(3, 7, 2, seed=4)
    assert torch.equal(again.w_rec, net.w_rec) and not torch.equal(CTRNN(3, 7, 2).w_rec, net.w_rec)
    with pytest.raises(ValueError, match="inputs must be"):
        net(torch.zeros(4, 5, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="n_hidden"):
        CTRNN(3, 0)


def test_context_task_matches_the_context_reference_layout():
    task = context_integration_task()
    ref = sg.datasets.load("context")
    assert task.n_conditions == ref.n_conditions == 72
    for key, ref_key in (
        ("context", "context"),
        ("motion", "motion"),
        ("colour", "colour"),
        ("choice", "choice"),
    ):
        np.testing.assert_array_equal(task.labels[key], ref.labels[ref_key])
    rel = np.where(
        task.labels["context"] < 0, task.labels["motion_coherence"], task.labels["colour_coherence"]
    )
    np.testing.assert_array_equal(task.labels["choice"], np.sign(rel))
    lo, hi = task.periods["decision"]
    np.testing.assert_array_equal(
        task.targets[lo:].numpy(), np.where(rel > 0, 2, 1)[None].repeat(hi - lo, 0)
    )
    assert (task.targets[:lo] == 0).all() and (task.inputs[lo:, :, 0] == 0).all()
    s0, s1 = task.periods["stimulus"]
    np.testing.assert_allclose(task.inputs[s0, :, 1].numpy(), task.labels["motion_coherence"])
    assert (task.inputs[s1:, :, 1:3] == 0).all()


def test_fit_ctrnn_to_m1_recordings_with_a_reach_task(data_dir):
    ds = sg.datasets.load("hatsopoulos2007-condavg", window=(-300, 400), bin_ms=50)
    task = center_out_task(ds.labels["direction"], dt=20.0, start_ms=-400, stop_ms=400)
    steps = task.steps_at(ds.time)
    np.testing.assert_allclose(task.time_ms[steps], ds.time, atol=10)
    net = CTRNN(task.n_inputs, 100, 2, seed=0)

    def activity(model, inputs):
        return model(inputs)[1][steps]

    hist = sg.fit_model(
        net,
        task.inputs,
        ds,
        "cka",
        activity=activity,
        task_loss=task.loss,
        task_weight=1.0,
        max_iter=30,
        lr=0.01,
    )
    assert hist.n_iter == 30 and hist.scores.shape == (31,) and np.isfinite(hist.scores).all()
    assert hist.scores[-1] > hist.scores[0] + 0.2
    assert hist.task_losses[-1] < 0.5 * hist.task_losses[0]
    np.testing.assert_allclose(hist.losses, -hist.scores + hist.task_losses, atol=1e-12)
    with torch.no_grad():  # the recorded score is the CKA of the trained network, by numpy
        states = activity(net, task.inputs).numpy()
        out = net(task.inputs)[0]
    assert _np_cka(ds.data, states) == pytest.approx(hist.scores[-1], abs=1e-12)
    assert task.accuracy(out) > 0.5


def test_fit_ctrnn_on_context_task_raises_score_and_learns_the_task():
    ref = sg.datasets.load("context")
    task = context_integration_task()
    steps = task.steps_at(ref.time)
    net = CTRNN(task.n_inputs, 100, 3, seed=1)
    out0 = net(task.inputs)[0]
    acc0 = task.accuracy(out0)
    hist = sg.fit_model(
        net,
        task.inputs,
        ref,
        "procrustes-angular_score",
        activity=lambda m, i: m(i)[1][steps],
        task_loss=task.loss,
        task_weight=1.0,
        max_iter=25,
        lr=0.01,
    )
    assert hist.scores[-1] > hist.scores[0] + 0.05
    assert hist.task_losses[-1] < 0.5 * hist.task_losses[0]
    assert task.accuracy(net(task.inputs)[0]) > max(acc0, 0.7)


def test_fit_model_stops_on_target_and_on_interrupt():
    x = np.random.default_rng(1).normal(size=(10, 4, 6))
    task = center_out_task(np.arange(4) * 90.0, dt=50, start_ms=-100, stop_ms=400)
    net = CTRNN(3, 20, 2, dt=50.0)
    hist = sg.fit_model(net, task.inputs, x, "cka", lr=0.05, max_iter=500, target=0.5)
    assert hist.converged and hist.scores[-1] >= 0.5 > hist.scores[-2]
    assert np.isnan(hist.task_losses).all()

    def cb(k, s):
        if k == 2:
            raise KeyboardInterrupt

    hist = sg.fit_model(CTRNN(3, 20, 2, dt=50.0), task.inputs, x, "cka", callback=cb)
    assert hist.interrupted and hist.n_iter == 2 and len(hist.scores) == 3


def test_fit_model_errors():
    task = center_out_task(dt=50.0)
    net = CTRNN(3, 10, 2, dt=50.0)
    wrong = np.zeros((task.inputs.shape[0], 5, 4))
    with pytest.raises(ValueError, match="activity has shape"):
        sg.fit_model(net, task.inputs, wrong, "cka", max_iter=1)
    with pytest.raises(TypeError, match="model must be"):
        sg.fit_model(lambda x: x, task.inputs, wrong, "cka")
    ok = np.random.default_rng(0).normal(size=(task.inputs.shape[0], 8, 4))
    with pytest.raises(ValueError, match="task_loss"):
        sg.fit_model(net, task.inputs, ok, "cka", task_weight=1.0)
    with pytest.raises(ValueError, match="not differentiable"):
        sg.fit_model(net, task.inputs, ok, "cknna-topk=10-score")
