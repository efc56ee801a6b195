"""NBS, Procrustes and generalized shape metrics (Williams et al. 2021).

- ``nbs-score`` (normalized Bures similarity):  NBS = ‖X̃ᵀỸ‖_* / (‖X̃‖_F ‖Ỹ‖_F), which is
  the fidelity of the centred linear kernels and the cosine of the Procrustes angle.
- ``procrustes-distance=angular`` = min_Q arccos(⟨X̃, ỸQ⟩ / (‖X̃‖‖Ỹ‖)) = arccos(NBS);
  ``procrustes-angular_score`` = 1 − (2/π)·arccos(NBS).
- ``procrustes-distance=euclidean`` = min_Q ‖X̃ − ỸQ‖_F = √(‖X̃‖² + ‖Ỹ‖² − 2‖X̃ᵀỸ‖_*)
  (equal to ``bures_distance`` between the centred kernels); ``squared_euclidean`` its square.
- ``shape_metric-alpha=A-...``: netrep's partial whitening. λ, V = eigh(X̃ᵀX̃), λ clipped at
  1e-7; d = α + (1−α)λ^(−1/2), rescaled by √(Σλ / Σ(α²λ + 2α(1−α)λ^(1/2) + (1−α)²)); the
  whitened X̃·V diag(d) Vᵀ are aligned by the SVD of their cross-product. α = 1 is
  Procrustes, α = 0 is CCA. The narrower input is zero-padded (netrep's convention).

Only singular values are differentiated (the nuclear norm), never singular vectors, so
gradients stay finite at Y = X, at rotations of X and for rank-deficient inputs.

>>> import torch
>>> X = torch.randn(60, 5, dtype=torch.float64)
>>> Q = torch.linalg.qr(torch.randn(5, 5, dtype=X.dtype))[0]
>>> round(float(nbs(X, 3 * X @ Q + 1)), 10)
1.0
"""

from __future__ import annotations

import numpy as np
import torch

from .forms import register_similarity, transform
from .linalg import (
    bures_metric,
    bures_similarity,
    bures_sq_metric,
    center,
    fro2,
    nuclear_norm,
    nuclear_terms,
    sym_matrix_function,
)
from .moments import surrogate_stream
from .pc_theory import PCTheory
from .registry import Param, Template, alias, describe, register, register_hooks

__all__ = [
    "nbs",
    "partial_whiten",
    "partial_whitener",
    "procrustes_sq_euclidean",
    "shape_terms",
]


# (‖X‖², ‖Y‖², ‖XᵀY‖_*) of already centred/whitened inputs; the terms and the three ways
# of combining them (cosine, squared metric, metric) live in measures/linalg.py
shape_terms = nuclear_terms


def nbs(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Normalized Bures similarity ‖X̃ᵀỸ‖_* / (‖X̃‖‖Ỹ‖) of ``(..., n, p)``, ``(..., n, q)``."""
    return bures_similarity(*nuclear_terms(center(x), center(y)))


def procrustes_sq_euclidean(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """min_Q ‖X̃ − ỸQ‖²_F = ‖X̃‖² + ‖Ỹ‖² − 2‖X̃ᵀỸ‖_* (zero-padding implied)."""
    return bures_sq_metric(*nuclear_terms(center(x), center(y)))


def _variance(lam: torch.Tensor, alpha: float) -> torch.Tensor:
    """The variance of a partially whitened direction of variance λ: α²λ + 2α(1−α)λ^½ + (1−α)²."""
    return alpha**2 * lam + 2 * alpha * (1 - alpha) * lam.sqrt() + (1 - alpha) ** 2


def _whitening(
    c: torch.Tensor, alpha: float, eigval_tol: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """netrep's partial whitening of the Gram ``c = X̃ᵀX̃`` before its variance rescale:
    ``(Z₀, Σλ, Σ var(λ))`` with ``Z₀ = V diag(α + (1−α)λ^(−½)) Vᵀ`` and λ clipped at
    ``eigval_tol``. One ``eigh`` serves the sums (differentiated directly) and ``Z₀``
    (Daleckii–Krein backward)."""
    lam_raw, v = torch.linalg.eigh(c)
    lam = lam_raw.clamp_min(eigval_tol)

    def f(l: torch.Tensor) -> torch.Tensor:
        return alpha + (1 - alpha) * l.clamp_min(eigval_tol).rsqrt()

    def fp(l: torch.Tensor) -> torch.Tensor:
        return torch.where(
            l > eigval_tol, -0.5 * (1 - alpha) * l.clamp_min(eigval_tol).pow(-1.5), 0 * l
        )

    z = sym_matrix_function(c, f, fp, eig=(lam_raw.detach(), v.detach()))
    return z, lam.sum(-1), _variance(lam, alpha).sum(-1)


def _variance_rescale(
    lam_sum: torch.Tensor,
    var_sum: torch.Tensor,
    n_pad: int | torch.Tensor,
    alpha: float,
    eigval_tol: float,
) -> torch.Tensor:
    """√((Σλ + n_pad·tol) / (Σvar + n_pad·var(tol))): the rescale that keeps the total
    variance, with ``n_pad`` zero-padded units (netrep) counted as clipped eigenvalues.
    ``n_pad`` may be a tensor (one padded width per pair)."""
    pad_v = _variance(torch.tensor(eigval_tol, dtype=lam_sum.dtype), alpha).item()
    return ((lam_sum + n_pad * eigval_tol) / (var_sum + n_pad * pad_v)).sqrt()


def partial_whitener(
    c: torch.Tensor, alpha: float, n_pad: int = 0, eigval_tol: float = 1e-7
) -> torch.Tensor:
    """netrep's partial-whitening matrix Z for the Gram ``c = X̃ᵀX̃`` (so ``X_α = X̃ Z``).

    λ, V = eigh(c) with λ clipped at ``eigval_tol``; Z = V diag(α + (1−α)λ^(−½)) Vᵀ × √(Σλ /
    Σ(α²λ + 2α(1−α)λ^½ + (1−α)²)). ``n_pad`` zero columns (netrep's zero-padding to the
    other input's width) add ``n_pad`` clipped eigenvalues to both sums; their columns of
    X_α are zero, so Z itself is only needed on the real units.
    """
    z, lam_sum, var_sum = _whitening(c, alpha, eigval_tol)
    return z * _variance_rescale(lam_sum, var_sum, n_pad, alpha, eigval_tol)[..., None, None]


def partial_whiten(x: torch.Tensor, alpha: float, eigval_tol: float = 1e-7) -> torch.Tensor:
    """netrep's partial whitening of centred ``x``: ``x @ Z`` with the variance preserved."""
    if alpha > 1 - eigval_tol:
        return x
    return x @ partial_whitener(x.transpose(-1, -2) @ x, alpha, 0, eigval_tol)


def _shape_terms_alpha(x, y, alpha, eigval_tol=1e-7):
    """(‖X_α‖², ‖Y_α‖², ‖X_αᵀY_α‖_*) with netrep's zero-padding accounted for analytically.

    The whitened data X̃Z are formed explicitly: the shortcut tr(Z X̃ᵀX̃ Z) amplifies the
    rounding of X̃ᵀX̃ by ‖Z‖² and breaks Cauchy–Schwarz for rank-deficient float32 input.
    """
    xc, yc = center(x), center(y)
    if alpha > 1 - eigval_tol:  # Procrustes: zero-padding changes no term
        return nuclear_terms(xc, yc)
    d = max(xc.shape[-1], yc.shape[-1])
    zx = partial_whitener(xc.transpose(-1, -2) @ xc, alpha, d - xc.shape[-1], eigval_tol)
    zy = partial_whitener(yc.transpose(-1, -2) @ yc, alpha, d - yc.shape[-1], eigval_tol)
    return nuclear_terms(xc @ zx, yc @ zy)


# ----------------------------------------------------------------------------- registration
_PROC_INV = ("permutation", "orthogonal", "isotropic_scaling", "translation")
_REFS_NBS = (
    "Tang et al. 2020, Similarity of neural networks via the normalized Bures similarity",
    "Harvey et al. 2023, Duality of Bures and shape distances",
)
_REFS_SHAPE = ("Williams et al. 2021, Generalized shape metrics on neural representations",)


def _nbs_card(values):
    return dict(
        family="nbs",
        form="score",
        description="normalized Bures similarity (fidelity of centred linear kernels)",
        formula="‖X̃ᵀỸ‖_* / (‖X̃‖_F ‖Ỹ‖_F)",
        range=(0.0, 1.0),
        metric=False,
        symmetric=True,
        differentiable=True,
        invariances=_PROC_INV,
        estimator="plug-in (in-sample)",
        cost="O(n·p·q + p·q·min(p,q)) (svdvals of X̃ᵀỸ)",
        references=_REFS_NBS,
    )


def _nbs_build():
    return lambda x, y, n_conditions=None: nbs(x, y)


register_similarity("nbs", (), _nbs_build, _nbs_card, angular_metric=True)


def _nbs_squared_build(**_):
    return lambda x, y, n_conditions=None: nbs(x, y) ** 2


def _nbs_sq_card(values):
    c = _nbs_card(values)
    c.update(description="squared normalized Bures similarity", formula="NBS²")
    return c


register(Template("nbs", "squared_score", (), _nbs_squared_build, _nbs_sq_card))


def _proc_card(values):
    c = _nbs_card(values)
    c.update(
        family="procrustes",
        description="cosine of the Procrustes angle min_Q ∠(X̃, ỸQ) (= NBS)",
        formula="cos min_Q ∠(X̃, ỸQ) = ‖X̃ᵀỸ‖_* / (‖X̃‖‖Ỹ‖)",
        references=_REFS_SHAPE + _REFS_NBS,
    )
    return c


register_similarity("procrustes", (), _nbs_build, _proc_card, angular_metric=True)


def _euclid_templates(family, params, build_terms, card_fn, extra_desc):
    def build_e(**values):
        def fn(x, y, n_conditions=None):
            return bures_metric(*build_terms(x, y, **values))

        return fn

    def build_se(**values):
        def fn(x, y, n_conditions=None):
            return bures_sq_metric(*build_terms(x, y, **values))

        return fn

    def card_e(values):
        c = card_fn(values)
        c.update(
            form="distance",
            range=(0.0, float("inf")),
            metric=True,
            description=f"Euclidean {extra_desc} distance after optimal rotation",
            formula="√(‖X̃‖² + ‖Ỹ‖² − 2‖X̃ᵀỸ‖_*)",
            # a length, so it scales with the data (α = 0 too: netrep keeps the variance)
            invariances=tuple(
                i for i in c["invariances"] if i not in ("isotropic_scaling", "invertible_linear")
            ),
        )
        return c

    def card_se(values):
        c = card_e(values)
        c.update(
            metric=False,
            formula="‖X̃‖² + ‖Ỹ‖² − 2‖X̃ᵀỸ‖_*",
            description=f"squared Euclidean {extra_desc} distance after optimal rotation",
        )
        return c

    register(Template(family, "distance=euclidean", params, build_e, card_e))
    register(Template(family, "distance=squared_euclidean", params, build_se, card_se))


def _proc_terms(x, y):
    return nuclear_terms(center(x), center(y))


_euclid_templates("procrustes", (), _proc_terms, _proc_card, "Procrustes")
# similarity-repository: nbs-distance=angular = procrustes-distance=angular (Harvey et al.
# 2023), so NBS's Euclidean forms are the Procrustes ones
_euclid_templates("nbs", (), _proc_terms, _nbs_card, "Procrustes (NBS)")


def _bures_build():
    return lambda x, y, n_conditions=None: bures_metric(*_proc_terms(x, y))


def _bures_card(values):
    c = _nbs_card(values)
    c.update(
        family="bures_distance",
        form="distance",
        range=(0.0, float("inf")),
        metric=True,
        description="Bures distance between the centred linear kernels X̃X̃ᵀ and ỸỸᵀ",
        formula="√(tr K + tr L − 2 tr(K^½ L K^½)^½) = √(‖X̃‖² + ‖Ỹ‖² − 2‖X̃ᵀỸ‖_*)",
        invariances=("permutation", "orthogonal", "translation"),
    )
    return c


register(Template("bures_distance", "", (), _bures_build, _bures_card))

# shape metrics -------------------------------------------------------------------------
ALPHA = Param(
    "alpha",
    kind="float",
    grid=(0.0, 0.5, 1.0),
    check=lambda a: 0.0 <= a <= 1.0,
    check_msg="alpha must lie in [0, 1] (1 = Procrustes, 0 = CCA).",
)


def _shape_card(values):
    a = values["alpha"]
    inv = ["permutation", "orthogonal", "translation"]
    if a in (0.0, 1.0):
        inv.append("isotropic_scaling")
    if a == 0.0:
        inv.append("invertible_linear")
    return dict(
        family="shape_metric",
        form="score",
        description=f"generalized shape metric, partial whitening α = {a:g}",
        formula="‖X_αᵀY_α‖_* / (‖X_α‖‖Y_α‖), X_α = X̃·Z_α (netrep partial whitening)",
        range=(0.0, 1.0),
        metric=False,
        symmetric=True,
        differentiable=True,
        invariances=tuple(inv),
        estimator="plug-in (in-sample)",
        cost="O(n·d² + d³)",
        references=_REFS_SHAPE,
    )


def _shape_build(alpha):
    return lambda x, y, n_conditions=None: bures_similarity(*_shape_terms_alpha(x, y, alpha))


register_similarity("shape_metric", (ALPHA,), _shape_build, _shape_card, angular_metric=True)
_euclid_templates("shape_metric", (ALPHA,), _shape_terms_alpha, _shape_card, "shape")

alias("nbs", "nbs-score", display=True)
alias("nbs-squared", "nbs-squared_score")
alias("nbs-angular-score", "nbs-angular_score")
alias("procrustes-angular-score", "procrustes-angular_score")
alias("procrustes-euclidean", "procrustes-distance=euclidean")

describe(
    "nbs",
    """Normalized Bures similarity: the fidelity of the centred linear kernels,
    ‖X̃ᵀỸ‖_* / (‖X̃‖_F ‖Ỹ‖_F), i.e. the cosine of the Procrustes angle between X̃ and Ỹ; also as
    its square, angle and angular score. Invariant to orthogonal transformations, isotropic
    scaling and translation; linear (not quadratic) in each principal component's variance.""",
)
describe(
    "procrustes",
    """Orthogonal Procrustes: X̃ and Ỹ compared after the rotation of Ỹ that best aligns them,
    as the cosine of the remaining angle (= NBS), its angle and angular score, or the
    Euclidean distance √(‖X̃‖² + ‖Ỹ‖² − 2‖X̃ᵀỸ‖_*) and its square (which keep the scale).""",
)
describe(
    "bures_distance",
    """Bures distance between the centred linear kernels X̃X̃ᵀ and ỸỸᵀ, a metric on positive
    semi-definite matrices that equals the Procrustes Euclidean distance between X̃ and Ỹ.""",
)
describe(
    "shape_metric",
    """Generalized shape metrics (Williams et al. 2021): both inputs partially whitened with
    strength 1 − α (netrep's convention), then compared after the best rotation, as a cosine,
    angle, angular score or Euclidean distance; α = 1 is Procrustes, α = 0 is CCA.""",
)


# ----------------------------------------------------------------------------- streaming hook
# Every measure here depends on the data only through X̃ᵀX̃, ỸᵀỸ and X̃ᵀỸ.
for _family in ("nbs", "procrustes", "bures_distance", "shape_metric"):
    register_hooks(_family, streaming=surrogate_stream)


# ----------------------------------------------------------------------------- theory hook
def _pc_perturbed(lam: np.ndarray, i: np.ndarray, a: float):
    """X̃ᵀY has singular values λ_k (k ≠ i) and |a|λ_i, so with S₁ = Σλ:
    NBS(a) = (S₁ − λ_i + |a|λ_i) / sqrt(S₁ (S₁ − λ_i + a²λ_i))."""
    li = lam[i]
    s1 = float(np.sum(lam))
    rest = s1 - li
    return rest + abs(a) * li, np.sqrt(s1 * (rest + a**2 * li))


def _pc_leading(lam: np.ndarray, i: int, eps: float) -> float:
    """1 − NBS ≈ ½q(1 − q)ε², q = λ_i/S₁."""
    q = lam[i] / float(np.sum(lam))
    return 0.5 * q * (1 - q) * eps**2


def _theory(template, values) -> PCTheory:
    """NBS and the Procrustes cosine (equal): top-k weights λ (linear in variance)."""
    return PCTheory(perturbed=_pc_perturbed, weights=lambda lam: lam, leading=_pc_leading)


register_hooks("nbs", theory=_theory)
register_hooks("procrustes", theory=_theory)


# ----------------------------------------------------------------------------- all-pairs hook
_EIG_TOL = 1e-7  # netrep's eigenvalue clip, as in partial_whitener


def _whiten_parts(xc: torch.Tensor, alpha: float):
    """Centred xc partially whitened without its variance rescale, and the two sums from
    which the rescale for any zero-padded width follows (None at α = 1)."""
    if alpha > 1 - _EIG_TOL:
        return xc, None
    z, lam_sum, var_sum = _whitening(xc.transpose(0, 1) @ xc, alpha, _EIG_TOL)
    return xc @ z, (lam_sum, var_sum)


def _rescale(sums, d: int, width: torch.Tensor, alpha: float) -> torch.Tensor:
    """Variance rescale of a whitened rep of width d zero-padded to ``width`` (vector)."""
    if sums is None:
        return torch.ones_like(width)
    return _variance_rescale(*sums, width - d, alpha, _EIG_TOL)


def _all_pairs_terms(A, B, alpha: float, ctx, widths_a, widths_b):
    """(‖X‖², ‖Y‖², ‖XᵀY‖_*) matrices of all pairs; ``widths_*`` are the original unit
    counts (a representation may have been replaced by its n×n sample-space factor: the
    padded width and the count of zero eigenvalues follow the original)."""
    symmetric = B is None
    pa = [_whiten_parts(center(a), alpha) for a in A]
    pb = pa if symmetric else [_whiten_parts(center(b), alpha) for b in B]
    kw = {"dtype": A[0].dtype, "device": A[0].device}
    wa = torch.as_tensor(widths_a, **kw)
    wb = wa if symmetric else torch.as_tensor(widths_b, **kw)
    width = torch.maximum(wa[:, None], wb[None, :])  # zero-padded width of each pair
    sa = torch.stack([_rescale(s, A[i].shape[1], width[i], alpha) for i, (_, s) in enumerate(pa)])
    Bl = A if symmetric else B
    sb = torch.stack(
        [_rescale(s, Bl[j].shape[1], width[:, j], alpha) for j, (_, s) in enumerate(pb)], 1
    )
    na = torch.stack([fro2(x) for x, _ in pa])
    nb = na if symmetric else torch.stack([fro2(y) for y, _ in pb])
    nuc = ctx.cross([x for x, _ in pa], None if symmetric else [y for y, _ in pb], "nuc")
    return na[:, None] * sa * sa, nb[None, :] * sb * sb, nuc * sa * sb


def _pairwise(A, B, values, ctx):
    """All pairs (``sg.pairwise``): centre (and partially whiten) once per representation;
    nuclear norms of the cross-products of all pairs, batched by the driver."""
    ctx.log("whiten once per representation, batched nuclear norms")
    ra, rb = ctx.reduce(A, B)
    widths_b = None if B is None else [b.shape[1] for b in B]
    alpha = float(values.get("alpha", 1.0))
    terms = _all_pairs_terms(ra, rb, alpha, ctx, [a.shape[1] for a in A], widths_b)
    if ctx.family == "bures_distance" or ctx.form == "distance=euclidean":
        return bures_metric(*terms)
    if ctx.form == "distance=squared_euclidean":
        return bures_sq_metric(*terms)
    cos = bures_similarity(*terms)
    return cos**2 if ctx.form == "squared_score" else transform(ctx.form, cos)


for _family in ("nbs", "procrustes", "bures_distance", "shape_metric"):
    register_hooks(_family, pairwise=_pairwise)


# ----------------------------------------------------------------------------- resample hook
def _resample(template, values):
    """Row re-indexings (``sg.stats``) of Procrustes / NBS: a permutation of Y changes only
    X̃ᵀỸ_π; a bootstrap resample with counts w (m rows) needs no copies either:
    X̃_bᵀỸ_b = XᵀWY − m·x̄_b ȳ_bᵀ and ‖X̃_b‖² = Σ wᵢ‖xᵢ‖² − m‖x̄_b‖² (x̄_b = Xᵀw/m), one
    batched product and batched singular values. With more units than samples X̃ is first
    replaced by its n-column factor UΣ (same nuclear norms and Frobenius norms)."""
    form = template.form
    finish = {
        "distance=euclidean": bures_metric,
        "distance=squared_euclidean": bures_sq_metric,
    }.get(form)
    if finish is None and form not in ("score", "distance=angular", "angular_score"):
        return None

    def out(nx2, ny2, nuc):
        return finish(nx2, ny2, nuc) if finish else transform(form, bures_similarity(nx2, ny2, nuc))

    def reduce(a):  # more units than samples: a factor F with FFᵀ = ÃÃᵀ (n × n) serves
        if a.shape[-1] <= a.shape[-2]:
            return a
        u, s, _ = torch.linalg.svd(a, full_matrices=False)
        return u * s

    def prepare(x, y, n_conditions):
        xc, yc = reduce(center(x)), reduce(center(y))
        nx2, ny2 = fro2(xc), fro2(yc)
        n = x.shape[-2]

        def evaluate(rx, ry, _):
            if rx is None:
                return out(nx2, ny2, nuclear_norm(xc.transpose(-1, -2) @ yc[ry]))
            if not torch.equal(rx, ry):
                return out(*nuclear_terms(center(xc[rx]), center(yc[ry])))
            w = torch.zeros(rx.shape[0], n, dtype=x.dtype, device=x.device)
            w.scatter_add_(1, rx, torch.ones_like(rx, dtype=x.dtype))
            m = rx.shape[1]
            mx, my = (w @ xc) / m, (w @ yc) / m
            cxy = (xc.transpose(0, 1) * w[:, None, :]) @ yc - m * mx[:, :, None] * my[:, None, :]
            bx = w @ (xc * xc).sum(-1) - m * (mx * mx).sum(-1)
            by = w @ (yc * yc).sum(-1) - m * (my * my).sum(-1)
            return out(bx, by, nuclear_norm(cxy))

        return evaluate

    return prepare


for _family in ("procrustes", "nbs"):
    register_hooks(_family, resample=_resample)
