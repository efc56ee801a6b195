"""What an optimization minimizes: one measure, or several measures driven to targets.

- One measure: loss = −score (a ``-score`` form) or +distance (a ``-distance`` form).
- Joint targets ``{m_1: t_1, …, m_M: t_M}``: loss = Σ_j |m_j(X, Y) − t_j| (``loss="l1"``, the
  paper's choice) or Σ_j (m_j(X, Y) − t_j)² (``loss="squared"``).

Every measure works on batches: values come out shaped ``(..., M)``.

>>> obj = Objective.resolve({"cka": 0.5, "nbs": 0.9})
>>> obj.names
['cka-kernel=linear-hsic=gretton-score', 'nbs-score']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..measures import Measure, measure
from ..measures.shared import shared_terms

__all__ = ["Objective", "resolve_measure"]

LOSSES = ("l1", "squared")


def resolve_measure(m: Any, argname: str = "measure") -> Measure:
    """A :class:`Measure` from a name or a Measure; refuses non-differentiable ones."""
    if isinstance(m, Measure):
        out = m
    elif isinstance(m, str):
        out = measure(m)
    else:
        raise TypeError(
            f"{argname} must be a measure name (str) or a simgrad Measure, got {type(m).__name__}."
        )
    if not out.differentiable:
        raise ValueError(
            f"{argname} {out.name!r} is not differentiable, so it cannot be optimized by "
            "gradient descent; pick a measure whose card says differentiable=True."
        )
    return out


@dataclass(frozen=True)
class Objective:
    """Measures, their optional joint targets and the loss that combines them."""

    measures: tuple[Measure, ...]
    targets: np.ndarray | None = None
    loss: str = "l1"

    @classmethod
    def resolve(cls, spec: Any, loss: str = "l1") -> Objective:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {list(LOSSES)}, got {loss!r}.")
        if isinstance(spec, Mapping):
            if len(spec) == 0:
                raise ValueError("measure: the dict of joint targets is empty.")
            ms, ts = [], []
            for key, t in spec.items():
                ms.append(resolve_measure(key))
                try:
                    tv = float(t)
                except (TypeError, ValueError):
                    raise TypeError(
                        f"measure: the target of {key!r} must be a number, got {t!r}."
                    ) from None
                if not np.isfinite(tv):
                    raise ValueError(f"measure: the target of {key!r} must be finite, got {t!r}.")
                ts.append(tv)
            names = [m.name for m in ms]
            if len(set(names)) != len(names):
                raise ValueError(f"measure: a measure appears twice among {names}.")
            return cls(tuple(ms), np.asarray(ts, dtype=np.float64), loss)
        return cls((resolve_measure(spec),), None, loss)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.measures]

    @property
    def joint(self) -> bool:
        return self.targets is not None

    @property
    def is_distance(self) -> Any:
        flags = tuple(m.is_distance for m in self.measures)
        return flags if self.joint else flags[0]

    def values(self, x: torch.Tensor, y: torch.Tensor, n_conditions: int | None) -> torch.Tensor:
        """Measure values ``(..., M)`` for flattened ``x`` (reference) and ``y`` (candidate)."""
        if x.ndim < y.ndim:
            x = x.expand(*y.shape[:-2], *x.shape[-2:])
        if len(self.measures) == 1:
            return self.measures[0].fn(x, y, n_conditions=n_conditions).unsqueeze(-1)
        with shared_terms():  # X̃, Ỹ, X̃ᵀỸ formed once for all the measures
            vals = [m.fn(x, y, n_conditions=n_conditions) for m in self.measures]
        return torch.stack(vals, -1)

    def with_targets(self, targets: np.ndarray) -> Objective:
        """The same measures with one row of targets per batch element, ``(B, M)``."""
        t = np.asarray(targets, dtype=np.float64)
        if t.ndim != 2 or t.shape[1] != len(self.measures):
            raise ValueError(f"targets must be (runs, {len(self.measures)}), got shape {t.shape}.")
        return Objective(self.measures, t, self.loss)

    def targets_of(self, i: int) -> np.ndarray | None:
        """The targets of batch element ``i``."""
        if self.targets is None:
            return None
        return (self.targets[i] if self.targets.ndim == 2 else self.targets).copy()

    def loss_of(self, values: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """The loss of each batch element, ``(...,)``; ``rows`` selects per-run targets."""
        if not self.joint:
            v = values[..., 0]
            return v if self.measures[0].is_distance else -v
        t = torch.as_tensor(self.targets, dtype=values.dtype, device=values.device)
        if t.ndim == 2 and rows is not None:
            t = t.index_select(0, rows.to(t.device))
        d = values - t
        return (d.abs() if self.loss == "l1" else d * d).sum(-1)
