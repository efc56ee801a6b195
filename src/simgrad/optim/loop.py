"""The batched optimization engine shared by :func:`~simgrad.optim.optimize` and
:func:`~simgrad.optim.allowed_region`.

B independent runs (restarts, or one per target) are one tensor ``Y`` of shape ``(B, *shape)``;
the measures broadcast the reference over the batch. Each iteration evaluates the values of
the current iterates (one forward), stores them, stops the runs that reached their goal
(their rows are frozen and no longer evaluated), then takes one optimizer step on the rest
(one backward). Adam is elementwise, so a batched run takes the same steps as B separate runs.

Ctrl-C is turned into a flag while the loop runs: the loop finishes the current step and
returns every trajectory so far with ``interrupted=True`` (a ``KeyboardInterrupt`` raised by
the callback does the same). A second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .interrupt import InterruptFlag
from .objective import Objective
from .optimizers import make_optimizer
from .trajectory import Recorder, Trajectory, scale_of

__all__ = ["NonFiniteError", "run_batch"]


class NonFiniteError(FloatingPointError):
    """A score or gradient became NaN or infinite during an optimization.

    ``trajectories`` holds the runs up to the last finite score (their ``final`` is the
    iterate that failed, kept for inspection).
    """

    def __init__(self, message: str, trajectories: list[Trajectory] | None = None):
        super().__init__(message)
        self.trajectories = trajectories or []


def _flat(y: torch.Tensor, core_ndim: int) -> torch.Tensor:
    """``(..., T, C, N)`` → ``(..., T·C, N)`` for 3-D data; 2-D data unchanged."""
    if core_ndim == 3:
        return y.reshape(*y.shape[:-3], y.shape[-3] * y.shape[-2], y.shape[-1])
    return y


@dataclass
class _Batch:
    """The state of a batched run: the parameters (``y``, and ``xp`` when the references are
    optimized too) with their optimizer, the runs still ``active``, the rows ``frozen`` at
    their last iterate (restored from ``held`` after every step), and what each run has
    stored so far (values, losses, its recorder, its finished trajectory)."""

    objective: Objective
    seeds: Sequence[int]
    settings: dict
    y: torch.Tensor
    xp: torch.Tensor | None
    xf: torch.Tensor | None
    params: list[torch.Tensor]
    opt: Any
    held: list[torch.Tensor]
    frozen: torch.Tensor
    active: list[int]
    vals_hist: list[list[np.ndarray]]
    loss_hist: list[list[float]]
    recorders: list[Recorder | None]
    results: list[Trajectory | None]
    any_frozen: bool = False
    core: int = field(init=False)
    n_cond: int | None = field(init=False)
    n_meas: int = field(init=False)

    def __post_init__(self) -> None:
        shape = tuple(self.y.shape[1:])
        self.core = len(shape)
        self.n_cond = shape[1] if self.core == 3 else None
        self.n_meas = len(self.objective.measures)

    @classmethod
    def start(
        cls,
        x: torch.Tensor,
        y0: torch.Tensor,
        x0: torch.Tensor | None,
        objective: Objective,
        optimizer: Any,
        lr: float,
        seeds: Sequence[int],
        settings: dict | None,
    ) -> _Batch:
        """The initial state: ``y0`` (and ``x0``) cloned into leaf tensors, all runs active."""
        n_batch = y0.shape[0]
        core = y0.ndim - 1
        y = y0.detach().clone().requires_grad_(True)
        params = [y]
        xp = xf = None
        if x0 is not None:
            xp = x0.detach().clone().requires_grad_(True)
            params.append(xp)
        else:
            xf = _flat(x.detach(), core)
        opt = make_optimizer(optimizer, params, lr)
        return cls(
            objective=objective,
            seeds=seeds,
            settings=dict(settings or {}),
            y=y,
            xp=xp,
            xf=xf,
            params=params,
            opt=opt,
            held=[p.detach().clone() for p in params],
            frozen=torch.zeros(n_batch, dtype=torch.bool, device=y.device),
            active=list(range(n_batch)),
            vals_hist=[[] for _ in range(n_batch)],
            loss_hist=[[] for _ in range(n_batch)],
            recorders=[None] * n_batch,
            results=[None] * n_batch,
        )

    @property
    def n_batch(self) -> int:
        return self.y.shape[0]

    def finish(self, i: int, k_last: int, reached: bool, interrupted: bool) -> None:
        """Store run ``i``'s trajectory, ending at iteration ``k_last``."""
        yi = self.y.detach()[i].cpu().numpy()
        rec = self.recorders[i]
        assert rec is not None
        its, arr = rec.finish(k_last, yi, self.vals_hist[i][-1])
        vals = np.asarray(self.vals_hist[i])
        obj = self.objective
        xp = self.xp
        self.results[i] = Trajectory(
            measure=" & ".join(obj.names) if obj.joint else obj.names[0],
            measures=obj.names,
            is_distance=obj.is_distance,
            scores=vals if obj.joint else vals[:, 0],
            recorded_iterations=its,
            recorded=arr,
            final=np.array(yi, dtype=np.float64),
            seed=int(self.seeds[i]),
            converged=bool(reached),
            n_iter=k_last,
            interrupted=interrupted,
            targets=obj.targets_of(i),
            loss=np.asarray(self.loss_hist[i]),
            final_reference=(
                np.array(xp.detach()[i].cpu().numpy(), dtype=np.float64) if xp is not None else None
            ),
            settings=dict(self.settings),
        )

    def finished(self) -> list[Trajectory]:
        return [r for r in self.results if r is not None]


def _evaluate(b: _Batch, k: int) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """One forward of the active runs: the loss tensor (kept for the backward) and the values
    ``(b, M)`` and losses ``(b,)`` on the host, float64. Non-finite values end every run at
    the previous iteration and raise :class:`NonFiniteError`."""
    n_act, n_meas = len(b.active), b.n_meas
    whole = n_act == b.n_batch
    idx = None if whole else torch.as_tensor(b.active, device=b.y.device)
    ya = b.y if whole else b.y.index_select(0, idx)
    if b.xp is not None:
        xa = _flat(b.xp if whole else b.xp.index_select(0, idx), b.core)
    else:
        xa = b.xf
    vals = b.objective.values(xa, _flat(ya, b.core), b.n_cond).reshape(n_act, n_meas)
    loss = b.objective.loss_of(vals, idx)
    host = torch.cat([vals.detach().reshape(-1), loss.detach()]).cpu().numpy()
    hv = host[: n_act * n_meas].reshape(n_act, n_meas).astype(np.float64)
    hl = host[n_act * n_meas :].astype(np.float64)
    if not np.isfinite(host).all():
        bad = [b.seeds[b.active[j]] for j in np.where(~np.isfinite(hv).all(1))[0]]
        for i in b.active:
            if len(b.vals_hist[i]):
                b.finish(i, k - 1, False, False)
        raise NonFiniteError(
            f"The value of {b.objective.names} became NaN or infinite at iteration {k} "
            f"(seeds {bad}).",
            b.finished(),
        )
    return loss, hv, hl


def _store(b: _Batch, k: int, hv: np.ndarray, hl: np.ndarray, record: Any, max_iter: int) -> None:
    """Append the values and losses of the active runs; at iteration 0 also create their
    recorders (a single distance's score step scales with its initial value)."""
    for j, i in enumerate(b.active):
        b.vals_hist[i].append(hv[j])
        b.loss_hist[i].append(float(hl[j]))
    if k == 0:
        n_values = int(np.prod(tuple(b.y.shape[1:])))
        for j, i in enumerate(b.active):
            scale = 1.0
            if b.n_meas == 1 and b.objective.measures[0].is_distance:
                scale = scale_of(hv[j, 0])
            b.recorders[i] = Recorder(
                record, max_iter=max_iter, n_values=n_values, score_scale=scale
            )


def _keep_iterates(b: _Batch, k: int, hv: np.ndarray, done: np.ndarray) -> None:
    """Let the recorder of every run that goes on keep ``Y_k`` if its policy wants it (a run
    that stops now keeps its last iterate in :meth:`_Batch.finish`)."""
    for j, i in enumerate(b.active):
        rec = b.recorders[i]
        assert rec is not None
        if not done[j] and rec.wants(k, hv[j] if b.n_meas > 1 else hv[j, 0]):
            rec.keep(k, b.y.detach()[i].cpu().numpy(), hv[j] if b.n_meas > 1 else hv[j, 0])


def _freeze(b: _Batch, k: int, done: np.ndarray, reached: np.ndarray, interrupted: bool) -> None:
    """Finish the runs that are ``done``, freeze their rows at the current iterate and drop
    them from the active set."""
    for j in np.where(done)[0]:
        i = b.active[j]
        b.finish(i, k, bool(reached[j]), interrupted)
        b.frozen[i] = True
        b.any_frozen = True
        for h, p in zip(b.held, b.params):
            h[i] = p.detach()[i]
    b.active = [i for j, i in enumerate(b.active) if not done[j]]


def _step(b: _Batch, k: int, loss: torch.Tensor, done: np.ndarray) -> None:
    """One backward of the loss of the runs that go on and one optimizer step; the frozen
    rows are put back afterwards. A non-finite gradient ends the active runs at ``k`` and
    raises :class:`NonFiniteError`."""
    b.opt.zero_grad(set_to_none=True)
    keep = torch.as_tensor(~done, device=loss.device)
    (loss[keep] if done.any() else loss).sum().backward()
    gsum = sum(p.grad.sum() for p in b.params if p.grad is not None)
    if not math.isfinite(float(gsum)):
        for i in b.active:
            b.finish(i, k, False, False)
        raise NonFiniteError(
            f"The gradient of {b.objective.names} became NaN or infinite at iteration {k} "
            f"(seeds {[b.seeds[i] for i in b.active]}).",
            b.finished(),
        )
    b.opt.step()
    if b.any_frozen:
        with torch.no_grad():
            for h, p in zip(b.held, b.params):
                p[b.frozen] = h[b.frozen]


def run_batch(
    *,
    x: torch.Tensor,
    y0: torch.Tensor,
    objective: Objective,
    stop: Callable[[np.ndarray], np.ndarray],
    optimizer: Any = "adam",
    lr: float = 0.1,
    max_iter: int = 1000,
    record: Any = "auto",
    seeds: Sequence[int],
    x0: torch.Tensor | None = None,
    callback: Callable[[int, np.ndarray], Any] | None = None,
    settings: dict | None = None,
) -> list[Trajectory]:
    """Optimize B runs at once.

    ``x`` is the reference ``(*shape)`` (fixed) and ``y0`` the initial candidates ``(B, *shape)``;
    with ``x0`` (``(B, *shape)``) the references are optimized too, starting from ``x0``.
    ``stop(values)`` maps the ``(b, M)`` values of the active runs to a boolean ``(b,)``.
    Iteration k: evaluate the active runs, store, decide who stops (goal reached, last
    iteration, callback, Ctrl-C), record, freeze the stopped ones, step the rest.
    """
    t_start = time.perf_counter()
    b = _Batch.start(x, y0, x0, objective, optimizer, lr, seeds, settings)
    t_loop = time.perf_counter()
    k = 0
    with InterruptFlag() as flag:
        for k in range(max_iter + 1):
            loss, hv, hl = _evaluate(b, k)
            _store(b, k, hv, hl, record, max_iter)
            reached = np.asarray(stop(hv), dtype=bool).reshape(len(b.active))
            user_stop = flag.ask(callback, k, hv[:, 0] if b.n_meas == 1 else hv)
            interrupted = flag.set
            done = reached | (k == max_iter or interrupted or user_stop)
            _keep_iterates(b, k, hv, done)
            _freeze(b, k, done, reached, interrupted)
            if not b.active:
                break
            _step(b, k, loss, done)
    t_end = time.perf_counter()
    timings = {
        "setup": t_loop - t_start,
        "loop": t_end - t_loop,
        "total": t_end - t_start,
        "per_iteration": (t_end - t_loop) / max(1, k),
    }
    out = b.finished()
    for r in out:
        r.timings = dict(timings)
    return out
