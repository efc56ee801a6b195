"""The run's summary: one row per measure, computed from the results tables.

``summary_table`` is what the terminal prints at the end of ``simgrad run`` and what heads
the HTML report. Averages over seeds use only the seeds where a threshold was reached; the
``reached`` columns say how many of them did ("never reached" is never replaced by a number).

>>> import pandas as pd
>>> scores = pd.DataFrame({"measure": "m", "seed": 0, "iteration": [0, 1], "score": [.1, .99]})
>>> thr = pd.DataFrame({"measure": ["m"], "seed": [0], "label": ["ctx"], "chance": [.5],
...                     "reference_accuracy": [1.0], "threshold_accuracy": [.95],
...                     "threshold_score": [.4]})
>>> pcs = pd.DataFrame({"measure": "m", "seed": 0, "pc": [1, 2],
...                     "explained_variance_ratio": [.9, .1], "capture_score": [.3, None]})
>>> summary_table(scores, thr, pcs).loc[0, ["threshold_score:ctx", "pcs_captured"]].tolist()
[0.4, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["format_summary", "summary_table"]


def summary_table(
    scores: pd.DataFrame,
    thresholds: pd.DataFrame,
    pc_capture: pd.DataFrame,
    *,
    cutoff: float = 0.9,
    measures: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per measure: ``measure, seeds, iterations, final_score``, then for each label
    ``threshold_score:<label>`` (mean over the seeds that reached it, NaN if none did) and
    ``reached:<label>`` ("k/n"), then ``pcs_captured`` (mean number of PCs whose capture score
    is ≤ ``cutoff``) and ``n_pcs``.
    """
    ms = list(measures) if measures is not None else list(dict.fromkeys(scores["measure"]))
    labels = list(dict.fromkeys(thresholds["label"])) if len(thresholds) else []
    rows = []
    for m in ms:
        s = scores[scores["measure"] == m]
        last = s.sort_values(["seed", "iteration"]).groupby("seed").tail(1)
        row: dict[str, object] = {
            "measure": m,
            "seeds": int(last["seed"].nunique()),
            "iterations": float(last["iteration"].mean()) if len(last) else math.nan,
            "final_score": float(last["score"].mean()) if len(last) else math.nan,
        }
        t = thresholds[thresholds["measure"] == m]
        for lab in labels:
            v = t[t["label"] == lab]["threshold_score"]
            reached = v.dropna()
            row[f"threshold_score:{lab}"] = float(reached.mean()) if len(reached) else math.nan
            row[f"reached:{lab}"] = f"{len(reached)}/{len(v)}"
        p = pc_capture[pc_capture["measure"] == m]
        if len(p):
            captured = (p["capture_score"] <= cutoff).groupby(p["seed"]).sum()
            row["pcs_captured"] = float(captured.mean())
            row["n_pcs"] = int(p.groupby("seed")["pc"].count().max())
        else:
            row["pcs_captured"] = math.nan
            row["n_pcs"] = 0
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(v: object, digits: int = 3, empty: str = "—") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return empty
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def format_summary(table: pd.DataFrame, *, cutoff: float = 0.9, names: dict | None = None) -> str:
    """The summary as aligned plain text for the terminal."""
    names = names or {}
    labels = [c.split(":", 1)[1] for c in table.columns if c.startswith("threshold_score:")]
    header = ["measure", "iters", "final"] + [f"thr[{lab}]" for lab in labels]
    header.append(f"PCs ≤{cutoff:g}")
    lines = []
    for _, r in table.iterrows():
        cells = [
            names.get(r["measure"], r["measure"]),
            _fmt(r["iterations"], 0),
            _fmt(r["final_score"]),
        ]
        for lab in labels:
            v = r[f"threshold_score:{lab}"]
            reached = r[f"reached:{lab}"]
            text = _fmt(v, empty="never")
            if reached and not reached.startswith(str(r["seeds"])) and text != "never":
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
        f"reference accuracy; PCs ≤{cutoff:g} = principal components captured before the score "
        f"reaches {cutoff:g}."
    )
    return "\n".join(out) + "\n" + note
