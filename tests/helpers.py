"""Helpers shared by several test modules (plain functions, not fixtures).

``tests/`` has no ``__init__.py``, so pytest's default ("prepend") import mode puts this folder
on ``sys.path`` and test modules import from here as ``from helpers import ...`` — under plain
``pytest`` as well as ``python -m pytest``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_data_dir() -> Path | None:
    """The folder holding the shared recordings (``SIMGRAD_DATA_DIR``, else ``../shared/data``
    beside the repository), or ``None`` when it is absent or empty."""
    d = Path(os.environ.get("SIMGRAD_DATA_DIR", SHARED_DATA))
    return d if d.is_dir() and any(d.iterdir()) else None


def thin(scores: np.ndarray, step: float = 0.01) -> np.ndarray:
    """Indices of iterates at least ``step`` apart in score (first and last always kept).

    >>> thin(np.array([0.0, 0.004, 0.02, 0.021, 0.5])).tolist()
    [0, 2, 4]
    """
    keep, last = [0], scores[0]
    for j in range(1, scores.size):
        if abs(scores[j] - last) >= step:
            keep.append(j)
            last = scores[j]
    if keep[-1] != scores.size - 1:
        keep.append(scores.size - 1)
    return np.array(keep)
