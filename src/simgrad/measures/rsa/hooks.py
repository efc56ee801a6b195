"""RSA's hooks for the generic drivers: all pairs (``sg.pairwise``) and streaming.

All pairs: polynomial comparisons of Gram-type RDMs by the feature-space algebra
(:mod:`~simgrad.measures.rsa.feature_space`: one factor per representation, the driver's
blocked ‖A_iᵀB_j‖² and three small GEMMs) when it is cheaper; otherwise one RDM per
representation, and the comparisons that are inner products of one vector per RDM as one
GEMM. Streaming: the squared-Euclidean (and Λ = I Mahalanobis) RDM's polynomial comparisons
need only the sums of :class:`~simgrad.measures.moments.PairMoments` (g_i = ‖x̃_i‖², c = 0,
f = 0, s = 2), so RSA streams over samples like linear CKA.
"""

from __future__ import annotations

import contextlib

import torch

from ..forms import transform
from ..linalg import bures_similarity, bures_sq_metric, fro2, tiny, unit_rows
from ..moments import PairMoments, Stream
from ..ranks import rankdata
from ..registry import register_hooks
from .compare import MATRIX_BASED, RANK_BASED, compare_rdms, gram_of_rdm
from .feature_space import (
    GRAM_RDMS,
    POLYNOMIAL,
    Cross,
    Side,
    bures_factor,
    combine,
    factor,
    use_feature_space,
)
from .names import Comparison
from .rdms import rdm, upper_triangle

_GEMM = ("cosine", "pearson", "spearman", "rho_a", "cosine_cov", "corr_cov")


def _out(form: str, s: torch.Tensor) -> torch.Tensor:
    """The output form (no form token: the score, or a distance comparison's value)."""
    return transform(form, s) if form else s


def _method(values: dict) -> tuple[str, float | None]:
    cmp = values["compare"]
    if isinstance(cmp, Comparison):
        return cmp.method, cmp.strength
    return cmp, values["strength"]


def _unit_vector(x: torch.Tensor, kind: str, method: str) -> torch.Tensor:
    """One vector per input whose inner products are the comparison (a GEMM method): the
    normalised RDM triangle (centred for Pearson, ranked for Spearman/ρ_a: unnormalised)
    or the flattened −½HDH (cosine_cov, corr_cov)."""
    d = rdm(x, kind)
    if method in MATRIX_BASED:
        v = gram_of_rdm(d, method == "corr_cov").reshape(-1)
    else:
        v = upper_triangle(d)
        if method in ("spearman", "rho_a"):
            v = rankdata(v)
        if method != "cosine":
            v = v - v.mean()
    return v if method == "rho_a" else v / (v * v).sum().clamp_min(tiny(v)).sqrt()


def _stack_side(fs: list, rows: bool) -> Side:
    def col(vals):
        t = torch.stack(vals)
        return t[:, None] if rows else t[None, :]

    sides = [f.side for f in fs]
    sc = [s.self_cross for s in sides]
    side = Side(sides[0].n, col([s.c for s in sides]), sides[0].s, col([s.sg for s in sides]),
                col([s.sf for s in sides]), col([s.sa for s in sides]))  # fmt: skip
    side.self_cross = Cross(*(col([getattr(c, k) for c in sc]) for k in Cross.__dataclass_fields__))
    return side


def _feature_pairs(A, B, kind: str, method: str, ctx) -> torch.Tensor:
    dtype = A[0].dtype  # the expanded sums cancel: computed in float64, cast back
    fa = [factor(a.to(torch.float64), kind) for a in A]
    fb = fa if B is None else [factor(b.to(torch.float64), kind) for b in B]
    ab = ctx.cross([f.a for f in fa], None if B is None else [f.a for f in fb], "fro2")

    def gemm(get_a, get_b):
        return torch.stack([get_a(f) for f in fa]) @ torch.stack([get_b(f) for f in fb]).T

    def rn(f):
        return (f.a * f.a).sum(-1)

    c = Cross(ab, gemm(lambda f: f.g, lambda f: f.g), gemm(lambda f: f.f, lambda f: f.f),
              gemm(rn, lambda f: f.f), gemm(lambda f: f.f, rn))  # fmt: skip
    return combine(_stack_side(fa, True), _stack_side(fb, False), c, method).to(dtype)


def _bures_pairs(A, B, kind: str, metric: bool, ctx) -> torch.Tensor | None:
    """All pairs of Bures comparisons as nuclear norms ‖F_iᵀF_j‖_* of the factors of G
    (``None`` when a representation has a zero pattern: the RDMs are then needed)."""
    fa = [bures_factor(a, kind) for a in A]
    fb = fa if B is None else [bures_factor(b, kind) for b in B]
    if any(f is None for f in fa + fb):
        return None
    fid = ctx.cross(fa, None if B is None else fb, "nuc")
    ta = torch.stack([fro2(f) for f in fa])[:, None]
    tb = torch.stack([fro2(f) for f in fb])[None, :]
    return (bures_sq_metric if metric else bures_similarity)(ta, tb, fid)


def _pairwise(A, B, values, ctx):
    """All pairs (``sg.pairwise``): the feature-space algebra where it applies and is cheaper
    (``algorithm="feature"`` forces it, ``"sample"`` forms the RDMs), else one RDM per
    representation and a GEMM or a loop over pairs."""
    method, strength = _method(values)
    kind = values["rdm"]
    possible = kind in GRAM_RDMS and method in POLYNOMIAL
    if ctx.algorithm == "feature" and not possible:
        raise ValueError(f"algorithm='feature' is not available for {ctx.name}.")
    n = A[0].shape[0]
    wa = max(a.shape[1] for a in A)
    wb = wa if B is None else max(b.shape[1] for b in B)
    if (
        possible
        and ctx.algorithm != "sample"
        and (ctx.algorithm == "feature" or use_feature_space(n, wa, wb))
    ):
        ctx.log("feature-space RSA (no n×n matrix)")
        return _out(ctx.form, _feature_pairs(A, B, kind, method, ctx))
    if method in ("bures", "bures_metric") and kind in GRAM_RDMS and ctx.algorithm != "sample":
        s = _bures_pairs(A, B, kind, method == "bures_metric", ctx)
        if s is not None:
            ctx.log("Bures as nuclear norms of factor products (no n×n matrix)")
            return _out(ctx.form, s)
    ctx.log("one RDM per representation")
    with torch.no_grad() if method in RANK_BASED else contextlib.nullcontext():
        if method not in _GEMM:
            s = ctx.pairs(lambda x: rdm(x, kind),
                          lambda dx, dy: compare_rdms(dx, dy, method, strength), A, B)  # fmt: skip
        else:
            m = n * (n - 1) // 2
            length = n * n if method in MATRIX_BASED else m
            s = ctx.inner(lambda x: _unit_vector(x, kind, method), A, B, length)
            if method == "rho_a":
                s = 12 * s / max(float(m) ** 3 - m, 1.0)
    return _out(ctx.form, s)


class _UnitRowMoments(PairMoments):
    """PairMoments of the unit-norm patterns u_i (row-centred first for ``correlation``),
    plus Σu, Σv and the number of zero patterns (which the streamed route refuses)."""

    centre_rows = True

    def __init__(self) -> None:
        super().__init__()
        self.sums: tuple[torch.Tensor, torch.Tensor] | None = None
        self.zero_patterns = 0

    def _unit(self, x: torch.Tensor) -> torch.Tensor:
        raw = x - x.mean(-1, keepdim=True) if self.centre_rows else x
        self.zero_patterns += int(((raw * raw).sum(-1) == 0).sum())
        return unit_rows(raw)

    def update(self, x: torch.Tensor, y: torch.Tensor) -> None:
        u, v = self._unit(x), self._unit(y)
        su, sv = u.sum(0), v.sum(0)
        self.sums = (su, sv) if self.sums is None else (self.sums[0] + su, self.sums[1] + sv)
        super().update(u, v)


class _CosineRowMoments(_UnitRowMoments):
    centre_rows = False


def _unit_finish(m: _UnitRowMoments, method: str) -> torch.Tensor:
    """The comparison from the moments of unit patterns: A = U − 1ūᵀ, c = 1 − ‖ū‖²,
    g_i = −ūᵀa_i (so Σg = 0, gᵀh = ūᵀ(AᵀB)v̄), f = 0 (no zero patterns)."""
    m.require(2)
    if m.zero_patterns:
        raise ValueError(
            f"{m.zero_patterns} constant/zero pattern(s) seen: the streamed correlation/cosine "
            "RDM needs non-constant patterns; compute it on the full data instead."
        )
    cxx, cyy, cxy = m.covariances()
    r, n = m.row_norm_sums(), m.n
    assert m.sums is not None
    ub, vb = m.sums[0] / n, m.sums[1] / n
    zero = torch.zeros_like(r["a"])

    def side(mean, sa, cself):
        s = Side(n, 1 - mean @ mean, 1.0, zero, zero, sa)
        s.self_cross = Cross(fro2(cself), mean @ cself @ mean, zero, zero, zero)
        return s

    sx, sy = side(ub, r["a"], cxx), side(vb, r["b"], cyy)
    return combine(sx, sy, Cross(fro2(cxy), ub @ cxy @ vb, zero, zero, zero), method)


def _streaming(template, values) -> Stream | None:
    """Squared-Euclidean (and Λ = I Mahalanobis) RDMs with a polynomial comparison stream
    from the sums of PairMoments: A = X̃, g_i = ‖x̃_i‖² (Σg = Σa, gᵀh = Σab), c = f = 0.
    Correlation and cosine RDMs stream from the moments of the unit patterns."""
    method, _ = _method(values)
    kind = values["rdm"]
    if kind not in GRAM_RDMS or method not in POLYNOMIAL:
        return None
    form = template.form or "score"
    if kind in ("correlation", "cosine"):
        stat = _UnitRowMoments if kind == "correlation" else _CosineRowMoments
        return Stream(lambda m: transform(form, _unit_finish(m, method)), stat)

    def finish(m) -> torch.Tensor:
        m.require(2)
        cxx, cyy, cxy = m.covariances()
        r, n = m.row_norm_sums(), m.n
        zero = torch.zeros_like(r["a"])

        def side(sa, saa, cself):
            s = Side(n, zero, 2.0, sa, zero, sa)
            s.self_cross = Cross(fro2(cself), saa, zero, zero, zero)
            return s

        sx, sy = side(r["a"], r["aa"], cxx), side(r["b"], r["bb"], cyy)
        return transform(form, combine(sx, sy, Cross(fro2(cxy), r["ab"], zero, zero, zero), method))

    return Stream(finish)


register_hooks("rsa", pairwise=_pairwise, streaming=_streaming)
