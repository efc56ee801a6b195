"""Sweeps: many datasets × measures × seeds × settings, on one machine or a Dask cluster.

Each combination is one *unit*: one run of the main job (``pipeline.compute`` on the unit's
``RunOptions``) with a single measure and seed, writing its tables into ``DIR/units/<unit-id>/``
(figures and a page too only with ``unit_reports``). Units run as independent Dask tasks — by
default on a local cluster of worker processes sized to the machine, or on an existing cluster
(``scheduler=``, e.g. SLURM through dask-jobqueue, see ``docs/sweeps.md``). Finished units are
skipped on rerun, a unit's folder appears atomically with its completion marker, and a unit
whose worker dies is run again elsewhere. At the end the units' tables are stacked into
``DIR/results/*.csv`` (with ``dataset`` and swept-option columns), summarized across seeds (mean
and 95% t interval) and shown in one self-contained ``DIR/report.html``.

>>> import simgrad as sg                                              # doctest: +SKIP
>>> res = sg.sweep(datasets=["toy2d", "ultrametric"], measures=["cka", "nbs"],
...                seeds=3, out="sweep-out", max_iter=200)           # doctest: +SKIP
>>> res.summary_thresholds                                           # doctest: +SKIP

Layout of ``DIR``::

    sweep.json                      grid, versions, unit statuses, timings
    report.html                     across-seed summary, summary figure, tables
    figures/thresholds.png          threshold score per measure across datasets
    results/{scores,decoding,thresholds,pc_capture}.csv    stacked unit tables
    results/summary_thresholds.csv  per dataset × measure × label: mean and interval
    results/summary_runs.csv        per dataset × measure: final score, iterations
    results/units.csv               one row per unit: status, seconds, folder
    units/<unit-id>/                results/*.csv, run.json, done.json (+ figures, report.html)
"""

from __future__ import annotations

from .aggregate import TABLES, collect, mean_interval, summarize_runs, summarize_thresholds
from .grid import Grid, load_grid, make_grid
from .progress import LinePrinter, Progress
from .run import SweepResult, run_pipeline_unit, sweep, sweep_file
from .units import MARKER, Unit, execute_unit, is_done, unit_dir

__all__ = [
    "MARKER",
    "TABLES",
    "Grid",
    "LinePrinter",
    "Progress",
    "SweepResult",
    "Unit",
    "collect",
    "execute_unit",
    "is_done",
    "load_grid",
    "make_grid",
    "mean_interval",
    "run_pipeline_unit",
    "summarize_runs",
    "summarize_thresholds",
    "sweep",
    "sweep_file",
    "unit_dir",
]
