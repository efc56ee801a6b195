"""Effective number of shared dimensions (ENSD, Giaffar et al. 2023).

ENSD = tr(X̃ᵀỸỸᵀX̃)·tr(X̃ᵀX̃)·tr(ỸᵀỸ) / (tr((X̃ᵀX̃)²)·tr((ỸᵀỸ)²))
     = CKA · √(PR_X · PR_Y),   PR = (tr C)² / tr(C²) the participation ratio.

It counts dimensions, so it is not bounded by 1: ENSD(X, X) = PR_X.

``ensd-distance=angular_normalized`` is the ENSD repository's ``computeDist``:
(2/π)·arccos(ENSD / √(PR_X PR_Y)) = (2/π)·arccos(linear CKA), in [0, 1].

>>> import torch
>>> X = torch.randn(500, 3, dtype=torch.float64)
>>> 1.0 < float(ensd(X, X)) <= 3.0
True
"""

from __future__ import annotations

import math

import torch

from .linalg import center, fro2, gram_feature, safe_arccos, tiny, trace_scale
from .moments import surrogate_stream
from .registry import Template, describe, register, register_hooks

__all__ = ["ensd", "ensd_angular_normalized", "participation_ratio"]


def participation_ratio(x: torch.Tensor) -> torch.Tensor:
    """(tr C)² / tr(C²) of the centred covariance."""
    c = gram_feature(center(x))
    c = c / trace_scale(c)
    tr = c.diagonal(dim1=-2, dim2=-1).sum(-1)
    return tr**2 / fro2(c).clamp_min(tiny(x))


def ensd(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """ENSD of ``(..., n, p)`` and ``(..., n, q)`` (products scaled by their traces, which
    leaves the value unchanged and keeps float32 in range)."""
    xc, yc = center(x), center(y)
    xx, yy = gram_feature(xc), gram_feature(yc)
    sx, sy = trace_scale(xx), trace_scale(yy)
    xx, yy = xx / sx, yy / sy
    xy = xc.transpose(-1, -2) @ yc / (sx.sqrt() * sy.sqrt())
    tx, ty = xx.diagonal(dim1=-2, dim2=-1).sum(-1), yy.diagonal(dim1=-2, dim2=-1).sum(-1)
    return _ensd(fro2(xy), tx, ty, fro2(xx), fro2(yy), tiny(x))


def _ensd(xy2, tx, ty, xx2, yy2, floor: float) -> torch.Tensor:
    """ENSD = ‖X̃ᵀỸ‖²·tr K·tr L / (‖X̃ᵀX̃‖²‖ỸᵀỸ‖²), the denominator clamped at ``floor``
    (arguments broadcast: one pair, or all pairs)."""
    return xy2 * tx * ty / (xx2 * yy2).clamp_min(floor)


def _card(values):
    return dict(
        family="ensd",
        form="score",
        description="effective number of shared dimensions (CKA × √(PR_X PR_Y))",
        formula="tr(X̃ᵀỸỸᵀX̃)·tr(X̃ᵀX̃)·tr(ỸᵀỸ) / (tr((X̃ᵀX̃)²)·tr((ỸᵀỸ)²))",
        range=(0.0, float("inf")),
        metric=False,
        symmetric=True,
        differentiable=True,
        invariances=("permutation", "orthogonal", "isotropic_scaling", "translation"),
        estimator="plug-in (in-sample)",
        cost="O(n·d²)",
        references=("Giaffar et al. 2023, The effective number of shared dimensions",),
    )


register(Template("ensd", "", (), lambda: lambda x, y, n_conditions=None: ensd(x, y), _card))


def ensd_angular_normalized(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(2/π)·arccos(ENSD / √(PR_X PR_Y)) (the ENSD repository's ``computeDist``)."""
    s = ensd(x, y) / (participation_ratio(x) * participation_ratio(y)).sqrt()
    return (2 / math.pi) * safe_arccos(s)


def _dist_card(values):
    c = _card(values)
    c.update(
        form="distance",
        description="normalised angular ENSD distance (2/π)·arccos(ENSD/√(PR_X PR_Y)), "
        "the ENSD repository's computeDist (= (2/π)·arccos of linear CKA)",
        formula="(2/π)·arccos(ENSD / √(PR_X PR_Y))",
        range=(0.0, 1.0),
        metric=True,
    )
    return c


register(
    Template(
        "ensd",
        "distance=angular_normalized",
        (),
        lambda: lambda x, y, n_conditions=None: ensd_angular_normalized(x, y),
        _dist_card,
    )
)

describe(
    "ensd",
    """Effective number of shared dimensions (Giaffar et al. 2023): CKA × √(PR_X PR_Y), with PR
    the participation ratio (tr C)²/tr(C²) of each covariance; counts how many dimensions of
    variance the two representations share, so ENSD(X, X) = PR_X rather than 1.""",
)

# streaming: a function of X̃ᵀX̃, ỸᵀỸ, X̃ᵀỸ alone
register_hooks("ensd", streaming=surrogate_stream)


# ----------------------------------------------------------------------------- all-pairs hook
def _pairwise(A, B, values, ctx):
    """All pairs (``sg.pairwise``) from the driver's linear-kernel statistics:
    ENSD = ‖X̃ᵀỸ‖²·tr K·tr L / (‖X̃ᵀX̃‖²‖ỸᵀỸ‖²)."""
    p = ctx.linear_products(A, B)
    if ctx.form == "distance=angular_normalized":  # (2/π)·arccos(linear CKA)
        cka = p.xy2 / (p.xx2[:, None] * p.yy2[None, :]).clamp_min(tiny(p.xy2)).sqrt()
        return (2 / math.pi) * safe_arccos(cka)
    return _ensd(p.xy2, p.ta[:, None], p.tb[None, :], p.xx2[:, None], p.yy2[None, :], tiny(p.xy2))


register_hooks("ensd", pairwise=_pairwise)
