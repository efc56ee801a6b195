"""Figures and a page for layer × area tables (``sg.compare_model``, ``sg.compare``,
``simgrad layers``).

Tables have columns ``layer``, ``area``, ``measure``, ``score`` (a ``sg.compare`` table's
``a``/``b`` are read as ``layer``/``area``), optionally ``ci_low``/``ci_high``.

- :func:`best_layers`: per (measure, area), the layer with the best score (highest for
  scores, lowest for distances, as the measure's card says) and its interval;
- :func:`layer_heatmap`: layer × area (or layer × layer) scores, colour scale = the
  measure's range from its card;
- :func:`best_layer_plot`: the score along the layers for each area, the best layer marked,
  intervals shaded when present;
- :func:`write_layers`: ``scores.csv``, ``best_layers.csv``, one PNG per figure and
  ``report.html`` in a directory.

>>> import pandas as pd
>>> df = pd.DataFrame({"layer": ["l1", "l2"], "area": "V1", "measure": "cka",
...                    "score": [0.2, 0.7]})
>>> best_layers(df)[["measure", "area", "best_layer"]].values.tolist()
[['cka', 'V1', 'l2']]
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .._io import atomic_write_bytes, atomic_write_csv, atomic_write_json, atomic_write_text
from ..measures import card, measure, short_name
from .figures import _figure, _style, _styled, png_bytes
from .html import figure_html, page_head, table_html

__all__ = ["best_layer_plot", "best_layers", "layer_heatmap", "tidy", "write_layers"]


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    """The table with ``layer``/``area`` columns (``a``/``b`` renamed)."""
    if "layer" not in df.columns and {"a", "b"} <= set(df.columns):
        df = df.rename(columns={"a": "layer", "b": "area"})
    missing = {"layer", "area", "measure", "score"} - set(df.columns)
    if missing:
        raise ValueError(f"the table lacks columns {sorted(missing)}.")
    return df


def _higher_is_better(name: str) -> bool:
    return not measure(name).is_distance


def best_layers(df: pd.DataFrame) -> pd.DataFrame:
    """Per ``(measure, area)``: ``best_layer``, ``score`` and, when the table has them,
    ``ci_low``/``ci_high`` (layers in table order)."""
    df = tidy(df)
    rows = []
    for (m, area), g in df.groupby(["measure", "area"], sort=False):
        k = g["score"].idxmax() if _higher_is_better(m) else g["score"].idxmin()
        r = {
            "measure": m,
            "area": area,
            "best_layer": g.loc[k, "layer"],
            "score": float(g.loc[k, "score"]),
        }
        for c in ("ci_low", "ci_high"):
            if c in g.columns:
                r[c] = float(g.loc[k, c])
        rows.append(r)
    return pd.DataFrame(rows)


def _range(measure: str, values: np.ndarray) -> tuple[float, float]:
    lo, hi = card(measure).range
    finite = values[np.isfinite(values)]
    if not math.isfinite(lo):
        lo = float(finite.min()) if finite.size else 0.0
    if not math.isfinite(hi):
        hi = float(finite.max()) if finite.size else 1.0
    return float(lo), float(hi)


@_styled
def layer_heatmap(
    df: pd.DataFrame, name: str, *, xlabel: str = "area", ylabel: str = "layer"
) -> Figure:
    """Layers down, areas across; colours span the measure's range (from its card)."""
    df = tidy(df)
    g = df[df["measure"] == name]
    layers = list(dict.fromkeys(g["layer"]))
    areas = list(dict.fromkeys(g["area"]))
    M = g.pivot_table(index="layer", columns="area", values="score", sort=False)
    M = M.reindex(index=layers, columns=areas).to_numpy(dtype=float)
    lo, hi = _range(name, M)
    fig = _figure(1.6 + 0.9 * len(areas), 1.2 + 0.28 * len(layers))
    ax = fig.add_subplot()
    ax.grid(False)
    im = ax.imshow(M, aspect="auto", cmap="viridis", vmin=lo, vmax=hi, interpolation="nearest")
    ax.set_xticks(range(len(areas)), areas, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(layers)), layers, fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(short_name(name), fontsize=9)
    if len(layers) * len(areas) <= 120:
        for i in range(len(layers)):
            for j in range(len(areas)):
                if np.isfinite(M[i, j]):
                    mid = (M[i, j] - lo) / (hi - lo or 1)
                    ax.text(
                        j,
                        i,
                        f"{M[i, j]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="black" if mid > 0.6 else "white",
                    )
    fig.colorbar(im, ax=ax, label=f"{short_name(name)} [{lo:g}, {hi:g}]", shrink=0.8)
    return fig


@_styled
def best_layer_plot(df: pd.DataFrame, name: str) -> Figure:
    """Score along the layers per area; the best layer marked; intervals when present."""
    df = tidy(df)
    g = df[df["measure"] == name]
    layers = list(dict.fromkeys(g["layer"]))
    pos = {la: k for k, la in enumerate(layers)}
    best = best_layers(g).set_index("area")
    fig = _figure(max(4.0, 0.35 * len(layers) + 2), 3.0)
    ax = fig.add_subplot()
    _style(ax)
    for area, ga in g.groupby("area", sort=False):
        x = ga["layer"].map(pos).to_numpy()
        line = ax.plot(x, ga["score"], marker=".", lw=1.2, label=str(area))[0]
        if {"ci_low", "ci_high"} <= set(ga.columns) and ga["ci_low"].notna().any():
            ax.fill_between(x, ga["ci_low"], ga["ci_high"], color=line.get_color(), alpha=0.2)
        b = best.loc[area]
        ax.plot([pos[b["best_layer"]]], [b["score"]], marker="*", ms=11, color=line.get_color())
    ax.set_xticks(range(len(layers)), layers, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(short_name(name))
    ax.set_title(f"best layer per area (★), {short_name(name)}", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in short_name(text))[:60]


def write_layers(
    df: pd.DataFrame,
    out: str | os.PathLike,
    *,
    title: str = "Layers × areas",
    info: Mapping[str, Any] | None = None,
    figures: bool = True,
) -> Path:
    """Write ``scores.csv``, ``best_layers.csv``, ``layers.json``, figures and ``report.html``
    under ``out``; returns the page's path (or the CSV's without figures)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = tidy(df)
    best = best_layers(df)
    atomic_write_csv(out / "scores.csv", df)
    atomic_write_csv(out / "best_layers.csv", best)
    atomic_write_json(out / "layers.json", dict(info or {}))
    if not figures:
        return out / "scores.csv"
    parts = page_head(
        title,
        "layer × area similarity",
        [("best", "Best layers"), ("figures", "Figures"), ("scores", "All scores")],
    )
    parts += [
        '<section id="best"><h2>Best layer per area</h2>',
        table_html(best, "best_layers"),
        "</section>",
        '<section id="figures"><h2>Figures</h2>',
    ]
    for m in dict.fromkeys(df["measure"]):
        for key, fig in (("heatmap", layer_heatmap(df, m)), ("best", best_layer_plot(df, m))):
            png = png_bytes(fig)
            name = f"{key}_{_slug(m)}"
            atomic_write_bytes(out / f"{name}.png", png)
            parts.append(figure_html(name, png, f"{key}: {short_name(m)}"))
    parts += [
        "</section>",
        '<section id="scores"><h2>All scores</h2>',
        table_html(df, "scores"),
        "</section>",
        "</main></body></html>",
    ]
    page = out / "report.html"
    atomic_write_text(page, "\n".join(parts))
    return page
