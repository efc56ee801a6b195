"""The captions of the run report's figures, keyed like ``figures/*.png``, written from what
the run did: its optimizer settings, which runs missed the target, how each label was decoded
(one decoder per time bin, pooled time blocks, or samples), how many iterates were decoded,
how many PCs the spectrum shows and which measures have a theory line.

>>> facts = RunFacts(lr=0.1, target=0.99, max_iter=300, n_seeds=1, missed={"ridge": 0.982},
...                  schemes={"ctx": "per-time"}, n_decoded=(7, 10), n_pcs=200, n_shown=200,
...                  theory=["cka"])
>>> caps = captions(facts)
>>> "ridge (0.982)" in caps["scores"] and "MISSED" in caps["scores"]
True
>>> "one decoder per time bin" in caps["decoding"]
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..pipeline.tables import missed_target

__all__ = ["RunFacts", "captions", "run_facts"]

_SCHEMES = {
    "per-time": "one decoder per time bin over the conditions, accuracy averaged over bins",
    "pooled-time-blocks": "every (time bin, condition) a sample, folds = contiguous time "
    "blocks (too few conditions per class for one decoder per bin)",
    "samples": "over the samples",
}


@dataclass(frozen=True)
class RunFacts:
    """What the captions say about a run (see :func:`run_facts`)."""

    lr: float
    target: float
    max_iter: int
    n_seeds: int
    missed: Mapping[str, float]  # short name -> mean final score, measures that missed
    schemes: Mapping[str, str]  # label -> decoding scheme
    n_decoded: tuple[int, int]  # fewest, most iterates decoded per run and label
    n_pcs: int
    n_shown: int
    theory: Sequence[str] = field(default_factory=list)  # short names with a theory line


def _missed_text(f: RunFacts) -> str:
    if not f.missed:
        return f"Every run reached the target {f.target:g}."
    runs = ", ".join(f"{m} ({v:.3f})" for m, v in f.missed.items())
    return (
        f"MISSED the target {f.target:g} within {f.max_iter} iterations: {runs} "
        "(drawn dashed; the summary and the findings flag them)."
    )


def _scheme_text(schemes: Mapping[str, str]) -> str:
    kinds = sorted(set(schemes.values()))
    if len(kinds) == 1:
        return _SCHEMES.get(kinds[0], kinds[0])
    return "; ".join(
        f"{', '.join(lab for lab, s in schemes.items() if s == k)}: {_SCHEMES.get(k, k)}"
        for k in kinds
    )


def captions(f: RunFacts) -> dict[str, str]:
    """Plain-text captions for the figures ``scores, decoding, pc_r2, capture, spectrum``."""
    seeds = "mean over seeds, band = min–max over seeds" if f.n_seeds > 1 else "one line each"
    lo, hi = f.n_decoded
    n_dec = f"{lo}" if lo == hi else f"{lo}–{hi}"
    theory = (
        f" Lines: the spectrum-only theory (top-k reconstruction, sg.theory) for "
        f"{', '.join(f.theory)}. The theory predicts the shape (which PCs are captured first, "
        "and how the needed score falls with the PC's variance), not the level: measured "
        "dots can sit above or below its line, most visibly for the top PCs."
        if f.theory
        else " No measure of this run has a closed-form theory."
    )
    shown = (
        f"all {f.n_pcs} principal components"
        if f.n_shown >= f.n_pcs
        else f"the first {f.n_shown} of {f.n_pcs} principal components"
    )
    return {
        "scores": "Score of the synthetic data against the reference at each iteration, "
        f"per measure ({seeds}); Adam, lr {f.lr:g}, Y₀ ~ N(0, 1); a run stops when the score "
        f"reaches {f.target:g} or after {f.max_iter} iterations. {_missed_text(f)}",
        "decoding": "Decoding accuracy of each label from the synthetic data against the score "
        f"it reached: 5-fold cross-validated logistic regression ({_scheme_text(f.schemes)}). "
        f"The curves are sampled: each run was decoded at {n_dec} iterates (markers), spread "
        "over the score range and dense where the accuracy crosses its threshold, joined by "
        "straight lines. Black dashed: the same decoder on the reference; grey dashed: chance. "
        "Dots below the axis, one row per measure: the threshold score (accuracy 90% of the "
        "way from chance to the reference); runs that never reach it have no dot.",
        "pc_r2": "Fraction of each reference principal component's variance captured by a "
        "linear read-out of the synthetic data (R²), against score; one curve per PC, coloured "
        "by the PC's explained-variance ratio (plasma, log scale); first seed of each measure.",
        "capture": "Score needed to capture each principal component (R² half-way from its "
        "initial value to 1) against the PC's explained-variance ratio. Dots: measured (PCs "
        f"never captured are left out).{theory}",
        "spectrum": f"Explained-variance ratio of {shown} of the reference (log scale) and "
        "their cumulative sum (grey).",
    }


def run_facts(result: Any) -> RunFacts:
    """The :class:`RunFacts` of a :class:`~simgrad.pipeline.RunResult`."""
    from ..analysis.decoding import make_folds
    from ..measures import short_name

    opts, ds, s = result.options, result.dataset, result.summary
    missed = {
        short_name(r["measure"]): float(r["final_score"])
        for _, r in s.iterrows()
        if missed_target(r)
    }
    schemes = {}
    for lab in result.info["dataset"]["labels_decoded"]:
        n_time = ds.data.shape[0] if ds.is_temporal else None
        schemes[lab] = make_folds(ds.labels[lab], n_time, 5, 0)[0]
    dec = result.decoding
    counts = dec.groupby(["measure", "seed", "label"]).size() if len(dec) else None
    n_decoded = (int(counts.min()), int(counts.max())) if counts is not None else (0, 0)
    n_pcs = int(result.pc_capture["pc"].max()) if len(result.pc_capture) else 0
    th = result.theory
    theory = list(dict.fromkeys(short_name(m) for m in th["measure"])) if len(th) else []
    return RunFacts(
        lr=opts.lr,
        target=opts.target,
        max_iter=opts.max_iter,
        n_seeds=len(opts.seeds),
        missed=missed,
        schemes=schemes,
        n_decoded=n_decoded,
        n_pcs=n_pcs,
        n_shown=n_pcs,
        theory=theory,
    )
