"""``simgrad region`` (default: cka × procrustes-angular_score on ``context``, 5 targets per
side, 300 iterations) for this checkout and a base commit, interleaved in one run.

Prints the wall and CPU time (the child's user + system, every thread) of each run, the
ratio new/old, and the 1-minute load average before each run (a loaded machine slows both
versions, the ratio still compares like with like). Issue 18's floor: ≤ 90 s on a quiet
2-core machine.

Usage::

    mkdir -p /tmp/simgrad-base && git archive 9295ed9 src | tar -x -C /tmp/simgrad-base
    python benchmarks/bench_region.py --old /tmp/simgrad-base
    python benchmarks/bench_region.py --old /tmp/simgrad-base --max-iter 30 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_region(src: Path, extra: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``simgrad region --measures cka,procrustes-angular_score``."""
    env = dict(os.environ, PYTHONPATH=str(src / "src"))
    for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "SIMGRAD_THREADS", "KMP_BLOCKTIME"):
        env.pop(k, None)
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "simgrad", "region"]
        cmd += ["--measures", "cka,procrustes-angular_score", "--out", out, *extra]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc.returncode:
        raise SystemExit(f"{cmd} failed: {rc.stderr.decode()[-400:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", type=Path, required=True, help="folder holding the base src/")
    ap.add_argument("--new", type=Path, default=ROOT, help="folder holding the new src/")
    ap.add_argument("--max-iter", type=int, default=None, help="default: the command's (300)")
    ap.add_argument("--repeats", type=int, default=1, help="best of N (default 1)")
    args = ap.parse_args(argv)
    extra = [] if args.max_iter is None else ["--max-iter", str(args.max_iter)]
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeats):
        for ver, src in (("old", args.old), ("new", args.new)):
            load = os.getloadavg()[0]
            wall, cpu = time_region(src, extra)
            print(f"  {ver}: wall {wall:6.1f} s  cpu {cpu:6.1f} s  (load before: {load:.2f})")
            if ver not in best or wall < best[ver][0]:
                best[ver] = (wall, cpu)
    (wo, co), (wn, cn) = best["old"], best["new"]
    print(f"region: old {wo:.1f} s, new {wn:.1f} s: new/old wall {wn / wo:.2f}×", end="")
    print(f", cpu {cn / co:.2f}×")
    if args.max_iter is None:
        verdict = "PASS" if wn <= 90 else "FAIL"
        print(f"issue 18 floor (quiet 2-core machine): new ≤ 90 s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
