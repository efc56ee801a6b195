"""``simgrad sweep GRID.toml [--out DIR] [--workers N | --scheduler ADDRESS] [--unit-reports]``.

Runs every dataset × setting × measure × seed of a grid file as one unit of the main job
(format: :mod:`simgrad.sweeps.grid`), on a local Dask cluster by default, and writes the
aggregated tables and ``report.html`` into ``--out``. Rerunning the same command resumes:
finished units are skipped. Exit status: 0 all units finished, 1 some failed, 2 invalid grid
or options.
"""

from __future__ import annotations

import argparse
import sys

#: the ``--help`` text (plain: no reStructuredText markup)
DESCRIPTION = (
    "Runs every dataset x setting x measure x seed of a grid file (format: docs/sweeps.md) as "
    "one unit of the main job, on a local Dask cluster by default, and writes the aggregated "
    "tables and report.html into --out. Rerunning the same command resumes: finished units "
    "are skipped. Grids of more than 10,000 units need --yes. Exit status: 0 all units "
    "finished, 1 some failed, 2 invalid grid or options, 3 a file-system failure, "
    "130 interrupted."
)


def _run(args: argparse.Namespace) -> int:
    from simgrad.sweeps import sweep_file

    try:
        res = sweep_file(  # None: the grid file's value, else the default
            args.grid,
            out=args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            retries=args.retries,
            progress=False if args.quiet else None,
            report=False if args.no_report else None,
            unit_reports=args.unit_reports,
            yes=args.yes,
        )
    except (ValueError, TypeError) as exc:
        print(f"simgrad sweep: error: {exc}", file=sys.stderr)
        return 2
    n = len(res.units)
    print(
        f"{n - len(res.failed)}/{n} units finished ({res.computed} computed now) → "
        f"{res.out / 'report.html'}"
    )
    for uid, err in res.failed.items():
        print(f"  failed: {uid}: {err}", file=sys.stderr)
    return 0 if res.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="run many datasets x measures x seeds (locally or on a Dask cluster)",
        description=DESCRIPTION,
    )
    p.add_argument("grid", metavar="GRID.toml", help="grid file (datasets, measures, seeds, ...)")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default: the grid's 'out' or "
        "simgrad-sweep); must be reachable from every worker",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of the local cluster (default: one per core; "
        "0: run here, one unit after the other)",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of an existing Dask scheduler, e.g. tcp://host:8786",
    )
    p.add_argument(
        "--retries", type=int, metavar="N", help="extra attempts for a unit that raised (default 1)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument(
        "--yes",
        action="store_true",
        help="run a grid of more than 10,000 units (without it such a grid stops, saying its size)",
    )
    p.add_argument("--no-report", action="store_true", help="no sweep report.html: tables only")
    p.add_argument(
        "--unit-reports",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also write figures and report.html in every unit's folder (slower; default: "
        "the grid's 'unit_reports', else tables and run.json only)",
    )
    p.set_defaults(func=_run)
