"""The report's "by chance" section from ``results/chance.csv`` (:mod:`simgrad.pipeline.chance`):
per measure, how high it gets between the reference and independent Gaussian data of the same
shape, next to the run's initial and final scores."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from ..measures import short_name

__all__ = ["chance_section", "with_chance"]


def _f(v: Any) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def chance_section(table: Any) -> str:
    """An HTML ``<section>``: one row per measure."""
    rows = []
    for r in table.to_dict("records"):
        final = _f(r["final_score"])
        if r["seeds"] > 1 and not math.isnan(r["final_low"]):
            final += f" [{_f(r['final_low'])}, {_f(r['final_high'])}]"
        rows.append(
            f"<tr><td>{escape(short_name(r['measure']))}</td><td>{_f(r['null_mean'])} ± "
            f"{_f(r['null_sd'])}</td><td>{_f(r['null_q95'])}</td><td>{_f(r['initial_score'])}"
            f"</td><td>{final}</td><td>{_f(r['final_above_null'])}</td></tr>"
        )
    n, d = (int(table["samples"].iloc[0]), int(table["units"].iloc[0])) if len(table) else (0, 0)
    return (
        '<section id="chance"><h2>How high each score gets by chance</h2>'
        f"<p>Each measure between the reference ({n} samples × {d} units) and independent "
        "Gaussian data of the same shape (the null; mean ± sd and its 95th percentile, 5th "
        "for a distance), next to the run's initial and final scores (range over seeds in "
        "brackets) and the fraction of null draws the final score beats "
        "(<code>results/chance.csv</code>; see <code>docs/statistics.md</code>).</p>"
        "<div class='scroll'><table><thead><tr><th>measure</th><th>null mean ± sd</th>"
        "<th>null 95%</th>"
        "<th>initial</th><th>final</th><th>beats null</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div></section>"
    )


def with_chance(page: str, result: Any) -> str:
    """``page`` with the chance section inserted before the end of its main content."""
    table = getattr(result, "chance", None)
    if table is None or not len(table):
        return page
    section = chance_section(table)
    mark = "</main>"
    i = page.rfind(mark)
    return page[:i] + section + page[i:] if i >= 0 else page + section
