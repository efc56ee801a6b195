"""The :class:`Measure`: a named, differentiable measure and its call path.

``m(X, Y)`` validates and converts the inputs once (:func:`simgrad._array.check_pair`: half
precision upcast to float32, NaN/inf and constant inputs refused), guards the data scale
(scale-invariant measures are rescaled by a detached power of two; the others refuse data
outside :func:`~simgrad.measures.linalg.safe_scale_range`), computes, and checks that the
value is finite and inside the card's range. Names resolve in :mod:`.registry`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .._array import PLAIN_SCALE, Pair, check_pair
from . import linalg
from .cards import Card

__all__ = ["Measure", "MeasureFn"]

MeasureFn = Callable[..., torch.Tensor]


class Measure:
    """A named, differentiable similarity measure.

    ``m(X, Y)`` returns a torch tensor (0-dim for a single pair) carrying gradients to X and
    Y. Inputs may be numpy or torch, ``(samples, units)`` or ``(time, conditions, units)``;
    pass ``batch_ndim=k`` when Y (and optionally X) carry ``k`` leading batch dimensions.

    >>> import numpy as np, simgrad as sg
    >>> X = np.random.default_rng(0).normal(size=(50, 10))
    >>> round(float(sg.measure("cka")(X, X)), 12)
    1.0
    """

    def __init__(self, name: str, fn: MeasureFn, card: Card):
        self.name = name
        self.fn = fn
        self.card = card
        self.scale_free = "isotropic_scaling" in card.invariances

    def __repr__(self) -> str:
        return f"Measure({self.name!r})"

    @property
    def is_distance(self) -> bool:
        return self.card.form == "distance"

    @property
    def differentiable(self) -> bool:
        return self.card.differentiable

    def compute(self, pair: Pair) -> torch.Tensor:
        """Apply to an already validated :class:`~simgrad._array.Pair`.

        Data whose largest ``|x|`` lies outside ``[2⁻¹⁶, 2¹⁶]`` is first rescaled by a
        detached power of two when the measure is scale-invariant (its card lists
        ``isotropic_scaling``: the value is then the same at any representable scale), and is
        refused with a ``ValueError`` outside :func:`~simgrad.measures.linalg.safe_scale_range`
        otherwise (fourth powers would overflow or underflow: a silent wrong score).
        """
        x, y = pair.X, pair.Y
        if not pair.plain_scale:
            x = self._guard_scale(x, pair.x_scale, "X")
            y = self._guard_scale(y, pair.y_scale, "Y")
        if x.ndim < y.ndim:
            x = x.expand(*y.shape[:-2], *x.shape[-2:])
        elif y.ndim < x.ndim:
            y = y.expand(*x.shape[:-2], *y.shape[-2:])
        return self.fn(x, y, n_conditions=pair.n_conditions)

    def _guard_scale(self, t: torch.Tensor, scale: torch.Tensor | None, label: str):
        s = linalg.max_abs(t) if scale is None else scale
        lo, hi = PLAIN_SCALE
        if not bool(((s < lo) | (s > hi)).any()):
            return t
        if self.scale_free:
            return linalg.pow2_rescale(t, torch.where(s > 0, s, torch.ones_like(s)))
        lo, hi = linalg.safe_scale_range(t.dtype)
        if bool(((s < lo) | (s > hi)).any()):
            big = float(s.max()) if bool((s > hi).any()) else float(s.min())
            raise ValueError(
                f"{label}'s largest |value| is {big:.3g}, outside [{lo:.3g}, {hi:.3g}] where "
                f"{self.name} (not scale-invariant) is computed in {t.dtype} without overflow "
                "or underflow; rescale the data (or use float64)."
            )
        return t

    def __call__(
        self,
        X: Any,
        Y: Any,
        *,
        batch_ndim: int = 0,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Validate, convert (half precision is upcast to float32), guard the scale, compute,
        and check that every value is finite and inside the card's range (a ``ValueError``
        naming the measure otherwise: a degenerate input is an error, never a number)."""
        pair = check_pair(X, Y, batch_ndim=batch_ndim, dtype=dtype, device=device)
        return self.checked(pair)

    def checked(self, pair: Pair) -> torch.Tensor:
        """:meth:`compute`, then :meth:`check_value`; a failed decomposition (singular or
        non-converging on degenerate data) becomes a one-line ``ValueError``."""
        try:
            out = self.compute(pair)
        except torch.linalg.LinAlgError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(
                f"{self.name}: the linear algebra failed on these inputs ({first}); they are "
                "numerically degenerate for this measure."
            ) from None
        self.check_value(out)
        return out

    def check_value(self, out: torch.Tensor) -> None:
        """Raise ``ValueError`` where ``out`` is not finite or leaves the card's range by more
        than rounding (1000 ulp of the bound)."""
        v = out.detach()
        lo, hi = self.card.range
        tol = 1000 * torch.finfo(v.dtype).eps
        if v.ndim == 0:  # one sync, the checks in Python
            f = float(v)
            if math.isfinite(f) and lo - tol * (1 + abs(lo)) <= f <= hi + tol * (1 + abs(hi)):
                return
        bad = ~torch.isfinite(v)
        if math.isfinite(lo):
            bad |= v < lo - tol * (1 + abs(lo))
        if math.isfinite(hi):
            bad |= v > hi + tol * (1 + abs(hi))
        if bool(bad.any()):
            first = float(v[bad].flatten()[0])
            raise ValueError(
                f"{self.name} gave {first:.6g} on these inputs (its range is [{lo:g}, {hi:g}]): "
                "they are degenerate for this estimator or beyond its numerical range."
            )
