"""Representational similarity analysis (RSA): a representational dissimilarity matrix (RDM)
between the samples of each input, then a comparison of the two RDMs, as in rsatoolbox.

Names are ``rsa-rdm=R-compare=C-{score, distance=angular, angular_score}``.

RDMs (n×n, zero diagonal, built on the n samples ``x_i``, rows of X):

- ``squared_euclidean``  D_ij = ‖x_i − x_j‖².  rsatoolbox's ``calc_rdm(method="euclidean")``
  is this divided by the number of units d; every comparison below is invariant to a
  positive rescaling of an RDM, so it gives exactly the same scores.
- ``euclidean``          D_ij = ‖x_i − x_j‖.
- ``correlation``        D_ij = 1 − Pearson(x_i, x_j) (each sample's pattern across units;
  rsatoolbox ``correlation``). A constant pattern has correlation 0 with every other.
- ``cosine``             D_ij = 1 − cos(x_i, x_j) (a zero pattern has cosine 0).

Comparisons, on the strict upper triangles v = vec(D) (M = n(n−1)/2 entries) unless noted,
with the same definitions as rsatoolbox's ``compare``:

- ``cosine``     ⟨v_X, v_Y⟩ / (‖v_X‖‖v_Y‖)
- ``pearson``    cosine of the mean-centred vectors (rsatoolbox ``corr``)
- ``spearman``   Pearson correlation of the ranks (ties get their average rank)
- ``rho_a``      12 Σ (r_X − r̄)(r_Y − r̄) / (M³ − M)   (rsatoolbox ``rho-a``)
- ``kendall``    Kendall's τ_b (concordant − discordant pairs over the tie-corrected total)
- ``tau_a``      Kendall's τ_a (concordant − discordant pairs over M(M−1)/2)
- ``cosine_cov`` cosine of the double-centred matrices G = −½ H D H (full n×n matrices):
  rsatoolbox's RDM-covariance–whitened cosine without a noise model. With the
  squared-Euclidean RDM this is linear CKA (Gretton).
- ``corr_cov``   the same after subtracting the mean of v from the off-diagonal entries.
- ``bures``      Bures similarity tr(√(G_X^½ G_Y G_X^½)) / √(tr G_X tr G_Y) of G = −½HDH
  (negative eigenvalues clipped at 0 as rsatoolbox does).
- ``(soft_spearman-strength=S)``  Pearson correlation of *soft* ranks (Blondel et al. 2020:
  the projection of S·z onto the permutahedron, z the z-scored v); differentiable, and equal
  to ``spearman`` once S exceeds 1 / (smallest gap between sorted z-scores). The spelling
  without parentheses, ``compare=soft_spearman-strength=S``, is accepted too.

The rank comparisons (spearman, rho_a, kendall, tau_a) are exact and not differentiable;
the ranks and τ themselves live in :mod:`simgrad.measures.ranks`.
Memory: one n×n RDM per input plus its M-entry upper triangle; no n²×n² objects.

>>> import torch
>>> X = torch.randn(30, 5, dtype=torch.float64)
>>> round(float(rsa_score(X, 2 * X + 1, "euclidean", "pearson")), 10)
1.0
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch

from .forms import register_similarity, transform
from .linalg import double_center, owned, safe_sqrt, sym_matrix_function, tiny, zero_diag
from .ranks import kendall_tau, rankdata, soft_rank
from .registry import Param, Template, alias, describe, format_number, register, register_hooks

__all__ = [
    "COMPARISONS",
    "RDMS",
    "compare_rdms",
    "rdm",
    "rsa_score",
    "upper_triangle",
]

RDMS = ("squared_euclidean", "euclidean", "correlation", "cosine")
EXACT_COMPARISONS = (
    "cosine",
    "pearson",
    "spearman",
    "kendall",
    "tau_a",
    "rho_a",
    "cosine_cov",
    "corr_cov",
    "bures",
)
COMPARISONS = EXACT_COMPARISONS + ("soft_spearman",)
RANK_BASED = ("spearman", "kendall", "tau_a", "rho_a")
MATRIX_BASED = ("cosine_cov", "corr_cov", "bures")


# ----------------------------------------------------------------------------- RDMs
def _unit_rows(x: torch.Tensor) -> torch.Tensor:
    sq = (x * x).sum(-1, keepdim=True)
    norm = safe_sqrt(sq)
    return x / torch.where(sq > 0, norm, torch.ones_like(norm))


def rdm(x: torch.Tensor, kind: str = "correlation") -> torch.Tensor:
    """The n×n representational dissimilarity matrix of the rows of ``(..., n, d)`` ``x``.

    >>> x = torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=torch.float64)
    >>> rdm(x, "euclidean")[0, 1].item(), rdm(x, "squared_euclidean")[0, 1].item()
    (5.0, 25.0)
    """
    if kind in ("squared_euclidean", "euclidean"):
        # Gram form, as rsatoolbox (not centred first: integer-valued data then gives exact
        # integer distances, so tied dissimilarities stay tied for the rank comparisons)
        sq = (x * x).sum(-1)
        d2 = sq.unsqueeze(-1) + sq.unsqueeze(-2) - 2 * (x @ x.transpose(-1, -2))
        d2 = zero_diag(d2.clamp_min(0))
        return d2 if kind == "squared_euclidean" else safe_sqrt(d2)
    if kind in ("correlation", "cosine"):
        xr = x - x.mean(-1, keepdim=True) if kind == "correlation" else x
        u = _unit_rows(xr)
        return zero_diag(1 - u @ u.transpose(-1, -2))
    raise ValueError(f"rdm must be one of {list(RDMS)}, got {kind!r}.")


_TRIU_CACHE: dict = {}


def upper_triangle(d: torch.Tensor) -> torch.Tensor:
    """Strict upper triangle of ``(..., n, n)`` as ``(..., n(n−1)/2)``, row-major (as
    scipy's ``squareform`` and rsatoolbox's RDM vectors). The cached int32 index costs ¼ of
    an n×n float64 matrix, once per n."""
    n = d.shape[-1]
    key = (n, str(d.device))
    if key not in _TRIU_CACHE:
        _TRIU_CACHE.clear()
        iu = torch.triu_indices(n, n, offset=1, device=d.device)
        lin = iu[0] * n + iu[1]
        del iu
        _TRIU_CACHE[key] = lin.to(torch.int32) if n * n < 2**31 else lin
    return torch.index_select(d.flatten(-2), -1, _TRIU_CACHE[key])


# ----------------------------------------------------------------------------- vector comparisons
def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Σ a·b over the last axis without an elementwise temporary."""
    return (a.unsqueeze(-2) @ b.unsqueeze(-1)).squeeze(-1).squeeze(-1)


def _cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    num = _dot(a, b)
    na, nb = _dot(a, a), _dot(b, b)
    t = tiny(a)
    return num / (na.clamp_min(t).sqrt() * nb.clamp_min(t).sqrt())


def _center_last(a: torch.Tensor) -> torch.Tensor:
    """a − mean(a) along the last axis (in place when ``a`` is :func:`owned`)."""
    m = a.mean(-1, keepdim=True)
    return a.sub_(m) if owned(a) else a - m


def _pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson correlation along the last axis; centres ``a`` and ``b`` in place when they
    carry no autograd graph (callers pass fresh vectors)."""
    return _cosine(_center_last(a), _center_last(b))


# ----------------------------------------------------------------------------- matrix comparisons
def _noise_cut(lam: torch.Tensor) -> torch.Tensor:
    """Eigenvalues below 1000·eps·max|λ| are rounding noise: treated as exactly 0, so the
    square roots of a rank-deficient matrix's null space add nothing (rather than √eps)."""
    scale = lam.abs().amax(-1, keepdim=True).clamp_min(tiny(lam))
    return 1e3 * torch.finfo(lam.dtype).eps * scale


def _sqrt_psd(a: torch.Tensor) -> torch.Tensor:
    """A₊^½ (eigenvalues below the noise level set to 0), with a finite backward."""

    def f(lam):
        keep = lam > _noise_cut(lam)
        return torch.where(keep, lam.clamp_min(0).sqrt(), torch.zeros_like(lam))

    def fp(lam):
        cut = _noise_cut(lam)
        keep = lam > cut
        return torch.where(keep, 0.5 / lam.clamp_min(cut).sqrt(), torch.zeros_like(lam))

    return sym_matrix_function(a, f, fp)


def _bures(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ra = _sqrt_psd(a)
    m = ra @ b @ ra
    m = 0.5 * (m + m.transpose(-1, -2))
    lam = torch.linalg.eigvalsh(m)
    keep = lam > _noise_cut(lam)
    fid = torch.where(keep, safe_sqrt(lam), torch.zeros_like(lam)).sum(-1)
    ta = a.diagonal(dim1=-2, dim2=-1).sum(-1)
    tb = b.diagonal(dim1=-2, dim2=-1).sum(-1)
    return fid / (ta.clamp_min(tiny(a)) * tb.clamp_min(tiny(a))).sqrt()


def _offdiag_mean(d: torch.Tensor) -> torch.Tensor:
    n = d.shape[-1]
    return d.sum((-2, -1)) / max(n * (n - 1), 1)


def _gram_of_rdm(d: torch.Tensor, subtract_mean: bool) -> torch.Tensor:
    """G = −½ H D' H, D' = D minus its off-diagonal mean off the diagonal when asked.

    One new n×n tensor per input (the rest is done in place when no gradient is tracked).
    """
    g = -0.5 * d
    if subtract_mean:
        m = (-0.5 * _offdiag_mean(d))[..., None, None]
        n = d.shape[-1]
        if owned(g):
            g.sub_(m)
            g.diagonal(dim1=-2, dim2=-1).add_(m[..., 0])
        else:
            g = g - m * (1 - torch.eye(n, dtype=d.dtype, device=d.device))
    return double_center(g, inplace=True)


def _compare_matrices(dx: torch.Tensor, dy: torch.Tensor, compare: str) -> torch.Tensor:
    sub = compare == "corr_cov"
    gx = _gram_of_rdm(dx, sub)
    gy = _gram_of_rdm(dy, sub)
    if compare == "bures":
        return _bures(gx, gy)
    return _cosine(gx.flatten(-2), gy.flatten(-2))


# ----------------------------------------------------------------------------- dispatch
def compare_rdms(
    dx: torch.Tensor, dy: torch.Tensor, compare: str = "pearson", strength: float | None = None
) -> torch.Tensor:
    """Compare two ``(..., n, n)`` RDMs (zero diagonals) with the named comparison."""
    if compare in MATRIX_BASED:
        return _compare_matrices(dx, dy, compare)
    vx, vy = upper_triangle(dx), upper_triangle(dy)
    if compare == "cosine":
        return _cosine(vx, vy)
    if compare == "pearson":
        return _pearson(vx, vy)
    if compare == "soft_spearman":
        if strength is None or not strength > 0:
            raise ValueError(f"soft_spearman needs a positive strength, got {strength!r}.")
        return _pearson(soft_rank(vx, strength), soft_rank(vy, strength))
    if compare in ("spearman", "rho_a"):
        rx, ry = rankdata(vx), rankdata(vy)
        if compare == "spearman":
            return _pearson(rx, ry)
        m = rx.shape[-1]
        rx, ry = rx - rx.mean(-1, keepdim=True), ry - ry.mean(-1, keepdim=True)
        return 12 * (rx * ry).sum(-1) / max(m**3 - m, 1)
    if compare in ("kendall", "tau_a"):
        return kendall_tau(vx, vy, "b" if compare == "kendall" else "a")
    raise ValueError(f"compare must be one of {list(COMPARISONS)}, got {compare!r}.")


def rsa_score(
    x: torch.Tensor,
    y: torch.Tensor,
    rdm_kind: str = "correlation",
    compare: str = "pearson",
    strength: float | None = None,
) -> torch.Tensor:
    """RSA similarity of ``(..., n, p)`` and ``(..., n, q)``: compare(RDM(X), RDM(Y))."""
    if compare in RANK_BASED:
        with torch.no_grad():
            return compare_rdms(rdm(x, rdm_kind), rdm(y, rdm_kind), compare)
    return compare_rdms(rdm(x, rdm_kind), rdm(y, rdm_kind), compare, strength)


# ----------------------------------------------------------------------------- registration
@dataclass(frozen=True)
class Comparison:
    """A parsed ``compare=`` value: the method and, for soft Spearman, its strength."""

    method: str
    strength: float | None = None


def _parse_compare(text: str) -> Comparison:
    if text in EXACT_COMPARISONS:
        return Comparison(text)
    prefix = "(soft_spearman-strength="
    if text.startswith(prefix) and text.endswith(")"):
        s = float(text[len(prefix) : -1])
        if not (math.isfinite(s) and s > 0):
            raise ValueError
        return Comparison("soft_spearman", s)
    raise ValueError


def _fmt_compare(c: Comparison) -> str:
    if c.method == "soft_spearman":
        return f"(soft_spearman-strength={format_number(c.strength)})"
    return c.method


RDM = Param("rdm", kind="choice", choices=RDMS, grid=RDMS)
# τ_a and ρ_a are not normalized by the norms of the vectors they compare, so their angles
# are not metrics; every other comparison is the cosine of two vectors built from one input
# each (centred ranks, sign vectors for τ_b, double-centred RDMs, Bures fidelity), whose
# arccos is a (pseudo-)metric.
_UNNORMALIZED = ("tau_a", "rho_a")


def _compare_param(methods: tuple[str, ...], soft: bool) -> Param:
    def parse(text: str) -> Comparison:
        c = _parse_compare(text)
        if c.method not in methods:
            raise ValueError
        return c

    grid = tuple(Comparison(c) for c in methods if c != "soft_spearman")
    if soft:
        grid += (Comparison("soft_spearman", 10.0), Comparison("soft_spearman", 100.0))
    return Param("compare", kind="custom", grid=grid, parse_fn=parse, fmt_fn=_fmt_compare)


COMPARE = _compare_param(tuple(c for c in COMPARISONS if c not in _UNNORMALIZED), soft=True)
COMPARE_UNNORMALIZED = _compare_param(_UNNORMALIZED, soft=False)

_RDM_TEXT = {
    "squared_euclidean": ("squared Euclidean", "‖x_i − x_j‖²"),
    "euclidean": ("Euclidean", "‖x_i − x_j‖"),
    "correlation": ("correlation-distance", "1 − r(x_i, x_j)"),
    "cosine": ("cosine-distance", "1 − cos(x_i, x_j)"),
}
_CMP_TEXT = {
    "cosine": ("cosine", "cos(v_X, v_Y)"),
    "pearson": ("Pearson correlation", "r(v_X, v_Y)"),
    "spearman": ("Spearman rank correlation", "r(rank v_X, rank v_Y)"),
    "kendall": ("Kendall τ_b", "τ_b(v_X, v_Y)"),
    "tau_a": ("Kendall τ_a", "τ_a(v_X, v_Y)"),
    "rho_a": ("Spearman ρ_a (no tie correction)", "12 Σ r̃_X r̃_Y / (M³ − M)"),
    "cosine_cov": ("RDM-covariance-whitened cosine", "cos(H D_X H, H D_Y H)"),
    "corr_cov": ("RDM-covariance-whitened correlation", "cos(H(D_X − m_X)H, H(D_Y − m_Y)H)"),
    "bures": ("Bures similarity of −½HDH", "tr(G_X^½ G_Y G_X^½)^½ / √(tr G_X tr G_Y)"),
    "soft_spearman": ("soft-rank Spearman correlation", "r(softrank v_X, softrank v_Y)"),
}
_REFS = (
    "Kriegeskorte et al. 2008, Representational similarity analysis",
    "Schütt et al. 2023, Statistical inference on representational geometries (rsatoolbox)",
)


def _card(values: dict) -> dict:
    kind: str = values["rdm"]
    cmp: Comparison = values["compare"]
    method = cmp.method
    inv = ["permutation", "isotropic_scaling"]
    if kind in ("squared_euclidean", "euclidean", "cosine"):
        inv.append("orthogonal")
    if kind in ("squared_euclidean", "euclidean"):
        inv.append("translation")
    rname, rform = _RDM_TEXT[kind]
    cname, cform = _CMP_TEXT[method]
    if method == "soft_spearman":
        cname += f", strength {format_number(cmp.strength)}"
    refs = _REFS
    if method == "soft_spearman":
        refs = refs + ("Blondel et al. 2020, Fast differentiable sorting and ranking",)
    if method == "bures":
        refs = refs + ("Harvey et al. 2023, Duality of Bures and shape distances",)
    rank = method in RANK_BASED
    cost = "O(n²·d)"
    if method in ("spearman", "rho_a"):
        cost += " + O(n² log n) (sort)"
    elif method in ("kendall", "tau_a"):
        cost += " + O(n² log² n) (merge counting)"
    elif method == "bures":
        cost += " + O(n³) (eigendecompositions)"
    elif method == "soft_spearman":
        cost += " + O(n² log n) (sort + isotonic regression, on CPU)"
    else:
        cost += " + O(n²)"
    return dict(
        family="rsa",
        form="score",
        description=f"RSA: {cname} of {rname} RDMs"
        + (" (exact ranks; not differentiable)" if rank else ""),
        formula=f"{cform}, v = upper triangle of D, D_ij = {rform}",
        range=(0.0, 1.0) if method == "bures" else (-1.0, 1.0),
        metric=False,
        symmetric=True,
        differentiable=not rank,
        invariances=tuple(inv),
        estimator="plug-in (in-sample RDMs, no cross-validation)",
        cost=cost,
        references=refs,
    )


def _build(rdm: str, compare: Comparison):
    def fn(x, y, n_conditions=None):
        return rsa_score(x, y, rdm, compare.method, compare.strength)

    return fn


register_similarity("rsa", (RDM, COMPARE), _build, _card, angular_metric=True)
register_similarity("rsa", (RDM, COMPARE_UNNORMALIZED), _build, _card, angular_metric=False)


class _UnparenthesizedSoft(Template):
    """Accepts ``rsa-rdm=R-compare=soft_spearman-strength=S-...``; canonical name is the
    parenthesized spelling. Its grid is empty so the catalogue lists each measure once."""

    def canonical(self, values: dict) -> str:
        main = {"rdm": values["rdm"], "compare": Comparison("soft_spearman", values["strength"])}
        return _MAIN[self.form].canonical(main)


_MAIN: dict[str, Template] = {}


def _register_unparenthesized() -> None:
    from .registry import _TEMPLATES

    for tpl in list(_TEMPLATES["rsa"]):
        if tpl.params[1] is COMPARE:
            _MAIN[tpl.form] = tpl
    soft = Param("compare", kind="choice", choices=("soft_spearman",), grid=())
    strength = Param(
        "strength",
        kind="float",
        grid=(),
        check=lambda s: s > 0,
        check_msg="the soft-rank strength must be positive.",
    )
    for form, main in _MAIN.items():

        def build(_main=main, **values):
            return _main.build(
                rdm=values["rdm"], compare=Comparison("soft_spearman", values["strength"])
            )

        def card(values, _main=main):
            return _main.make_card(
                {"rdm": values["rdm"], "compare": Comparison("soft_spearman", values["strength"])}
            )

        register(_UnparenthesizedSoft("rsa", form, (RDM, soft, strength), build, card))


_register_unparenthesized()

alias("rsa", "rsa-rdm=correlation-compare=pearson-score")
alias("rsa-correlation-pearson", "rsa-rdm=correlation-compare=pearson-score")
alias("rsa-correlation-spearman", "rsa-rdm=correlation-compare=spearman-score")
alias("rsa-euclidean-pearson", "rsa-rdm=euclidean-compare=pearson-score")

describe("rsa", __doc__)


# ----------------------------------------------------------------------------- all-pairs hook
_GEMM = ("cosine", "pearson", "spearman", "rho_a", "cosine_cov", "corr_cov")


def _unit_vector(x: torch.Tensor, kind: str, method: str) -> torch.Tensor:
    """One vector per input whose inner products are the comparison (a GEMM method): the
    normalised RDM triangle (centred for Pearson, ranked for Spearman/ρ_a: unnormalised)
    or the flattened −½HDH (cosine_cov, corr_cov)."""
    d = rdm(x, kind)
    if method in MATRIX_BASED:
        v = _gram_of_rdm(d, method == "corr_cov").reshape(-1)
    else:
        v = upper_triangle(d)
        if method in ("spearman", "rho_a"):
            v = rankdata(v)
        if method != "cosine":
            v = v - v.mean()
    return v if method == "rho_a" else v / (v * v).sum().clamp_min(tiny(v)).sqrt()


def _pairwise(A, B, values, ctx):
    """All pairs (``sg.pairwise``): one RDM per representation; the comparisons that are
    inner products of one vector per RDM are one GEMM, the others combine cached RDMs."""
    ctx.require_auto()
    cmp = values["compare"]
    method, strength = (cmp.method, cmp.strength) if isinstance(cmp, Comparison) else (
        cmp, values["strength"])  # fmt: skip
    kind = values["rdm"]
    ctx.log("one RDM per representation")
    with torch.no_grad() if method in RANK_BASED else contextlib.nullcontext():
        if method not in _GEMM:
            s = ctx.pairs(lambda x: rdm(x, kind),
                          lambda dx, dy: compare_rdms(dx, dy, method, strength), A, B)  # fmt: skip
        else:
            n = A[0].shape[0]
            m = n * (n - 1) // 2
            length = n * n if method in MATRIX_BASED else m
            s = ctx.inner(lambda x: _unit_vector(x, kind, method), A, B, length)
            if method == "rho_a":
                s = 12 * s / max(m**3 - m, 1)
    return transform(ctx.form, s)


register_hooks("rsa", pairwise=_pairwise)
