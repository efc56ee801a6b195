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
    analyse_unit,
    decodable_labels,
    fingerprint,
    load_dataset,
    optimize_units,
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


def _unit_info(
    measure: str, seed: int, key: str, arrays: dict[str, np.ndarray], resumed: bool, secs: float
) -> dict[str, Any]:
    """A unit's entry in ``run.json``'s timings."""
    return {
        "measure": measure,
        "seed": seed,
        "checkpoint": key,
        "n_iter": int(arrays["n_iter"]),
        "converged": bool(arrays["converged"]),
        "resumed": resumed,
        "seconds": secs,
        "optimize_s": float(arrays["timings"][0]),
        "decode_s": float(arrays["timings"][1]),
        "pc_capture_s": float(arrays["timings"][2]),
    }


def _run_measure(
    ctx: dict[str, Any], first: int, n: int, measure: str, progress: Progress
) -> list[tuple[dict[str, np.ndarray], dict[str, Any]]]:
    """Every seed of one measure, each from its checkpoint if there is one: the seeds still to
    do are optimized as one batch (:func:`~simgrad.pipeline.unit.optimize_units`; each
    unit's ``optimize_s`` is its share of the batch), then each is decoded, measured and
    saved to its own checkpoint, so an interrupted run resumes unit by unit. Returns each
    seed's arrays and ``run.json`` entry, in the order of ``options.seeds``."""
    from ..measures import short_name

    options, ds, labels = ctx["options"], ctx["dataset"], ctx["labels"]
    name = short_name(measure)
    seeds = list(options.seeds)
    t0 = time.perf_counter()
    keys = {s: unit_key(ctx["fingerprint"], options, measure, s, labels) for s in seeds}
    done = {s: ctx["checkpoints"].load(keys[s], required=required_arrays(labels)) for s in seeds}
    out: dict[int, tuple[dict[str, np.ndarray], dict[str, Any]]] = {}
    for j, s in enumerate(seeds):
        if done[s] is not None:
            progress.line(
                f"[{first + j}/{n}] {name} · seed {s}: already done (checkpoint {keys[s]})"
            )
            out[s] = done[s], _unit_info(measure, s, keys[s], done[s], True, 0.0)
    todo = [s for s in seeds if done[s] is None]
    if todo:
        t_load = time.perf_counter() - t0
        idx = [first + seeds.index(s) for s in todo]
        which = f"seed {todo[0]}" if len(todo) == 1 else f"seeds {', '.join(map(str, todo))}"
        span = f"{idx[0]}" if len(idx) == 1 else f"{idx[0]}–{idx[-1]}"
        progress.line(f"[{span}/{n}] {name} · {which}")
        bar = progress.bar(options.max_iter, f"  {name}")
        try:
            trajs, t_batch = optimize_units(ds, measure, todo, options, bar)
        finally:
            bar.close()
        share = t_batch / len(todo)
        if len(todo) > 1:
            progress.line(f"  optimized {len(todo)} seeds as one batch  [{t_batch:.1f} s]")
        for s, traj in zip(todo, trajs):
            t1 = time.perf_counter()
            log = progress.line if len(todo) == 1 else _prefixed(progress.line, f"seed {s}")
            arrays = analyse_unit(traj, share, ds, options, labels, log)
            ctx["checkpoints"].save(keys[s], arrays)
            secs = share + t_load / len(todo) + time.perf_counter() - t1
            out[s] = arrays, _unit_info(measure, s, keys[s], arrays, False, secs)
    return [out[s] for s in seeds]


def _prefixed(line: Any, prefix: str) -> Any:
    """``line`` with every message's leading indent followed by ``prefix``."""

    def log(msg: str) -> None:
        body = msg.lstrip(" ")
        line(f"{msg[: len(msg) - len(body)]}{prefix}: {body}")

    return log


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
    n_units = len(measures) * len(options.seeds)
    parts: dict[str, list] = {k: [] for k in [*TABLE_COLUMNS, "pc_r2"]}
    unit_info = []
    for i, m in enumerate(measures):
        done = _run_measure(ctx, 1 + i * len(options.seeds), n_units, m, report)
        for seed, (arrays, info) in zip(options.seeds, done):
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
