"""``sg.fit_model``: fit the parameters of any ``torch.nn.Module`` so that its activity on
given inputs scores high against recordings, optionally while it also learns a task::

    loss(θ) = −m(X, A_θ(inputs))  [or +d(X, A_θ)]  +  task_weight · task_loss(output_θ)

``A_θ`` is the activity: by default the last element of ``model(inputs)`` when the model
returns a tuple (``(output, states)`` as :class:`~simgrad.optim.models.CTRNN`), else its
output; or ``activity(model, inputs)``. Its leading shape must match the reference's
(samples, or time × conditions); unit counts may differ.

>>> import torch, numpy as np
>>> from simgrad.optim import CTRNN, center_out_task
>>> task = center_out_task(dt=50.0)
>>> ref = np.random.default_rng(0).normal(size=(task.inputs.shape[0], 8, 20))
>>> net = CTRNN(task.n_inputs, 30, 2, dt=50.0)
>>> hist = fit_model(net, task.inputs, ref, "cka", max_iter=20, lr=0.01)
>>> bool(hist.scores[-1] > hist.scores[0])
True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .._array import flatten_time
from .interrupt import InterruptFlag
from .objective import Objective
from .optimize import reference_tensor
from .optimizers import make_optimizer

__all__ = ["FitHistory", "fit_model"]


@dataclass
class FitHistory:
    """What :func:`fit_model` did, one entry per evaluation (index 0 = before training).

    ``scores`` ``(n_iter + 1,)`` (joint targets: ``(n_iter + 1, M)``); ``task_losses``
    ``(n_iter + 1,)`` (NaN without a task loss); ``losses`` the minimized objective.
    """

    measure: str
    measures: list[str]
    scores: np.ndarray
    task_losses: np.ndarray
    losses: np.ndarray
    n_iter: int
    converged: bool
    interrupted: bool = False
    timings: dict = field(default_factory=dict)


def _default_activity(model: torch.nn.Module, inputs: Any) -> tuple[Any, torch.Tensor]:
    """``(output, activity)`` of ``model(inputs)``: its first and last elements when it returns
    a tuple (``(output, states)``), else the output twice."""
    out = model(inputs)
    if isinstance(out, (tuple, list)):
        return out[0], out[-1]
    return out, out


def _trainable(
    model: Any, max_iter: Any, task_weight: float, task_loss: Callable | None
) -> list[torch.Tensor]:
    """The parameters to train, after checking the arguments of :func:`fit_model`."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no parameters that require gradients.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative int, got {max_iter!r}.")
    if not np.isfinite(task_weight) or task_weight < 0:
        raise ValueError(f"task_weight must be a non-negative number, got {task_weight!r}.")
    if task_weight > 0 and task_loss is None:
        raise ValueError("task_weight > 0 needs a task_loss.")
    return params


@dataclass(frozen=True)
class _Fit:
    """What one evaluation of :func:`fit_model` needs besides the model: the reference ``x``
    (flattened: ``xf``), the objective and the task loss."""

    inputs: Any
    x: torch.Tensor
    xf: torch.Tensor
    n_cond: int | None
    objective: Objective
    activity: Callable[[torch.nn.Module, Any], torch.Tensor] | None
    task_loss: Callable[[Any], torch.Tensor] | None
    task_weight: float

    @classmethod
    def of(
        cls,
        inputs: Any,
        x: torch.Tensor,
        objective: Objective,
        activity: Callable[[torch.nn.Module, Any], torch.Tensor] | None,
        task_loss: Callable[[Any], torch.Tensor] | None,
        task_weight: float,
    ) -> _Fit:
        """The evaluation against reference ``x`` (flattened here when 3-D)."""
        xf = flatten_time(x) if x.ndim == 3 else x
        n_cond = x.shape[1] if x.ndim == 3 else None
        return cls(inputs, x, xf, n_cond, objective, activity, task_loss, task_weight)

    def evaluate(self, model: torch.nn.Module, k: int) -> tuple[np.ndarray, torch.Tensor, float]:
        """The measure values (host, float), the total loss (for the backward) and the task
        loss (NaN without one) of the model's current activity."""
        if self.activity is None:
            output, act = _default_activity(model, self.inputs)
        else:
            act, output = self.activity(model, self.inputs), None
        act = torch.as_tensor(act)
        x = self.x
        if tuple(act.shape[:-1]) != tuple(x.shape[:-1]):
            raise ValueError(
                f"the model's activity has shape {tuple(act.shape)} but the reference is "
                f"{tuple(x.shape)}: they must agree on all but the last (units) axis."
            )
        af = flatten_time(act) if x.ndim == 3 else act
        vals = self.objective.values(self.xf, af.to(x.dtype), self.n_cond)
        obj = self.objective.loss_of(vals)
        tl = None
        if self.task_loss is not None and output is not None:
            tl = self.task_loss(output)
        elif self.task_loss is not None:
            tl = self.task_loss(_default_activity(model, self.inputs)[0])
        w = self.task_weight
        total = obj + (w * tl if (tl is not None and w > 0) else 0.0)
        v = vals.detach().cpu().numpy().astype(float)
        tlv = float(tl.detach()) if tl is not None else float("nan")
        if not (np.isfinite(v).all() and np.isfinite(float(total.detach()))):
            raise FloatingPointError(
                f"fit_model: the score or loss became NaN or infinite at iteration {k}."
            )
        return v, total, tlv


def _backward_step(opt: Any, params: list[torch.Tensor], total: torch.Tensor, k: int) -> None:
    """One backward of ``total`` and one optimizer step; refuses non-finite gradients."""
    opt.zero_grad(set_to_none=True)
    total.backward()
    for p in params:
        if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
            raise FloatingPointError(
                f"fit_model: a gradient became NaN or infinite at iteration {k}."
            )
    opt.step()


def fit_model(
    model: torch.nn.Module,
    inputs: Any,
    reference: Any,
    measure: Any,
    *,
    activity: Callable[[torch.nn.Module, Any], torch.Tensor] | None = None,
    task_loss: Callable[[Any], torch.Tensor] | None = None,
    task_weight: float = 0.0,
    optimizer: Any = "adam",
    lr: float = 1e-2,
    max_iter: int = 500,
    target: float | None = None,
    loss: str = "l1",
    callback: Callable[[int, float], Any] | None = None,
) -> FitHistory:
    """Train ``model`` in place towards ``reference`` under ``measure`` (and a task).

    Parameters
    ----------
    model : any module; all its parameters that require gradients are optimized.
    inputs : passed to ``model`` (or to ``activity``) unchanged.
    reference : a simgrad ``Dataset`` or an array, ``(samples, units)`` or
        ``(time, conditions, units)``, cast to the dtype of the model's parameters.
    measure : a measure name / Measure, or ``{measure: target}`` for joint targets.
    activity : ``activity(model, inputs)`` → the activity to compare (e.g. the states at the
        recording's time points). The task loss then sees the output of a second
        ``model(inputs)`` call (its first element when it returns a tuple).
    task_loss, task_weight : ``task_loss(output)`` → scalar, added with weight ``task_weight``
        (it is recorded even when the weight is 0).
    optimizer, lr, max_iter : Adam at lr 0.01 for at most 500 steps by default.
    target : stop once the score reaches it (distance: falls to it); ``None`` never stops.
    callback : ``callback(iteration, score)``; a true return value stops; ``KeyboardInterrupt``
        (or Ctrl-C) stops and returns the history so far with ``interrupted=True``.
    """
    params = _trainable(model, max_iter, task_weight, task_loss)
    objective = Objective.resolve(measure, loss=loss)
    x = reference_tensor(reference, dtype=params[0].dtype, device=params[0].device)
    fit = _Fit.of(inputs, x, objective, activity, task_loss, task_weight)
    dist = (not objective.joint) and objective.measures[0].is_distance
    opt = make_optimizer(optimizer, params, float(lr))
    scores, tls, losses = [], [], []
    converged = interrupted = False
    t0 = time.perf_counter()
    k = 0
    with InterruptFlag() as flag:
        for k in range(int(max_iter) + 1):
            v, total, tlv = fit.evaluate(model, k)
            scores.append(v if objective.joint else float(v[0]))
            tls.append(tlv)
            losses.append(float(total.detach()))
            if target is not None and not objective.joint:
                converged = scores[-1] <= target if dist else scores[-1] >= target
            stop = flag.ask(callback, k, scores[-1])
            interrupted = flag.set
            if converged or stop or interrupted or k == max_iter:
                break
            _backward_step(opt, params, total, k)
    dt = time.perf_counter() - t0
    return FitHistory(
        measure=" & ".join(objective.names) if objective.joint else objective.names[0],
        measures=objective.names,
        scores=np.asarray(scores),
        task_losses=np.asarray(tls),
        losses=np.asarray(losses),
        n_iter=k,
        converged=bool(converged),
        interrupted=interrupted,
        timings={"total": dt, "per_iteration": dt / max(1, k)},
    )
