"""The checks of :class:`~simgrad.options.RunOptions`' fields, and the parsers of their
command-line text.

Each ``check_<field>(value)`` returns the normalized value or raises ``ValueError``/
``TypeError`` naming the option.

>>> check_seeds(3), check_seeds([4, 1]), check_decode_iterates("all")
((0, 1, 2), (4, 1), 0)
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def number(name: str, v: Any, *, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {v!r}.")
    f = float(v)
    if not math.isfinite(f) or (positive and f <= 0):
        kind = "a positive finite number" if positive else "a finite number"
        raise ValueError(f"{name} must be {kind}, got {v!r}.")
    return f


def check_dataset(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, str):
        if not v.strip():
            raise ValueError("dataset must be a dataset name, got an empty string.")
        return v.strip()
    from ..datasets import Dataset

    if not isinstance(v, Dataset):
        raise TypeError(f"dataset must be a dataset name or a simgrad Dataset, got {v!r}.")
    return v


def check_data(v: Any) -> Path | None:
    if v is None:
        return None
    if not isinstance(v, (str, os.PathLike)):
        raise TypeError(f"data must be a file path, got {v!r}.")
    p = Path(v)
    if not p.is_file():
        raise ValueError(f"data: no such file: {str(p)!r}.")
    return p


def check_measures(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        names = [m.strip() for m in value.split(",")]
    elif isinstance(value, Sequence):
        names = list(value)
    else:
        raise TypeError(
            f"measures must be a list of names or a comma-separated string, got {value!r}."
        )
    if not names or any(not isinstance(n, str) or not n.strip() for n in names):
        raise ValueError(f"measures must be non-empty names, got {value!r}.")
    from ..measures import measure, measures

    canon: list[str] = []
    for n in (n.strip() for n in names):
        try:
            m = measure(n)
        except ValueError as exc:
            raise ValueError(f"measures: {exc}") from None
        if m.name in canon:
            raise ValueError(f"measures: {n!r} names {m.name!r} twice; give each measure once.")
        if m.is_distance:
            alt = [a for a in measures(m.name.split("-distance")[0] + "-*") if a.endswith("score")]
            hint = f" such as {', '.join(alt[:3])}" if alt else ""
            raise ValueError(
                f"measures: {n!r} is a distance (0 = identical); the main job drives scores "
                f"towards a target, so give a score form{hint} (see `simgrad measures`)."
            )
        canon.append(m.name)
    return tuple(n.strip() for n in names)


def check_target_in_range(target: float, names: Sequence[str]) -> None:
    """A target outside a measure's range (its card) can never be reached, or is reached
    before the first step: refuse it naming the measure and its range."""
    from ..measures import measure

    for n in names:
        lo, hi = measure(n).card.range
        if not lo <= target <= hi:
            raise ValueError(
                f"target: {target:g} is outside the range of {n!r} ([{lo:g}, {hi:g}]); "
                "give a target inside it (e.g. 0.99)."
            )


def check_seeds(v: Any) -> tuple[int, ...]:
    if is_int(v):
        if v < 1:
            raise ValueError(f"seeds must be a positive number of seeds, got {v!r}.")
        return tuple(range(int(v)))
    if isinstance(v, Sequence) and not isinstance(v, str):
        if not v or not all(is_int(s) and s >= 0 for s in v):
            raise ValueError(f"seeds must be non-negative integers, got {v!r}.")
        if len(set(v)) != len(v):
            raise ValueError(f"seeds must be distinct, got {v!r}.")
        return tuple(int(s) for s in v)
    raise TypeError(f"seeds must be a count or a list of seeds, got {v!r}.")


def check_max_iter(v: Any) -> int:
    if not is_int(v) or v < 1:
        raise ValueError(f"max_iter must be a positive integer, got {v!r}.")
    return int(v)


def check_out(v: Any) -> Path:
    if not isinstance(v, (str, os.PathLike)) or not str(v):
        raise TypeError(f"out must be a folder path, got {v!r}.")
    return Path(v)


def check_device(v: Any) -> str:
    if not isinstance(v, str) or v.split(":")[0] not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:N'), got {v!r}.")
    if v.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError("device: 'cuda' was asked for but no CUDA GPU is available.")
    return v


def check_labels(v: Any) -> tuple[str, ...] | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = [s.strip() for s in v.split(",") if s.strip()]
    if not isinstance(v, Sequence) or not all(isinstance(s, str) for s in v):
        raise TypeError(f"labels must be a list of label names, got {v!r}.")
    return tuple(v)


def check_decode_iterates(v: Any) -> int:
    n = 0 if isinstance(v, str) and v.strip().lower() == "all" else v
    if not is_int(n) or n < 0 or n in (1, 2, 3):
        raise ValueError(
            f"decode_iterates must be 0 (every recorded iterate) or an integer ≥ 4, got {v!r}."
        )
    return int(n)


# ----------------------------------------------------------------------------- CLI text
def seeds_text(text: str) -> int | list[int]:
    """``"3"`` → 3 seeds; ``"0,4,7"`` → those seeds."""
    if "," in text:
        return [int(s) for s in text.split(",") if s.strip()]
    return int(text)


def decode_text(text: str) -> int | str:
    return "all" if text.strip().lower() == "all" else int(text)
