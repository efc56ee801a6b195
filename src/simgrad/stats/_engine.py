"""Many re-indexings of one pair, evaluated in batches.

A family that registered a ``resample`` hook (``registry.Hooks``) does its per-representation
work once (centring, Grams, factors) and evaluates a batch of row index sets from it. Every
other measure takes the generic path: the re-indexed copies are stacked on the measure's
batch dimension and evaluated in chunks of bounded memory — one call per chunk, not one per
resample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..measures.registry import family_hooks
from ._resample import Prepared, template_of

__all__ = ["evaluate", "observed"]

#: elements of the stacked, re-indexed copies per chunk (≈ 256 MB in float64)
CHUNK_ELEMENTS = 1 << 25


def _hook(prep: Prepared) -> Callable | None:
    tpl, values = template_of(prep.measure)
    hook = family_hooks(tpl.family).resample
    if hook is None:
        return None
    make = hook(tpl, values)
    return None if make is None else make(prep.x, prep.y, prep.n_conditions)


def _generic(prep: Prepared) -> Callable:
    fn = prep.measure.fn

    def evaluate(rows_x, rows_y, n_conditions):
        x = prep.x if rows_x is None else prep.x[rows_x]
        y = prep.y[rows_y]
        if x.ndim < y.ndim:
            x = x.expand(y.shape[0], *x.shape)
        return fn(x, y, n_conditions=n_conditions)

    return evaluate


def observed(prep: Prepared) -> float:
    """The measure on the pair as given (its own errors surface here, before resampling)."""
    with torch.no_grad():
        value = float(prep.measure.fn(prep.x, prep.y, n_conditions=prep.n_conditions))
    if not np.isfinite(value):
        raise ValueError(f"{prep.measure.name} is not finite on the data as given ({value}).")
    return value


def evaluate(
    prep: Prepared,
    rows_x: torch.Tensor | None,
    rows_y: torch.Tensor,
    *,
    what: str = "resample",
    use_hook: bool = True,
) -> np.ndarray:
    """The measure of ``(x[rows_x[b]], y[rows_y[b]])`` for every ``b``, as float64 numpy.

    ``rows_*`` are ``(B, m)`` row indices (``m`` may be smaller than n, e.g. jackknife);
    ``rows_x=None`` keeps X as it is. Raises ``ValueError`` naming the first resample whose
    score is not finite.
    """
    b_total, m = rows_y.shape
    k = m // (prep.x.shape[-2] // prep.conditions)
    n_cond = None if prep.n_conditions is None else k
    run = (_hook(prep) if use_hook else None) or _generic(prep)
    width = prep.x.shape[-1] + prep.y.shape[-1]
    chunk = max(1, CHUNK_ELEMENTS // max(1, m * width))
    dev = prep.x.device
    out = []
    with torch.no_grad():
        for s in range(0, b_total, chunk):
            ry = rows_y[s : s + chunk].to(dev)
            rx = None if rows_x is None else rows_x[s : s + chunk].to(dev)
            vals = run(rx, ry, n_cond).detach().reshape(-1).to("cpu", torch.float64).numpy()
            bad = np.flatnonzero(~np.isfinite(vals))
            if bad.size:
                raise ValueError(
                    f"{prep.measure.name} is not finite on {what} {s + int(bad[0])} (and "
                    f"{bad.size - 1} more in its batch): too few distinct conditions in a "
                    "resample, or constant resampled data; use more conditions."
                )
            out.append(vals)
    return np.concatenate(out)
