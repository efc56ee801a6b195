"""Canonical correlation analysis (CCA) scores.

With W_X = X̃ (X̃ᵀX̃)^(+½) the whitened centred data (pseudo-inverse square root: directions
with eigenvalue below 1e-10 × trace in float64 are dropped), the canonical correlations ρ_k
are the singular values of W_XᵀW_Y and r_X, r_Y are the numbers of kept directions.

- ``cca-score``          Σρ_k / √(r_X r_Y): the mean canonical correlation (1/p)Σρ_k when both
                         inputs have rank p; equal to the Bures similarity of the whitened
                         kernels and to ``shape_metric-alpha=0-score`` (netrep, full rank).
- ``cca-squared_score``  Σρ_k² / √(r_X r_Y) (Yanai's GCD) = CKA of the whitened data.
- ``cca-distance=angular`` = arccos(cca-score); ``cca-angular_score`` = 1 − (2/π)·arccos.
- ``cca-distance=euclidean`` (and ``squared_euclidean``): netrep's Euclidean shape distance
  at α = 0, i.e. ``shape_metric-alpha=0-distance=euclidean`` (similarity-repository derives
  its ``cca`` names from netrep's ``LinearMetric(alpha=0)``).
- ``mean_cca_corr-score``: Σρ_k / min(r_X, r_Y), the normalisation of Kornblith et al. 2019
  and of sim_metric's ``mean_cca_corr`` (the mean over the smaller width). It equals
  ``cca-score`` when both inputs have the same rank and is larger otherwise.

Full-rank inputs are whitened through a Cholesky factor (fast, exact gradient); rank-deficient
ones through the pseudo-inverse square root, whose eigenvalues only are differentiated with
a Daleckii–Krein backward, so repeated or zero eigenvalues (constant columns, n < units) keep
gradients finite. W_XᵀW_Y is formed from the d×d products X̃ᵀX̃, ỸᵀỸ, X̃ᵀỸ alone.

>>> import torch
>>> X = torch.randn(200, 4, dtype=torch.float64)
>>> A = torch.randn(4, 4, dtype=torch.float64)
>>> round(float(cca_score(X, X @ A)), 8)
1.0
"""

from __future__ import annotations

import torch

from .forms import EUCLIDEAN_FORMS, register_similarity, transform
from .linalg import center, effective_rank, inv_sqrt_psd, rank_tol, trace_scale
from .moments import surrogate_stream
from .registry import Template, alias, describe, register, register_hooks
from .shape import _euclid_templates, _shape_terms_alpha
from .shape import _pairwise as _shape_pairwise

__all__ = ["canonical_correlations", "cca_score", "inverse_root", "whiten"]


def inverse_root(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A whitening factor R of PSD ``c`` (``RᵀcR`` = identity on the kept directions) and
    the numerical rank.

    Full-rank ``c`` (every eigenvalue provably above ``rank_tol × tr c``) takes the Cholesky
    route ``R = L⁻ᵀ`` (``c = LLᵀ``): O(d³/3), no eigendecomposition. The bound used is
    ``λ_min ≥ 1/‖L⁻¹‖²_F``. Otherwise R is the pseudo-inverse square root from one ``eigh``
    with a Daleckii–Krein backward. Both give the same canonical correlations (whitening
    factors differ by a rotation).
    """
    p = c.shape[-1]
    trace = c.detach().diagonal(dim1=-2, dim2=-1).sum(-1)
    chol, info = torch.linalg.cholesky_ex(c)
    if not bool((info != 0).any()):
        eye = torch.eye(p, dtype=c.dtype, device=c.device)
        linv = torch.linalg.solve_triangular(chol, eye, upper=False)
        lam_min = 1 / (linv.detach() ** 2).sum((-2, -1))
        if bool((lam_min > rank_tol(c.dtype) * trace).all()):
            return linv.transpose(-1, -2), torch.full_like(trace, p)
    lam, v = torch.linalg.eigh(c.detach())
    return inv_sqrt_psd(c, eig=(lam, v)), effective_rank(c, lam=lam)


def whiten(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centred, whitened ``x`` (orthonormal columns on its kept directions) and its rank."""
    xc = center(x)
    c = xc.transpose(-1, -2) @ xc
    s = trace_scale(c)
    r, rank = inverse_root(c / s)
    return xc @ (r / s.sqrt()), rank


def _whitened_cross(x: torch.Tensor, y: torch.Tensor):
    """W_XᵀW_Y = R_Xᵀ (X̃ᵀỸ) R_Y from the three d×d products only (no n×d whitened copies)."""
    xc, yc = center(x), center(y)
    cx, cy = xc.transpose(-1, -2) @ xc, yc.transpose(-1, -2) @ yc
    sx, sy = trace_scale(cx), trace_scale(cy)
    rx, kx = inverse_root(cx / sx)
    ry, ky = inverse_root(cy / sy)
    m = xc.transpose(-1, -2) @ yc / (sx.sqrt() * sy.sqrt())
    return rx.transpose(-1, -2) @ m @ ry, kx, ky


def canonical_correlations(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """All min(p, q) canonical correlations, descending (zeros past the ranks)."""
    m, _, _ = _whitened_cross(x, y)
    return torch.linalg.svdvals(m)


def _cca(x, y, power, norm="geometric"):
    m, rx, ry = _whitened_cross(x, y)
    if power == 2:
        s = (m * m).sum((-2, -1))
    else:
        s = torch.linalg.svdvals(m).sum(-1)
    if norm == "min":
        return s / torch.minimum(rx, ry).clamp_min(1)
    return s / (rx * ry).clamp_min(1).sqrt()


def cca_score(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Σρ_k / √(r_X r_Y)."""
    return _cca(x, y, 1)


_REFS = (
    "Hotelling 1936, Relations between two sets of variates",
    "Raghu et al. 2017 (SVCCA); Williams et al. 2021 (shape metrics, α = 0)",
)


def _card(values, squared=False):
    return dict(
        family="cca",
        form="score",
        description=(
            "sum of squared canonical correlations / √(r_X r_Y) (Yanai's GCD)"
            if squared
            else "mean canonical correlation, normalised by √(r_X r_Y) (the paper's code; "
            "= the mean over min(r_X, r_Y) only when the ranks agree — see mean_cca_corr)"
        ),
        formula="Σρ_k² / √(r_X r_Y)" if squared else "Σρ_k / √(r_X r_Y)",
        range=(0.0, 1.0),
        metric=False,
        symmetric=True,
        differentiable=True,
        invariances=(
            "permutation",
            "orthogonal",
            "isotropic_scaling",
            "translation",
            "invertible_linear",
        ),
        estimator="plug-in (in-sample); overfits when units approach samples",
        cost="O(n·d² + d³)",
        references=_REFS,
    )


register_similarity(
    "cca", (), lambda: lambda x, y, n_conditions=None: _cca(x, y, 1), _card, angular_metric=True
)


def _build_sq():
    return lambda x, y, n_conditions=None: _cca(x, y, 2)


register(Template("cca", "squared_score", (), _build_sq, lambda v: _card(v, squared=True)))


def _shape0_terms(x, y):
    return _shape_terms_alpha(x, y, 0.0)


def _euclid_card(values):
    c = _card(values)
    c["references"] = c["references"] + (
        "netrep LinearMetric(alpha=0), as similarity-repository's cca-distance=euclidean",
    )
    return c


_euclid_templates("cca", (), _shape0_terms, _euclid_card, "CCA (netrep shape metric, α = 0)")


def _mean_card(values):
    c = _card(values)
    c.update(
        family="mean_cca_corr",
        description="mean canonical correlation over the smaller rank min(r_X, r_Y) "
        "(Kornblith et al. 2019; sim_metric's mean_cca_corr); cca-score divides by √(r_X r_Y)",
        formula="Σρ_k / min(r_X, r_Y)",
        references=_REFS
        + ("Kornblith et al. 2019, Similarity of neural network representations revisited",),
    )
    return c


register_similarity(
    "mean_cca_corr",
    (),
    lambda: lambda x, y, n_conditions=None: _cca(x, y, 1, "min"),
    _mean_card,
    angular_metric=False,
)
register_hooks("mean_cca_corr", streaming=surrogate_stream)

alias("cca", "cca-score")
alias("cca-angular-score", "cca-angular_score")

describe(
    "mean_cca_corr",
    """The mean canonical correlation normalised by the smaller rank, Σρ_k / min(r_X, r_Y), as
    Kornblith et al. 2019 and sim_metric's mean_cca_corr define it; cca-score (the paper's
    code) divides by √(r_X r_Y) instead, which differs only when the widths (ranks) differ.""",
)
describe(
    "cca",
    """Canonical correlation analysis: both inputs whitened (their own covariance removed), then
    the canonical correlations ρ_k, the singular values of W_XᵀW_Y, summarized as the mean
    Σρ_k/√(r_X r_Y) or, squared, as Yanai's GCD (= CKA of the whitened data), or as netrep's
    Euclidean distance at α = 0. Invariant to any invertible linear map; in-sample, so it
    overfits when units approach samples.""",
)

# streaming: W_XᵀW_Y is built from X̃ᵀX̃, ỸᵀỸ, X̃ᵀỸ alone
register_hooks("cca", streaming=surrogate_stream)


# ----------------------------------------------------------------------------- all-pairs hook
def _pairwise(A, B, values, ctx):
    """All pairs (``sg.pairwise``): whiten once per representation; Σρ (nuclear norms) or
    Σρ² (squared Frobenius norms) of all whitened cross-products, batched by the driver."""
    if ctx.form in EUCLIDEAN_FORMS:  # netrep's α = 0 shape distance: the shape hook
        return _shape_pairwise(A, B, {"alpha": 0.0}, ctx)
    ctx.log("whiten once per representation, batched products")
    A, B = ctx.reduce(A, B)
    wa = [whiten(a) for a in A]
    wb = wa if B is None else [whiten(b) for b in B]
    ra = torch.stack([r for _, r in wa])
    rb = ra if B is None else torch.stack([r for _, r in wb])
    squared = ctx.form == "squared_score"
    s = ctx.cross([w for w, _ in wa], None if B is None else [w for w, _ in wb],
                  "fro2" if squared else "nuc")  # fmt: skip
    s = s / (ra[:, None] * rb[None, :]).clamp_min(1).sqrt()
    return s if squared else transform(ctx.form, s)


register_hooks("cca", pairwise=_pairwise)
