"""``sg.optimize``: gradient search for synthetic data whose score against a reference rises.

Starting from ``Y_0 ~ N(0, 1)`` with the reference's shape, Adam (lr 0.1, default betas)
minimizes ``−score`` (or ``+distance``) until the score reaches ``target`` (a distance: falls
to it) or ``max_iter`` steps were taken::

    Y_{k+1} = Adam(Y_k, ∇_Y loss(X, Y_k)),   loss = −m(X, Y)  or  +d(X, Y)

With a dict ``{measure: target, …}`` the measures are driven jointly to their targets by
minimizing Σ|m_j − t_j| (``loss="l1"``) or Σ(m_j − t_j)² (``loss="squared"``).

>>> import numpy as np, simgrad as sg
>>> X = np.random.default_rng(0).normal(size=(60, 5))
>>> traj = sg.optimize(X, "cka", target=0.95, max_iter=300)
>>> traj.converged, bool(traj.scores[-1] >= 0.95)
(True, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .._array import as_tensor
from .loop import run_batch
from .objective import Objective
from .trajectory import Trajectory

__all__ = [
    "check_run_args",
    "initial_candidates",
    "optimize",
    "optimize_seeds",
    "reference_tensor",
    "stop_rule",
]


def reference_tensor(
    reference: Any, *, dtype: torch.dtype, device: Any, name: str = "reference"
) -> torch.Tensor:
    """The reference as a tensor: a simgrad Dataset (its ``.data``) or an array, 2-D or 3-D."""
    data = (
        getattr(reference, "data", reference)
        if not isinstance(reference, (np.ndarray, torch.Tensor))
        else reference
    )
    x = as_tensor(data, name, dtype=dtype, device=device)
    if x.ndim not in (2, 3):
        raise ValueError(
            f"{name} must be (samples, units) or (time, conditions, units); "
            f"got shape {tuple(x.shape)}."
        )
    n = x.shape[0] * (x.shape[1] if x.ndim == 3 else 1)
    if n < 2 or x.shape[-1] < 1:
        raise ValueError(f"{name} needs at least 2 samples and 1 unit; got shape {tuple(x.shape)}.")
    return x.detach()


def initial_candidates(
    init: Any, shape: tuple[int, ...], seeds: list[int], *, dtype: torch.dtype, device: Any
) -> torch.Tensor:
    """``(R, *shape)`` starting points: N(0, 1) from ``torch.Generator().manual_seed(seed)``
    (drawn in float64 on the CPU, so every dtype and device starts from the same numbers), or
    a given array of ``shape`` (shared by all runs) or ``(R, *shape)``."""
    if isinstance(init, str):
        if init != "gaussian":
            raise ValueError(f"init must be 'gaussian' or an array, got {init!r}.")
        ys = []
        for s in seeds:
            g = torch.Generator().manual_seed(int(s))
            ys.append(torch.randn(shape, generator=g, dtype=torch.float64))
        return torch.stack(ys).to(dtype=dtype, device=device)
    y = as_tensor(init, "init", dtype=dtype, device=device).detach()
    if tuple(y.shape) == shape:
        return y.unsqueeze(0).expand(len(seeds), *shape).clone()
    if tuple(y.shape) == (len(seeds), *shape):
        return y.clone()
    raise ValueError(
        f"init must have the reference's shape {shape} (or ({len(seeds)}, *shape) for "
        f"{len(seeds)} restarts); got {tuple(y.shape)}."
    )


def check_run_args(lr: Any, max_iter: Any, seed: Any, restarts: Any) -> None:
    """Refuse a bad ``lr`` (positive, finite), ``max_iter`` (int ≥ 0), ``seed`` (int ≥ 0) or
    ``restarts`` (int ≥ 1), the arguments every optimization takes."""
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative int, got {max_iter!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}.")
    if isinstance(restarts, bool) or not isinstance(restarts, (int, np.integer)) or restarts < 1:
        raise ValueError(f"restarts must be a positive int, got {restarts!r}.")
    if not isinstance(lr, (int, float, np.floating)) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr!r}.")


def _check_stopping(target: Any, tol: Any, dtype: Any) -> None:
    if target is not None and not np.isfinite(float(target)):
        raise ValueError(f"target must be a finite number or None, got {target!r}.")
    if tol is not None and (not np.isfinite(float(tol)) or tol < 0):
        raise ValueError(f"tol must be a non-negative number or None, got {tol!r}.")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch dtype, got {dtype!r}.")


def _settings(
    optimizer: Any,
    lr: float,
    max_iter: int,
    target: float | None,
    tol: float | None,
    loss: str,
    init: Any,
    dtype: torch.dtype,
    device: torch.device,
    restarts: int,
) -> dict:
    """The arguments of a run as plain values, for :attr:`Trajectory.settings`."""
    return dict(
        optimizer=optimizer if isinstance(optimizer, str) else repr(optimizer),
        lr=float(lr),
        max_iter=int(max_iter),
        target=None if target is None else float(target),
        tol=tol,
        loss=loss,
        init=init if isinstance(init, str) else "array",
        dtype=str(dtype).replace("torch.", ""),
        device=str(device),
        restarts=int(restarts),
    )


def stop_rule(
    objective: Objective, target: float | None, tol: float | None
) -> Callable[[np.ndarray], np.ndarray]:
    """``stop(values)``: which runs, given their ``(b, M)`` values, have reached their goal.

    One measure: the score reached ``target`` (a distance: fell to it); joint targets: every
    ``|m_j − t_j| ≤ tol``. ``None`` never stops.

    >>> stop = stop_rule(Objective.resolve("cka"), 0.9, None)
    >>> stop(np.array([[0.5], [0.95]])).tolist()
    [False, True]
    """
    if objective.joint:
        tgt = objective.targets

        def stop(values: np.ndarray) -> np.ndarray:
            if tol is None:
                return np.zeros(len(values), dtype=bool)
            return (np.abs(values - tgt) <= tol).all(1)

        return stop
    dist = objective.measures[0].is_distance

    def stop(values: np.ndarray) -> np.ndarray:
        if target is None:
            return np.zeros(len(values), dtype=bool)
        v = values[:, 0]
        return v <= target if dist else v >= target

    return stop


def optimize(
    reference: Any,
    measure: Any,
    *,
    init: Any = "gaussian",
    seed: int = 0,
    optimizer: Any = "adam",
    lr: float = 0.1,
    max_iter: int = 1000,
    target: float | None = 0.99,
    record: Any = "auto",
    device: Any = None,
    dtype: torch.dtype = torch.float64,
    restarts: int = 1,
    loss: str = "l1",
    tol: float | None = None,
    callback: Callable[[int, np.ndarray], Any] | None = None,
) -> Trajectory | list[Trajectory]:
    """Optimize synthetic data ``Y`` towards ``reference`` under one measure (or several).

    Parameters
    ----------
    reference : a simgrad ``Dataset`` or an array ``(samples, units)`` or
        ``(time, conditions, units)``; it is held fixed.
    measure : a measure name, a ``Measure``, or a dict ``{measure: target}`` for joint targets.
    init : ``"gaussian"`` (Y_0 ~ N(0, 1), seeded) or an array of the reference's shape.
    seed : restart r uses seed ``seed + r``; the same seed gives the same trajectory.
    optimizer, lr : ``"adam"`` (default betas) or ``"sgd"`` or a torch optimizer class.
    max_iter : at most this many optimizer steps.
    target : stop once the score reaches it (a distance: falls to it); ``None`` never stops
        early. Joint targets use ``tol`` instead: stop once every |m_j − t_j| ≤ tol.
    record : which iterates to keep: ``"auto"``, ``"all"``, an int stride or an iterable.
    device, dtype : where and in what precision to compute (float64 by default).
    restarts : R > 1 optimizes R seeds as one batched run and returns a list of R trajectories.
    loss : joint targets only: ``"l1"`` (the paper's) or ``"squared"``.
    callback : ``callback(iteration, scores)`` after each evaluation (scores of the running
        restarts); a true return value stops; raising ``KeyboardInterrupt`` in it is treated
        like Ctrl-C: the trajectory so far is returned with ``interrupted=True``.

    Returns
    -------
    A :class:`Trajectory` (a list of them when ``restarts > 1``).
    """
    check_run_args(lr, max_iter, seed, restarts)
    trajs = optimize_seeds(
        reference,
        measure,
        [int(seed) + r for r in range(int(restarts))],
        init=init,
        optimizer=optimizer,
        lr=lr,
        max_iter=max_iter,
        target=target,
        record=record,
        device=device,
        dtype=dtype,
        loss=loss,
        tol=tol,
        callback=callback,
    )
    return trajs[0] if restarts == 1 else trajs


def optimize_seeds(
    reference: Any,
    measure: Any,
    seeds: Sequence[int],
    *,
    init: Any = "gaussian",
    optimizer: Any = "adam",
    lr: float = 0.1,
    max_iter: int = 1000,
    target: float | None = 0.99,
    record: Any = "auto",
    device: Any = None,
    dtype: torch.dtype = torch.float64,
    loss: str = "l1",
    tol: float | None = None,
    callback: Callable[[int, np.ndarray], Any] | None = None,
) -> list[Trajectory]:
    """One batched run per seed of ``seeds`` (any distinct seeds ≥ 0, in any order): the
    engine of :func:`optimize`, whose ``restarts=R`` is ``seeds = [seed, …, seed + R − 1]``.

    Run ``r`` starts from the Gaussian drawn with ``seeds[r]``, exactly as
    ``optimize(..., seed=seeds[r])`` does; the runs are one ``(R, *shape)`` tensor evaluated
    and stepped together (Adam is elementwise), so each trajectory equals its single-seed run
    up to the rounding of batched instead of single matrix products. Returns one
    :class:`Trajectory` per seed, in the order of ``seeds``.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(30, 4))
    >>> [t.seed for t in optimize_seeds(X, "cka", [4, 1], max_iter=5)]
    [4, 1]
    """
    t0 = time.perf_counter()
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed.")
    for s in seeds:
        check_run_args(lr, max_iter, s, 1)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}.")
    objective = Objective.resolve(measure, loss=loss)
    _check_stopping(target, tol, dtype)
    x = reference_tensor(reference, dtype=dtype, device=device)
    y0 = initial_candidates(init, tuple(x.shape), seeds, dtype=dtype, device=x.device)
    stop = stop_rule(objective, target, tol)
    settings = _settings(
        optimizer, lr, max_iter, target, tol, loss, init, dtype, x.device, len(seeds)
    )
    trajs = run_batch(
        x=x,
        y0=y0,
        objective=objective,
        stop=stop,
        optimizer=optimizer,
        lr=float(lr),
        max_iter=int(max_iter),
        record=record,
        seeds=seeds,
        callback=callback,
        settings=settings,
    )
    setup = time.perf_counter() - t0 - trajs[0].timings["total"]
    for t in trajs:
        t.timings["setup"] += setup
        t.timings["total"] += setup
    return trajs
