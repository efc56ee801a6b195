"""Allowed regions of two scores: which pairs (m_a, m_b) can co-occur (paper §4.5, Fig. 7).

Runs are sent to targets ``(t_a, t_b)`` around the boundary of the unit square by minimizing
``|m_a(X, Y) − t_a| + |m_b(X, Y) − t_b|`` (``loss="squared"``: the squared version); the score
pairs they reach trace the region's boundary. Every target is one element of a batch, so the
whole square costs one batched optimization.

Variants (the paper's code has both):

- ``"fixed"`` (A): the reference X is held fixed; only Y is optimized (Adam lr 0.1, no early
  stop), every target starting from the same Y_0 ~ N(0, 1).
- ``"free"`` (B): X and Y are both optimized, from X_0, Y_0 ~ N(0, 1) of shape ``(20, 10)`` by
  default (Adam lr 0.01, 1000 iterations).

The slope analysis near (1, 1) sends two more runs to (0.95, 0) and (0, 0.95) and reports
``slope = (1 − s_b) / (1 − s_a)`` of the line from each reached point to (1, 1): a steep line
from (≈0.95, s_b) means a high m_a forces a high m_b.

>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(30, 6))
>>> r = allowed_region(X, "cka", "nbs", points_per_side=3, max_iter=50)
>>> r.reached.shape, r.polygon.shape
((8, 2), (9, 2))
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .loop import run_batch
from .objective import LOSSES, Objective, resolve_measure
from .optimize import check_run_args, initial_candidates, reference_tensor
from .trajectory import Trajectory

__all__ = ["AllowedRegion", "allowed_region", "boundary_targets"]

VARIANTS = {"fixed": "fixed", "a": "fixed", "free": "free", "b": "free"}


def boundary_targets(points_per_side: int = 5) -> np.ndarray:
    """Targets around the unit square, counter-clockwise from (0, 0): the bottom edge (t, 0),
    the right edge (1, t), the top edge (t, 1) backwards and the left edge (0, t) backwards,
    each corner once: ``4·(points_per_side − 1)`` rows.

    >>> boundary_targets(2).tolist()
    [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    """
    if isinstance(points_per_side, bool) or not isinstance(points_per_side, (int, np.integer)):
        raise TypeError(f"points_per_side must be an int, got {points_per_side!r}.")
    if points_per_side < 2:
        raise ValueError(f"points_per_side must be at least 2, got {points_per_side}.")
    t = np.linspace(0.0, 1.0, int(points_per_side))
    zero, one = np.zeros_like(t), np.ones_like(t)
    edges = [
        np.stack([t, zero], 1),
        np.stack([one, t], 1)[1:],
        np.stack([t[::-1], one], 1)[1:],
        np.stack([zero, t[::-1]], 1)[1:-1],
    ]
    return np.concatenate(edges)


@dataclass
class AllowedRegion:
    """The outcome of :func:`allowed_region`.

    ``targets`` / ``reached`` are ``(K, 2)`` (boundary order); ``polygon`` is the closed
    boundary ``(K + 1, 2)`` through the reached pairs; ``trajectories`` the K boundary runs
    (``scores`` of each: ``(iterations, 2)``); ``slope_targets`` / ``slope_reached`` (2, 2) and
    ``slopes`` (2,) the analysis near (1, 1) (empty when not run); ``ranks`` ``(K, 2)``: the
    ranks of the centred final X and Y of each boundary run (for the NBS–CKA bounds).
    """

    measures: tuple[str, str]
    variant: str
    targets: np.ndarray
    reached: np.ndarray
    polygon: np.ndarray
    trajectories: list[Trajectory]
    slope_targets: np.ndarray
    slope_reached: np.ndarray
    slopes: np.ndarray
    ranks: np.ndarray
    timings: dict = field(default_factory=dict)

    @property
    def area(self) -> float:
        """Area enclosed by the boundary polygon (shoelace formula)."""
        x, y = self.polygon[:, 0], self.polygon[:, 1]
        return float(0.5 * abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))

    def plot(self, ax: Any = None, *, trajectories: bool = True) -> Any:
        """Draw the reached pairs, their boundary and (optionally) the score paths."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4, 4))
        if trajectories:
            for tr in self.trajectories:
                ax.plot(tr.scores[:, 0], tr.scores[:, 1], lw=0.6, color="0.7")
        ax.plot(self.polygon[:, 0], self.polygon[:, 1], "-o", ms=3, color="C0")
        ax.scatter(self.targets[:, 0], self.targets[:, 1], marker="x", s=12, color="0.4")
        for p in self.slope_reached:
            ax.plot([p[0], 1], [p[1], 1], "--", color="C3", lw=0.8)
        ax.axhline(0.9, ls=":", color="0.5")
        ax.axvline(0.9, ls=":", color="0.5")
        ax.set_xlabel(self.measures[0])
        ax.set_ylabel(self.measures[1])
        return ax


def _rank(a: np.ndarray) -> int:
    a = a.reshape(-1, a.shape[-1])
    a = a - a.mean(0)
    s = np.linalg.svd(a, compute_uv=False)
    return int((s > s.max(initial=0.0) * max(a.shape) * np.finfo(float).eps).sum())


def _pair_objective(
    measure_a: Any, measure_b: Any, loss: str, points_per_side: int, targets: Any
) -> tuple[Objective, np.ndarray]:
    """The two measures as an objective (targets set per run later) and the boundary
    targets ``(K, 2)``, checked."""
    ma = resolve_measure(measure_a, "measure_a")
    mb = resolve_measure(measure_b, "measure_b")
    if ma.name == mb.name:
        raise ValueError(f"measure_a and measure_b are the same measure ({ma.name!r}).")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)}, got {loss!r}.")
    base = Objective((ma, mb), np.zeros(2), loss)
    tg = boundary_targets(points_per_side) if targets is None else np.asarray(targets, float)
    if tg.ndim != 2 or tg.shape[1] != 2 or not np.isfinite(tg).all():
        raise ValueError(f"targets must be a finite (K, 2) array, got shape {tg.shape}.")
    return base, tg


def _starting_points(
    variant: str,
    reference: Any,
    shape: tuple[int, ...],
    seed: int,
    n_runs: int,
    *,
    dtype: torch.dtype,
    device: Any,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """``(x, x0, y0)``: the reference (for ``"free"``: the first X_0), the ``(n_runs, *shape)``
    starting references (``None`` for ``"fixed"``) and the starting candidates, every run
    from the same seeded Y_0 (X_0 ~ N(0, 1) from seed ``seed + 1_000_003`` unless given)."""
    if variant == "fixed":
        if reference is None:
            raise ValueError("reference is required for the 'fixed' variant.")
        x = reference_tensor(reference, dtype=dtype, device=device)
        x0 = None
        shp = tuple(x.shape)
    else:
        if reference is None or (
            isinstance(reference, tuple) and all(isinstance(s, int) for s in reference)
        ):
            shp = tuple(reference) if reference is not None else tuple(shape)
            x0 = initial_candidates("gaussian", shp, [seed + 1_000_003], dtype=dtype, device=device)
        else:
            xr = reference_tensor(reference, dtype=dtype, device=device)
            shp = tuple(xr.shape)
            x0 = xr.unsqueeze(0)
        x0 = x0.expand(n_runs, *shp).clone()
        x = x0[0]
    y0 = initial_candidates("gaussian", shp, [seed], dtype=dtype, device=x.device)
    y0 = y0.expand(n_runs, *shp).clone()
    return x, x0, y0


def _region(
    names: list[str],
    variant: str,
    tg: np.ndarray,
    slope_tg: np.ndarray,
    trajs: list[Trajectory],
    x: torch.Tensor,
    t0: float,
) -> AllowedRegion:
    """The :class:`AllowedRegion` of the runs ``trajs`` (the boundary runs first, then the
    slope runs): reached pairs, polygon, ranks of the final X and Y, slopes to (1, 1)."""
    k = len(tg)
    reached = np.stack([np.asarray(t.scores[-1], dtype=float) for t in trajs])
    ref_np = x.detach().cpu().numpy()
    ranks = np.array(
        [
            [_rank(t.final_reference if t.final_reference is not None else ref_np), _rank(t.final)]
            for t in trajs[:k]
        ]
    )
    sr = reached[k:]
    with np.errstate(divide="ignore", invalid="ignore"):
        sl = (1 - sr[:, 1]) / (1 - sr[:, 0]) if len(sr) else np.empty(0)
    return AllowedRegion(
        measures=tuple(names),  # type: ignore[arg-type]
        variant=variant,
        targets=tg,
        reached=reached[:k],
        polygon=np.concatenate([reached[:k], reached[:1]]),
        trajectories=trajs[:k],
        slope_targets=slope_tg,
        slope_reached=sr,
        slopes=np.asarray(sl, dtype=float),
        ranks=ranks,
        timings={
            "total": time.perf_counter() - t0,
            **{f"loop_{key}": val for key, val in trajs[0].timings.items()},
        },
    )


def allowed_region(
    reference: Any,
    measure_a: Any,
    measure_b: Any,
    *,
    points_per_side: int = 5,
    variant: str = "fixed",
    targets: Any = None,
    slopes: bool = True,
    lr: float | None = None,
    max_iter: int = 1000,
    loss: str = "l1",
    seed: int = 0,
    shape: tuple[int, ...] = (20, 10),
    optimizer: Any = "adam",
    record: Any = None,
    device: Any = None,
    dtype: torch.dtype = torch.float64,
    callback: Any = None,
) -> AllowedRegion:
    """Map the region of score pairs (m_a, m_b) reachable against ``reference``.

    Parameters
    ----------
    reference : the fixed reference (variant ``"fixed"``); for ``"free"`` it may be ``None``
        (X_0 ~ N(0, 1) of ``shape``) or an array used as X_0.
    measure_a, measure_b : measure names (or Measures); both must be differentiable.
    points_per_side : targets per side of the unit square (corners shared), see
        :func:`boundary_targets`; or give ``targets`` ``(K, 2)`` explicitly.
    variant : ``"fixed"`` (paper version A) or ``"free"`` (version B).
    slopes : also run (0.95, 0) and (0, 0.95) for the slope analysis near (1, 1).
    lr : 0.1 for ``"fixed"``, 0.01 for ``"free"`` when not given; ``max_iter`` steps, no early stop.
    loss : ``"l1"`` (the paper's) or ``"squared"``.

    record : iterates to keep per run (default: only the first and the last; see
        :func:`~simgrad.optim.optimize`); every run's scores are always kept.
    callback : ``callback(iteration, values)`` after each evaluation (``values`` ``(B, 2)``
        of the runs), e.g. to show progress; a true return value stops every run.

    Every run starts from the same seeded Y_0 (and X_0), as in the paper's code.
    """
    t0 = time.perf_counter()
    v = VARIANTS.get(str(variant).lower())
    if v is None:
        raise ValueError(f"variant must be 'fixed' (A) or 'free' (B), got {variant!r}.")
    lr = (0.1 if v == "fixed" else 0.01) if lr is None else lr
    check_run_args(lr, max_iter, seed, 1)
    base, tg = _pair_objective(measure_a, measure_b, loss, points_per_side, targets)
    slope_tg = np.array([[0.95, 0.0], [0.0, 0.95]]) if slopes else np.empty((0, 2))
    all_tg = np.concatenate([tg, slope_tg])
    objective = base.with_targets(all_tg)
    n_runs = len(all_tg)
    x, x0, y0 = _starting_points(v, reference, shape, seed, n_runs, dtype=dtype, device=device)

    def stop(values: np.ndarray) -> np.ndarray:
        return np.zeros(len(values), dtype=bool)

    settings = dict(variant=v, lr=float(lr), max_iter=int(max_iter), loss=loss, seed=seed)
    trajs = run_batch(
        x=x,
        y0=y0,
        objective=objective,
        stop=stop,
        optimizer=optimizer,
        lr=float(lr),
        max_iter=int(max_iter),
        record=[0] if record is None else record,
        seeds=[seed] * n_runs,
        x0=x0,
        callback=callback,
        settings=settings,
    )
    return _region(base.names, v, tg, slope_tg, trajs, x, t0)
