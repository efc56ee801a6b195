"""What a run found, in a few sentences generated from its tables.

Every number in a finding is a :class:`Num` that names where it comes from in the CSVs of
``results/``: the table, the rows (``where``: column → value), the column and how the rows
are reduced (``agg``):

``"mean"``
    mean of the column over the matching rows whose cell is not empty (one seed: the cell);
``"last"``
    for each seed, the row with the largest ``iteration``; mean of the column over seeds;
``"count_le"``
    for each seed, how many rows have the column ≤ ``bound``; mean over seeds;
``"count"``
    for each seed, the number of matching rows; the largest over seeds;
``"window_max"``
    for each seed, the largest value among the rows with ``last − a ≥ iteration > last − b``
    (``window = (a, b)``, ``last`` the seed's last iteration); mean over seeds.

Claims without a number are :class:`Claim` parts: ``"missed"`` / ``"reached"`` (the final
score of every seed is below / at the target), ``"never"`` (every ``threshold_score`` cell of
the measure and label is empty). In ``report.html`` each part becomes a ``<span>`` with its
provenance in ``data-*`` attributes, so a test can recompute every number from the CSVs.

>>> import pandas as pd
>>> scores = pd.DataFrame({"measure": "m", "seed": 0, "iteration": [0, 1], "score": [.1, .95]})
>>> thr = pd.DataFrame({"measure": ["m"], "seed": [0], "label": ["ctx"], "chance": [.5],
...     "reference_accuracy": [1.0], "threshold_accuracy": [.95], "threshold_score": [None]})
>>> pcs = pd.DataFrame({"measure": "m", "seed": 0, "pc": [1, 2],
...     "explained_variance_ratio": [.9, .1], "capture_score": [.3, None]})
>>> found = run_findings(scores, thr, pcs, measures=["m"], target=0.99)
>>> print(*text(found[0]).split(". "), sep=".\\n")
m stopped at 0.950 after 1 iteration: it missed the target 0.99.
Labels never decodable under m: ctx.
Before the score reached 0.9 it captured 1 of 2 PCs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

import pandas as pd

from ..pipeline.tables import last_rows, pc_counts, reached_target

__all__ = ["Claim", "Num", "findings_html", "result_findings", "run_findings", "text"]


@dataclass(frozen=True)
class Num:
    """A number shown in a finding and where it comes from (see the module docstring)."""

    value: float
    table: str
    where: dict
    column: str
    agg: str = "mean"
    bound: float | None = None
    digits: int = 3
    window: tuple[int, int] | None = None

    @property
    def shown(self) -> str:
        v = self.value
        if self.digits <= 1 or self.agg.startswith("count"):
            return str(int(v)) if float(v) == int(v) else f"{v:.1f}"
        return f"{v:.{self.digits}f}"


@dataclass(frozen=True)
class Claim:
    """A statement about cells without a number: ``kind`` ``missed``/``reached``/``never``."""

    kind: str
    shown: str
    where: dict = field(default_factory=dict)
    target: float | None = None


Part = str | Num | Claim


def text(parts: Sequence[Part]) -> str:
    """A finding as plain text (the terminal)."""
    return "".join(p if isinstance(p, str) else p.shown for p in parts)


def findings_html(findings: Sequence[Sequence[Part]]) -> str:
    """The findings as an HTML list; numbers and claims carry their provenance."""
    items = []
    for parts in findings:
        out = []
        for p in parts:
            if isinstance(p, str):
                out.append(escape(p))
            elif isinstance(p, Num):
                attrs = {
                    "table": p.table,
                    "where": json.dumps(p.where, sort_keys=True),
                    "col": p.column,
                    "agg": p.agg,
                    "value": repr(float(p.value)),
                }
                if p.bound is not None:
                    attrs["bound"] = repr(float(p.bound))
                if p.window is not None:
                    attrs["window"] = f"{p.window[0]},{p.window[1]}"
                a = " ".join(f'data-{k}="{escape(str(v))}"' for k, v in attrs.items())
                a += f' title="{escape(_provenance(p))}"'
                out.append(f'<span class="num" {a}>{escape(p.shown)}</span>')
            else:
                where = escape(json.dumps(p.where, sort_keys=True))
                a = f'data-claim="{p.kind}" data-where="{where}"'
                if p.target is not None:
                    a += f' data-target="{p.target!r}"'
                out.append(f'<span class="claim" {a}>{escape(p.shown)}</span>')
        items.append(f"<li>{''.join(out)}</li>")
    return f'<ul class="findings">{"".join(items)}</ul>'


_AGG = {
    "mean": "mean over seeds",
    "last": "last iteration, mean over seeds",
    "count_le": "rows with {col} ≤ {bound:g}, counted per seed, mean over seeds",
    "count": "number of rows",
    "window_max": "largest over an iteration window, mean over seeds",
}


def _provenance(p: Num) -> str:
    """Where a number comes from, in words (the tooltip)."""
    rows = ", ".join(f"{k}={v}" for k, v in p.where.items())
    how = _AGG.get(p.agg, p.agg).format(col=p.column, bound=p.bound or 0.0)
    return f"results/{p.table}.csv, rows {rows}, column {p.column} ({how})"


def _join(items: Sequence[Part | list]) -> list:
    """``a``, ``a and b``, ``a, b and c`` (items may be lists of parts)."""
    flat: list = []
    for i, it in enumerate(items):
        if i:
            flat.append(" and " if i == len(items) - 1 else ", ")
        flat.extend(it if isinstance(it, list) else [it])
    return flat


def _target_sentence(
    scores: pd.DataFrame, m: str, name: str, target: float, is_distance: bool
) -> list[Part]:
    last = last_rows(scores, m)
    n = len(last)
    ok = reached_target(last["score"], target, is_distance)
    where = {"measure": m}
    fin = Num(float(last["score"].mean()), "scores", where, "score", "last")
    its = Num(float(last["iteration"].mean()), "scores", where, "iteration", "last", digits=0)
    its = Num(its.value, its.table, its.where, its.column, its.agg, digits=0 if n == 1 else 1)
    seeds = ("" if its.value == 1 else "s") + ("" if n == 1 else f" (mean over {n} seeds)")
    if ok.all():
        claim = Claim("reached", f"reached the target {target:g}", where, target)
        return [name, " ", claim, " after ", its, " iteration", seeds, " (final score ", fin, ")."]
    if not ok.any():
        claim = Claim("missed", f"missed the target {target:g}", where, target)
        return [
            name,
            " stopped at ",
            fin,
            " after ",
            its,
            " iteration",
            seeds,
            ": it ",
            claim,
            ".",
            *_trend(scores, m),
        ]
    k = int(ok.sum())
    return [
        name,
        f" reached the target {target:g} in {k} of {n} seeds and missed it in {n - k}",
        " (final score ",
        fin,
        f", mean over {n} seeds).",
    ]


def _trend(scores: pd.DataFrame, m: str, w: int = 50) -> list[Part]:
    """Whether a run that missed was still rising: its best score over the last ``w``
    iterations against the ``w`` before (empty when the run is shorter than ``2 w``)."""
    s = scores[scores["measure"] == m]
    if s.groupby("seed")["iteration"].max().min() < 2 * w:
        return []
    best = []
    for a, b in ((0, w), (w, 2 * w)):
        vals = []
        for _, g in s.groupby("seed"):
            last = g["iteration"].max()
            sel = (g["iteration"] <= last - a) & (g["iteration"] > last - b)
            vals.append(g.loc[sel, "score"].max())
        num = Num(float(pd.Series(vals).mean()), "scores", {"measure": m}, "score", "window_max")
        best.append(Num(num.value, num.table, num.where, num.column, num.agg, window=(a, b)))
    rising = best[0].value > best[1].value
    return [
        f" Its best score over the last {w} iterations was ",
        best[0],
        ", against ",
        best[1],
        f" over the {w} before: "
        + (
            "still rising, so more iterations (--max-iter) or a larger step (--lr) may reach "
            "the target."
            if rising
            else "no longer rising: a ceiling at this step size."
        ),
    ]


def _label_sentences(thr: pd.DataFrame, m: str, name: str, labels: Sequence[str]) -> list[list]:
    t = thr[thr["measure"] == m]
    reached, never = [], []
    for lab in labels:
        v = t[t["label"] == lab]["threshold_score"]
        where = {"measure": m, "label": lab}
        if v.notna().any():
            num = Num(float(v.dropna().mean()), "thresholds", where, "threshold_score")
            k, n = int(v.notna().sum()), len(v)
            extra = f" ({k} of {n} seeds)" if k < n else ""
            reached.append((num.value, [lab, " ", num, extra]))
        else:
            never.append(Claim("never", lab, where))
    out = []
    if reached:
        reached.sort(key=lambda r: r[0])
        out.append(
            [
                f"Under {name}, labels became decodable at score: ",
                *_join([r[1] for r in reached]),
                ".",
            ]
        )
    if never:
        out.append([f"Labels never decodable under {name}: ", *_join(never), "."])
    return out


def _pcs(pcs: pd.DataFrame, m: str, cutoff: float) -> tuple[Num, Num] | None:
    p = pcs[pcs["measure"] == m]
    if not len(p):
        return None
    where = {"measure": m}
    cap, total = pc_counts(p, cutoff)
    return (
        Num(float(cap), "pc_capture", where, "capture_score", "count_le", bound=cutoff),
        Num(float(total), "pc_capture", where, "pc", "count"),
    )


def _comparisons(
    thr: pd.DataFrame, measures: Sequence[str], labels: Sequence[str], names: dict
) -> list[list]:
    """Per label: which measure needs the lowest and the highest score to decode it."""
    out = []
    for lab in labels:
        vals = []
        for m in measures:
            v = thr[(thr["measure"] == m) & (thr["label"] == lab)]["threshold_score"].dropna()
            if len(v):
                where = {"measure": m, "label": lab}
                vals.append(
                    (
                        float(v.mean()),
                        m,
                        Num(float(v.mean()), "thresholds", where, "threshold_score"),
                    )
                )
        if len(vals) < 2:
            continue
        vals.sort(key=lambda r: r[0])
        lo, hi = vals[0], vals[-1]
        out.append(
            [
                f"{lab} became decodable at the lowest score under {names[lo[1]]} (",
                lo[2],
                f") and at the highest under {names[hi[1]]} (",
                hi[2],
                ").",
            ]
        )
    return out


# long because: one sentence kind after another, in reading order
def run_findings(
    scores: pd.DataFrame,
    thresholds: pd.DataFrame,
    pc_capture: pd.DataFrame,
    *,
    measures: Sequence[str] | None = None,
    target: float = 0.99,
    cutoff: float = 0.9,
    names: dict | None = None,
    is_distance: Callable[[str], bool] | None = None,
) -> list[list[Part]]:
    """The findings of a run, one list of parts per sentence (see :func:`text`,
    :func:`findings_html`): per measure whether it reached the target, the labels it made
    decodable (and at which score) or never, the PCs captured before ``cutoff``; then across
    measures the lowest and highest threshold score per label and the PCs captured."""
    ms = list(measures) if measures is not None else list(dict.fromkeys(scores["measure"]))
    ms = [m for m in ms if (scores["measure"] == m).any()]
    names = {m: (names or {}).get(m, m) for m in ms}
    dist = is_distance or (lambda m: False)
    labels = list(dict.fromkeys(thresholds["label"])) if len(thresholds) else []
    out: list[list[Part]] = []
    pcs_of = {}
    for m in ms:  # one item per measure: its sentences one after the other
        item = list(_target_sentence(scores, m, names[m], target, dist(m)))
        for sentence in _label_sentences(thresholds, m, names[m], labels):
            item += [" ", *sentence]
        pc = _pcs(pc_capture, m, cutoff)
        if pc is not None:
            pcs_of[m] = pc
            item += [f" Before the score reached {cutoff:g} it captured ", pc[0], " of ", pc[1]]
            item.append(" PCs.")
        out.append(item)
    out += _comparisons(thresholds, ms, labels, names)
    for lab in labels:
        nev = [
            m
            for m in ms
            if thresholds[(thresholds["measure"] == m) & (thresholds["label"] == lab)][
                "threshold_score"
            ]
            .isna()
            .all()
        ]
        if len(nev) == len(ms) and len(ms) > 1:
            claims = [Claim("never", names[m], {"measure": m, "label": lab}) for m in nev]
            out.append([f"{lab} was never decodable under any measure (", *_join(claims), ")."])
    if len(pcs_of) > 1:
        order = sorted(pcs_of, key=lambda m: pcs_of[m][0].value)
        lo, hi = order[0], order[-1]
        if pcs_of[lo][0].value != pcs_of[hi][0].value:
            out.append(
                [
                    f"Before {cutoff:g}, {names[hi]} captured the most PCs (",
                    pcs_of[hi][0],
                    " of ",
                    pcs_of[hi][1],
                    f") and {names[lo]} the fewest (",
                    pcs_of[lo][0],
                    " of ",
                    pcs_of[lo][1],
                    ").",
                ]
            )
    return out


def result_findings(result: object) -> list[list[Part]]:
    """:func:`run_findings` of a :class:`~simgrad.pipeline.RunResult` (its options' target
    and cutoff, short display names)."""
    from ..measures import measure, short_name

    opts = result.options  # type: ignore[attr-defined]
    ms = list(result.info["measures"])  # type: ignore[attr-defined]
    return run_findings(
        result.scores,  # type: ignore[attr-defined]
        result.thresholds,  # type: ignore[attr-defined]
        result.pc_capture,  # type: ignore[attr-defined]
        measures=ms,
        target=opts.target,
        cutoff=opts.cutoff,
        names={m: short_name(m) for m in ms},
        is_distance=lambda m: measure(m).is_distance,
    )
