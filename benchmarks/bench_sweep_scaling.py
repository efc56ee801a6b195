"""How a sweep's bookkeeping scales with its number of units (issue 17, item 6).

Builds a grid of N units (one dataset, one measure, N seeds; validated as ``sg.sweep`` does)
and runs it in this process with a unit function that does nothing, so only the bookkeeping
is timed: grid validation, the unit list, the per-unit progress snapshots. Each size is run
twice: with the current progress tracker and with the tracker before the fix (the mean unit
time recomputed by scanning every finished unit at each snapshot), in the same run. Printed:
seconds per size and mode, and the ratio time(4N)/time(N) (linear ≈ 4, quadratic ≈ 16).
Usage::

    python benchmarks/bench_sweep_scaling.py                 # N = 2 000 and 8 000
    python benchmarks/bench_sweep_scaling.py --sizes 5000,20000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from simgrad.sweeps import execute
from simgrad.sweeps.grid import make_grid


class _ScanningTracker(execute._Tracker):
    """The tracker before the fix: every snapshot scans all finished units' times."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.seconds: list[float] = []

    def add(self, seconds):
        self.seconds.append(seconds or 0.0)

    def emit(self, last=None, status=None):
        if self.callback is None:
            return
        done = [v for v in self.seconds if v > 0]
        self._sum, self._n = sum(done), len(done)
        super().emit(last, status)


def one(n: int, out: Path, scanning: bool) -> float:
    real = execute._Tracker
    execute.execute_unit = lambda u, o, fn: {"status": "done", "seconds": 1.0}
    if scanning:
        execute._Tracker = _ScanningTracker
    try:
        t0 = time.perf_counter()
        grid = make_grid(datasets=["toy2d"], measures=["cka"], seeds=n, max_units=None)
        units = grid.units()
        execute.run_units(
            units, out, None, total=n, skipped=0, workers=0, scheduler=None, retries=0,
            torch_threads=1, progress=lambda p: p.eta,
        )  # fmt: skip
        return time.perf_counter() - t0
    finally:
        execute._Tracker = real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="2000,8000", help="two grid sizes, comma-separated")
    args = ap.parse_args()
    small, large = (int(s) for s in args.sizes.split(","))
    out = Path(tempfile.mkdtemp())
    one(200, out, False)  # warm-up (imports)
    print(f"{'tracker':<10} {small:>8} units  {large:>8} units  ratio  (linear: {large / small:g})")
    for scanning in (True, False):
        a, b = one(small, out, scanning), one(large, out, scanning)
        name = "before" if scanning else "now"
        print(f"{name:<10} {a:>12.2f} s {b:>12.2f} s  {b / a:5.1f}")


if __name__ == "__main__":
    main()
