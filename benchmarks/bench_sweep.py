"""Time per sweep unit with unit reports on (figures + report.html per unit, the old
behaviour) against off (tables and run.json only, the default), measured in the same run.

Each repetition runs the same small sweep twice into fresh folders, in this process
(``workers=0``), once per mode, the order alternating; the time of a unit is the one its
completion marker records (the unit's work only: no cluster start-up, no sweep report). One
warm-up sweep per mode comes first (imports, caches). Printed: the median over repetitions of
the mean seconds per unit in each mode and their ratio on/off, and the largest difference
between the two modes' stacked tables (they must be equal). Usage::

    python benchmarks/bench_sweep.py                       # toy2d × cka × 2 seeds, 30 steps
    python benchmarks/bench_sweep.py --dataset ultrametric --measures cka,nbs --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

import simgrad as sg
from simgrad.sweeps import TABLES


def one_sweep(root: Path, args: argparse.Namespace, unit_reports: bool, tag: str):
    return sg.sweep(
        datasets=[args.dataset],
        measures=args.measures.split(","),
        seeds=args.seeds,
        out=root / tag,
        workers=0,
        progress=False,
        report=False,
        unit_reports=unit_reports,
        max_iter=args.max_iter,
    )


def max_table_difference(a, b) -> float:
    worst = 0.0
    for name in TABLES:
        x, y = getattr(a, name), getattr(b, name)
        if list(x.columns) != list(y.columns) or len(x) != len(y):
            return float("inf")
        for col in x.select_dtypes("number").columns:
            d = np.abs(x[col].to_numpy(float) - y[col].to_numpy(float))
            worst = max(worst, float(np.nanmax(d, initial=0.0)))
    return worst


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="toy2d")
    p.add_argument("--measures", default="cka")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--max-iter", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    per_unit: dict[bool, list[float]] = {True: [], False: []}
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        root = Path(tmp)
        for mode in (True, False):
            one_sweep(root, args, mode, f"warm-{mode}")
        for r in range(args.repeats):
            modes = (True, False) if r % 2 == 0 else (False, True)
            res = {m: one_sweep(root, args, m, f"r{r}-{m}") for m in modes}
            for m in modes:
                per_unit[m].append(float(res[m].units["seconds"].mean()))
            worst = max(worst, max_table_difference(res[True], res[False]))
    on, off = statistics.median(per_unit[True]), statistics.median(per_unit[False])
    n_units = len(args.measures.split(",")) * args.seeds
    print(
        f"sweep {args.dataset} × {args.measures} × {args.seeds} seeds ({n_units} units), "
        f"max_iter {args.max_iter}, {args.repeats} repetitions, torch threads {args.threads}"
    )
    print(f"  unit reports on  (figures + HTML): {on:7.3f} s per unit (median)")
    print(f"  unit reports off (tables only):    {off:7.3f} s per unit (median)")
    print(f"  ratio on/off: {on / off:.2f}   (largest table difference between modes: {worst:g})")


if __name__ == "__main__":
    main()
