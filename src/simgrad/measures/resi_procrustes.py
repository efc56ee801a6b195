"""Alignment-based distances as ReSi and modelsym compute them.

X̃ = centred columns, X̂ = X̃ / ‖X̃‖_F; the narrower input is zero-padded where a square
alignment is needed (ReSi's ``adjust_dimensionality``).

- ``orthogonal_procrustes_centered_and_normalized``  √(max(0, 2 − 2‖X̂ᵀŶ‖_*)) (Ding et al. 2021)
- ``orthogonal_angular_shape_metric_centered``       arccos(‖X̂ᵀŶ‖_*) (Williams et al. 2021)
- ``aligned_cosine_similarity``  (1/n) Σ_i cos((XQ)_i, y_i), Q = UVᵀ from XᵀY = USVᵀ
  (uncentred, padded; Hamilton et al. 2016 as ReSi computes it)
- ``permutation_procrustes``     ‖X P − Y‖_F with the column matching P that maximizes
  ⟨XP, Y⟩ (uncentred, padded; ReSi)
- ``wreath_procrustes``          modelsym's similarity for the intertwiner group of ReLU layers
  (unit permutations and positive unit scalings; Godfrey et al. 2022): every unit is scaled to
  unit norm over the samples (uncentred), the units matched one to one (Hungarian on X̄ᵀȲ),
  and 1 − √((‖X̄‖² + ‖Ȳ‖² − 2 Σ matched ⟨x̄_j, ȳ_l⟩)/(4d)) returned, d the padded width.
- ``wreath_cka``                 modelsym's wreath CKA: the kernel K_ij = max_c x̄_ic x̄_jc (i ≠ j)
  of centred, unit-norm units (its ``estimator="max"`` for units without spatial extent)
  compared by CKA with Song's unbiased HSIC.

similarity-repository calls modelsym with ``X[None]``, which makes the samples the channels
(and a 1×1 kernel for ``wreath_cka``); modelsym's own layout (batch = samples, channels =
units) is followed here.

>>> import torch
>>> X = torch.randn(30, 4, dtype=torch.float64)
>>> float(permutation_procrustes(X, X[:, [2, 0, 3, 1]])) < 1e-12
True
"""

from __future__ import annotations

import math

import torch

from .linalg import (
    bures_similarity,
    center,
    fro2,
    nuclear_terms,
    pad_to_same_width,
    safe_arccos,
    safe_sqrt,
    tiny,
    unit_columns,
)
from .neighbors import hsic_unbiased
from .permutation import optimal_permutation
from .plain import card_fields, register_plain
from .registry import describe

__all__ = [
    "aligned_cosine_similarity",
    "orthogonal_angular_shape_metric_centered",
    "orthogonal_procrustes_centered_and_normalized",
    "permutation_procrustes",
    "wreath_cka",
    "wreath_kernel",
    "wreath_procrustes",
]


def _normalized_nuclear(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """‖X̂ᵀŶ‖_* = ‖X̃ᵀỸ‖_* / (‖X̃‖‖Ỹ‖), the normalised Bures similarity (NBS)."""
    return bures_similarity(*nuclear_terms(center(x), center(y)))


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


def wreath_procrustes(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """modelsym's wreath Procrustes similarity: 1 − √((‖X̄‖² + ‖Ȳ‖² − 2 max_P ⟨X̄, ȲP⟩)/(4d)),
    X̄ the (padded) data with every unit scaled to unit norm over the samples, d the width."""
    xu, yu = pad_to_same_width(unit_columns(x), unit_columns(y))
    perm = optimal_permutation(xu, yu)
    ym = yu.gather(-1, perm.unsqueeze(-2).expand(yu.shape))
    sq = (fro2(xu) + fro2(yu) - 2 * (xu * ym).sum((-2, -1))) / (4 * xu.shape[-1])
    return 1 - safe_sqrt(sq)


def wreath_kernel(x: torch.Tensor) -> torch.Tensor:
    """(…, n, n) K_ij = max_c x̄_ic x̄_jc for i ≠ j (0 on the diagonal), x̄ the centred units
    scaled to unit norm: modelsym's ``estimator="max"`` kernel for units without space."""
    xu = unit_columns(center(x))
    n, d = xu.shape[-2:]
    step = max(1, (1 << 22) // max(1, n * d))  # rows per block: ≤ 4M products at once
    k = torch.cat(
        [(xu[..., i : i + step, None, :] * xu.unsqueeze(-3)).amax(-1) for i in range(0, n, step)],
        -2,
    )
    eye = torch.eye(x.shape[-2], dtype=torch.bool, device=x.device)
    return k.masked_fill(eye, 0.0)


def wreath_cka(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unbiased-HSIC CKA of the wreath kernels (modelsym ``wreath_cka``)."""
    n = x.shape[-2]
    if n < 4:
        raise ValueError(f"wreath_cka's unbiased HSIC needs at least 4 samples, got {n}.")
    k, l = wreath_kernel(x), wreath_kernel(y)
    kl, kk, ll = hsic_unbiased(k, l), hsic_unbiased(k, k), hsic_unbiased(l, l)
    den2 = kk * ll
    pos = den2 > 0
    den = safe_sqrt(torch.where(pos, den2, torch.ones_like(den2)))
    return torch.where(pos, kl / den, torch.zeros_like(kl)).clamp(-1, 1)


# ----------------------------------------------------------------------------- registration
_RESI = (
    "Klabunde et al. 2025, ReSi: A Comprehensive Benchmark for Representational Similarity "
    "Measures (ICLR); github.com/mklabunde/resi (measures/procrustes.py)",
)
_WILLIAMS = ("Williams et al. 2021, Generalized shape metrics on neural representations (NeurIPS)",)
_GODFREY = (
    "Godfrey et al. 2022, On the symmetries of deep learning models and their internal "
    "representations (NeurIPS); github.com/pnnl/modelsym",
)
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
            refs=(
                "Ding et al. 2021, Grounding representation similarity through statistical "
                "testing (NeurIPS)",
            )
            + _RESI,
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
            refs=(
                "Hamilton et al. 2016, Diachronic word embeddings reveal statistical laws "
                "of semantic change (ACL)",
            )
            + _RESI,
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
            form="score",
            what="modelsym's wreath Procrustes similarity: units scaled to unit norm, matched "
            "one to one, one minus the normalized residual; " + _DISCRETE,
            formula="1 − √((‖X̄‖² + ‖Ȳ‖² − 2 max_P ⟨X̄, ȲP⟩) / (4d)), x̄_j = x_j/‖x_j‖ "
            "(uncentred), d the padded width",
            rng=(0.0, 1.0),
            refs=_GODFREY,
            differentiable=False,
            invariances=("permutation", "isotropic_scaling"),
            cost="O(n·d² + d³) (cross-products + Hungarian)",
        ),
    ),
    "wreath_cka": (
        wreath_cka,
        dict(
            form="score",
            what="modelsym's wreath CKA: CKA (unbiased HSIC) of the kernels K_ij = max over "
            "units of the product of centred, unit-norm unit responses; differentiable "
            "almost everywhere (a max over units)",
            formula="HSIC_u(K_X, K_Y)/√(HSIC_u(K_X, K_X) HSIC_u(K_Y, K_Y)), "
            "K_ij = max_c x̄_ic x̄_jc (i ≠ j), x̄_c = x̃_c/‖x̃_c‖",
            rng=(-1.0, 1.0),
            refs=_GODFREY
            + ("Song et al. 2012, Feature selection via dependence maximization (JMLR)",),
            invariances=_WREATH_INV,
            estimator="unbiased HSIC U-statistic (Song et al. 2012)",
            cost="O(n²·d) time, O(n²·d) memory (the max over units)",
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
    "wreath_procrustes": "Wreath Procrustes (Godfrey et al. 2022, modelsym): a Procrustes "
    "similarity invariant to the symmetries of ReLU layers, unit permutations and positive "
    "rescalings of units, by matching unit-norm units one to one.",
    "wreath_cka": "Wreath CKA (Godfrey et al. 2022, modelsym): CKA of kernels that compare two "
    "samples by their largest shared unit response, invariant to permuting and positively "
    "rescaling units.",
}
for _family, _text in _TEXT.items():
    describe(_family, _text)
