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
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .objective import Objective
from .trajectory import Recorder, Trajectory, scale_of

__all__ = ["NonFiniteError", "make_optimizer", "run_batch"]


class NonFiniteError(FloatingPointError):
    """A score or gradient became NaN or infinite during an optimization.

    ``trajectories`` holds the runs up to the last finite score (their ``final`` is the
    iterate that failed, kept for inspection).
    """

    def __init__(self, message: str, trajectories: list[Trajectory] | None = None):
        super().__init__(message)
        self.trajectories = trajectories or []


class Adam:
    """Adam with torch's defaults (betas 0.9, 0.999, eps 1e-8, no weight decay), the same
    arithmetic as ``torch.optim.Adam``'s single-tensor path, without its per-step bookkeeping
    (which costs as much as a small measure's backward)::

        m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
    """

    def __init__(self, params: Sequence[torch.Tensor], lr: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self, set_to_none: bool = True) -> None:  # noqa: ARG002
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / math.sqrt(bc2)).add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / bc1)


def make_optimizer(optimizer: Any, params: Sequence[torch.Tensor], lr: float):
    """``"adam"`` (default betas), ``"sgd"``, an Optimizer subclass, or a factory ``f(params)``."""
    if isinstance(optimizer, str):
        name = optimizer.lower()
        if name == "adam":
            return Adam(params, lr=lr)
        if name == "sgd":
            return torch.optim.SGD(params, lr=lr)
        raise ValueError(
            f"optimizer must be 'adam', 'sgd' or a torch optimizer, got {optimizer!r}."
        )
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer(params, lr=lr)
    if callable(optimizer):
        return optimizer(params)
    raise TypeError(
        f"optimizer must be a name, an Optimizer class or a factory, got {optimizer!r}."
    )


class _InterruptFlag:
    """Turns the first SIGINT into a flag (main thread only) for the duration of a run."""

    def __init__(self) -> None:
        self.set = False
        self._old: Any = None

    def _handler(self, signum, frame):  # noqa: ARG002
        self.set = True
        signal.signal(signal.SIGINT, self._old)  # a second Ctrl-C interrupts at once

    def __enter__(self) -> _InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            try:
                self._old = signal.signal(signal.SIGINT, self._handler)
            except (ValueError, TypeError):  # embedded interpreters
                self._old = None
        return self

    def __exit__(self, *exc) -> None:
        if self._old is not None and signal.getsignal(signal.SIGINT) == self._handler:
            signal.signal(signal.SIGINT, self._old)


def _flat(y: torch.Tensor, core_ndim: int) -> torch.Tensor:
    if core_ndim == 3:
        return y.reshape(*y.shape[:-3], y.shape[-3] * y.shape[-2], y.shape[-1])
    return y


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
    """
    t_start = time.perf_counter()
    n_batch = y0.shape[0]
    shape = tuple(y0.shape[1:])
    core = len(shape)
    n_cond = shape[1] if core == 3 else None
    y = y0.detach().clone().requires_grad_(True)
    params = [y]
    free_x = x0 is not None
    if free_x:
        xp = x0.detach().clone().requires_grad_(True)
        params.append(xp)
    else:
        xf = _flat(x.detach(), core)
    opt = make_optimizer(optimizer, params, lr)
    held = [p.detach().clone() for p in params]
    frozen = torch.zeros(n_batch, dtype=torch.bool, device=y.device)
    active = list(range(n_batch))
    n_meas = len(objective.measures)
    vals_hist: list[list[np.ndarray]] = [[] for _ in range(n_batch)]
    loss_hist: list[list[float]] = [[] for _ in range(n_batch)]
    recorders: list[Recorder | None] = [None] * n_batch
    results: list[Trajectory | None] = [None] * n_batch
    n_values = int(np.prod(shape))
    interrupted = False
    any_frozen = False
    k = 0

    def finalize(i: int, k_last: int, reached: bool, was_interrupted: bool) -> None:
        yi = y.detach()[i].cpu().numpy()
        s = vals_hist[i][-1]
        rec = recorders[i]
        assert rec is not None
        its, arr = rec.finish(k_last, yi, s)
        vals = np.asarray(vals_hist[i])
        results[i] = Trajectory(
            measure=" & ".join(objective.names) if objective.joint else objective.names[0],
            measures=objective.names,
            is_distance=objective.is_distance,
            scores=vals if objective.joint else vals[:, 0],
            recorded_iterations=its,
            recorded=arr,
            final=np.array(yi, dtype=np.float64),
            seed=int(seeds[i]),
            converged=bool(reached),
            n_iter=k_last,
            interrupted=was_interrupted,
            targets=objective.targets_of(i),
            loss=np.asarray(loss_hist[i]),
            final_reference=(
                np.array(xp.detach()[i].cpu().numpy(), dtype=np.float64) if free_x else None
            ),
            settings=dict(settings or {}),
        )

    t_loop = time.perf_counter()
    with _InterruptFlag() as flag:
        for k in range(max_iter + 1):
            whole = len(active) == n_batch
            idx = None if whole else torch.as_tensor(active, device=y.device)
            ya = y if whole else y.index_select(0, idx)
            if free_x:
                xa = _flat(xp if whole else xp.index_select(0, idx), core)
            else:
                xa = xf
            vals = objective.values(xa, _flat(ya, core), n_cond).reshape(len(active), n_meas)
            loss = objective.loss_of(vals, idx)
            host = torch.cat([vals.detach().reshape(-1), loss.detach()]).cpu().numpy()
            hv = host[: len(active) * n_meas].reshape(len(active), n_meas).astype(np.float64)
            hl = host[len(active) * n_meas :].astype(np.float64)
            if not np.isfinite(host).all():
                bad = [seeds[active[j]] for j in np.where(~np.isfinite(hv).all(1))[0]]
                for i in active:
                    if len(vals_hist[i]):
                        finalize(i, k - 1, False, False)
                raise NonFiniteError(
                    f"The value of {objective.names} became NaN or infinite at iteration {k} "
                    f"(seeds {bad}).",
                    [r for r in results if r is not None],
                )
            for j, i in enumerate(active):
                vals_hist[i].append(hv[j])
                loss_hist[i].append(float(hl[j]))
            if k == 0:
                for j, i in enumerate(active):
                    scale = 1.0
                    if n_meas == 1 and objective.measures[0].is_distance:
                        scale = scale_of(hv[j, 0])
                    recorders[i] = Recorder(
                        record, max_iter=max_iter, n_values=n_values, score_scale=scale
                    )
            reached = np.asarray(stop(hv), dtype=bool).reshape(len(active))
            user_stop = False
            if callback is not None:
                try:
                    user_stop = bool(callback(k, hv[:, 0] if n_meas == 1 else hv))
                except KeyboardInterrupt:
                    flag.set = True
            if flag.set:
                interrupted = True
            last = k == max_iter or interrupted or user_stop
            done = reached | last
            for j, i in enumerate(active):
                rec = recorders[i]
                assert rec is not None
                if not done[j] and rec.wants(k, hv[j] if n_meas > 1 else hv[j, 0]):
                    rec.keep(k, y.detach()[i].cpu().numpy(), hv[j] if n_meas > 1 else hv[j, 0])
            for j in np.where(done)[0]:
                i = active[j]
                finalize(i, k, bool(reached[j]), interrupted)
                frozen[i] = True
                any_frozen = True
                for h, p in zip(held, params):
                    h[i] = p.detach()[i]
            active = [i for j, i in enumerate(active) if not done[j]]
            if not active:
                break
            opt.zero_grad(set_to_none=True)
            keep = torch.as_tensor(~done, device=loss.device)
            (loss[keep] if done.any() else loss).sum().backward()
            gsum = sum(p.grad.sum() for p in params if p.grad is not None)
            if not math.isfinite(float(gsum)):
                for i in active:
                    finalize(i, k, False, False)
                raise NonFiniteError(
                    f"The gradient of {objective.names} became NaN or infinite at iteration {k} "
                    f"(seeds {[seeds[i] for i in active]}).",
                    [r for r in results if r is not None],
                )
            opt.step()
            if any_frozen:
                with torch.no_grad():
                    for h, p in zip(held, params):
                        p[frozen] = h[frozen]
    t_end = time.perf_counter()
    n_steps = max(1, k)
    timings = {
        "setup": t_loop - t_start,
        "loop": t_end - t_loop,
        "total": t_end - t_start,
        "per_iteration": (t_end - t_loop) / n_steps,
    }
    out: list[Trajectory] = []
    for r in results:
        assert r is not None
        r.timings = dict(timings)
        out.append(r)
    return out
