"""Unit-matching measures: each unit of one representation is paired with units of the other
by the correlation of their responses over samples.

With C_jl = corr(x_j, y_l) the Pearson correlation of unit j of X with unit l of Y over the
samples (0 where a unit is constant):

- ``hard_correlation_match``  mean of C over the one-to-one matching (Hungarian, min(p, q)
  pairs) that maximizes Σ C (ReSi; Li et al. 2016).
- ``soft_correlation_match``  ½[(1/p) Σ_j max_l C_jl + (1/q) Σ_l max_j C_jl] (ReSi's
  definition: each unit's best match, both directions averaged; neuroaimetrics' optimal-
  transport "SoftMatching" is another measure under the same standardized name, not this one).
- ``isc``                     (1/(p q)) Σ_jl C_jl, the mean inter-subject correlation of all
  unit pairs (nnsrm-neurips18 ``isc``, Lu et al. 2018).
- ``max_match``               maximum match score (Wang et al. 2018, subspace-match) at
  ε = 0.25: units are vectors in sample space; repeatedly drop the units of X whose relative
  distance to the span of Y's remaining units exceeds ε, then those of Y, until nothing
  changes; the score is (|X kept| + |Y kept|) / (p + q). ``subspacematch`` is its alias.
- ``pairwisematching``        neuroaimetrics' pairwise matching, with X the target: on the
  training folds each unit of X picks the unit of Y with the largest correlation; the score
  is the correlation of each X unit with its pick on the held-out fold, averaged over units
  (undefined ones skipped) and over 5 folds (our fold rule: whole conditions for
  (time, conditions, units) input, seeded shuffled samples otherwise; neuroaimetrics uses
  sklearn ``KFold(5, shuffle=True, random_state=42)``).

>>> import torch
>>> X = torch.randn(40, 5, dtype=torch.float64)
>>> round(float(hard_correlation_match(X, X[:, [3, 1, 0, 4, 2]] * 2)), 12)
1.0
"""

from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment

from .linalg import center, unit_columns
from .plain import card_fields, register_plain
from .registry import alias, describe
from .regression import cv_folds
from .resi_rsm import span_basis

__all__ = [
    "hard_correlation_match",
    "isc",
    "max_match",
    "pairwisematching",
    "soft_correlation_match",
    "unit_correlations",
]


def _unit_columns(x: torch.Tensor) -> torch.Tensor:
    """Centred units scaled to unit norm (constant units set to 0)."""
    return unit_columns(center(x))


def unit_correlations(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(…, p, q) Pearson correlations of the units of X with those of Y (0 for constant)."""
    return _unit_columns(x).transpose(-1, -2) @ _unit_columns(y)


def hard_correlation_match(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean correlation of the best one-to-one unit matching."""
    c = unit_correlations(x, y)
    flat = c.detach().reshape(-1, *c.shape[-2:]).cpu().numpy()
    picks = []
    for m in flat:
        rows, cols = linear_sum_assignment(m, maximize=True)
        picks.append(torch.as_tensor(rows * m.shape[-1] + cols))
    idx = torch.stack(picks).reshape(*c.shape[:-2], -1).to(c.device)
    return c.flatten(-2).gather(-1, idx).mean(-1)


def soft_correlation_match(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean best correlation of each unit, averaged over both directions (ReSi)."""
    c = unit_correlations(x, y)
    return (c.amax(-1).mean(-1) + c.amax(-2).mean(-1)) / 2


def isc(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean Pearson correlation over all pairs of units."""
    return unit_correlations(x, y).mean((-2, -1))


def _residuals(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Relative distances of the columns of ``a`` to the span of the columns of ``b``."""
    u = span_basis(b)
    r = a - u @ (u.transpose(-1, -2) @ a)
    return r.norm(dim=-2) / a.norm(dim=-2)


def _max_match_one(x: torch.Tensor, y: torch.Tensor, eps: float) -> float:
    ix = torch.nonzero(x.norm(dim=-2) > 1e-16).flatten()
    iy = torch.nonzero(y.norm(dim=-2) > 1e-16).flatten()
    changed = len(ix) > 0 and len(iy) > 0
    if not changed:
        ix, iy = ix[:0], iy[:0]
    while changed:
        keep = ix[_residuals(x[:, ix], y[:, iy]) <= eps]
        changed = len(keep) < len(ix)
        ix = keep
        if len(ix) == 0:
            iy = iy[:0]
            break
        keep = iy[_residuals(y[:, iy], x[:, ix]) <= eps]
        changed = changed or len(keep) < len(iy)
        iy = keep
        if len(iy) == 0:
            ix = ix[:0]
            break
    return (len(ix) + len(iy)) / (x.shape[-1] + y.shape[-1])


def max_match(x: torch.Tensor, y: torch.Tensor, eps: float = 0.25) -> torch.Tensor:
    """Maximum match score at ``eps`` (see the module docstring); no gradient."""
    with torch.no_grad():
        xs = x.reshape(-1, *x.shape[-2:])
        ys = y.reshape(-1, *y.shape[-2:])
        vals = [_max_match_one(a, b, eps) for a, b in zip(xs, ys)]
        return torch.tensor(vals, dtype=x.dtype, device=x.device).reshape(x.shape[:-2])


def _corr_cols(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Column-wise Pearson correlation of equal-shape (…, m, p) a and b; NaN if undefined."""
    ac, bc = center(a), center(b)
    den = (ac * ac).sum(-2) * (bc * bc).sum(-2)
    return (ac * bc).sum(-2) / den.sqrt()


def pairwisematching(
    x: torch.Tensor, y: torch.Tensor, n_conditions: int | None = None, k: int = 5
) -> torch.Tensor:
    """Held-out correlation of each X unit with its best-correlated Y unit (5 folds)."""
    n = x.shape[-2]
    with torch.no_grad():
        scores = []
        for test in cv_folds(n, k, "samples", n_conditions):
            train = torch.ones(n, dtype=torch.bool)
            train[test] = False
            c = unit_correlations(x[..., train, :], y[..., train, :])  # (…, p, q)
            pick = c.argmax(-1)  # (…, p)
            yt = y[..., test, :]
            idx = pick.unsqueeze(-2).expand(*yt.shape[:-1], pick.shape[-1])
            r = _corr_cols(x[..., test, :], yt.gather(-1, idx))
            scores.append(r.nanmean(-1))
        return torch.stack(scores, -1).nanmean(-1)


# ----------------------------------------------------------------------------- registration
_RESI = (
    "Klabunde et al. 2025, ReSi: A Comprehensive Benchmark for Representational Similarity "
    "Measures (ICLR); github.com/mklabunde/resi (measures/correlation_match.py)",
    "Li et al. 2016, Convergent learning: do different neural networks learn the same "
    "representations? (ICLR)",
)
_MATCH = ("permutation", "isotropic_scaling", "translation")
_DISCRETE = "not differentiable (discrete matching)"

_CARDS = {
    "hard_correlation_match": dict(
        what="mean correlation of the best one-to-one matching of units (Hungarian); " + _DISCRETE,
        formula="(1/min(p,q)) max_π Σ_j corr(x_j, y_π(j)), π one-to-one",
        rng=(-1.0, 1.0),
        refs=_RESI,
        differentiable=False,
        invariances=_MATCH,
        cost="O(n·p·q + min(p,q)²·max(p,q)) (correlations + Hungarian)",
    ),
    "soft_correlation_match": dict(
        what="best correlation of each unit with a unit of the other representation, "
        "averaged over units and over both directions (ReSi); differentiable almost "
        "everywhere (a max)",
        formula="½[(1/p) Σ_j max_l C_jl + (1/q) Σ_l max_j C_jl], C_jl = corr(x_j, y_l)",
        rng=(-1.0, 1.0),
        refs=_RESI,
        invariances=_MATCH,
        cost="O(n·p·q)",
    ),
    "isc": dict(
        what="mean inter-subject correlation: Pearson correlation of every unit of X with "
        "every unit of Y, averaged",
        formula="(1/(p q)) Σ_jl corr(x_j, y_l)",
        rng=(-1.0, 1.0),
        refs=(
            "Lu et al. 2018, Shared representational geometry across neural networks "
            "(NeurIPS workshop); github.com/qihongl/nnsrm-neurips18 (qmvpa isc)",
            "Hasson et al. 2004, Intersubject synchronization of cortical activity (Science)",
        ),
        invariances=_MATCH,
        cost="O(n·p·q)",
    ),
    "max_match": dict(
        what="maximum match score at ε = 0.25: the fraction of units in the largest "
        "mutually ε-approximately spanned subsets; not differentiable (a count)",
        formula="(|X*| + |Y*|)/(p + q), X*, Y* the maximal sets with every unit within "
        "relative distance ε = 0.25 of the span of the other set",
        rng=(0.0, 1.0),
        refs=(
            "Wang et al. 2018, Towards understanding learning representations: to what "
            "extent do different neural networks learn the same representation (NeurIPS); "
            "github.com/MeckyWu/subspace-match",
        ),
        differentiable=False,
        invariances=("permutation", "isotropic_scaling"),
        cost="O(iterations · n·(p+q)·min(n, p+q)) (least-squares projections)",
    ),
    "pairwisematching": dict(
        what="held-out correlation of each unit of X with the unit of Y that correlates best "
        "with it on the training folds (5 folds), averaged; " + _DISCRETE,
        formula="mean_folds mean_j corr_test(x_j, y_π(j)), π(j) = argmax_l corr_train(x_j, y_l)",
        rng=(-1.0, 1.0),
        refs=(
            "Soni et al. 2024, Conclusions about neural network to brain alignment are "
            "profoundly impacted by the similarity measure (bioRxiv); "
            "github.com/anshksoni/NeuroAIMetrics",
        ),
        symmetric=False,
        differentiable=False,
        invariances=_MATCH,
        estimator="5-fold cross-validated (whole conditions for 3-D input)",
        cost="O(5·n·p·q)",
    ),
}
_FNS = {
    "hard_correlation_match": hard_correlation_match,
    "soft_correlation_match": soft_correlation_match,
    "isc": isc,
    "max_match": max_match,
}
for _name, _fields in _CARDS.items():
    if _name in _FNS:
        register_plain(
            _name, _FNS[_name], lambda values, _f=_fields: card_fields(form="score", **_f)
        )

register_plain(
    "pairwisematching",
    pairwisematching,
    lambda values: card_fields(form="score", **_CARDS["pairwisematching"]),
    conditions=True,
)
alias("subspacematch", "max_match")

_TEXT = {
    "hard_correlation_match": "Hard correlation match (ReSi, after Li et al. 2016): units are "
    "paired one to one so that the summed correlation of their responses is largest; the "
    "mean correlation of the pairs.",
    "soft_correlation_match": "Soft correlation match (ReSi): every unit is paired with its "
    "best-correlated unit of the other representation, in both directions, and the best "
    "correlations are averaged.",
    "isc": "Inter-subject correlation (nnsrm-neurips18): the mean Pearson correlation between "
    "the responses of every unit of one representation and every unit of the other.",
    "max_match": "Maximum match score (Wang et al. 2018, subspace-match): the fraction of "
    "units that belong to the largest subsets of X and Y spanning approximately the same "
    "subspace of sample space (ε = 0.25).",
    "pairwisematching": "Pairwise matching (NeuroAIMetrics): each unit of the reference is "
    "matched to the most correlated unit of the candidate on training folds, and the match "
    "is scored by its correlation on held-out samples.",
}
for _family, _text in _TEXT.items():
    describe(_family, _text)
