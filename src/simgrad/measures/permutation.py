"""Permutation-aligned metric (netrep's ``PermutationMetric``, Williams et al. 2021).

Columns are centred, the narrower input is zero-padded, and the units of Y are matched one to
one with the units of X by the assignment that maximizes the alignment::

    P* = argmax_P ⟨X̃, ỸP⟩ = linear_sum_assignment(X̃ᵀỸ, maximize=True)   (Hungarian, scipy)

- ``permutation_metric-score``                      cos θ = ⟨X̃, ỸP*⟩ / (‖X̃‖ ‖Ỹ‖)
- ``permutation_metric-distance=angular``           θ = arccos(cos θ)   (netrep "angular")
- ``permutation_metric-angular_score``              1 − (2/π)·θ
- ``permutation_metric-distance=euclidean``         ‖X̃ − ỸP*‖_F        (netrep "euclidean")
- ``permutation_metric-distance=squared_euclidean`` ‖X̃ − ỸP*‖²_F

The assignment is discrete, so the measures are marked non-differentiable; given the
assignment the value is a smooth function and autograd returns that piecewise gradient.

>>> import torch
>>> X = torch.randn(20, 4, dtype=torch.float64)
>>> float(permutation_terms(X, X[:, [2, 0, 3, 1]] + 1.0)[3]) < 1e-20
True
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from .forms import transform
from .linalg import center, pad_to_same_width, safe_sqrt
from .registry import Template, alias, describe, register

__all__ = ["optimal_permutation", "permutation_terms"]


def optimal_permutation(xc: torch.Tensor, yc: torch.Tensor) -> torch.Tensor:
    """For equal-width centred ``(..., n, d)`` inputs, the column index ``perm`` (…, d) of Y
    matched to each column of X, maximizing Σ_j ⟨x̃_j, ỹ_perm[j]⟩ (one assignment per batch
    element)."""
    cross = (xc.transpose(-1, -2) @ yc).detach().cpu().numpy()
    d = cross.shape[-1]
    flat = cross.reshape(-1, d, d)
    perms = np.empty((flat.shape[0], d), dtype=np.int64)
    for b, c in enumerate(flat):
        rows, cols = linear_sum_assignment(c, maximize=True)
        perms[b, rows] = cols
    return torch.as_tensor(perms.reshape(cross.shape[:-1]), device=xc.device)


def permutation_terms(x: torch.Tensor, y: torch.Tensor):
    """(‖X̃‖², ‖Ỹ‖², ⟨X̃, ỸP*⟩, ‖X̃ − ỸP*‖²) after centring, zero-padding and optimal unit
    matching (the distance computed from the difference itself, not by cancellation)."""
    xc, yc = pad_to_same_width(center(x), center(y))
    perm = optimal_permutation(xc, yc)
    idx = perm.unsqueeze(-2).expand(yc.shape)
    yp = yc.gather(-1, idx)
    diff = xc - yp
    return (
        (xc * xc).sum((-2, -1)),
        (yc * yc).sum((-2, -1)),
        (xc * yp).sum((-2, -1)),
        (diff * diff).sum((-2, -1)),
    )


def _cos(nx2, ny2, inner, _sq=None):
    tiny = torch.finfo(nx2.dtype).tiny
    return inner / (nx2.clamp_min(tiny).sqrt() * ny2.clamp_min(tiny).sqrt())


def _sq(nx2, ny2, inner, sq):
    return sq


_FORMS = {
    "score": lambda t: _cos(*t),
    "distance=angular": lambda t: transform("distance=angular", _cos(*t)),
    "angular_score": lambda t: transform("angular_score", _cos(*t)),
    "distance=euclidean": lambda t: safe_sqrt(_sq(*t)),
    "distance=squared_euclidean": lambda t: _sq(*t),
}

_TEXT = {
    "score": ("cosine after optimal unit matching", "⟨X̃, ỸP*⟩ / (‖X̃‖‖Ỹ‖)", (-1.0, 1.0)),
    "distance=angular": (
        "angle after optimal unit matching",
        "arccos(⟨X̃, ỸP*⟩ / (‖X̃‖‖Ỹ‖))",
        (0.0, float(np.pi)),
    ),
    "angular_score": (
        "angular score after optimal unit matching",
        "1 − (2/π)·arccos(⟨X̃, ỸP*⟩ / (‖X̃‖‖Ỹ‖))",
        (-1.0, 1.0),
    ),
    "distance=euclidean": (
        "Euclidean distance after optimal unit matching",
        "‖X̃ − ỸP*‖_F",
        (0.0, float("inf")),
    ),
    "distance=squared_euclidean": (
        "squared Euclidean distance after optimal unit matching",
        "‖X̃ − ỸP*‖²_F",
        (0.0, float("inf")),
    ),
}


def _make(form: str) -> None:
    def build():
        f = _FORMS[form]
        return lambda x, y, n_conditions=None: f(permutation_terms(x, y))

    def card(values):
        what, formula, rng = _TEXT[form]
        inv = ["permutation", "translation"]
        if form in ("score", "distance=angular", "angular_score"):
            inv.append("isotropic_scaling")
        return dict(
            family="permutation_metric",
            form="distance" if form.startswith("distance") else "score",
            description=f"{what} (Hungarian assignment of Y's units to X's, zero-padded); "
            "not differentiable (discrete assignment)",
            formula=formula + ", P* = argmax_P ⟨X̃, ỸP⟩ over permutations",
            range=rng,
            metric=form in ("distance=angular", "distance=euclidean"),
            symmetric=True,
            differentiable=False,
            invariances=tuple(inv),
            estimator="plug-in (in-sample)",
            cost="O(n·d² + d³) (cross-products + Hungarian algorithm)",
            references=(
                "Williams et al. 2021, Generalized shape metrics on neural representations "
                "(netrep PermutationMetric)",
                "Kuhn 1955, The Hungarian method for the assignment problem",
            ),
        )

    register(Template("permutation_metric", form, (), build, card))


for _form in _FORMS:
    _make(_form)

alias("permutation_metric", "permutation_metric-distance=angular")
alias("permutation-angular", "permutation_metric-distance=angular")

describe(
    "permutation_metric",
    """Permutation-aligned metric (netrep): the units of Y are matched one to one with those of
    X by the assignment that best aligns the centred data, then compared as a cosine, angle,
    angular score or Euclidean distance. Invariant to permuting units, not to rotations.""",
)
