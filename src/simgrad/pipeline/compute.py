"""The main job's computation: from :class:`~simgrad.options.RunOptions` to the tables.

:func:`compute` loads the reference, runs every (measure, seed) unit and returns a
:class:`~simgrad.pipeline.RunResult`. It writes nothing but checkpoints: each finished unit
is saved to ``OUT/.checkpoints/<key>.npz`` (:func:`~simgrad.pipeline.unit.unit_key`), so a
run interrupted at any point and restarted with the same options resumes. The files
(``results/*.csv``, figures, ``report.html``, ``run.json``) are written by
:func:`simgrad.report.write_run`.
"""

from __future__ import annotations

import platform
import time
from typing import Any, TextIO

import numpy as np
import pandas as pd

from .._io import Checkpoints, check_writable_dir
from ..options import RunOptions
from .chance import chance_table
from .progress import Progress
from .result import RunResult
from .tables import PC_R2_COLUMNS, TABLE_COLUMNS, concat, summary_table, theory_table, unit_tables
from .unit import (
    compute_unit,
    decodable_labels,
    fingerprint,
    load_dataset,
    required_arrays,
    unit_key,
)

__all__ = ["compute"]


def _versions() -> dict[str, str]:
    import matplotlib
    import sklearn
    import torch

    from .. import __version__

    return {
        "simgrad": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
        "platform": platform.platform(),
    }


def _run_unit(
    ctx: dict[str, Any], i: int, n: int, measure: str, seed: int, progress: Progress
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """One unit, from its checkpoint if there is one: its arrays and its ``run.json`` entry."""
    from ..measures import short_name

    options, ds, labels = ctx["options"], ctx["dataset"], ctx["labels"]
    key = unit_key(ctx["fingerprint"], options, measure, seed, labels)
    t0 = time.perf_counter()
    arrays = ctx["checkpoints"].load(key, required=required_arrays(labels))
    resumed = arrays is not None
    head = f"[{i}/{n}] {short_name(measure)} · seed {seed}"
    if resumed:
        progress.line(f"{head}: already done (checkpoint {key})")
    else:
        progress.line(head)
        bar = progress.bar(options.max_iter, f"  {short_name(measure)}")
        try:
            arrays = compute_unit(ds, measure, seed, options, labels, bar, progress.line)
        finally:
            bar.close()
        ctx["checkpoints"].save(key, arrays)
    assert arrays is not None
    info = {
        "measure": measure,
        "seed": seed,
        "checkpoint": key,
        "n_iter": int(arrays["n_iter"]),
        "converged": bool(arrays["converged"]),
        "resumed": resumed,
        "seconds": time.perf_counter() - t0,
        "optimize_s": float(arrays["timings"][0]),
        "decode_s": float(arrays["timings"][1]),
        "pc_capture_s": float(arrays["timings"][2]),
    }
    return arrays, info


def _dataset_info(ds: Any, fp: str, labels: list[str]) -> dict[str, Any]:
    """The ``dataset`` entry of ``run.json`` (with the SHA-256 of a downloaded file)."""
    info = {
        "name": ds.name,
        "shape": list(ds.shape),
        "fingerprint": fp,
        "labels_decoded": list(labels),
        "citation": ds.citation,
    }
    if "download" in ds.extra:
        info["download"] = ds.extra["download"]
    return info


# long because: the one place that assembles every table of the run (chance.csv included)
def compute(options: RunOptions, *, progress: bool | TextIO | None = True) -> RunResult:
    """Run the main job's units and return its tables; write nothing but checkpoints.

    ``options`` is a :class:`~simgrad.options.RunOptions`. ``progress``: ``True`` reports on
    stderr (a line per stage, and a bar per run on a terminal), ``False`` stays silent, a
    text stream reports there. Raises ``ValueError`` before any optimization when ``out``
    cannot be written, the reference cannot be loaded or a label is unknown.

    Returns a :class:`~simgrad.pipeline.RunResult` whose ``info`` is the content of
    ``run.json`` (its ``timings`` cover the computation; writing adds its own).
    """
    if not isinstance(options, RunOptions):
        raise TypeError(f"options must be a RunOptions, got {type(options).__name__}.")
    t_start = time.perf_counter()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out = check_writable_dir(options.out, "out")
    ds = load_dataset(options)
    labels = decodable_labels(ds, options.labels)
    if ds.n_conditions < 2 or ds.flat().shape[0] < 3:
        raise ValueError(f"dataset {ds.name!r} is too small to optimize against ({ds.shape}).")
    measures = options.canonical_measures
    ctx = {
        "options": options,
        "dataset": ds,
        "labels": labels,
        "fingerprint": fingerprint(ds),
        "checkpoints": Checkpoints(out / ".checkpoints"),
    }
    t_validate = time.perf_counter() - t_start
    report = Progress(progress)
    report.line(
        f"simgrad run: {ds.name} {ds.shape}, {len(measures)} measure(s) × "
        f"{len(options.seeds)} seed(s), decoding {', '.join(labels) or 'no labels'} → {out}"
    )
    units = [(m, s) for m in measures for s in options.seeds]
    parts: dict[str, list] = {k: [] for k in [*TABLE_COLUMNS, "pc_r2"]}
    unit_info = []
    for i, (m, seed) in enumerate(units, 1):
        arrays, info = _run_unit(ctx, i, len(units), m, seed, report)
        for k, table in unit_tables(m, seed, arrays).items():
            parts[k].append(table)
        unit_info.append(info)
    tables = {k: concat(parts[k], cols) for k, cols in TABLE_COLUMNS.items()}
    summary = summary_table(
        *(tables[k] for k in ("scores", "thresholds", "pc_capture")),
        cutoff=options.cutoff,
        measures=list(measures),
        target=options.target,
    )
    info = {
        "versions": _versions(),
        "arguments": options.to_mapping(),
        "dataset": _dataset_info(ds, ctx["fingerprint"], labels),
        "measures": list(measures),
        "seeds": list(options.seeds),
        "timings": {
            "started": started,
            "validate_s": t_validate,
            "units_s": sum(u["seconds"] for u in unit_info),
            "compute_s": time.perf_counter() - t_start,
            "units": unit_info,
        },
    }
    return RunResult(
        **tables,
        pc_r2=concat(parts["pc_r2"], PC_R2_COLUMNS),
        theory=theory_table(ds, measures),
        summary=summary,
        out=out,
        info=info,
        options=options,
        dataset=ds,
        chance=chance_table(ds.data, measures, tables["scores"]),
    )
