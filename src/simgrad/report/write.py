"""Write a run's files from its :class:`~simgrad.pipeline.RunResult` ("The main
job")::

    OUT/results/{scores,decoding,thresholds,pc_capture}.csv     always
    OUT/run.json                                                 always
    OUT/figures/{scores,decoding,pc_r2,capture,spectrum}.png     figures=True
    OUT/report.html                                              html=True

Every file is written atomically, and nothing in the CSVs, figures or report depends on the
clock, so the same result gives the same bytes (only the timings in ``run.json`` differ).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import time
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from .._io import (
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
    check_writable_dir,
    previous_outputs,
    remove_outputs,
)
from ..pipeline import TABLE_COLUMNS, RunResult
from ..pipeline.progress import Progress
from ..pipeline.tables import missed_target
from . import figures as F
from .captions import captions, run_facts
from .chance import with_chance

__all__ = ["write_run"]

#: what a run wrote before ``run.json`` listed its files (removed when a rerun does not)
_LEGACY_OUTPUTS = [
    *(f"figures/{k}.png" for k in ("scores", "decoding", "pc_r2", "capture", "spectrum")),
    "report.html",
]


def _missed(result: RunResult) -> list[str]:
    """The measures none of whose seeds reached the target."""
    return [r["measure"] for _, r in result.summary.iterrows() if missed_target(r)]


def _figures(result: RunResult, colors: dict) -> dict[str, Any]:
    """The report's figures (``None`` where there is nothing to draw)."""
    measures = list(result.info["measures"])
    pcs = result.pc_capture
    evr = (
        pcs.drop_duplicates("pc")["explained_variance_ratio"].to_numpy()
        if len(pcs)
        else np.zeros(0)
    )
    return {
        "scores": F.score_curves(
            result.scores, colors, target=result.options.target, missed=_missed(result)
        ),
        "decoding": F.decoding_vs_score(result.decoding, result.thresholds, colors)
        if len(result.thresholds)
        else None,
        "pc_r2": F.pc_r2_vs_score(result.pc_r2, pcs, measures),
        "capture": F.capture_vs_variance(pcs, colors, result.theory),
        "spectrum": F.spectrum(evr),
    }


def _write_files(
    result: RunResult, out: Path, figures: bool, html: bool
) -> tuple[dict[str, Any], int]:
    """Write the files into ``out``; return the ``run.json`` content written (the result's
    ``info`` plus the writing timings) and the number of figures drawn."""
    from .page import run_page

    t0 = time.perf_counter()
    files = [f"results/{name}.csv" for name in TABLE_COLUMNS]
    for name in TABLE_COLUMNS:
        atomic_write_csv(out / "results" / f"{name}.csv", getattr(result, name))
    if getattr(result, "chance", None) is not None:
        atomic_write_csv(out / "results" / "chance.csv", result.chance)
        files.append("results/chance.csv")
    timings = {"csv_s": time.perf_counter() - t0}
    pngs: dict[str, tuple[bytes, str]] = {}
    if figures or html:
        t1 = time.perf_counter()
        colors = F.measure_colors(list(result.info["measures"]))
        caps = captions(run_facts(result))
        for key, fig in _figures(result, colors).items():
            if fig is None:
                continue
            png = F.png_bytes(fig)
            if figures:
                atomic_write_bytes(out / "figures" / f"{key}.png", png)
                files.append(f"figures/{key}.png")
            pngs[key] = (png, escape(caps[key]))
        timings["figures_s"] = time.perf_counter() - t1
        if html:
            t2 = time.perf_counter()
            page = with_chance(run_page(result, pngs, colors), result)
            atomic_write_text(out / "report.html", page)
            files.append("report.html")
            timings["report_s"] = time.perf_counter() - t2
    info = copy.deepcopy(result.info)
    info["arguments"]["out"] = str(out)
    t = info.setdefault("timings", {})
    t.update(timings)
    t["total_s"] = t.get("compute_s", 0.0) + sum(timings.values())
    t["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    info["files"] = [*files, "run.json"]
    atomic_write_json(out / "run.json", info)
    return info, len(pngs)


def write_run(
    result: RunResult,
    out: str | os.PathLike | None = None,
    *,
    figures: bool = True,
    html: bool = True,
    progress: Any = False,
) -> RunResult:
    """Write a run's files into ``out`` (default: the run's own ``result.out``).

    The tables (``results/*.csv``) and ``run.json`` are always written; ``figures=False``
    skips ``figures/*.png`` and ``html=False`` skips ``report.html``. ``progress`` as in
    :func:`simgrad.pipeline.compute` (one line saying what was written). Returns the result
    with ``out`` the folder written and ``info`` the ``run.json`` written there (the
    computation's info plus the writing timings).

    >>> from simgrad.pipeline import compute                        # doctest: +SKIP
    >>> res = compute(sg.RunOptions.create(max_iter=50, out="o"))  # doctest: +SKIP
    >>> write_run(res, figures=False, html=False).out               # doctest: +SKIP
    PosixPath('o')
    """
    if not isinstance(result, RunResult):
        raise TypeError(f"result must be a RunResult, got {type(result).__name__}.")
    folder = check_writable_dir(result.out if out is None else out, "out")
    previous = previous_outputs(folder, legacy=_LEGACY_OUTPUTS)
    info, n_figures = _write_files(result, folder, figures, html)
    remove_outputs(folder, previous - set(info["files"]))  # an earlier run's, not this one's
    seconds = sum(info["timings"].get(k, 0.0) for k in ("csv_s", "figures_s", "report_s"))
    written = "tables" + (f", {n_figures} figures" if figures else "")
    written += " and the report" if html else ""
    Progress(progress).line(f"wrote {written}  [{seconds:.1f} s]")
    return dataclasses.replace(result, out=folder, info=info)
