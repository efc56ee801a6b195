"""``simgrad run``: the main job (see :func:`simgrad.pipeline.run`).

Every option can also come from a TOML file (``--config FILE``, same keys with underscores:
``dataset``, ``data``, ``measures``, ``seeds``, ``target``, ``max_iter``, ``lr``, ``out``,
``device``, ``labels``, ``cutoff``); options given on the command line win over the file.
User errors (a malformed ``--data`` file, an unknown measure, an unwritable ``--out`` …) are
reported as one line before any optimization starts, with exit code 2.
"""

from __future__ import annotations

import argparse
import sys

HELP = """\
Optimize synthetic data towards a reference dataset under each measure, decode every
label and measure principal-component capture along the way, and write the tables, the
figures and a self-contained report.html into --out (default: ./simgrad-out).
With no argument: the built-in `context` reference and the paper's panel of measures."""


def _run(args: argparse.Namespace) -> int:
    from ..pipeline import run

    seeds = args.seeds
    try:
        run(
            args.dataset,
            data=args.data,
            measures=args.measures,
            seeds=seeds,
            target=args.target,
            max_iter=args.max_iter,
            lr=args.lr,
            out=args.out,
            device=args.device,
            labels=args.labels,
            decode_iterates=args.decode_iterates,
            config=args.config,
            progress=not args.quiet,
        )
    except (ValueError, TypeError, FileNotFoundError, PermissionError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"simgrad run: error: {msg}", file=sys.stderr)
        return 2
    return 0


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="the main job: dataset + measures -> tables, figures, report.html",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--dataset",
        metavar="NAME",
        help="a built-in or shared dataset (default: context); see sg.datasets.available()",
    )
    src.add_argument(
        "--data",
        metavar="FILE",
        help=".npz with an array 'data' (time, conditions, units) or (samples, units) and "
        "1-D arrays 'label_<name>'; also .mat, NWB, netCDF",
    )
    p.add_argument(
        "--measures",
        metavar="A,B,...",
        help="comma-separated measure names or aliases (default: cka, cka-angular_score, nbs, "
        "procrustes-angular_score, linreg, ridge-lambda=100-r2-cv=5folds)",
    )
    p.add_argument("--seeds", type=_positive_int, metavar="N", help="number of seeds (default 1)")
    p.add_argument("--target", type=float, help="stop each run at this score (default 0.99)")
    p.add_argument(
        "--max-iter", type=_positive_int, metavar="N", help="at most N Adam steps (default 300)"
    )
    p.add_argument("--lr", type=float, help="Adam step size (default 0.1)")
    p.add_argument("--labels", metavar="A,B", help="labels to decode (default: all categorical)")
    p.add_argument(
        "--decode-iterates",
        type=int,
        metavar="N",
        help="decode at most N iterates per run (default 10, dense near the thresholds); "
        "0 = every recorded iterate",
    )
    p.add_argument(
        "--out", metavar="DIR", help="output folder (default: simgrad-out in the current folder)"
    )
    p.add_argument("--device", choices=["cpu", "cuda"], help="where to compute (default cpu)")
    p.add_argument("--config", metavar="FILE", help="TOML file holding any of these options")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output or summary")
    p.set_defaults(func=_run)
