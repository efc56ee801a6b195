"""Input checks and conversion shared by every layer.

Everything user-facing funnels arrays through :func:`as_tensor` (numpy, torch, xarray or
nested lists in, a floating torch tensor out) and :func:`check_pair` (validates a reference
and a candidate representation together and flattens ``(time, conditions, units)`` to
``(time * conditions, units)``, time-major).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

DEFAULT_DTYPE = torch.float64
HALF_DTYPES = (torch.float16, torch.bfloat16)
# Inputs whose largest |x| lies in [2⁻¹⁶, 2¹⁶] are passed to the measures as they are; outside
# it, scale-invariant measures rescale them and the others check their range
# (simgrad.measures.registry.Measure.compute).
PLAIN_SCALE = (2.0**-16, 2.0**16)

__all__ = ["DEFAULT_DTYPE", "Pair", "as_tensor", "check_pair", "flatten_time"]


def _describe(x: Any) -> str:
    shape = getattr(x, "shape", None)
    return f"{type(x).__name__} of shape {tuple(shape)}" if shape is not None else type(x).__name__


def as_tensor(
    x: Any,
    name: str = "X",
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    check_finite: bool = True,
) -> torch.Tensor:
    """Convert ``x`` to a floating torch tensor, refusing anything that is not real numbers.

    Torch tensors keep their dtype (and autograd graph) unless ``dtype`` is given; everything
    else becomes ``float64``. Half precision (``float16``, ``bfloat16``: common model
    activations) is upcast to ``float32``, which every measure supports (linear algebra and
    ranks are not implemented in half precision, and its 3 significant digits would swamp the
    measures' cancellations); pass ``dtype=`` for another choice. Raises ``TypeError`` for
    complex, boolean-free object or string data and ``ValueError`` for NaN or infinite values.

    >>> as_tensor([[1, 2], [3, 4]]).dtype
    torch.float64
    """
    if hasattr(x, "dims") and hasattr(x, "values") and not isinstance(x, torch.Tensor):
        x = x.values  # xarray.DataArray
    if isinstance(x, torch.Tensor):
        t = x
        if t.is_complex():
            raise TypeError(f"{name} must hold real numbers, got a complex tensor ({t.dtype}).")
        if not t.is_floating_point():
            t = t.to(dtype or DEFAULT_DTYPE)
        elif t.dtype in HALF_DTYPES and dtype is None:
            t = t.to(torch.float32)
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # pragma: no cover - exotic inputs
            raise TypeError(f"{name} could not be read as an array: {exc}") from None
        if arr.dtype == object or arr.dtype.kind in "USVOMm":
            raise TypeError(
                f"{name} must be a numeric array, got dtype {arr.dtype} ({_describe(x)})."
            )
        if arr.dtype.kind == "c":
            raise TypeError(f"{name} must hold real numbers, got complex dtype {arr.dtype}.")
        t = torch.as_tensor(np.asarray(arr, dtype=np.float64, order="C"))  # keeps 0-D as 0-D
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if device is not None:
        t = t.to(device)
    if check_finite and not bool(torch.isfinite(t.detach()).all()):
        n_bad = int((~torch.isfinite(t.detach())).sum())
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s); clean or impute them.")
    return t


def flatten_time(x: torch.Tensor) -> torch.Tensor:
    """``(..., time, conditions, units)`` → ``(..., time*conditions, units)``, time-major.

    Row ``t*C + c`` holds time ``t`` of condition ``c``, as in the paper's code.
    """
    return x.reshape(*x.shape[:-3], x.shape[-3] * x.shape[-2], x.shape[-1])


@dataclass(frozen=True)
class Pair:
    """A validated (reference, candidate) pair, flattened to ``(..., samples, units)``.

    ``n_conditions`` is the condition count when the inputs were ``(time, conditions, units)``
    (so that condition ``c`` owns rows ``c, c + C, c + 2C, ...``), else ``None``.
    ``x_scale``/``y_scale`` are the (detached) largest absolute values per batch element,
    shape ``(..., 1, 1)``, when :func:`check_pair` computed them (``None`` otherwise); the
    measures use them to guard against overflow and underflow (``Measure.compute``).
    """

    X: torch.Tensor
    Y: torch.Tensor
    n_conditions: int | None
    x_scale: torch.Tensor | None = None
    y_scale: torch.Tensor | None = None
    plain_scale: bool | None = None  # True: both scales inside PLAIN_SCALE (nothing to guard)


def check_pair(
    X: Any,
    Y: Any,
    *,
    batch_ndim: int = 0,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    min_samples: int = 2,
) -> Pair:
    """Validate and align two representations.

    ``batch_ndim`` is the number of leading batch dimensions of the candidate ``Y``; the
    reference ``X`` either has the same batch dimensions (broadcastable) or none. After the
    batch dimensions each input is ``(samples, units)`` or ``(time, conditions, units)``.
    """
    if not isinstance(batch_ndim, int) or batch_ndim < 0:
        raise ValueError(f"batch_ndim must be a non-negative integer, got {batch_ndim!r}.")
    # finiteness is checked below, fused with the constant check (one pass over the data)
    x = as_tensor(X, "X", device=device, check_finite=False)
    y = as_tensor(Y, "Y", device=device, check_finite=False)
    target = dtype
    if target is None:
        # Promote to the wider of the two floating dtypes (float64 wins).
        target = torch.promote_types(x.dtype, y.dtype)
    if target in HALF_DTYPES:
        target = torch.float32  # the measures compute in float32 at least (see as_tensor)
    x, y = x.to(target), y.to(target)
    if y.device != x.device:
        y = y.to(x.device)
    core = y.ndim - batch_ndim
    if core not in (2, 3):
        raise ValueError(
            f"Y must have shape (samples, units) or (time, conditions, units) after "
            f"{batch_ndim} batch dimension(s); got {y.ndim}-D shape {tuple(y.shape)}."
        )
    x_batch = x.ndim - core
    if x_batch < 0 or (x_batch > 0 and x_batch != batch_ndim):
        raise ValueError(
            f"X must be {core}-D like Y (or carry Y's {batch_ndim} batch dimension(s)); "
            f"got {x.ndim}-D shape {tuple(x.shape)} against Y {tuple(y.shape)}."
        )
    xs, ys = x.shape[x.ndim - core :], y.shape[batch_ndim:]
    if xs[:-1] != ys[:-1]:
        what = "samples" if core == 2 else "(time, conditions)"
        raise ValueError(
            f"X and Y must have the same {what}: X is {tuple(xs)}, Y is {tuple(ys)}; "
            "only their unit counts may differ."
        )
    if min(xs[-1], ys[-1]) == 0:
        raise ValueError(f"X and Y must have at least one unit; got X {tuple(xs)}, Y {tuple(ys)}.")
    n_cond = None
    if core == 3:
        n_cond = int(xs[1])
        x, y = flatten_time(x), flatten_time(y)
    n = x.shape[-2]
    if n < min_samples:
        raise ValueError(
            f"X and Y need at least {min_samples} samples, got {n}; a similarity between "
            "representations of fewer samples is undefined."
        )
    (bad_x, same_x, far_x), sx = _stats(x)
    (bad_y, same_y, far_y), sy = _stats(y)
    flags = torch.stack([bad_x, same_x, far_x, bad_y, same_y, far_y]).tolist()  # one sync
    for label, t, bad, same in (("X", x, *flags[0:2]), ("Y", y, *flags[3:5])):
        if bad:
            n_bad = int((~torch.isfinite(t.detach())).sum())
            raise ValueError(
                f"{label} contains {n_bad} NaN or infinite value(s); clean or impute them."
            )
        # rows 0 and 1 differ in every batch element (the usual case) → none is constant
        td = t.detach()
        if same and bool((td.amax(-2) == td.amin(-2)).all(-1).any()):
            raise ValueError(
                f"{label} is constant across samples (zero variance in every unit); a "
                "similarity to a constant representation is undefined."
            )
    return Pair(x, y, n_cond, sx, sy, plain_scale=not (flags[2] or flags[5]))


def _stats(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flags (any non-finite; some batch element whose first two rows are equal, so that it
    may be constant; largest |x| outside :data:`PLAIN_SCALE`) and the largest ``|x|`` per
    batch element: two contiguous reductions over ``t`` and one comparison of two rows."""
    td = t.detach()
    lo, hi = td.amin((-2, -1)), td.amax((-2, -1))  # NaN propagates, ±inf shows
    scale = torch.maximum(-lo, hi)[..., None, None]
    flags = torch.stack(
        [
            ~(torch.isfinite(lo) & torch.isfinite(hi)).all(),
            ~(td[..., 0, :] != td[..., 1, :]).any(-1).all(),
            ((scale < PLAIN_SCALE[0]) | (scale > PLAIN_SCALE[1])).any(),
        ]
    )
    return flags, scale
