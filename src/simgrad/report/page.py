"""The run report's page from a :class:`~simgrad.pipeline.RunResult`: the dataset card, the
subtitle, the settings and how to cite, handed to :func:`~simgrad.report.html.render_report`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from ..measures import card, short_name
from .findings import findings_html, result_findings
from .html import render_report

__all__ = ["dataset_card", "run_page"]


def _label_text(x: Any) -> str:
    if isinstance(x, (float, np.floating)) and float(x) == int(x):
        return str(int(x))
    return str(x)


def dataset_card(ds: Any, labels: Sequence[str], source_text: str) -> dict[str, Any]:
    """The dataset card's fields as text; ``labels`` are the decoded ones (the others are
    marked "not decoded")."""
    kind = "(time, conditions, units)" if ds.is_temporal else "(samples, units)"
    lab = {}
    for name in ds.labels:
        vals, counts = np.unique(np.asarray(ds.labels[name]), return_counts=True)
        if len(vals) <= 12:
            text = ", ".join(f"{_label_text(x)} ({c})" for x, c in zip(vals, counts))
        else:
            text = f"{len(vals)} distinct values"
        if name not in labels:
            text += " — not decoded"
        lab[name] = text
    time_text = ""
    if ds.time is not None and len(ds.time):
        time_text = f"{len(ds.time)} bins, {ds.time[0]:g} … {ds.time[-1]:g} ms"
    return {
        "name": ds.name,
        "description": ds.description,
        "area": ds.area,
        "task": ds.task,
        "shape": f"{' × '.join(map(str, ds.shape))}  {kind}",
        "units": ds.units,
        "time": time_text,
        "source": ds.source or source_text,
        "citation": ds.citation,
        "license": ds.license,
        "labels": lab,
    }


def run_page(
    result: Any,
    figures: Mapping[str, tuple[bytes, str]],
    colors: Mapping[str, Sequence[float]],
) -> str:
    """``report.html`` of a run: ``figures`` maps a key to ``(png bytes, caption)``."""
    from .. import __version__

    opts, ds = result.options, result.dataset
    measures = list(result.info["measures"])
    names = ", ".join(short_name(m) for m in measures)
    n_seeds = len(opts.seeds)
    subtitle = (
        f"Reference <b>{escape(str(ds.name))}</b> · {len(measures)} measure(s): "
        f"{escape(names)} · {n_seeds} seed{'s' if n_seeds != 1 else ''} · "
        f"target {opts.target:g} · simgrad {__version__}"
    )
    settings = {k: v for k, v in opts.to_mapping().items() if k != "out"}
    settings["simgrad"] = __version__
    cite = (
        "Method: Cloos N, Li M, Siegel M, Brincat SL, Miller EK, Yang GR, Cueva CJ (2025). "
        "<i>Differentiable optimization of similarity scores between models and brains.</i> "
        f"ICLR 2025. Software: simgrad {__version__}."
    )
    if ds.citation:
        cite = f"Data: {escape(str(ds.citation))}<br>" + cite
    labels = result.info["dataset"]["labels_decoded"]
    inter, scripts = _interactive(result, colors)
    return render_report(
        title=f"simgrad report — {ds.name}",
        subtitle=subtitle,
        dataset=dataset_card(ds, labels, opts.source_text),
        cards=[card(m) for m in measures],
        colors=colors,
        summary=result.summary,
        thresholds=result.thresholds,
        pc_capture=result.pc_capture,
        figures=figures,
        settings=settings,
        cutoff=opts.cutoff,
        citation=cite,
        findings=findings_html(result_findings(result)),
        interactive=inter,
        scripts=scripts,
    )


def _interactive(result: Any, colors: Mapping[str, Sequence[float]]) -> tuple[dict, str]:
    """The plotly charts (under the decoding and capture figures) and the scripts drawing
    them; none without the ``plotly`` package."""
    from . import interactive as ix

    js = ix.bundle()
    if not js:
        return {}, ""
    charts = {}
    if len(result.decoding):
        charts["decoding"] = ix.chart_html(
            "decoding",
            ix.decoding_spec(result.decoding, colors),
            "hover a point for its measure, seed, iteration, label, score and accuracy; "
            "click a legend entry to hide a measure.",
        )
    if result.pc_capture["capture_score"].notna().any():
        charts["capture"] = ix.chart_html(
            "capture",
            ix.capture_spec(result.pc_capture, colors),
            "hover a point for its measure, seed, PC, explained variance and capture score.",
        )
    return charts, ix.scripts_html(js)
