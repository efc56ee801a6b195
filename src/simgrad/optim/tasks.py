"""Task generators for the worked example of fitting a network to recordings.

- :func:`context_integration_task`: the context-dependent integration task of Mante et al.
  (2013): a motion and a colour stream with signed coherences; a context cue says which one
  to report; the network fixates, then chooses the sign of the relevant stream. Conditions are
  ordered context (motion first, then colour) × motion coherence × colour coherence, the order
  of ``sg.datasets.load("context")``, so the activity lines up with that reference.
- :func:`center_out_task`: an 8-direction center-out reach (the Hatsopoulos 2007 recordings):
  the target direction is cued from the start, and after movement onset the output must follow
  the hand velocity, a bell-shaped speed profile along the target direction.

Inputs are ``(time, conditions, channels)`` tensors (time steps of ``dt`` ms), ready for
:class:`~simgrad.optim.models.CTRNN`.

>>> task = context_integration_task()
>>> tuple(task.inputs.shape), task.n_conditions
((55, 72, 5), 72)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["Task", "center_out_task", "context_integration_task"]


@dataclass
class Task:
    """Inputs, targets and labels of a task, one column per condition.

    ``inputs`` ``(T, C, n_in)``; ``targets`` ``(T, C)`` class indices (classification) or
    ``(T, C, n_out)`` values (regression); ``mask`` ``(T, C)`` marks the steps the loss counts;
    ``labels`` one array per condition; ``time_ms`` the time of each step.
    """

    name: str
    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    labels: dict[str, np.ndarray]
    time_ms: np.ndarray
    dt: float
    periods: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def n_conditions(self) -> int:
        return int(self.inputs.shape[1])

    @property
    def n_inputs(self) -> int:
        return int(self.inputs.shape[2])

    @property
    def n_outputs(self) -> int:
        return 3 if self.targets.ndim == 2 else int(self.targets.shape[2])

    def steps_at(self, times_ms: Sequence[float]) -> torch.Tensor:
        """Indices of the steps nearest to ``times_ms`` (to sample activity like a recording)."""
        t = np.asarray(times_ms, dtype=float)
        return torch.as_tensor(np.abs(self.time_ms[None, :] - t[:, None]).argmin(1))

    def loss(self, outputs: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (classification) or mean squared error over the masked steps."""
        m = self.mask.to(outputs.device)
        if self.targets.ndim == 2:
            logits = outputs[m]
            return torch.nn.functional.cross_entropy(logits, self.targets.to(outputs.device)[m])
        err = (outputs - self.targets.to(outputs))[m]
        return (err * err).mean()

    def accuracy(self, outputs: torch.Tensor) -> float:
        """Fraction of conditions whose decision (last masked step) is right; for regression,
        the fraction of explained variance of the targets over the masked steps."""
        with torch.no_grad():
            if self.targets.ndim == 2:
                lo, hi = self.periods["decision"]
                choice = outputs[hi - 1, :, 1:].argmax(-1) + 1
                return float((choice == self.targets[hi - 1].to(choice.device)).double().mean())
            m = self.mask.to(outputs.device)
            tgt = self.targets.to(outputs)[m]
            res = ((outputs[m] - tgt) ** 2).sum()
            return float(1 - res / ((tgt - tgt.mean(0)) ** 2).sum())


def _steps(ms: float, dt: float, name: str) -> int:
    if ms < 0:
        raise ValueError(f"{name} must be non-negative, got {ms!r}.")
    return int(round(ms / dt))


def context_integration_task(
    *,
    motion_coherences: Sequence[float] = (-0.5, -0.15, -0.05, 0.05, 0.15, 0.5),
    colour_coherences: Sequence[float] = (-0.5, -0.18, -0.06, 0.06, 0.18, 0.5),
    dt: float = 20.0,
    fixation_ms: float = 100.0,
    stimulus_ms: float = 750.0,
    decision_ms: float = 250.0,
    noise_std: float = 0.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> Task:
    """The Mante et al. (2013) task, one condition per (context, motion, colour) triple.

    Channels: fixation (1 until the decision period), motion evidence (coherence during the
    stimulus, plus ``noise_std`` Gaussian noise per step, seeded), colour evidence, motion-context
    cue, colour-context cue. Targets: class 0 (fixate) until the decision period, then 1 for a
    negative and 2 for a positive choice = sign of the relevant coherence. The stimulus starts
    at 0 ms (``time_ms`` is the end of each step relative to stimulus onset). Labels:
    ``context`` (−1 motion, +1 colour), ``motion``, ``colour``, ``choice`` (signs) and the
    coherences.
    """
    if dt <= 0:
        raise ValueError(f"dt must be positive, got {dt!r}.")
    mc = np.asarray(motion_coherences, dtype=float)
    cc = np.asarray(colour_coherences, dtype=float)
    if mc.ndim != 1 or cc.ndim != 1 or len(mc) == 0 or len(cc) == 0:
        raise ValueError("motion_coherences and colour_coherences must be non-empty 1-D lists.")
    if np.any(mc == 0) or np.any(cc == 0):
        raise ValueError("coherences must be non-zero (their sign is the correct choice).")
    nf = _steps(fixation_ms, dt, "fixation_ms")
    ns = _steps(stimulus_ms, dt, "stimulus_ms")
    nd = _steps(decision_ms, dt, "decision_ms")
    if nd < 1 or ns < 1:
        raise ValueError("stimulus_ms and decision_ms must each last at least one step.")
    t_total = nf + ns + nd
    ctx, mot, col = (a.ravel() for a in np.meshgrid([-1, 1], mc, cc, indexing="ij"))
    n_c = len(ctx)
    rel = np.where(ctx < 0, mot, col)
    choice = np.sign(rel).astype(int)
    x = np.zeros((t_total, n_c, 5))
    x[: nf + ns, :, 0] = 1.0
    stim = slice(nf, nf + ns)
    rng = np.random.default_rng(seed)
    x[stim, :, 1] = mot + noise_std * rng.standard_normal((ns, n_c))
    x[stim, :, 2] = col + noise_std * rng.standard_normal((ns, n_c))
    x[:, :, 3] = (ctx < 0).astype(float)
    x[:, :, 4] = (ctx > 0).astype(float)
    y = np.zeros((t_total, n_c), dtype=np.int64)
    y[nf + ns :] = np.where(choice > 0, 2, 1)
    mask = np.ones((t_total, n_c), dtype=bool)
    time_ms = (np.arange(t_total) + 1 - nf) * dt
    labels = {
        "context": ctx.astype(int),
        "motion": np.sign(mot).astype(int),
        "colour": np.sign(col).astype(int),
        "choice": choice,
        "motion_coherence": mot,
        "colour_coherence": col,
    }
    return Task(
        "context-integration",
        torch.as_tensor(x, dtype=dtype),
        torch.as_tensor(y),
        torch.as_tensor(mask),
        labels,
        time_ms,
        float(dt),
        {"fixation": (0, nf), "stimulus": (nf, nf + ns), "decision": (nf + ns, t_total)},
    )


def center_out_task(
    directions_deg: Sequence[float] = tuple(range(0, 360, 45)),
    *,
    dt: float = 20.0,
    start_ms: float = -300.0,
    stop_ms: float = 400.0,
    go_ms: float = -150.0,
    reach_ms: float = 350.0,
    dtype: torch.dtype = torch.float64,
) -> Task:
    """A center-out reach, times relative to movement onset (as the Hatsopoulos recordings).

    Channels: cos θ and sin θ of the target (whole trial) and a go cue (1 from ``go_ms``).
    Targets ``(T, C, 2)``: hand velocity v(t) = s(t)·(cos θ, sin θ), with the bell-shaped
    speed s(t) = sin²(π t / reach_ms) for 0 ≤ t ≤ reach_ms and 0 otherwise. Label
    ``direction`` in degrees.
    """
    if dt <= 0 or stop_ms <= start_ms or reach_ms <= 0:
        raise ValueError("need dt > 0, stop_ms > start_ms and reach_ms > 0.")
    th = np.deg2rad(np.asarray(directions_deg, dtype=float))
    if th.ndim != 1 or len(th) == 0:
        raise ValueError("directions_deg must be a non-empty 1-D list.")
    time_ms = np.arange(start_ms, stop_ms, dt) + dt
    n_t, n_c = len(time_ms), len(th)
    x = np.zeros((n_t, n_c, 3))
    x[:, :, 0] = np.cos(th)
    x[:, :, 1] = np.sin(th)
    x[:, :, 2] = (time_ms >= go_ms)[:, None]
    ph = np.clip(time_ms / reach_ms, 0, 1)
    speed = np.sin(np.pi * ph) ** 2
    v = speed[:, None, None] * np.stack([np.cos(th), np.sin(th)], -1)[None]
    return Task(
        "center-out",
        torch.as_tensor(x, dtype=dtype),
        torch.as_tensor(v, dtype=dtype),
        torch.ones(n_t, n_c, dtype=torch.bool),
        {"direction": np.asarray(directions_deg, dtype=float)},
        time_ms,
        float(dt),
        {"reach": (int(np.searchsorted(time_ms, 0)), n_t)},
    )
