"""The run's summary as text for the terminal (the table is
:func:`simgrad.pipeline.summary_table`, one row per measure).

>>> import pandas as pd
>>> t = pd.DataFrame({"measure": ["m"], "seeds": [1], "iterations": [12.0],
...                   "final_score": [0.99], "threshold_score:ctx": [0.4],
...                   "reached:ctx": ["1/1"], "pcs_captured": [2.0], "n_pcs": [5]})
>>> format_summary(t).splitlines()[2].split()
['m', '12', '0.990', '0.400', '2/5']
>>> t["target_reached"] = ["0/1"]
>>> format_summary(t, target=0.995).splitlines()[2].split()
['m', '12', '0.990', 'MISSED', '0.400', '2/5']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pipeline.tables import split_k_of_n

__all__ = ["format_summary"]


def _fmt(v: object, digits: int = 3, empty: str = "—") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return empty
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _target_cell(k: int, n: int) -> str:
    """``"yes"`` when every seed reached the target, ``"MISSED"`` when none did, else k/n."""
    return "yes" if k == n else ("MISSED" if k == 0 else f"{k}/{n} seeds")


def _final_cell(r: pd.Series) -> str:
    text = _fmt(r["final_score"])
    if "final_score_min" in r and r["seeds"] > 1 and np.isfinite(r["final_score_min"]):
        text += f" [{_fmt(r['final_score_min'])}–{_fmt(r['final_score_max'])}]"
    return text


def format_summary(
    table: pd.DataFrame,
    *,
    cutoff: float = 0.9,
    names: dict | None = None,
    target: float | None = None,
) -> str:
    """The summary as aligned plain text for the terminal; with ``target`` (and the table's
    ``target_reached`` column) a column flags the measures that missed it."""
    names = names or {}
    labels = [c.split(":", 1)[1] for c in table.columns if c.startswith("threshold_score:")]
    flag = target is not None and "target_reached" in table.columns
    header = ["measure", "iters", "final"] + ([f"target {target:g}"] if flag else [])
    header += [f"thr[{lab}]" for lab in labels]
    header.append(f"PCs by {cutoff:g}")
    lines = []
    for _, r in table.iterrows():
        cells = [names.get(r["measure"], r["measure"]), _fmt(r["iterations"], 0), _final_cell(r)]
        if flag:
            cells.append(_target_cell(*split_k_of_n(r["target_reached"])))
        for lab in labels:
            v = r[f"threshold_score:{lab}"]
            reached = r[f"reached:{lab}"]
            text = _fmt(v, empty="never")
            if reached and text != "never" and split_k_of_n(reached)[0] != int(r["seeds"]):
                text += f" ({reached})"
            cells.append(text)
        pcs = r["pcs_captured"]
        if np.isfinite(pcs):
            cells.append(f"{_fmt(pcs, 0 if pcs == int(pcs) else 1)}/{int(r['n_pcs'])}")
        else:
            cells.append("—")
        lines.append(cells)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in lines]
    note = (
        "thr[label] = score at which decoding reaches 90% of the way from chance to the "
        f"reference accuracy; PCs by {cutoff:g} = principal components captured before the "
        f"score reached {cutoff:g}."
    )
    if flag:
        missed = [
            names.get(r["measure"], r["measure"])
            for _, r in table.iterrows()
            if split_k_of_n(r["target_reached"])[0] != int(r["seeds"])
        ]
        if missed:
            note += (
                f"\nMISSED: {', '.join(missed)} stopped before the target {target:g} "
                "(more --max-iter or a larger --lr may reach it; see the report's findings)."
            )
    return "\n".join(out) + "\n" + note
