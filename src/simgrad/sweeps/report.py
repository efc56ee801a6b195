"""The sweep's report: one self-contained ``report.html`` and ``figures/thresholds.png``.

The page reuses the run report's page head (stylesheet), figure and table helpers
(:mod:`simgrad.report.html`), embeds its figure as base64 PNG, loads nothing from the network,
and links a unit's own report only where the unit made one (``unit_reports``). Its centre is the
paper's summary (§5.1): the score each measure needs before a label is decoded as well as from
the recordings (threshold score), per dataset, as across-seed mean with its t interval.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .._io import atomic_write_bytes, atomic_write_text
from ..measures import short_name
from ..report.figures import measure_colors, png_bytes
from ..report.html import figure_html, measure_name_html, page_head, table_html
from .units import UNITS

if TYPE_CHECKING:
    from .grid import Grid
    from .run import SweepResult

__all__ = ["thresholds_figure", "write_report"]

_RC = {
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.fontsize": 8,
}


def _canonical(names: Sequence[str]) -> dict[str, str]:
    from ..measures import measure

    out = {}
    for n in names:
        try:
            out[n] = measure(n).name
        except (ValueError, TypeError):
            out[n] = n
    return out


def _category(row: pd.Series, swept: Sequence[str]) -> str:
    parts = [str(row["dataset"])]
    if "label" in row and pd.notna(row["label"]):
        parts.append(f"({row['label']})")
    parts += [f"{k}={row[k]}" for k in swept if k in row]
    return "\n".join(parts)


def thresholds_figure(
    summary: pd.DataFrame,
    swept: Sequence[str] = (),
    *,
    never_at: float = 0.99,
    colors: Mapping[str, Sequence[float]] | None = None,
) -> Figure:
    """Threshold score per measure across datasets (paper §5.1): across-seed mean with its
    t interval; a hollow marker at ``never_at`` where no seed reached the threshold."""
    measures = list(dict.fromkeys(summary["measure"])) if len(summary) else []
    canon = _canonical(measures)
    cols = colors or measure_colors([canon[m] for m in measures])
    cats = list(dict.fromkeys(_category(r, swept) for _, r in summary.iterrows()))
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(max(4.5, 1.3 * len(cats) + 2.5), 3.8), layout="constrained")
        ax = fig.add_subplot()
        width = 0.7 / max(1, len(measures))
        shown: list[float] = []
        never = False
        for j, m in enumerate(measures):
            color = cols.get(canon[m], (0.3, 0.3, 0.3))
            sub = summary[summary["measure"] == m]
            for _, r in sub.iterrows():
                x = cats.index(_category(r, swept)) + (j - (len(measures) - 1) / 2) * width
                if r["reached"] == 0 or not np.isfinite(r["threshold_score"]):
                    ax.scatter([x], [never_at], facecolor="white", edgecolor=color, s=36, zorder=3)
                    never = True
                    continue
                y = r["threshold_score"]
                lo, hi = r["threshold_score_low"], r["threshold_score_high"]
                if np.isfinite(lo) and np.isfinite(hi):
                    ax.errorbar(
                        [x],
                        [y],
                        yerr=[[y - lo], [hi - y]],
                        color=color,
                        lw=1.2,
                        capsize=2.5,
                        zorder=2,
                    )
                ax.scatter([x], [y], color=color, s=36, zorder=3, edgecolor="white", lw=0.5)
                shown.append(float(y))
            ax.scatter([], [], color=color, s=36, label=short_name(canon[m]))
        if never:
            ax.scatter(
                [],
                [],
                facecolor="white",
                edgecolor="#666666",
                s=36,
                label=f"never reached (drawn at {never_at:g})",
            )
        # scores live below 1: intervals reaching past the plotted range are clipped
        ax.set_ylim(min([0.0, *(v - 0.05 for v in shown)]), max(1.02, never_at + 0.03))
        ax.set_xticks(range(len(cats)), cats)
        ax.set_xlim(-0.6, len(cats) - 0.4)
        ax.set_ylabel("threshold score")
        ax.set_title("Score needed to decode like the reference (mean and interval over seeds)")
        ax.grid(True, axis="y", color="#e9e9e9", lw=0.6)
        ax.set_axisbelow(True)
        if measures:
            ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def _with_intervals(df: pd.DataFrame, names: Sequence[str], digits: int = 3) -> pd.DataFrame:
    """For display: ``<name>_low``/``<name>_high`` become one text column ``<name>_interval``
    (``"0.714 – 0.939"``, empty where there is no interval)."""
    out = df.copy()
    for name in names:
        lo, hi = f"{name}_low", f"{name}_high"
        if lo not in out or hi not in out:
            continue
        text = [
            f"{a:.{digits}f} – {b:.{digits}f}" if np.isfinite(a) and np.isfinite(b) else None
            for a, b in zip(out[lo].astype(float), out[hi].astype(float))
        ]
        pos = out.columns.get_loc(lo)
        out = out.drop(columns=[lo, hi])
        out.insert(pos, f"{name}_interval", text)
    return out


def _never_at(grid: Grid) -> float:
    """Where "never reached" is drawn: the units' target if they share one, else the default."""
    targets = {s.get("target") for s in grid.settings} - {None}
    if len(targets) == 1:
        return float(targets.pop())
    from ..options import RunOptions

    return RunOptions.target


_EMPTY = {
    "threshold_score": "never reached",
    "threshold_score_interval": "–",
    "final_score_interval": "–",
    "iterations_interval": "–",
}


def _headers(pct: str) -> dict[str, str]:
    interval = f"{pct} interval"
    return {
        "threshold_score": "threshold score (mean)",
        "threshold_score_interval": interval,
        "reference_accuracy": "reference accuracy",
        "final_score": "final score (mean)",
        "final_score_interval": interval,
        "iterations": "iterations (mean)",
        "iterations_interval": interval,
    }


def _measure_formatter(measures: Sequence[str]) -> Callable[[str], str]:
    """Cell formatter: a measure (as named in the grid) shown with its colour swatch."""
    canon = _canonical(list(measures))
    colors = measure_colors([canon[m] for m in measures])
    return lambda v: measure_name_html(canon.get(v, v), colors)


def _summary_section(
    result: SweepResult, png: bytes, never_at: float, pct: str, fm: Mapping[str, Callable]
) -> list[str]:
    return [
        '<section id="summary"><h2>Score needed to decode like the reference</h2>',
        "<p>Tables: <code>results/summary_thresholds.csv</code>, "
        "<code>results/summary_runs.csv</code>; per seed: <code>results/thresholds.csv</code> "
        "and the other stacked tables of the units.</p>"
        "<p>Synthetic data were optimized towards each dataset under each measure, once per "
        "seed. The <em>threshold score</em> is the score at which decoding a label first "
        "reaches 90% of the way from chance to the decoder's accuracy on the reference. "
        f"Shown: the mean over the seeds that reached it, with a two-sided {pct} Student-t "
        "interval (empty for fewer than two seeds); <code>reached</code> counts those seeds.</p>",
        figure_html(
            "thresholds",
            png,
            "Threshold score per measure across datasets; hollow "
            f"markers at {never_at:g}: no seed reached the threshold.",
        ),
        table_html(
            _with_intervals(result.summary_thresholds, ["threshold_score"]),
            "summary_thresholds",
            empty=_EMPTY,
            headers=_headers(pct),
            formatters=fm,
            css_class="summary",
        ),
        "</section>",
        '<section id="runs"><h2>Runs</h2><p>Final score and number of iterations per '
        f"dataset and measure (mean and {pct} t interval over seeds).</p>",
        table_html(
            _with_intervals(result.summary_runs, ["final_score", "iterations"]),
            "summary_runs",
            empty=_EMPTY,
            headers=_headers(pct),
            formatters={**fm, "iterations": lambda v: f"{float(v):.1f}"},
            css_class="summary",
        ),
        "</section>",
    ]


def _units_section(result: SweepResult, measure_fmt: Callable[[str], str]) -> list[str]:
    """The units table; a unit id links to the unit's own report page where one was made."""
    reports = {
        uid
        for uid, folder in zip(result.units["unit"], result.units["folder"])
        if (result.out / folder / "report.html").is_file()
    }

    def unit_link(uid: str) -> str:
        if uid not in reports:
            return escape(uid)
        return f'<a href="{UNITS}/{escape(uid)}/report.html">{escape(uid)}</a>'

    parts = [
        '<section id="units"><h2>Units</h2><p>One run of the main job per row; the tables in '
        "<code>results/</code> stack their outputs.</p>",
        table_html(
            result.units.drop(columns=["this_run", "folder"]),
            "units",
            empty={"seconds": "–"},
            formatters={
                "unit": unit_link,
                "measure": measure_fmt,
                "seconds": lambda v: f"{float(v):.1f}",
            },
        ),
    ]
    if result.failed:
        items = "".join(
            f"<li><code>{escape(k)}</code>: {escape(v)}</li>" for k, v in result.failed.items()
        )
        parts.append(f"<h3>Not finished</h3><ul>{items}</ul>")
    parts.append("</section>")
    return parts


def _grid_section(grid: Grid) -> list[str]:
    rows = "".join(
        f"<dt>{escape(k)}</dt><dd><code>{escape(_fmt(v))}</code></dd>"
        for k, v in grid.as_dict().items()
    )
    return ['<section id="grid"><h2>Grid</h2>', f'<dl class="kv">{rows}</dl>', "</section>"]


def _subtitle(result: SweepResult, grid: Grid) -> str:
    n_units = len(result.units)
    n_done = int((result.units["status"] == "finished").sum()) if n_units else 0
    n_ds, n_m, n_s = len(grid.datasets), len(grid.measures), len(grid.seeds)
    settings = f" × {len(grid.settings)} settings" if len(grid.settings) > 1 else ""
    return (
        f"{n_ds} datasets × {n_m} measures × {n_s} seeds{settings} = {n_units} units · "
        f"{n_done} finished · {len(result.failed)} not finished"
    )


def write_report(result: SweepResult, grid: Grid, *, level: float = 0.95) -> None:
    """Write ``figures/thresholds.png`` and ``report.html`` into ``result.out``.

    The page stands alone: it embeds its figure and stylesheet, and links a unit's own
    ``report.html`` only where that page exists (units write one only with unit reports on).
    """
    out = result.out
    never_at = _never_at(grid)
    pct = f"{level:.0%}"
    fig = thresholds_figure(result.summary_thresholds, grid.swept, never_at=never_at)
    png = png_bytes(fig)
    atomic_write_bytes(out / "figures" / "thresholds.png", png)
    measure_fmt = _measure_formatter(grid.measures)
    fm = {"measure": measure_fmt, "dataset": escape}
    sections = [("summary", "Summary"), ("runs", "Runs"), ("units", "Units"), ("grid", "Grid")]
    parts = [
        *page_head("simgrad sweep", escape(_subtitle(result, grid)), sections),
        *_summary_section(result, png, never_at, pct, fm),
        *_units_section(result, measure_fmt),
        *_grid_section(grid),
        "</main></body></html>\n",
    ]
    atomic_write_text(out / "report.html", "\n".join(parts))


def _fmt(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)
