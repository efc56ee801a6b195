"""Alignment-based distances as ReSi and modelsym compute them.

X̃ = centred columns, X̂ = X̃ / ‖X̃‖_F; the narrower input is zero-padded where a square
alignment is needed (ReSi's ``adjust_dimensionality``).

- ``orthogonal_procrustes_centered_and_normalized``  √(max(0, 2 − 2‖X̂ᵀŶ‖_*)) (Ding et al. 2021)
- ``orthogonal_angular_shape_metric_centered``       arccos(‖X̂ᵀŶ‖_*) (Williams et al. 2021)
- ``aligned_cosine_similarity``  (1/n) Σ_i cos((XQ)_i, y_i), Q = UVᵀ from XᵀY = USVᵀ
  (uncentred, padded; Hamilton et al. 2016 as ReSi computes it)
- ``permutation_procrustes``     ‖X P − Y‖_F with the column matching P that maximizes
  ⟨XP, Y⟩ (uncentred, padded; ReSi)
- ``wreath_procrustes``          min over permutations P and positive diagonal scalings D of
  ‖X̃ − Ỹ P D‖_F: the Procrustes distance for the intertwiner group of ReLU layers
  (Godfrey et al. 2022, modelsym). For a matched pair the best scale is
  max(0, ⟨x̃_j, ỹ_l⟩)/‖ỹ_l‖², so the matching maximizes Σ max(0, ⟨x̃_j, ỹ_l⟩)²/‖ỹ_l‖²
  (Hungarian) and d² = ‖X̃‖² − that maximum.
- ``wreath_cka``                 linear CKA of X and Y P* D* aligned by that group element.

The modelsym source was not available to us; the two wreath measures follow the paper's
definition (alignment over the group, then the distance or CKA), written out above.

>>> import torch
>>> X = torch.randn(30, 4, dtype=torch.float64)
>>> float(permutation_procrustes(X, X[:, [2, 0, 3, 1]])) < 1e-12
True
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from .cka import cka_linear
from .linalg import center, fro2, nuclear_norm, pad_to_same_width, safe_arccos, safe_sqrt, tiny
from .permutation import optimal_permutation
from .plain import card_fields, register_plain
from .registry import describe

__all__ = [
    "aligned_cosine_similarity",
    "orthogonal_angular_shape_metric_centered",
    "orthogonal_procrustes_centered_and_normalized",
    "permutation_procrustes",
    "wreath_align",
    "wreath_cka",
    "wreath_procrustes",
]


def _normalized_nuclear(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    xc, yc = center(x), center(y)
    nx, ny = fro2(xc).clamp_min(tiny(x)), fro2(yc).clamp_min(tiny(y))
    return nuclear_norm(xc.transpose(-1, -2) @ yc) / (nx.sqrt() * ny.sqrt())


def orthogonal_procrustes_centered_and_normalized(x, y) -> torch.Tensor:
    """√(2 − 2‖X̂ᵀŶ‖_*) of the centred, unit-Frobenius-norm data."""
    return safe_sqrt(2 - 2 * _normalized_nuclear(x, y))


def orthogonal_angular_shape_metric_centered(x, y) -> torch.Tensor:
    """arccos(‖X̂ᵀŶ‖_*) of the centred, unit-Frobenius-norm data."""
    return safe_arccos(_normalized_nuclear(x, y))


def aligned_cosine_similarity(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean row cosine of XQ and Y, Q the orthogonal Procrustes rotation (rotation fixed)."""
    xp, yp = pad_to_same_width(x, y)
    with torch.no_grad():
        u, _, vh = torch.linalg.svd(xp.transpose(-1, -2) @ yp)
        q = u @ vh
    xa = xp @ q
    num = (xa * yp).sum(-1)
    den = safe_sqrt((xa * xa).sum(-1) * (yp * yp).sum(-1))
    ok = den > tiny(x)
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), 0 * num).mean(-1)


def permutation_procrustes(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """‖X − YP‖_F with the column matching that maximizes ⟨X, YP⟩ (uncentred)."""
    xp, yp = pad_to_same_width(x, y)
    perm = optimal_permutation(xp, yp)
    ym = yp.gather(-1, perm.unsqueeze(-2).expand(yp.shape))
    return safe_sqrt(fro2(xp - ym))


def wreath_align(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Ỹ P* D* (…, n, max(p, q)): Y's centred units matched to X's and scaled by the best
    positive factors (the scales and the matching detached)."""
    xc, yc = pad_to_same_width(center(x), center(y))
    with torch.no_grad():
        g = xc.transpose(-1, -2) @ yc
        ny2 = (yc * yc).sum(-2)
        safe = torch.where(ny2 > 0, ny2, torch.ones_like(ny2))
        gain = (g.clamp_min(0) ** 2 / safe.unsqueeze(-2)).cpu().numpy()
        d = gain.shape[-1]
        flat = gain.reshape(-1, d, d)
        perms = np.empty((flat.shape[0], d), dtype=np.int64)
        for b, m in enumerate(flat):
            rows, cols = linear_sum_assignment(m, maximize=True)
            perms[b, rows] = cols
        perm = torch.as_tensor(perms.reshape(gain.shape[:-1]), device=x.device)
        scale = (g.clamp_min(0) / safe.unsqueeze(-2)).gather(-1, perm.unsqueeze(-1)).squeeze(-1)
    ym = yc.gather(-1, perm.unsqueeze(-2).expand(yc.shape))
    return ym * scale.unsqueeze(-2)


def wreath_procrustes(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """min over permutations and positive unit scalings of ‖X̃ − Ỹ P D‖_F."""
    xc = pad_to_same_width(center(x), y)[0]
    return safe_sqrt(fro2(xc - wreath_align(x, y)))


def wreath_cka(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Linear CKA of X and the wreath-aligned Y."""
    return cka_linear(pad_to_same_width(center(x), y)[0], wreath_align(x, y))


# ----------------------------------------------------------------------------- registration
_RESI = (
    "Klabunde et al. 2025, ReSi: A Comprehensive Benchmark for Representational Similarity "
    "Measures (ICLR); github.com/mklabunde/resi (measures/procrustes.py)",
)
_WILLIAMS = ("Williams et al. 2021, Generalized shape metrics on neural representations "
"(NeurIPS)",)
_GODFREY = ("Godfrey et al. 2022, On the symmetries of deep learning models and their internal "
"representations (NeurIPS); github.com/pnnl/modelsym",)
_ALL4 = ("permutation", "orthogonal", "isotropic_scaling", "translation")
_WREATH_INV = ("permutation", "isotropic_scaling", "translation")
_DISCRETE = "not differentiable (discrete matching)"

_CARDS = {
    "orthogonal_procrustes_centered_and_normalized": (
        orthogonal_procrustes_centered_and_normalized,
        dict(
            form="distance",
            what="orthogonal Procrustes distance of the centred data scaled to unit "
            "Frobenius norm (Ding et al. 2021's setup, as ReSi computes it)",
            formula="√(2 − 2‖X̂ᵀŶ‖_*), X̂ = X̃/‖X̃‖_F",
            rng=(0.0, 2.0),
            refs=("Ding et al. 2021, Grounding representation similarity through statistical "
            "testing (NeurIPS)",) + _RESI,
            metric=True,
            invariances=_ALL4,
            cost="O(n·p·q + min(p,q)²·max(p,q))",
        ),
    ),
    "orthogonal_angular_shape_metric_centered": (
        orthogonal_angular_shape_metric_centered,
        dict(
            form="distance",
            what="angular shape metric with orthogonal alignment of the centred data "
            "(Williams et al. 2021, as ReSi computes it)",
            formula="arccos(‖X̂ᵀŶ‖_*), X̂ = X̃/‖X̃‖_F",
            rng=(0.0, math.pi / 2),
            refs=_WILLIAMS + _RESI,
            metric=True,
            invariances=_ALL4,
            cost="O(n·p·q + min(p,q)²·max(p,q))",
        ),
    ),
    "aligned_cosine_similarity": (
        aligned_cosine_similarity,
        dict(
            form="score",
            what="mean cosine similarity of corresponding samples after orthogonal "
            "Procrustes alignment of the uncentred data; not differentiable (the optimal "
            "rotation is not unique, and its derivative unbounded, when XᵀY is singular)",
            formula="(1/n) Σ_i cos((XQ)_i, y_i), Q = UVᵀ, XᵀY = USVᵀ",
            rng=(-1.0, 1.0),
            refs=("Hamilton et al. 2016, Diachronic word embeddings reveal statistical laws "
            "of semantic change (ACL)",) + _RESI,
            differentiable=False,
            invariances=("permutation", "orthogonal", "isotropic_scaling"),
            cost="O(n·d² + d³)",
        ),
    ),
    "permutation_procrustes": (
        permutation_procrustes,
        dict(
            form="distance",
            what="Euclidean distance after the best one-to-one matching of the uncentred "
            "units (ReSi); " + _DISCRETE,
            formula="‖X − YP*‖_F, P* = argmax_P ⟨X, YP⟩",
            rng=(0.0, float("inf")),
            refs=_RESI,
            metric=True,
            differentiable=False,
            invariances=("permutation",),
            cost="O(n·d² + d³) (cross-products + Hungarian)",
        ),
    ),
    "wreath_procrustes": (
        wreath_procrustes,
        dict(
            form="distance",
            what="Procrustes distance for the ReLU intertwiner group (unit permutations "
            "and positive unit scalings of Y, centred data; definition of Godfrey et al. "
            "2022); " + _DISCRETE + "; not symmetric (Y is scaled, X is not)",
            formula="min_{P, D>0} ‖X̃ − Ỹ P D‖_F = √(‖X̃‖² − max_P Σ_j max(0, ⟨x̃_j, ỹ_P(j)⟩)² "
            "/ ‖ỹ_P(j)‖²)",
            rng=(0.0, float("inf")),
            refs=_GODFREY,
            symmetric=False,
            differentiable=False,
            invariances=_WREATH_INV,
            cost="O(n·d² + d³) (cross-products + Hungarian)",
        ),
    ),
    "wreath_cka": (
        wreath_cka,
        dict(
            form="score",
            what="linear CKA after aligning Y to X by the ReLU intertwiner group (unit "
            "permutation and positive unit scalings, as in wreath_procrustes); "
            + _DISCRETE + "; not symmetric",
            formula="CKA(X̃, Ỹ P* D*), (P*, D*) = argmin ‖X̃ − Ỹ P D‖_F",
            rng=(0.0, 1.0),
            refs=_GODFREY + ("Kornblith et al. 2019, Similarity of neural network "
            "representations revisited (ICML)",),
            symmetric=False,
            differentiable=False,
            invariances=_WREATH_INV,
            cost="O(n·d² + d³)",
        ),
    ),
}
for _name, (_fn, _fields) in _CARDS.items():
    register_plain(_name, _fn, lambda values, _f=_fields: card_fields(**_f))

_TEXT = {
    "orthogonal_procrustes_centered_and_normalized": "Orthogonal Procrustes distance of "
    "centred data scaled to unit norm (ReSi, Ding et al. 2021): the residual after the best "
    "rotation of one representation onto the other.",
    "orthogonal_angular_shape_metric_centered": "Angular shape metric (ReSi, Williams et al. "
    "2021): the angle between centred representations after the best rotation.",
    "aligned_cosine_similarity": "Aligned cosine similarity (ReSi, Hamilton et al. 2016): "
    "rotate X onto Y by orthogonal Procrustes and average the cosines of corresponding "
    "samples.",
    "permutation_procrustes": "Permutation Procrustes (ReSi): the Euclidean distance left "
    "after matching the units of the two representations one to one.",
    "wreath_procrustes": "Wreath Procrustes (Godfrey et al. 2022): the distance left after "
    "aligning Y to X by the symmetries of ReLU layers, unit permutations and positive "
    "rescalings of units.",
    "wreath_cka": "Wreath CKA (Godfrey et al. 2022): linear CKA after aligning Y to X by the "
    "symmetries of ReLU layers, unit permutations and positive rescalings of units.",
}
for _family, _text in _TEXT.items():
    describe(_family, _text)
