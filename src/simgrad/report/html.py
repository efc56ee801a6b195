"""``report.html``: one self-contained page from the results tables and figures.

The page embeds its stylesheet (``style.css`` beside this module) and every figure as a
base64 PNG, loads nothing from the network (no scripts, fonts or external CSS) and holds no
timestamp, so the same tables give the same bytes.

Tables are rendered from the same DataFrames as the CSVs. Each ``<table>`` carries
``data-table="<name>"``; each cell carries ``data-col`` and ``data-value``, the cell's text in
the CSV exactly (empty for "never reached"), so a test can compare what is shown with the
files.

>>> import pandas as pd
>>> html = table_html(pd.DataFrame({"a": [0.5, None]}), "demo", empty={"a": "never"})
>>> 'data-value="0.5"' in html and 'data-value=""' in html and ">never<" in html
True
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable, Mapping, Sequence
from html import escape
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from .._io import csv_text
from ..measures import short_name
from ..pipeline.tables import split_k_of_n
from .figures import color_hex

__all__ = ["figure_html", "measure_name_html", "page_head", "render_report", "table_html"]


def _css() -> str:
    return resources.files(__package__).joinpath("style.css").read_text(encoding="utf-8")


def _num(v: str, digits: int = 3) -> str:
    try:
        f = float(v)
    except ValueError:
        return escape(v)
    if f == int(f) and abs(f) < 1e12 and "." not in v and "e" not in v:
        return str(int(f))
    return f"{f:.{digits}f}"


def table_html(
    df: pd.DataFrame,
    name: str,
    *,
    empty: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    formatters: Mapping[str, Callable[[str], str]] | None = None,
    digits: int = 3,
    css_class: str = "results",
    row_text: Callable[[dict[str, str], str], tuple[str, str] | None] | None = None,
) -> str:
    """An HTML table whose cells carry the CSV text of each value in ``data-value``.

    ``row_text(row, col)`` may return ``(html, css class)`` for a cell from its whole row
    (CSV text by column), overriding ``formatters``; the table sits in a scrolling box, so a
    wide table never widens the page."""
    empty = dict(empty or {})
    headers = dict(headers or {})
    formatters = dict(formatters or {})
    rows = list(csv.reader(io.StringIO(csv_text(df))))
    cols, body = rows[0], rows[1:]
    out = [
        f'<div class="scroll"><table class="{css_class}" data-table="{escape(name)}">',
        "<thead><tr>",
    ]
    for c in cols:
        out.append(f'<th data-col="{escape(c)}">{escape(headers.get(c, c))}</th>')
    out.append("</tr></thead><tbody>")
    for r in body:
        out.append("<tr>")
        row = dict(zip(cols, r))
        for c, v in zip(cols, r):
            special = row_text(row, c) if row_text is not None else None
            if special is not None:
                (shown, klass), cls = special, ""
                cls = f' class="{klass}"' if klass else ""
            elif v == "":
                shown, cls = escape(empty.get(c, "")), ' class="empty"'
            elif c in formatters:
                shown, cls = formatters[c](v), ""
            else:
                shown, cls = _num(v, digits), ""
            out.append(f'<td data-col="{escape(c)}" data-value="{escape(v)}"{cls}>{shown}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def figure_html(key: str, png: bytes, caption: str) -> str:
    """A ``<figure data-figure="key">`` embedding ``png``; ``caption`` is HTML."""
    return (
        f'<figure id="fig-{escape(key)}" data-figure="{escape(key)}">{_img(png, caption)}'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _swatch(color: Sequence[float]) -> str:
    return f'<span class="swatch" style="background:{color_hex(color)}"></span>'


def measure_name_html(m: str, colors: Mapping[str, Sequence[float]]) -> str:
    """A measure's short name, after its colour swatch when ``colors`` has one."""
    sw = _swatch(colors[m]) if m in colors else ""
    return f'{sw}<span class="mname">{escape(short_name(m))}</span>'


def _dl(items: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in items if v not in ("", None))
    return f'<dl class="kv">{rows}</dl>'


def _card_html(card: Any, colors: Mapping[str, Sequence[float]]) -> str:
    lo, hi = card.range
    inv = ", ".join(card.invariances) or "none"
    items = [
        ("canonical name", f"<code>{escape(card.name)}</code>"),
        ("aliases", escape(", ".join(card.aliases)) or "none"),
        ("what", escape(card.description)),
        ("formula", f'<span class="formula">{escape(card.formula)}</span>'),
        ("output", f"{escape(card.form)} in [{lo:g}, {hi:g}]"),
        ("differentiable", "yes" if card.differentiable else "no"),
        ("symmetric", "yes" if card.symmetric else "no"),
        ("invariant to", escape(inv)),
        ("estimator", escape(card.estimator)),
        ("references", escape("; ".join(card.references))),
    ]
    color = colors.get(card.name, (0.5, 0.5, 0.5))
    return (
        f'<article class="card" data-measure="{escape(card.name)}" '
        f'style="border-top-color:{color_hex(color)}">'
        f"<h3>{_swatch(color)}{escape(short_name(card.name))}</h3>{_dl(items)}</article>"
    )


def _summary_cell(row: dict[str, str], col: str) -> tuple[str, str] | None:
    """Summary cells that need their row: the target flag, thresholds reached by some seeds
    only, the final score's range over seeds, PCs captured out of how many."""
    if col == "target_reached":
        k, n = split_k_of_n(row[col])
        if k == n:
            return "reached", "ok"
        return ("MISSED" if k == 0 else f"MISSED in {n - k}/{n}"), "missed"
    if col.startswith("threshold_score:") and row[col] != "":
        reached = row.get("reached:" + col.split(":", 1)[1], "")
        text = _num(row[col])
        if reached and split_k_of_n(reached)[0] != int(row["seeds"]):
            text += f" <small>({escape(reached)} seeds)</small>"
        return text, ""
    if col == "final_score" and row.get("final_score_min", "") != "" and row["seeds"] != "1":
        rng = f"{_num(row['final_score_min'])}–{_num(row['final_score_max'])}"
        return f'{_num(row[col])} <small title="min–max over seeds">[{rng}]</small>', ""
    if col == "pcs_captured" and row[col] != "":
        v = float(row[col])
        return f"{_num(row[col], 0) if v == int(v) else _num(row[col], 1)} / {row['n_pcs']}", ""
    return None


def _summary_html(
    summary: pd.DataFrame, colors: Mapping[str, Sequence[float]], cutoff: float
) -> str:
    labels = [c.split(":", 1)[1] for c in summary.columns if c.startswith("threshold_score:")]
    hidden = [c for c in summary.columns if c.startswith("reached:")]
    hidden += [c for c in ("n_pcs", "final_score_min", "final_score_max") if c in summary]
    headers = {
        "measure": "measure",
        "seeds": "seeds",
        "iterations": "iterations",
        "final_score": "final score",
        "target_reached": "target",
        "pcs_captured": f"PCs captured before {cutoff:g}",
    }
    for lab in labels:
        headers[f"threshold_score:{lab}"] = f"threshold: {lab}"
    empty = {f"threshold_score:{lab}": "never reached" for lab in labels}
    fmts: dict[str, Callable[[str], str]] = {
        "measure": lambda v: measure_name_html(v, colors),
        "iterations": lambda v: _num(v, 0),
    }
    shown = summary.drop(columns=hidden)
    extra = summary[hidden]
    return table_html(
        shown,
        "summary",
        empty=empty,
        headers=headers,
        formatters=fmts,
        css_class="summary",
        row_text=lambda row, col: _summary_cell({**row, **_extra(extra, shown, row)}, col),
    )


def _extra(extra: pd.DataFrame, shown: pd.DataFrame, row: dict[str, str]) -> dict[str, str]:
    """The hidden columns of ``row`` (found by its measure) as CSV text."""
    i = shown.index[shown["measure"] == row["measure"]][0]
    r = extra.loc[i]
    out = {}
    for c, v in r.items():
        if isinstance(v, (float, np.floating)):
            out[c] = "" if not np.isfinite(v) else repr(float(v))
        else:
            out[c] = str(v)
    return out


_DATASET_KEYS = (
    "name",
    "description",
    "area",
    "task",
    "shape",
    "units",
    "time",
    "source",
    "citation",
    "license",
)


_RUN_SECTIONS = (
    ("summary", "Summary"),
    ("figures", "Figures"),
    ("dataset", "Dataset"),
    ("measures", "Measures"),
    ("tables", "Tables"),
    ("settings", "Settings"),
)


def page_head(title: str, subtitle: str, sections: Sequence[tuple[str, str]]) -> list[str]:
    """A page's opening up to its table of contents: embedded stylesheet, header with
    ``title`` and ``subtitle`` (HTML), and one link per ``(section id, label)``."""
    toc = "".join(f'<a href="#{escape(i)}">{escape(label)}</a>' for i, label in sections)
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_css()}</style></head><body>",
        '<header class="top"><div class="wrap">',
        f'<h1>{escape(title)}</h1><p class="sub">{subtitle}</p></div></header>',
        '<main class="wrap">',
        f'<nav class="toc">{toc}</nav>',
    ]


def _summary_section(
    summary: pd.DataFrame,
    colors: Mapping[str, Sequence[float]],
    cutoff: float,
    findings: str = "",
) -> list[str]:
    parts = ['<section id="summary"><h2>Summary</h2>']
    if findings:
        parts += [
            '<div id="findings"><h3>What this run found</h3>',
            findings,
            '<p class="note">Every number above is a cell of results/*.csv (or a mean or '
            "count of cells; hover to see which).</p></div>",
        ]
    parts += [
        "<p>Synthetic data were optimized towards the reference under each measure. "
        "<em>target</em>: whether the final score reached the run's target (MISSED: it "
        "stopped at the iteration limit below it). The <em>threshold</em> of a label is the "
        "score at which its decoding first reaches 90% of the way from chance to the "
        "decoder's accuracy on the reference; the last column counts the principal "
        f"components captured before the score reached {cutoff:g}.</p>",
        _summary_html(summary, colors, cutoff),
        "</section>",
    ]
    return parts


def _dataset_section(dataset: Mapping[str, Any], spectrum: tuple[bytes, str] | None) -> list[str]:
    labels = dataset.get("labels") or {}
    label_rows = "".join(
        f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>" for k, v in labels.items()
    )
    items = [
        (key, escape(str(dataset[key])))
        for key in _DATASET_KEYS
        if dataset.get(key) not in (None, "")
    ]
    parts = [
        '<section id="dataset"><h2>Dataset</h2><div class="dataset">',
        f'<article class="card wide" data-dataset="{escape(str(dataset.get("name", "")))}">',
        _dl(items),
    ]
    if label_rows:
        parts.append(
            '<table class="labels"><thead><tr><th>label</th><th>classes (count)</th></tr>'
            f"</thead><tbody>{label_rows}</tbody></table>"
        )
    parts.append("</article>")
    if spectrum is not None:
        parts.append(figure_html("spectrum", spectrum[0], spectrum[1]))
    parts.append("</div></section>")
    return parts


def _tables_section(thresholds: pd.DataFrame, pc_capture: pd.DataFrame) -> list[str]:
    evr_fmt = {"explained_variance_ratio": lambda v: f"{float(v):.3g}"}
    return [
        '<section id="tables"><h2>Tables</h2>',
        "<h3>Decoding thresholds <small>(results/thresholds.csv)</small></h3>",
        table_html(thresholds, "thresholds", empty={"threshold_score": "never reached"}),
        "<details><summary>Principal-component capture "
        f"<small>(results/pc_capture.csv, {len(pc_capture)} rows)</small></summary>",
        table_html(
            pc_capture,
            "pc_capture",
            empty={"capture_score": "never captured"},
            formatters=evr_fmt,
        ),
        "</details></section>",
    ]


def render_report(
    *,
    title: str,
    subtitle: str,
    dataset: Mapping[str, Any],
    cards: Sequence[Any],
    colors: Mapping[str, Sequence[float]],
    summary: pd.DataFrame,
    thresholds: pd.DataFrame,
    pc_capture: pd.DataFrame,
    figures: Mapping[str, tuple[bytes, str]],
    settings: Mapping[str, Any],
    cutoff: float = 0.9,
    citation: str = "",
    findings: str = "",
    interactive: Mapping[str, str] | None = None,
    scripts: str = "",
) -> str:
    """The report page as a string.

    ``dataset`` maps field names (name, description, area, task, source, citation, license,
    shape, units, labels …) to text; ``figures`` maps a key to ``(png bytes, caption HTML)``;
    key ``"spectrum"`` is shown in the dataset card, the others in the figures section.
    ``settings`` are the run's arguments, shown as a list. ``findings`` (HTML) opens the
    summary; ``interactive`` maps a figure key to an HTML block shown under that figure
    (e.g. a plotly chart) and ``scripts`` is HTML put once before the closing body tag.
    """
    figs = dict(figures)
    spectrum = figs.pop("spectrum", None)
    inter = dict(interactive or {})
    parts = page_head(title, subtitle, _RUN_SECTIONS)
    parts += _summary_section(summary, colors, cutoff, findings)
    parts.append('<section id="figures"><h2>Figures</h2>')
    for k, (png, cap) in figs.items():
        parts.append(figure_html(k, png, cap))
        if k in inter:
            parts.append(inter[k])
    parts.append("</section>")
    parts += _dataset_section(dataset, spectrum)
    parts.append('<section id="measures"><h2>Measures</h2><div class="cards">')
    parts += [_card_html(c, colors) for c in cards]
    parts.append("</div></section>")
    parts += _tables_section(thresholds, pc_capture)
    parts += [
        '<section id="settings"><h2>Settings</h2>',
        _dl([(str(k), f"<code>{escape(_setting(v))}</code>") for k, v in settings.items()]),
        "</section>",
    ]
    if citation:
        parts.append(f'<section id="cite"><h2>How to cite</h2><p>{citation}</p></section>')
    parts.append("</main>")
    if scripts:
        parts.append(scripts)
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _setting(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, float) and np.isfinite(v):
        return f"{v:g}"
    return str(v)
