"""Encoding scores: predict the reference X from the candidate Y by (ridge) regression.

In-sample (``linear_regression-r2``, ``ridge-lambda=L-r2``), with X̃, Ỹ centred::

    B = (ỸᵀỸ + λI)⁺ ỸᵀX̃,   R² = 1 − ‖X̃ − ỸB‖²_F / ‖X̃‖²_F    (pooled over units)

λ = 0 uses the pseudo-inverse (directions of Ỹ below 1e-10 × trace dropped), so a
rank-deficient Y is not biased upward. ``-pearsonr`` gives r = ⟨X̃, X̂⟩ / (‖X̃‖‖X̂‖) over the
flattened entries instead of R², ``-pearsonr2`` its square r² (deepdive's ``pearson_r2``,
cross-validated forms only). λ is absolute (not scaled by n or the data variance), as in
the paper.

Cross-validated forms ``...-cv=Kfolds`` fit on K−1 folds and score the held-out fold (both
centred with the training means), averaged over folds. Folds are whole conditions for
``(time, conditions, units)`` input and seeded shuffled samples for 2-D input (seed 0, so the
objective is deterministic); ``-cv=Kfolds_rows`` is the paper's variant: contiguous blocks of
the time-major rows (sklearn ``KFold(shuffle=False)``). ``-sym`` averages the scores of
(X, Y) and (Y, X).

>>> import torch
>>> Y = torch.randn(100, 6, dtype=torch.float64)
>>> X = Y @ torch.randn(6, 3, dtype=torch.float64)
>>> round(float(regression_score(X, Y, lam=0.0, agg="r2")), 10)
1.0
"""

from __future__ import annotations

import numpy as np
import torch

from .linalg import (
    center,
    fro2,
    inv_sqrt_psd,
    outer,
    pow2_rescale,
    rank_tol,
    sym_matrix_function,
    tiny,
)
from .moments import Stream, surrogate_stream
from .registry import (
    Param,
    Template,
    alias,
    describe,
    format_number,
    register,
    register_hooks,
)

__all__ = ["cv_folds", "regression_score", "ridge_coefficients"]


def _pinv_psd(c: torch.Tensor) -> torch.Tensor:
    tol = rank_tol(c.dtype)
    cut = (tol * c.diagonal(dim1=-2, dim2=-1).sum(-1)).clamp_min(torch.finfo(c.dtype).tiny)
    cut = cut.unsqueeze(-1)

    def f(l):
        keep = l > cut
        return torch.where(keep, 1 / torch.where(keep, l, torch.ones_like(l)), 0 * l)

    def fp(l):
        keep = l > cut
        safe = torch.where(keep, l, torch.ones_like(l))
        return torch.where(keep, -1 / (safe * safe), 0 * l)

    return sym_matrix_function(c, f, fp)


def ridge_coefficients(x: torch.Tensor, y: torch.Tensor, lam: float) -> torch.Tensor:
    """B minimizing ‖X − YB‖² + λ‖B‖² for centred ``x`` (…, n, p) and ``y`` (…, n, q)."""
    return _solve(y.transpose(-1, -2) @ y, y.transpose(-1, -2) @ x, lam)


def _solve(c: torch.Tensor, yx: torch.Tensor, lam: float) -> torch.Tensor:
    """(C + λI)⁻¹ YᵀX from the Gram C = YᵀY and YᵀX (the pseudo-inverse when λ = 0)."""
    if lam == 0:
        return _pinv_psd(c) @ yx
    eye = torch.eye(c.shape[-1], dtype=c.dtype, device=c.device)
    b, info = torch.linalg.solve_ex(c + lam * eye, yx)
    if not bool((info != 0).any()):
        return b
    # λ negligible against YᵀY (data at a large scale): (YᵀY + λI)⁻¹ from its eigenvalues,
    # clamped at 0, which stays finite where the LU solve meets a zero pivot
    return _ridge_inverse(c, lam) @ yx


def _ridge_inverse(c: torch.Tensor, lam: float) -> torch.Tensor:
    def f(l):
        return 1 / (l.clamp_min(0) + lam)

    def fp(l):
        return torch.where(l > 0, -1 / (l.clamp_min(0) + lam) ** 2, 0 * l)

    return sym_matrix_function(c, f, fp)


def _agg(x_te: torch.Tensor, x_hat: torch.Tensor, agg: str) -> torch.Tensor:
    tiny = torch.finfo(x_te.dtype).tiny
    # both scale-free in (x_te, x_hat) together: one detached power of two (exact) keeps the
    # fourth powers in the Pearson denominator and its gradient inside the dtype's range
    s = x_te.detach().abs().amax((-2, -1), keepdim=True)
    x_te, x_hat = pow2_rescale(x_te, s), pow2_rescale(x_hat, s)
    if agg == "r2":
        res = ((x_te - x_hat) ** 2).sum((-2, -1))
        tot = (x_te**2).sum((-2, -1)).clamp_min(tiny)
        return 1 - res / tot
    num = (x_te * x_hat).sum((-2, -1))
    den = ((x_te**2).sum((-2, -1)) * (x_hat**2).sum((-2, -1))).clamp_min(tiny).sqrt()
    return (num / den) ** 2 if agg == "pearsonr2" else num / den


def cv_folds(n: int, k: int, scheme: str, n_conditions: int | None, seed: int = 0) -> list:
    """Test-row indices of each fold (see module docstring)."""
    if scheme == "rows":
        if n < k:
            raise ValueError(f"cv={k}folds_rows needs at least {k} samples, got {n}.")
        return [torch.as_tensor(f) for f in np.array_split(np.arange(n), k)]
    rng = np.random.default_rng(seed)
    if n_conditions is not None:
        if n_conditions < k:
            raise ValueError(
                f"cv={k}folds splits whole conditions but the data has only {n_conditions}; "
                f"use fewer folds or the '-cv={k}folds_rows' variant."
            )
        conds = rng.permutation(n_conditions)
        rows = np.arange(n)
        return [
            torch.as_tensor(rows[np.isin(rows % n_conditions, f)]) for f in np.array_split(conds, k)
        ]
    if n < k:
        raise ValueError(f"cv={k}folds needs at least {k} samples, got {n}.")
    return [torch.as_tensor(np.sort(f)) for f in np.array_split(rng.permutation(n), k)]


def regression_score(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    lam: float,
    agg: str,
    folds: int | None = None,
    scheme: str = "conditions",
    n_conditions: int | None = None,
) -> torch.Tensor:
    """R² or Pearson r of predicting ``x`` from ``y`` (in-sample when ``folds`` is None)."""
    if folds is None:
        xc, yc = center(x), center(y)
        return _agg(xc, yc @ ridge_coefficients(xc, yc, lam), agg)
    return _cv_score(x, y, lam, agg, cv_folds(x.shape[-2], folds, scheme, n_conditions))


def _cv_score(x: torch.Tensor, y: torch.Tensor, lam: float, agg: str, tests: list) -> torch.Tensor:
    """The cross-validated score from each fold's moments, with no copy of the training rows.

    With per-fold sums s, Grams G_k = Y_kᵀY_k and C_k = Y_kᵀX_k (one pass over the rows), a
    fold's training moments are the totals minus its own, centred with the training means
    m_x, m_y::

        B = (G − G_k − n_t m_y m_yᵀ + λI)⁻¹ (C − C_k − n_t m_y m_xᵀ)

    and its held-out residual about those means is ‖X̃_k‖² − 2⟨B, Ỹ_kᵀX̃_k⟩ + ⟨B, Ỹ_kᵀỸ_k B⟩,
    expanded in G_k, C_k and the sums (G = Σ G_k): one pass of Gram products and K batched
    q × q solves, where fitting each fold on its rows costs K − 1 passes and copies. ``x``, ``y``
    are first centred on all rows (no fit changes; the differences stay well conditioned) and
    ``x`` scaled by a power of two to unit size (exact; R² and r do not change)."""
    x = center(x)
    x = pow2_rescale(x, x.detach().abs().amax((-2, -1), keepdim=True))
    y = center(y)
    n, eps = x.shape[-2], tiny(x)
    folds = [(x[..., t, :], y[..., t, :]) for t in tests]
    # per fold, stacked on a new axis (…, K, ·) so that every step below is one batched call
    sxk = torch.stack([a.sum(-2) for a, _ in folds], -2)
    syk = torch.stack([b.sum(-2) for _, b in folds], -2)
    gk = torch.stack([b.transpose(-1, -2) @ b for _, b in folds], -3)
    ck = torch.stack([b.transpose(-1, -2) @ a for a, b in folds], -3)
    xx = torch.stack([fro2(a) for a, _ in folds], -1)
    n_k = torch.tensor([len(t) for t in tests], dtype=x.dtype, device=x.device)
    if int(n_k.sum()) == n:  # the folds partition the rows: totals are sums of fold moments
        sx, sy, g, c = sxk.sum(-2), syk.sum(-2), gk.sum(-3), ck.sum(-3)
    else:
        sx, sy, g, c = x.sum(-2), y.sum(-2), y.transpose(-1, -2) @ y, y.transpose(-1, -2) @ x
    n_t = (n - n_k).unsqueeze(-1)
    mx, my = (sx.unsqueeze(-2) - sxk) / n_t, (sy.unsqueeze(-2) - syk) / n_t
    w_t = n_t.unsqueeze(-1)
    b = _solve(
        g.unsqueeze(-3) - gk - w_t * outer(my, my), c.unsqueeze(-3) - ck - w_t * outer(my, mx), lam
    )
    # held-out moments about the training means, by rank-one corrections of ⟨B, C_k⟩ and
    # ⟨B, G_k B⟩ (β = Bᵀ·): ⟨B, Ỹ_kᵀX̃_k⟩ = ⟨B, C_k⟩ − β_s·m_x − β_m·(s_x − n_k m_x) and
    # ⟨B, Ỹ_kᵀỸ_k B⟩ = ⟨B, G_k B⟩ − 2 β_s·β_m + n_k ‖β_m‖², with β_s = Bᵀs_y, β_m = Bᵀm_y
    bs, bm = (b * syk.unsqueeze(-1)).sum(-2), (b * my.unsqueeze(-1)).sum(-2)
    tot = xx - 2 * (mx * sxk).sum(-1) + n_k * (mx * mx).sum(-1)
    cross = (b * ck).sum((-2, -1)) - (bs * mx).sum(-1) - (bm * (sxk - n_k[:, None] * mx)).sum(-1)
    hat2 = (b * (gk @ b)).sum((-2, -1)) - 2 * (bs * bm).sum(-1) + n_k * (bm * bm).sum(-1)
    if agg == "r2":
        scores = 1 - (tot - 2 * cross + hat2).clamp_min(0) / tot.clamp_min(eps)
    else:
        r = cross / (tot * hat2).clamp_min(eps).sqrt()
        scores = r * r if agg == "pearsonr2" else r
    return scores.mean(-1)


# ----------------------------------------------------------------------------- registration
def _parse_cv(text: str):
    rows = text.endswith("folds_rows")
    head = text[: -len("folds_rows")] if rows else text[: -len("folds")]
    if not (text.endswith("folds") or rows):
        raise ValueError
    k = int(head)
    if k < 2:
        raise ValueError
    return (k, "rows" if rows else "conditions")


def _fmt_cv(v) -> str:
    k, scheme = v
    return f"{k}folds" + ("_rows" if scheme == "rows" else "")


CV = Param(
    "cv", kind="custom", grid=((5, "conditions"), (5, "rows")), parse_fn=_parse_cv, fmt_fn=_fmt_cv
)
LAMBDA = Param(
    "lambda",
    kind="float",
    grid=(1.0, 10.0, 100.0, 1000.0, 10000.0),
    check=lambda v: v >= 0,
    check_msg="the ridge penalty must be non-negative.",
)

_REFS = (
    "Yamins et al. 2014; Schrimpf et al. 2018 (Brain-Score) for encoding-model scores",
    "Cloos et al. 2025 (ICLR), Differentiable optimization of similarity scores",
)


def _formula(agg: str) -> str:
    fit = "B = (ỸᵀỸ + λI)⁺ỸᵀX̃"
    if agg == "r2":
        return "1 − ‖X̃ − ỸB‖² / ‖X̃‖², " + fit
    r = "⟨X̃, ỸB⟩ / (‖X̃‖‖ỸB‖)"
    return ("(" + r + ")²" if agg == "pearsonr2" else r) + ", " + fit


def _range(agg: str, bounded_r2: bool) -> tuple[float, float]:
    if agg == "r2":
        return (0.0, 1.0) if bounded_r2 else (-float("inf"), 1.0)
    return (0.0, 1.0) if agg == "pearsonr2" else (-1.0, 1.0)


def _make(family: str, agg: str, cv: bool, sym: bool):
    params = ((LAMBDA,) if family == "ridge" else ()) + ((CV,) if cv else ())
    form = agg

    def build(**values):
        lam = float(values.get("lambda", 0.0))
        k, scheme = values["cv"] if cv else (None, "conditions")

        def one(a, b, n_conditions):
            return regression_score(
                a, b, lam=lam, agg=agg, folds=k, scheme=scheme, n_conditions=n_conditions
            )

        def fn(x, y, n_conditions=None):
            if sym:
                return 0.5 * (one(x, y, n_conditions) + one(y, x, n_conditions))
            return one(x, y, n_conditions)

        return fn

    def card(values):
        lam = float(values.get("lambda", 0.0))
        inv = ["permutation", "orthogonal", "translation"]
        if lam == 0:
            inv.append("isotropic_scaling")
            if not sym:  # predicting YA from X pools units with A-dependent weights
                inv.append("invertible_linear")
        what = {
            "r2": "R² (pooled over units)",
            "pearsonr": "Pearson r of flattened predictions",
            "pearsonr2": "squared Pearson r² of flattened predictions",
        }[agg]
        how = (
            f"{values['cv'][0]}-fold cross-validated "
            + (
                "(contiguous time-major rows)"
                if values["cv"][1] == "rows"
                else "(whole conditions / shuffled samples)"
            )
            if cv
            else "in-sample"
        )
        model = "linear regression" if lam == 0 else f"ridge regression (λ = {format_number(lam)})"
        in_sample_r2 = not cv and agg == "r2"
        return dict(
            family=family,
            form="score",
            description=f"{how} {what} of {model} predicting X from Y"
            + (", symmetrized" if sym else ""),
            formula=_formula(agg) + (" (held-out folds)" if cv else ""),
            range=_range(agg, in_sample_r2 and lam == 0),
            metric=False,
            symmetric=sym,
            differentiable=True,
            invariances=tuple(inv),
            estimator="cross-validated" if cv else "in-sample (optimistic)",
            cost="O(n·q² + q³ + n·p·q)" + (f" × {values['cv'][0]} folds" if cv else ""),
            references=_REFS,
        )

    register(
        Template(
            family,
            form,
            params,
            build,
            card,
            suffix_params=("cv",) if cv else (),
            tail="sym" if sym else "",
        )
    )


for _family in ("linear_regression", "ridge"):
    for _agg_name in ("r2", "pearsonr"):
        for _cv in (False, True):
            for _sym in (False, True):
                _make(_family, _agg_name, _cv, _sym)
    _make(_family, "pearsonr2", True, False)

alias("linreg", "linear_regression-r2", display=True)
# ReSi's LinearRegression (similarity-repository's bare ``linear_regression``): in-sample R²
alias("linear_regression", "linear_regression-r2")
alias("linreg-r2", "linear_regression-r2")
alias("linreg-pearsonr", "linear_regression-pearsonr")
alias("ridge-lambda100-r2#5folds_cv", "ridge-lambda=100-r2-cv=5folds_rows")
alias("ridge-cv", "ridge-lambda=100-r2-cv=5folds", display=True)  # the paper's ridge, shown short

describe(
    "linear_regression",
    """Encoding score of unregularized linear regression predicting the reference X from the
    candidate Y (minimum-norm least squares), pooled over units as R² or as the Pearson r of
    the flattened prediction; in-sample or K-fold cross-validated, optionally symmetrized.""",
)
describe(
    "ridge",
    """Encoding score of ridge regression (absolute penalty λ) predicting the reference X from
    the candidate Y, pooled over units as R² or as the Pearson r of the flattened prediction;
    in-sample or K-fold cross-validated, optionally symmetrized.""",
)


# ----------------------------------------------------------------------------- streaming hook
def _streaming(template, values) -> Stream | None:
    """In-sample fits depend on X̃ᵀX̃, ỸᵀỸ, X̃ᵀỸ alone; cross-validation needs the folds."""
    return None if "cv" in values else surrogate_stream(template, values)


register_hooks("linear_regression", streaming=_streaming)
register_hooks("ridge", streaming=_streaming)


# ----------------------------------------------------------------------------- all-pairs hook
def _factors(y: torch.Tensor, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """E₁ = Ỹ g₁(C), E₂ = Ỹ g₂(C) with C = ỸᵀỸ, g₁ = (λ + ·)^(−½), g₂ = √·/(λ + ·), so that
    P = E₁E₁ᵀ is the hat matrix and P² = E₂E₂ᵀ (λ = 0: the pseudo-inverse with the
    1e-10·trace cut, and E₁ = E₂)."""
    yc = center(y)
    c = yc.transpose(0, 1) @ yc
    if lam == 0:
        e = yc @ inv_sqrt_psd(c)
        return e, e
    cut = rank_tol(c.dtype) * c.diagonal().sum().clamp_min(tiny(c))

    def g1(l):
        return (l.clamp_min(0) + lam).rsqrt()

    def g1p(l):
        return -0.5 * (l.clamp_min(0) + lam).pow(-1.5)

    def g2(l):
        lp = l.clamp_min(0)
        return lp.sqrt() / (lp + lam)

    def g2p(l):
        keep = l > cut
        ls = torch.where(keep, l, torch.ones_like(l))
        return torch.where(keep, 0.5 * ls.rsqrt() / (ls + lam) - ls.sqrt() / (ls + lam) ** 2, 0 * l)

    return yc @ sym_matrix_function(c, g1, g1p), yc @ sym_matrix_function(c, g2, g2p)


def _score_matrix(targets, candidates, lam: float, agg: str, ctx) -> torch.Tensor:
    """S[i, j] = in-sample score of predicting targets[i] from candidates[j]:
    ‖X̃ − ỸB‖² = ‖X̃‖² − 2‖E₁ᵀX̃‖² + ‖E₂ᵀX̃‖², all pairs from one blocked product."""
    xc = [center(x) for x in targets]
    facs = [e for y in candidates for e in _factors(y, lam)]
    t = ctx.cross(xc, facs, "fro2")
    t1, t2 = t[:, 0::2], t[:, 1::2]
    xx = torch.stack([fro2(x) for x in xc])[:, None]
    if agg == "r2":
        return 1 - (xx - 2 * t1 + t2) / xx.clamp_min(tiny(xx))
    return t1 / (xx * t2).clamp_min(tiny(xx)).sqrt()


def _pairwise(A, B, values, ctx):
    """All pairs (``sg.pairwise``) of the in-sample scores: one spectral factor per
    candidate; the cross-validated forms have no batched algorithm (``None``: the loop)."""
    if "cv" in values:
        return None
    ctx.log("one spectral factor per candidate, one product")
    A, B = ctx.reduce(A, B)
    lam = float(values.get("lambda", 0.0))
    s = _score_matrix(A, A if B is None else B, lam, ctx.form, ctx)
    if ctx.tail != "sym":
        return s
    back = s if B is None else _score_matrix(B, A, lam, ctx.form, ctx)
    return 0.5 * (s + back.transpose(0, 1))


for _family in ("linear_regression", "ridge"):
    register_hooks(_family, pairwise=_pairwise)


# ----------------------------------------------------------------------------- resample hook
def _weighted_fold(x, y, w_tr, w_te, lam: float, agg: str):
    """Score of one fold with row multiplicities: train rows weighted by ``w_tr`` (B, n),
    test rows by ``w_te`` — exactly the fit and score on the duplicated rows."""
    t = tiny(x)
    sw = w_tr.sum(-1).clamp_min(1)[:, None, None]
    mx = (w_tr[:, None, :] @ x) / sw
    my = (w_tr[:, None, :] @ y) / sw
    xc, yc = x - mx, y - my
    ycw = yc.transpose(-1, -2) * w_tr[:, None, :]
    c, yx = ycw @ yc, ycw @ xc
    if lam == 0:
        coef = _pinv_psd(c) @ yx
    else:
        eye = torch.eye(c.shape[-1], dtype=c.dtype, device=c.device)
        coef = torch.linalg.solve(c + lam * eye, yx)
    xh = yc @ coef
    we = w_te[:, :, None]
    tot = (we * xc * xc).sum((-2, -1))
    if agg == "r2":
        return 1 - (we * (xc - xh) ** 2).sum((-2, -1)) / tot.clamp_min(t)
    r = (we * xc * xh).sum((-2, -1)) / (tot * (we * xh * xh).sum((-2, -1))).clamp_min(t).sqrt()
    return r * r if agg == "pearsonr2" else r


def _resample(template, values):
    """Bootstrap of the cross-validated forms (``sg.stats``): every copy of a resampled row
    stays in the fold of its original row (the folds of the data as given), so no condition
    is ever scored against its own copy; the fit on duplicated rows is the row-weighted fit.
    Permutations (X unchanged) and the in-sample forms take the generic path."""
    ridgecv = template.family == "ridge" and "lambda" not in values  # λ by LOO (ridge_cv.py)
    if "cv" not in values or ridgecv or template.tail == "reverse":
        return None  # the generic path
    lam, agg, sym = float(values.get("lambda", 0.0)), template.form, template.tail == "sym"
    k, scheme = values["cv"]
    fn = template.build(**values)

    def prepare(x, y, n_conditions):
        n = x.shape[-2]
        fold_of = torch.empty(n, dtype=torch.long)
        for f, test in enumerate(cv_folds(n, k, scheme, n_conditions)):
            fold_of[test] = f
        fold_of = fold_of.to(x.device)

        def one(a, b, rx):
            w = torch.zeros(rx.shape[0], n, dtype=a.dtype, device=a.device)
            w.scatter_add_(1, rx, torch.ones_like(rx, dtype=a.dtype))
            ab, bb = a.expand(w.shape[0], *a.shape), b.expand(w.shape[0], *b.shape)
            scores, used = 0, 0
            for f in range(k):
                te = w * (fold_of == f)
                keep = (te.sum(-1) > 0).to(a.dtype)
                s = _weighted_fold(ab, bb, w - te, te, lam, agg)
                scores, used = scores + keep * torch.nan_to_num(s), used + keep
            return scores / used

        def evaluate(rx, ry, n_cond):
            if rx is None or not torch.equal(rx, ry):
                xb = x.expand(ry.shape[0], *x.shape) if rx is None else x[rx]
                return fn(xb, y[ry], n_conditions=n_cond)
            if sym:
                return 0.5 * (one(x, y, rx) + one(y, x, rx))
            return one(x, y, rx)

        return evaluate

    return prepare


for _family in ("linear_regression", "ridge"):
    register_hooks(_family, resample=_resample)
