"""``sg.sweep``: validate a grid, run its units, stack and summarize their tables, report."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from .._io import atomic_write_csv, atomic_write_json, check_writable_dir
from .aggregate import TABLES, collect, summarize_runs, summarize_thresholds
from .execute import Outcome, run_units
from .grid import LARGE_GRID, Grid, load_grid, make_grid
from .progress import LinePrinter, Progress
from .units import MARKER, TMP, UNITS, Unit, read_marker, unit_dir

__all__ = ["SweepResult", "run_pipeline_unit", "sweep", "sweep_file"]


@dataclass
class SweepResult:
    """The aggregated tables of a sweep (as written to ``out/results/``) and unit statuses.

    ``failed`` maps unit ids to their error; ``ok`` is true when every unit finished.
    """

    out: Path
    scores: pd.DataFrame
    decoding: pd.DataFrame
    thresholds: pd.DataFrame
    pc_capture: pd.DataFrame
    summary_thresholds: pd.DataFrame
    summary_runs: pd.DataFrame
    units: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The four stacked tables of the units by name."""
        return {name: getattr(self, name) for name in TABLES}

    @property
    def computed(self) -> int:
        """Units computed by this call (not skipped as already finished)."""
        return int((self.units["this_run"] == "done").sum()) if len(self.units) else 0


def run_pipeline_unit(unit: Unit, folder: Path, *, reports: bool = False) -> None:
    """The work of one unit: the main job for one measure and one seed, written into ``folder``.

    ``pipeline.compute`` runs it; ``report.write_run`` writes its tables and ``run.json``, and
    its figures and ``report.html`` only with ``reports``. Dataset load options
    (``unit.load``) go to ``sg.datasets.load``; the loaded dataset is then the unit's dataset.
    """
    from ..pipeline import compute
    from ..report import write_run

    dataset = None
    if unit.load:
        from ..datasets import load

        dataset = load(unit.dataset, **unit.load)
    result = compute(unit.run_options(folder, dataset=dataset), progress=False)
    write_run(result, folder, figures=reports, html=reports)


def sweep(
    datasets: Sequence[str | Mapping[str, Any]] | str,
    measures: Sequence[str] | str,
    seeds: Sequence[int] | int = (0,),
    *,
    out: str | os.PathLike = "simgrad-sweep",
    workers: int | None = None,
    scheduler: Any = None,
    retries: int = 1,
    progress: bool | Callable[[Progress], Any] = True,
    torch_threads: int = 1,
    level: float = 0.95,
    report: bool = True,
    unit_reports: bool = False,
    yes: bool = False,
    **run_options: Any,
) -> SweepResult:
    """Run the main job for every dataset × setting × measure × seed and aggregate the results.

    Parameters
    ----------
    datasets : names for ``sg.datasets.load``, or ``{"name": ..., **load_options}`` mappings
        (optionally with ``"id"``: the dataset's name in the tables).
    measures : measure names or aliases (validated through ``sg.measure``).
    seeds : a list of seeds, or a count ``n`` meaning ``0 … n−1``.
    out : output folder (must be reachable from every worker: a shared file system).
    workers : worker processes of the local cluster (default: one per core, at most one per
        unit); ``0`` runs the units one after the other in this process, without Dask.
    scheduler : an existing cluster instead: a scheduler address (``"tcp://host:8786"``), a
        ``distributed.Client`` (left open) or a cluster object such as ``SLURMCluster``.
    retries : extra attempts for a unit that raised (a unit whose worker died is rescheduled
        by the scheduler in any case).
    progress : ``True`` prints progress to stderr (:class:`~simgrad.sweeps.LinePrinter`); a
        callable receives every :class:`~simgrad.sweeps.Progress` snapshot (raising from it
        stops the sweep).
    torch_threads : torch threads per worker process.
    level : confidence level of the across-seed intervals.
    report : write the sweep's ``report.html`` and ``figures/``.
    unit_reports : also write figures and ``report.html`` into every unit's folder (off: a
        unit writes its tables and ``run.json`` only).
    run_options : fields of :class:`~simgrad.options.RunOptions` (``max_iter``, ``lr``, …);
        a list of values sweeps over them (a list given to an option that itself takes a
        list is one value; use a list of lists to sweep it).

    The whole grid is validated before any unit starts, every unit's options by building its
    ``RunOptions``. Units finished by an earlier call with the same ``out`` are skipped.
    Returns a :class:`SweepResult`; units that failed are listed in ``result.failed`` (with a
    ``RuntimeWarning``) and left out of the tables.
    """
    grid = make_grid(
        datasets=datasets,
        measures=measures,
        seeds=seeds,
        run_options=run_options,
        source="sweep",
        max_units=None if yes else LARGE_GRID,
    )
    return _run_grid(
        grid,
        out=out,
        workers=workers,
        scheduler=scheduler,
        retries=retries,
        progress=progress,
        torch_threads=torch_threads,
        level=level,
        report=report,
        unit_reports=unit_reports,
    )


def sweep_file(
    path: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    yes: bool = False,
    **kwargs: Any,
) -> SweepResult:
    """Run the sweep described by a TOML grid file (format: :mod:`simgrad.sweeps.grid`).

    Arguments given here (``out``, ``workers``/``scheduler``, and ``retries``, ``report``,
    ``unit_reports``, ``progress``, … in ``kwargs``) override the file's keys; the output
    folder defaults to the file's ``out`` or ``simgrad-sweep``. ``yes`` as in :func:`sweep`.
    """
    grid = load_grid(path, max_units=None if yes else LARGE_GRID)
    opts = dict(grid.sweep_options)
    if workers is not None or scheduler is not None:
        opts.pop("workers", None)
        opts.pop("scheduler", None)
    given = {"out": out, "workers": workers, "scheduler": scheduler, **kwargs}
    opts.update({k: v for k, v in given.items() if v is not None})
    opts.setdefault("out", "simgrad-sweep")
    return _run_grid(grid, **opts)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("simgrad", "torch", "numpy", "pandas", "dask", "distributed"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover
            pass
    return out


def _check_arguments(
    workers: Any, scheduler: Any, retries: Any, torch_threads: Any, progress: Any
) -> Callable[[Progress], Any] | None:
    """Validate the execution arguments; returns the progress callback (or ``None``)."""
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 0
    ):
        raise TypeError(f"workers must be an integer >= 0, got {workers!r}.")
    if workers is not None and scheduler is not None:
        raise ValueError("give workers (a local cluster) or scheduler (an existing one), not both.")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise TypeError(f"retries must be an integer >= 0, got {retries!r}.")
    if isinstance(torch_threads, bool) or not isinstance(torch_threads, int) or torch_threads < 1:
        raise TypeError(f"torch_threads must be an integer >= 1, got {torch_threads!r}.")
    callback = LinePrinter() if progress is True else (progress or None)
    if callback is not None and not callable(callback):
        raise TypeError("progress must be True, False or a callable taking a Progress.")
    return callback


def _run_grid(
    grid: Grid,
    *,
    out: str | os.PathLike,
    workers: int | None = None,
    scheduler: Any = None,
    retries: int = 1,
    progress: bool | Callable[[Progress], Any] = True,
    torch_threads: int = 1,
    level: float = 0.95,
    report: bool = True,
    unit_reports: bool = False,
) -> SweepResult:
    callback = _check_arguments(workers, scheduler, retries, torch_threads, progress)
    if not isinstance(unit_reports, bool) or not isinstance(report, bool):
        raise TypeError("report and unit_reports must be True or False.")
    out = check_writable_dir(out, "out").resolve()
    if callback is not None:
        print(f"sweep: {grid.describe_size()} → {out}", file=sys.stderr, flush=True)
    (out / UNITS).mkdir(exist_ok=True)
    units = grid.units()
    done = {u.uid for u in units if (unit_dir(out, u) / MARKER).is_file()}
    todo = [u for u in units if u.uid not in done]
    if unit_reports:
        _warn_missing_pages([u for u in units if u.uid in done], out)
    manifest = {
        "versions": _versions(),
        "grid": grid.as_dict(),
        "out": str(out),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "status": "running",
        "unit_reports": unit_reports,
        "units": {u.uid: "finished" if u.uid in done else "pending" for u in units},
    }
    atomic_write_json(out / "sweep.json", manifest)
    t0 = time.perf_counter()
    outcome = run_units(
        todo,
        out,
        partial(run_pipeline_unit, reports=unit_reports),
        total=len(units),
        skipped=len(units) - len(todo),
        workers=workers,
        scheduler=scheduler,
        retries=retries,
        torch_threads=torch_threads,
        progress=callback,
    )
    manifest["seconds"] = time.perf_counter() - t0
    result = _aggregate(out, grid, units, outcome.status, outcome.errors, level)
    if report:
        from .report import write_report

        write_report(result, grid, level=level)
    _finish(result, manifest, outcome)
    return result


def _warn_missing_pages(finished: Sequence[Unit], out: Path) -> None:
    """Unit pages are not part of a unit's identity: a unit finished without them keeps none
    when a later run asks for them. Say so (the unit folder can be removed to redo it)."""
    missing = [u for u in finished if not (unit_dir(out, u) / "report.html").is_file()]
    if missing:
        print(
            f"sweep: {len(missing)} finished unit(s) were computed without unit reports and "
            f"keep none (e.g. {unit_dir(out, missing[0])}); remove a unit's folder to redo it "
            "with its report.",
            file=sys.stderr,
        )


def _finish(result: SweepResult, manifest: dict, outcome: Outcome) -> None:
    """Write the final ``sweep.json``; clean the temporary folder, or warn of failed units."""
    out = result.out
    manifest.update(
        status="complete" if result.ok else "incomplete",
        finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        workers=outcome.workers,
        scheduler=outcome.address,
        units=dict(zip(result.units["unit"], result.units["status"])),
        failed=result.failed,
    )
    atomic_write_json(out / "sweep.json", manifest)
    if result.ok:
        shutil.rmtree(out / UNITS / TMP, ignore_errors=True)
        return
    warnings.warn(
        f"sweep: {len(result.failed)} of {len(result.units)} units failed "
        f"(see {out / 'sweep.json'}): "
        + "; ".join(f"{k}: {v}" for k, v in list(result.failed.items())[:3]),
        RuntimeWarning,
        stacklevel=4,
    )


def _aggregate(
    out: Path, grid: Grid, units: list[Unit], status: dict, errors: dict, level: float
) -> SweepResult:
    tables = collect(out, units, grid.swept)
    rows = []
    failed = {}
    for u in units:
        folder = unit_dir(out, u)
        done = (folder / MARKER).is_file()
        marker = read_marker(out, u) if done else {}
        st = "finished" if done else ("failed" if status.get(u.uid) == "failed" else "missing")
        if not done:
            failed[u.uid] = errors.get(u.uid, "did not finish")
        rows.append(
            {
                "unit": u.uid,
                "dataset": u.label,
                **{k: u.options.get(k) for k in grid.swept},
                "measure": u.measure,
                "seed": u.seed,
                "status": st,
                "this_run": status.get(u.uid, "skipped"),
                "seconds": marker.get("seconds"),
                "folder": str(folder.relative_to(out)),
            }
        )
    units_df = pd.DataFrame(rows)
    res = SweepResult(
        out=out,
        **tables,
        summary_thresholds=summarize_thresholds(tables["thresholds"], grid.swept, level),
        summary_runs=summarize_runs(tables["scores"], grid.swept, level),
        units=units_df,
        failed=failed,
    )
    results = out / "results"
    for name in TABLES:
        atomic_write_csv(results / f"{name}.csv", tables[name])
    atomic_write_csv(results / "summary_thresholds.csv", res.summary_thresholds)
    atomic_write_csv(results / "summary_runs.csv", res.summary_runs)
    atomic_write_csv(results / "units.csv", units_df)
    return res
