"""Centered kernel alignment (CKA) with linear or RBF kernels and three HSIC estimators.

For centred X̃ (n×p), Ỹ (n×q) and kernels K, L (n×n):

- ``hsic=gretton`` (biased):   CKA = ⟨HKH, HLH⟩ / (‖HKH‖ ‖HLH‖); for the linear kernel
  ``= ‖X̃ᵀỸ‖²_F / (‖X̃ᵀX̃‖_F ‖ỸᵀỸ‖_F)`` (Kornblith et al. 2019).
- ``hsic=song`` (unbiased U-statistic, Song et al. 2012): with K₀, L₀ the kernels with
  zeroed diagonals, HSIC_u = [tr(K₀L₀) + 1ᵀK₀1·1ᵀL₀1/((n−1)(n−2)) − 2/(n−2)·1ᵀK₀L₀1] /
  (n(n−3)), and CKA_u = HSIC_u(K,L) / √(HSIC_u(K,K)·HSIC_u(L,L)). Needs n ≥ 4.
- ``hsic=lange``: double-centre, zero the diagonal, then take the cosine.

The linear kernel is computed in feature space (d×d products, O(n·d²)) when samples
outnumber units and in sample space (n×n Grams) otherwise; no n×n matrix is formed in the
feature-space path. The RBF kernel is ``k(a, b) = exp(−‖a − b‖² / (2σ²))`` with
σ = S × the median pairwise Euclidean distance between samples (of that representation),
written ``kernel=(rbf-sigma=S)``; the Laplace kernel ``kernel=(laplace-sigma=S)`` is
``k(a, b) = exp(−‖a − b‖ / (√2·σ))`` with the same σ (the length scale ℓ = √2·σ that
similarity-repository passes to repsim for both kernels, so exp(−d²/ℓ²) is the RBF kernel).
Every CKA also comes in similarity-repository's other forms (``distance=one_minus_score``,
``score-negative_log``, ``distance=euclidean``, ``distance=squared_euclidean``; see
:mod:`simgrad.measures.forms`).

>>> import torch
>>> X = torch.randn(100, 8, dtype=torch.float64)
>>> round(float(cka_linear(X, X @ torch.linalg.qr(torch.randn(8, 8, dtype=X.dtype))[0])), 10)
1.0
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from .forms import EXTRA_FORMS, needs_inputs, register_similarity, transform
from .grammar import format_number, parse_number
from .linalg import (
    center,
    center_kernel,
    cross,
    fro2,
    gram_feature,
    hsic_cosine,
    hsic_linear,
    pairwise_sq_dists,
    require_positive,
    safe_sqrt,
    tiny,
    trace_scale,
)
from .moments import Stream
from .pc_theory import PCTheory
from .registry import Param, alias, describe, register_hooks

__all__ = [
    "cka_from_grams",
    "cka_linear",
    "hsic_from_grams",
    "laplace_gram",
    "rbf_gram",
]

log = logging.getLogger("simgrad.measures")


def choose_algorithm(n: int, p: int, q: int) -> str:
    """Feature space when its flop count n·(pq + p² + q²) beats the Grams' n²·(p + q + 3)."""
    choice = "feature" if n * (p * q + p * p + q * q) <= n * n * (p + q + 3) else "sample"
    log.debug("linear CKA on n=%d, p=%d, q=%d: %s-space algorithm", n, p, q, choice)
    return choice


def _check_song(n: int, hsic: str) -> None:
    """The unbiased (song) HSIC is defined from 4 samples on."""
    if hsic == "song" and n < 4:
        raise ValueError(f"The unbiased (song) HSIC needs at least 4 samples, got {n}.")


def _check_self_hsic(dx, refx, dy, refy, hsic: str) -> None:
    """The unbiased (song) and lange self-HSIC of a non-constant input can vanish (X = I:
    every centred sample orthogonal to the others and equally long); CKA is then undefined
    and is refused, never a clamped ratio (the card's range holds)."""
    for d, ref, what in ((dx, refx, "X"), (dy, refy, "Y")):
        require_positive(
            d,
            ref,
            f"CKA with hsic={hsic} is undefined here: the {hsic} HSIC of {what} with itself is "
            "0 up to rounding (orthogonal, equally long samples such as X = I, or a nearly "
            "constant RBF kernel); use hsic=gretton or float64.",
        )


def cka_linear(x: torch.Tensor, y: torch.Tensor, hsic: str = "gretton") -> torch.Tensor:
    """Linear CKA of ``(..., n, p)`` and ``(..., n, q)`` with the given HSIC estimator.

    The products are divided by the (detached) traces of the Grams, which leaves CKA unchanged
    and keeps its fourth powers of the data inside the float32 range at any data scale.
    """
    n, p, q = x.shape[-2], x.shape[-1], y.shape[-1]
    _check_song(n, hsic)
    xc, yc = center(x), center(y)
    if choose_algorithm(n, p, q) == "sample":
        k, l_ = xc @ xc.transpose(-1, -2), yc @ yc.transpose(-1, -2)
        return cka_from_grams(k / trace_scale(k), l_ / trace_scale(l_), hsic)
    xx, yy = gram_feature(xc), gram_feature(yc)
    sx, sy = trace_scale(xx), trace_scale(yy)
    xy2 = fro2(cross(xc, yc) / (sx.sqrt() * sy.sqrt()))
    xx2 = fro2(xx / sx)
    yy2 = fro2(yy / sy)
    if hsic == "gretton":
        return hsic_cosine(xy2, xx2, yy2)
    a = (xc * xc).sum(-1) / sx[..., 0]
    b = (yc * yc).sum(-1) / sy[..., 0]
    # each Σa, Σb its own node: the gradient then accumulates in the order it always has
    num = hsic_linear(xy2, (a * b).sum(-1), a.sum(-1), b.sum(-1), n, hsic)
    dx = hsic_linear(xx2, (a * a).sum(-1), a.sum(-1), a.sum(-1), n, hsic)
    dy = hsic_linear(yy2, (b * b).sum(-1), b.sum(-1), b.sum(-1), n, hsic)
    _check_self_hsic(dx, xx2, dy, yy2, hsic)
    return hsic_cosine(num, dx, dy)


def hsic_from_grams(k: torch.Tensor, l: torch.Tensor, hsic: str = "gretton") -> torch.Tensor:
    """HSIC between two n×n kernel matrices (gretton: /(n−1)²; song: /(n(n−3)); lange: raw)."""
    n = k.shape[-1]
    _check_song(n, hsic)
    s = (center_kernel(k, hsic) * center_kernel(l, hsic)).sum((-2, -1))
    if hsic == "gretton":
        return s / (n - 1) ** 2
    if hsic == "song":
        return s / (n * (n - 3))
    return s


def cka_from_grams(k: torch.Tensor, l: torch.Tensor, hsic: str = "gretton") -> torch.Tensor:
    """CKA = HSIC(K, L) / √(HSIC(K, K)·HSIC(L, L)) for n×n kernel matrices."""
    kxy = hsic_from_grams(k, l, hsic)
    kxx = hsic_from_grams(k, k, hsic)
    kyy = hsic_from_grams(l, l, hsic)
    if hsic != "gretton":
        n = k.shape[-1]
        f = n * (n - 3) if hsic == "song" else 1
        _check_self_hsic(kxx, fro2(k) / f, kyy, fro2(l) / f, hsic)
    return kxy / (kxx.clamp_min(tiny(kxx)) * kyy.clamp_min(tiny(kyy))).sqrt()


def sq_dists(x: torch.Tensor) -> torch.Tensor:
    """Pairwise squared Euclidean distances between samples (rows), clamped at 0 (the row
    norms summed elementwise, not read off the Gram's diagonal)."""
    return pairwise_sq_dists(x @ x.transpose(-1, -2), (x * x).sum(-1))


def _median_sq_dist(d: torch.Tensor) -> torch.Tensor:
    """The squared median of the n(n−1)/2 distinct pairwise distances (``numpy.median``
    convention: the mean of the two middle distances for an even count), floored at tiny."""
    n = d.shape[-1]
    iu = torch.triu_indices(n, n, offset=1, device=d.device)
    pairs = d[..., iu[0], iu[1]]
    m = pairs.shape[-1]
    # median of the distances (not squared): odd count → middle one; even → mean of the two
    # middle distances, as numpy.median. safe_sqrt keeps a zero distance's gradient finite.
    if m % 2:
        med = safe_sqrt(pairs.kthvalue((m + 1) // 2, dim=-1).values)
    else:
        lo = safe_sqrt(pairs.kthvalue(m // 2, dim=-1).values)
        hi = safe_sqrt(pairs.kthvalue(m // 2 + 1, dim=-1).values)
        med = 0.5 * (lo + hi)
    med = med * med
    require_positive(
        med,
        d.detach().amax((-2, -1)),
        "The kernel bandwidth (sigma × the median distance between samples) is 0: more than "
        "half of the sample pairs coincide (duplicated rows); use the linear kernel.",
    )
    return med.clamp_min(tiny(med))


def rbf_gram(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """RBF kernel exp(−‖a − b‖² / (2σ²)) with σ = ``sigma`` × the median pairwise distance.

    The median is taken over the n(n−1)/2 distinct pairs, averaging the two middle values when
    their count is even (as ``numpy.median``).
    """
    d = sq_dists(center(x))
    s2 = (sigma**2) * _median_sq_dist(d)
    return torch.exp(-d / (2 * s2[..., None, None]))


def laplace_gram(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Laplace kernel exp(−‖a − b‖ / (√2·σ)), σ = ``sigma`` × the median pairwise distance.

    >>> import math, torch
    >>> k = laplace_gram(torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64), 1.0)
    >>> abs(float(k[0, 1]) - math.exp(-1 / (math.sqrt(2) * 2))) < 1e-12  # median distance 2
    True
    """
    d = sq_dists(center(x))
    s2 = (sigma**2) * _median_sq_dist(d)
    return torch.exp(-safe_sqrt(d / (2 * s2[..., None, None])))


_GRAMS = {"rbf": rbf_gram, "laplace": laplace_gram}


# ----------------------------------------------------------------------------- kernel param
def _parse_kernel(text: str):
    if text == "linear":
        return ("linear", None)
    for kind in _GRAMS:
        head = f"({kind}-sigma="
        if text.startswith(head) and text.endswith(")"):
            s = parse_number(text[len(head) : -1])
            if not (s > 0 and np.isfinite(s)):
                raise ValueError
            return (kind, s)
    raise ValueError


def _fmt_kernel(value) -> str:
    kind, s = value
    return "linear" if kind == "linear" else f"({kind}-sigma={format_number(s)})"


KERNEL = Param(
    "kernel",
    kind="custom",
    grid=(("linear", None), ("rbf", 0.5), ("rbf", 1.0), ("rbf", 2.0), ("laplace", 1.0)),
    parse_fn=_parse_kernel,
    fmt_fn=_fmt_kernel,
    # σ² of 1e300 overflows and of 1e-300 underflows (a NaN kernel): refuse at parse time
    check=lambda v: v[0] == "linear" or 1e-6 <= v[1] <= 1e6,
    check_msg="sigma (a multiple of the median distance) must lie in [1e-6, 1e6].",
)
HSIC = Param(
    "hsic", kind="choice", choices=("gretton", "song", "lange"), grid=("gretton", "song", "lange")
)


def _build(kernel, hsic):
    kind, sigma = kernel

    def fn(x, y, n_conditions=None):
        if kind == "linear":
            return cka_linear(x, y, hsic)
        gram = _GRAMS[kind]
        return cka_from_grams(gram(x, sigma), gram(y, sigma), hsic)

    return fn


_EST = {
    "gretton": "biased HSIC (Gretton et al. 2005)",
    "song": "unbiased HSIC U-statistic (Song et al. 2012)",
    "lange": "double-centred, zero-diagonal HSIC (Lange et al. 2023); not unbiased: on "
    "independent Gaussian data (n = 50) it rises with the units, 0.30 at d = 1000 and 0.67 at "
    "d = 5000, where Song's estimator stays within ±0.05 of 0 (docs/statistics.md)",
}


def _card(values):
    kind, sigma = values["kernel"]
    hsic = values["hsic"]
    linear = kind == "linear"
    # RBF kernels too are invariant to isotropic scaling: σ scales with the median distance
    inv = ["permutation", "orthogonal", "translation", "isotropic_scaling"]
    kern = (
        "linear kernel K = X̃X̃ᵀ"
        if linear
        else f"{'RBF' if kind == 'rbf' else 'Laplace'} kernel, σ = {sigma:g} × median distance"
    )
    return dict(
        family="cka",
        form="score",
        description=f"centered kernel alignment, {kern}, {hsic} HSIC",
        formula=(
            "‖X̃ᵀỸ‖²_F / (‖X̃ᵀX̃‖_F ‖ỸᵀỸ‖_F)"
            if linear and hsic == "gretton"
            else "HSIC(K,L) / √(HSIC(K,K)·HSIC(L,L))"
        ),
        range=(0.0, 1.0) if hsic == "gretton" else (-1.0, 1.0),  # zero diagonals: signed
        metric=False,
        symmetric=True,
        differentiable=True,
        invariances=tuple(inv),
        estimator=_EST[hsic],
        cost="O(n·d² ) feature space, or O(n²·d) when d > n" if linear else "O(n²·d + n²)",
        references=(
            "Kornblith et al. 2019, Similarity of neural network representations revisited",
            "Gretton et al. 2005; Song et al. 2012; Lange et al. 2023"
            if hsic != "gretton"
            else "Gretton et al. 2005, Measuring statistical dependence with Hilbert-Schmidt norms",
        ),
    )


register_similarity(
    "cka", (KERNEL, HSIC), _build, _card, angular_metric=True, extra_forms=EXTRA_FORMS
)

alias("cka", "cka-kernel=linear-hsic=gretton-score", display=True)
alias("cka-angular_score", "cka-kernel=linear-hsic=gretton-angular_score", display=True)
alias("cka-angular-score", "cka-kernel=linear-hsic=gretton-angular_score")
alias("cka-distance=angular", "cka-kernel=linear-hsic=gretton-distance=angular")
alias("cka-hsic_song", "cka-kernel=linear-hsic=song-score")
alias("cka-debiased", "cka-kernel=linear-hsic=song-score")
alias("cka-unbiased", "cka-kernel=linear-hsic=song-score")
alias("cka-lange", "cka-kernel=linear-hsic=lange-score")

describe(
    "cka",
    """Centered kernel alignment: the cosine between the centred kernel (Gram) matrices of X and
    Y, HSIC(K, L) / √(HSIC(K, K)·HSIC(L, L)), with a linear kernel (‖X̃ᵀỸ‖²_F / (‖X̃ᵀX̃‖_F
    ‖ỸᵀỸ‖_F) for the biased estimator) or an RBF or Laplace kernel whose bandwidth follows the
    median distance, and the biased (Gretton), unbiased (Song) or zero-diagonal (Lange) HSIC
    estimator. Invariant to orthogonal transformations and isotropic scaling.""",
)


# ----------------------------------------------------------------------------- streaming hook
def _streaming(template, values) -> Stream | None:
    """Linear kernels stream: ‖X̃ᵀỸ‖² and the centred row-norm sums (PairMoments) are all the
    three HSIC estimators need (:func:`hsic_linear`); RBF kernels need the samples."""
    if values["kernel"][0] != "linear" or needs_inputs(template.form):
        return None
    hsic = values["hsic"]

    def finish(m) -> torch.Tensor:
        m.require(4 if hsic == "song" else 2)
        cxx, cyy, cxy = m.covariances()
        r, n = m.row_norm_sums(), m.n
        num = hsic_linear(fro2(cxy), r["ab"], r["a"], r["b"], n, hsic)
        dx = hsic_linear(fro2(cxx), r["aa"], r["a"], r["a"], n, hsic)
        dy = hsic_linear(fro2(cyy), r["bb"], r["b"], r["b"], n, hsic)
        return transform(template.form, hsic_cosine(num, dx, dy))

    return Stream(finish)


# ----------------------------------------------------------------------------- theory hook
def _pc_perturbed(lam: np.ndarray, i: np.ndarray, a: float):
    """X̃ᵀY has singular values λ_k (k ≠ i) and |a|λ_i, so with S₂ = Σλ²:
    CKA(a) = (S₂ − λ_i² + a²λ_i²) / sqrt(S₂ (S₂ − λ_i² + a⁴λ_i²))."""
    li = lam[i]
    s2 = float(np.sum(lam**2))
    rest = s2 - li**2
    return rest + a**2 * li**2, np.sqrt(s2 * (rest + a**4 * li**2))


def _pc_leading(lam: np.ndarray, i: int, eps: float) -> float:
    """1 − CKA ≈ 2p(1 − p)ε², p = λ_i²/S₂."""
    p = lam[i] ** 2 / float(np.sum(lam**2))
    return 2.0 * p * (1 - p) * eps**2


def _theory(template, values) -> PCTheory | None:
    """Linear CKA with the biased (Gretton) HSIC: top-k weights λ² (quadratic in variance)."""
    if values["kernel"][0] != "linear" or values["hsic"] != "gretton":
        return None
    return PCTheory(perturbed=_pc_perturbed, weights=lambda lam: lam**2, leading=_pc_leading)


register_hooks("cka", streaming=_streaming, theory=_theory)


# ----------------------------------------------------------------------------- all-pairs hook
def _pairwise(A, B, values, ctx):
    """All pairs (``sg.pairwise``): linear kernels from the driver's linear-kernel statistics
    (one Σ a·b GEMM for the row-norm terms); RBF kernels built and centred once per
    representation, HSICs of all pairs one GEMM of the flattened kernels."""
    (kind, sigma), hsic = values["kernel"], values["hsic"]
    if needs_inputs(ctx.form):  # the Euclidean forms need the inputs' norms: driver's loop
        return None
    n = A[0].shape[0]
    _check_song(n, hsic)
    if kind == "linear":
        p = ctx.linear_products(A, B)
        if hsic == "gretton":  # needs no row-norm terms (saves the Σ a·b GEMM)
            num, dx, dy = p.xy2, p.xx2, p.yy2
        else:
            ta, tb = p.ta, p.tb
            ab = p.ra @ p.rb.transpose(0, 1)
            num = hsic_linear(p.xy2, ab, ta[:, None], tb[None, :], n, hsic)
            dx = hsic_linear(p.xx2, (p.ra * p.ra).sum(1), ta, ta, n, hsic)
            dy = hsic_linear(p.yy2, (p.rb * p.rb).sum(1), tb, tb, n, hsic)
        return transform(ctx.form, hsic_cosine(num, dx[:, None], dy[None, :]))
    if ctx.algorithm == "feature":
        raise ValueError(f"{kind} CKA has no feature-space algorithm; use 'auto' or 'sample'.")
    ctx.log(f"{kind} kernels once per representation, one GEMM")
    gram = _GRAMS[kind]

    def vector(x):
        return center_kernel(gram(x, sigma), hsic).reshape(-1)

    h = ctx.inner(vector, A, B, n * n)
    hx = h.diagonal() if B is None else torch.stack([(vector(a) ** 2).sum() for a in A])
    hy = hx if B is None else torch.stack([(vector(b) ** 2).sum() for b in B])
    return transform(ctx.form, hsic_cosine(h, hx[:, None], hy[None, :]))


register_hooks("cka", pairwise=_pairwise)


# ----------------------------------------------------------------------------- resample hook
def _resample(template, values):
    """Row re-indexings (``sg.stats``) of linear CKA. Few samples: the centred Grams once,
    each resample re-indexes them (HSIC is unchanged by the centring of a resample: all three
    estimators annihilate row/column constants). Many samples: for a permutation of Y only
    X̃ᵀỸ_π (one product) and the permuted row-norm terms change; other resamples recompute."""
    if values["kernel"][0] != "linear" or needs_inputs(template.form):
        return None
    hsic, form = values["hsic"], template.form

    def prepare(x, y, n_conditions):
        n, p, q = x.shape[-2], x.shape[-1], y.shape[-1]
        xc, yc = center(x), center(y)
        if choose_algorithm(n, p, q) == "sample":
            k, l_ = xc @ xc.transpose(-1, -2), yc @ yc.transpose(-1, -2)
            k, l_ = k / trace_scale(k), l_ / trace_scale(l_)

            def by_grams(rx, ry, _):
                kb = k if rx is None else k[rx[:, :, None], rx[:, None, :]]
                lb = l_[ry[:, :, None], ry[:, None, :]]
                return transform(form, cka_from_grams(kb.expand_as(lb), lb, hsic))

            return by_grams
        xx, yy = gram_feature(xc), gram_feature(yc)
        sx, sy = trace_scale(xx), trace_scale(yy)
        xs, ys = xc / sx.sqrt(), yc / sy.sqrt()
        xx2, yy2 = fro2(xx / sx), fro2(yy / sy)
        a, b = (xs * xs).sum(-1), (ys * ys).sum(-1)

        def by_products(rx, ry, _):
            if rx is not None:
                return transform(form, cka_linear(x[rx], y[ry], hsic))
            xy2 = fro2(xs.transpose(-1, -2) @ ys[ry])
            if hsic == "gretton":
                return transform(form, hsic_cosine(xy2, xx2, yy2))
            num = hsic_linear(xy2, (a * b[ry]).sum(-1), a.sum(), b.sum(), n, hsic)
            dx = hsic_linear(xx2, (a * a).sum(), a.sum(), a.sum(), n, hsic)
            dy = hsic_linear(yy2, (b * b).sum(), b.sum(), b.sum(), n, hsic)
            return transform(form, hsic_cosine(num, dx, dy))

        return by_products

    return prepare


register_hooks("cka", resample=_resample)
