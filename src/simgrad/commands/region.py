"""``simgrad region --measures A,B``: the allowed region of two scores (``sg.allowed_region``).

Synthetic data are driven towards targets on the boundary of the unit square of (score A,
score B) against a reference; the pairs reached trace which combinations can co-occur
(paper Fig. 7). Writes ``region.png`` and ``region.csv`` (``kind, target_a, target_b,
reached_a, reached_b``; ``kind`` is ``boundary`` or ``slope``) into ``--out``.

Example::

    $ simgrad region --measures cka,procrustes-angular_score --dataset context
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np


def region_table(region: Any) -> Any:
    """The reached pairs of an :class:`~simgrad.optim.region.AllowedRegion` as a table."""
    import pandas as pd

    rows = []
    for kind, tg, rc in (
        ("boundary", region.targets, region.reached),
        ("slope", region.slope_targets, region.slope_reached),
    ):
        for t, r in zip(np.asarray(tg), np.asarray(rc)):
            rows.append(
                {
                    "kind": kind,
                    "target_a": float(t[0]),
                    "target_b": float(t[1]),
                    "reached_a": float(r[0]),
                    "reached_b": float(r[1]),
                }
            )
    return pd.DataFrame(rows, columns=["kind", "target_a", "target_b", "reached_a", "reached_b"])


def _run(args: argparse.Namespace) -> int:
    from .._io import atomic_write_bytes, atomic_write_csv, check_writable_dir
    from ..measures import measure

    try:
        names = [m.strip() for m in (args.measures or "").split(",") if m.strip()]
        if len(names) != 2:
            raise ValueError(f"--measures: give exactly two measures A,B, got {args.measures!r}.")
        try:
            ma, mb = (measure(n) for n in names)
        except ValueError as exc:
            raise ValueError(f"--measures: {exc}") from None
        if ma.name == mb.name:
            raise ValueError(f"--measures: A and B are the same measure ({ma.name}).")
        out = check_writable_dir(args.out, "--out")
        from .. import datasets

        if args.data:
            try:
                ds = datasets.from_file(args.data)
            except (ValueError, TypeError, KeyError, OSError) as exc:
                raise ValueError(f"--data: cannot use {args.data!r}: {exc}") from None
        else:
            try:
                ds = datasets.load(args.dataset)
            except (ValueError, TypeError, OSError) as exc:
                raise ValueError(f"--dataset: {exc}") from None
    except (ValueError, TypeError) as exc:
        print(f"simgrad region: error: {exc}", file=sys.stderr)
        return 2

    from ..optim.region import allowed_region
    from ..pipeline.progress import EtaLines
    from ..report.figures import png_bytes, region_plot

    n_runs = 4 * (args.points_per_side - 1) + 2 if args.points_per_side >= 2 else 0
    print(
        f"simgrad region: {ma.name} × {mb.name} against {ds.name} {ds.shape}, "
        f"{args.points_per_side} targets per side ({n_runs} runs in one batch), "
        f"{args.max_iter} iterations …",
        file=sys.stderr,
    )
    eta = EtaLines(args.max_iter, "  region", lambda s: print(s, file=sys.stderr, flush=True))
    try:
        region = allowed_region(
            ds,
            ma.name,
            mb.name,
            points_per_side=args.points_per_side,
            max_iter=args.max_iter,
            seed=args.seed,
            device=args.device,
            callback=eta,
        )
    except (ValueError, TypeError) as exc:
        print(f"simgrad region: error: {exc}", file=sys.stderr)
        return 2
    table = region_table(region)
    csv_path = atomic_write_csv(Path(out) / "region.csv", table)
    png_path = atomic_write_bytes(
        Path(out) / "region.png", png_bytes(region_plot(table, ma.name, mb.name))
    )
    t = region.timings
    print(
        f"  time: {t['total']:.1f} s in all; setup {t.get('loop_setup', 0.0):.1f} s, "
        f"{t.get('loop_per_iteration', 0.0) * 1000:.0f} ms per iteration (one forward and "
        f"backward of both measures for all {n_runs} runs)",
        file=sys.stderr,
    )
    print(f"area of the region: {region.area:.3f}")
    for (a, b), s in zip(region.slope_reached, region.slopes):
        print(f"slope run ended at ({a:.3f}, {b:.3f}); slope to (1, 1): {s:.3f}")
    print(f"wrote {png_path} and {csv_path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "region",
        help="allowed region of two scores (which pairs can co-occur): PNG + CSV",
        description="Map which pairs of scores (A, B) can co-occur against a reference by "
        "driving synthetic data to targets around the unit square (sg.allowed_region).",
    )
    p.add_argument("--measures", required=True, metavar="A,B", help="two measure names")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", default="context", metavar="NAME", help="default: context")
    src.add_argument(
        "--data",
        metavar="FILE",
        help="a file instead: .npz with an array 'data', or .mat, NWB, netCDF "
        "(as sg.datasets.from_file reads them)",
    )
    p.add_argument("--points-per-side", type=int, default=5, metavar="N", help="default 5")
    p.add_argument("--max-iter", type=int, default=300, metavar="N", help="default 300")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial data (default 0)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument(
        "--out", default="simgrad-region", metavar="DIR", help="default: ./simgrad-region"
    )
    p.set_defaults(func=_run)
