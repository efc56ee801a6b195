"""Inputs of ``sg.pairwise``: the memory budget and the representations, validated,
converted to one dtype and device, and flattened to ``(samples, units)``."""

from __future__ import annotations

import math
import re
from typing import Any

import torch

from .._array import as_tensor, flatten_time

__all__ = ["parse_bytes", "prepare"]

_UNITS = {
    "": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "k": 1e3, "m": 1e6, "g": 1e9,
    "t": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip


def parse_bytes(value: int | float | str) -> int:
    """A memory size in bytes: a positive number, or a string such as ``"512MB"``/``"2GiB"``.

    >>> parse_bytes("1.5GB"), parse_bytes("64MiB"), parse_bytes(1000)
    (1500000000, 67108864, 1000)
    """
    if isinstance(value, bool):
        raise TypeError("memory_budget must be a number of bytes or a string like '2GB'.")
    if isinstance(value, (int, float)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"memory_budget must be positive, got {value!r}.")
        return int(value)
    if not isinstance(value, str):
        raise TypeError(
            f"memory_budget must be a number of bytes or a string like '2GB', "
            f"got {type(value).__name__}."
        )
    m = re.fullmatch(r"\s*([0-9.]+(?:e[0-9+-]+)?)\s*([kmgt]?i?b?)\s*", value.lower())
    if m is None or m.group(2) not in _UNITS:
        raise ValueError(f"memory_budget {value!r} is not a size such as '512MB' or '2GiB'.")
    return parse_bytes(float(m.group(1)) * _UNITS[m.group(2)])


def _as_list(reps: Any, name: str) -> list:
    if isinstance(reps, (str, bytes)) or reps is None:
        raise TypeError(f"{name} must be a sequence of arrays, got {type(reps).__name__}.")
    if isinstance(reps, torch.Tensor) or hasattr(reps, "__array__") and hasattr(reps, "ndim"):
        if reps.ndim not in (3, 4):
            raise ValueError(
                f"{name} given as one array must be stacked representations (K, samples, units) "
                f"or (K, time, conditions, units); got shape {tuple(reps.shape)}."
            )
        return [reps[k] for k in range(reps.shape[0])]
    try:
        out = list(reps)
    except TypeError:
        msg = f"{name} must be a sequence of arrays, got {type(reps).__name__}."
        raise TypeError(msg) from None
    if not out:
        raise ValueError(f"{name} is empty; give at least one representation.")
    return out


def _common_dtype(flat: list[torch.Tensor], dtype: Any) -> torch.dtype:
    if dtype is not None:
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a floating torch dtype, got {dtype!r}.")
        return dtype
    out = flat[0].dtype
    for t in flat[1:]:
        out = torch.promote_types(out, t.dtype)
    return out


def _check_one(t: torch.Tensor, label: str, shape0: tuple) -> None:
    if t.ndim not in (2, 3):
        raise ValueError(
            f"{label} must be (samples, units) or (time, conditions, units); "
            f"got shape {tuple(t.shape)}."
        )
    if tuple(t.shape[:-1]) != shape0:
        raise ValueError(
            f"All representations must share their samples: {label} has shape "
            f"{tuple(t.shape)} but the first one has {shape0} before the unit axis."
        )
    if t.shape[-1] == 0:
        raise ValueError(f"{label} has no units.")


def _flat_checked(t: torch.Tensor, label: str) -> torch.Tensor:
    if t.ndim == 3:
        t = flatten_time(t)
    if t.shape[0] < 2:
        raise ValueError(f"{label} has {t.shape[0]} sample(s); at least 2 are needed.")
    td = t.detach()
    if bool((td.amax(0) == td.amin(0)).all()):
        raise ValueError(
            f"{label} is constant across samples (zero variance in every unit); a "
            "similarity to a constant representation is undefined."
        )
    return t


def prepare(
    reps_a: Any, reps_b: Any, device: Any, dtype: Any
) -> tuple[list[torch.Tensor], list[torch.Tensor] | None, int | None]:
    """Validate, convert and flatten; returns ``(A, B or None, n_conditions)``.

    All representations get the promoted dtype (or ``dtype``) and the first one's device (or
    ``device``); ``(time, conditions, units)`` input becomes time-major ``(samples, units)``.
    """
    groups = [("reps_a", _as_list(reps_a, "reps_a"))]
    if reps_b is not None:
        groups.append(("reps_b", _as_list(reps_b, "reps_b")))
    converted = [[as_tensor(r, f"{g}[{k}]") for k, r in enumerate(lst)] for g, lst in groups]
    flat = [t for lst in converted for t in lst]
    dtype = _common_dtype(flat, dtype)
    device = flat[0].device if device is None else device
    shape0 = tuple(flat[0].shape[:-1])
    out = []
    for (g, _), lst in zip(groups, converted):
        res = []
        for k, t in enumerate(lst):
            _check_one(t, f"{g}[{k}]", shape0)
            res.append(_flat_checked(t.to(device=device, dtype=dtype), f"{g}[{k}]"))
        out.append(res)
    n_cond = int(shape0[1]) if len(shape0) == 2 else None
    return out[0], (out[1] if len(out) > 1 else None), n_cond
