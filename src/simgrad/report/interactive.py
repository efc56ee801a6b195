"""Interactive versions of the decoding and capture figures: plotly.js charts bundled into the
page (the report stays one file that works offline).

The charts are plain plotly.js JSON built from the results tables (no plotly Python objects
are needed); the library itself comes from the ``plotly`` package's bundled
``plotly.min.js``. Without the ``plotly`` package (or with ``bundle()`` returning ``""``)
the report keeps its static figures only. Hovering a point shows the measure, the seed and
iteration, the score and the value (decoding accuracy, or the PC's explained variance).

>>> import pandas as pd
>>> dec = pd.DataFrame({"measure": "nbs-score", "seed": 0, "iteration": [0, 5],
...                     "score": [0.1, 0.9], "label": "ctx", "accuracy": [0.5, 0.9]})
>>> spec = decoding_spec(dec, {"nbs-score": (0.2, 0.4, 0.7)})
>>> spec["data"][0]["name"], spec["data"][0]["customdata"][1]
('nbs', ['nbs', 0, 5, 'ctx'])
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from importlib import resources
from typing import Any

import pandas as pd

from ..measures import short_name
from .figures import color_hex

__all__ = ["bundle", "capture_spec", "chart_html", "decoding_spec", "scripts_html"]

_CONFIG = {"responsive": True, "displaylogo": False, "displayModeBar": False}
_FONT = {"family": "-apple-system, Segoe UI, Helvetica Neue, Arial, sans-serif", "size": 12}


def bundle() -> str:
    """plotly.js (minified) from the installed ``plotly`` package, or ``""`` without it."""
    try:
        files = resources.files("plotly").joinpath("package_data", "plotly.min.js")
        return files.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return ""


def _layout(title: str, xtitle: str, ytitle: str, **kw: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 14}},
        "font": _FONT,
        "margin": {"l": 55, "r": 10, "t": 40, "b": 45},
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": {"title": {"text": xtitle}},
        "yaxis": {"title": {"text": ytitle}},
        "plot_bgcolor": "#ffffff",
        **kw,
    }


def decoding_spec(decoding: pd.DataFrame, colors: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """Decoding accuracy against score: one trace per (measure, label, seed), a dropdown-free
    chart where the legend toggles measures; hover: measure, seed, iteration, label, score,
    accuracy."""
    data = []
    labels = list(dict.fromkeys(decoding["label"]))
    symbols = ["circle", "square", "diamond", "triangle-up", "x", "star", "cross", "hexagon"]
    for (m, lab, seed), g in decoding.groupby(["measure", "label", "seed"], sort=False):
        g = g.sort_values("score")
        name = short_name(m)
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "legendgroup": name,
                "showlegend": bool(lab == labels[0] and seed == decoding["seed"].min()),
                "x": g["score"].round(6).tolist(),
                "y": g["accuracy"].round(6).tolist(),
                "customdata": [[name, int(seed), int(i), str(lab)] for i in g["iteration"]],
                "line": {"color": color_hex(colors.get(m, (0, 0, 0))), "width": 1.5},
                "marker": {"size": 6, "symbol": symbols[labels.index(lab) % len(symbols)]},
                "hovertemplate": "measure %{customdata[0]} · seed %{customdata[1]}<br>"
                "iteration %{customdata[2]}<br>label %{customdata[3]}<br>"
                "score %{x:.4f}<br>accuracy %{y:.3f}<extra></extra>",
            }
        )
    title = "Decoding accuracy vs score (marker shape = label: " + ", ".join(labels) + ")"
    return {"data": data, "layout": _layout(title, "score", "decoding accuracy", height=420)}


def capture_spec(pc_capture: pd.DataFrame, colors: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """Score needed to capture each PC against its explained-variance ratio (log x); hover:
    measure, seed, PC, explained variance, capture score."""
    data = []
    d = pc_capture.dropna(subset=["capture_score"])
    d = d[d["explained_variance_ratio"] > 0]
    for m, g in d.groupby("measure", sort=False):
        name = short_name(m)
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": name,
                "x": g["explained_variance_ratio"].tolist(),
                "y": g["capture_score"].round(6).tolist(),
                "customdata": [[name, int(s), int(p)] for s, p in zip(g["seed"], g["pc"])],
                "marker": {"color": color_hex(colors.get(m, (0, 0, 0))), "size": 6},
                "hovertemplate": "measure %{customdata[0]} · seed %{customdata[1]}<br>"
                "PC %{customdata[2]}<br>explained variance %{x:.3g}<br>"
                "capture score %{y:.4f}<extra></extra>",
            }
        )
    layout = _layout(
        "Score needed to capture each PC", "explained variance ratio of the PC", "score"
    )
    layout["xaxis"]["type"] = "log"
    layout["height"] = 400
    return {"data": data, "layout": layout}


def chart_html(key: str, spec: Mapping[str, Any], note: str) -> str:
    """A chart's placeholder and its JSON (drawn by :func:`scripts_html`'s code)."""
    js = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
    return (
        f'<figure class="interactive" data-interactive="{escape(key)}">'
        f'<div class="chart" id="ix-{escape(key)}"></div>'
        f'<script type="application/json" id="ix-{escape(key)}-data">{js}</script>'
        f"<figcaption>Interactive: {escape(note)}</figcaption></figure>"
    )


_INIT = """
(function () {
  if (typeof Plotly === "undefined") return;
  document.querySelectorAll("figure.interactive .chart").forEach(function (el) {
    var spec = JSON.parse(document.getElementById(el.id + "-data").textContent);
    Plotly.newPlot(el, spec.data, spec.layout, %s).then(function () {
      el.dataset.ready = "1";
    });
  });
})();
"""


def scripts_html(js: str) -> str:
    """plotly.js and the code that draws every chart, once per page (``""`` without js)."""
    if not js:
        return ""
    js = js.replace("</script", "<\\/script")
    return f"<script>{js}</script><script>{_INIT % json.dumps(_CONFIG)}</script>"
