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


#: the kinds of data of the property test (tests/test_properties.py) and its regressions
PROPERTY_KINDS = (
    "normal",
    "ties",
    "duplicated_rows",
    "one_hot",
    "constant_column",
    "identity",
    "related",
)


def property_matrix(kind: str, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """One ``(n, d)`` input of the property test's kind ``kind`` (``"related"`` draws normal
    data here; :func:`property_case` relates Y to it)."""
    if kind == "ties":
        return rng.integers(0, 3, size=(n, d)).astype(float)
    if kind == "duplicated_rows":
        x = rng.normal(size=(n, d))
        x[n // 2 :] = x[: n - n // 2]
        return x
    if kind == "one_hot":
        return np.eye(d)[rng.integers(0, d, size=n)]
    if kind == "constant_column":
        x = rng.normal(size=(n, d))
        x[:, 0] = 1.5
        return x
    if kind == "identity":
        return np.eye(n, d)
    return rng.normal(size=(n, d))


def property_case(kind: str, n: int, dx: int, dy: int, dtype: str, scale: float, seed: int):
    """The property test's pair (X, Y) as float tensors requiring gradients: X of ``kind``,
    Y related to X (``"related"``) or of a kind chosen by the seed, both times ``scale``."""
    import torch

    rng = np.random.default_rng(seed)
    x = property_matrix(kind, n, dx, rng)
    if kind == "related":
        y = x @ rng.normal(size=(dx, dy)) + 0.1 * rng.normal(size=(n, dy))
    else:
        y = property_matrix(PROPERTY_KINDS[seed % len(PROPERTY_KINDS)], n, dy, rng)
    t = getattr(torch, dtype)
    X = torch.tensor(x * scale, dtype=t, requires_grad=True)
    Y = torch.tensor(y * scale, dtype=t, requires_grad=True)
    return X, Y
