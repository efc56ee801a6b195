"""The run's summary as text for the terminal (the table is
:func:`simgrad.pipeline.summary_table`, one row per measure).

>>> import pandas as pd
>>> t = pd.DataFrame({"measure": ["m"], "seeds": [1], "iterations": [12.0],
...                   "final_score": [0.99], "threshold_score:ctx": [0.4],
...                   "reached:ctx": ["1/1"], "pcs_captured": [2.0], "n_pcs": [5]})
>>> format_summary(t).splitlines()[2].split()
['m', '12', '0.990', '0.400', '2/5']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["format_summary"]


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
