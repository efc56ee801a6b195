"""Cost of ``simgrad run --seeds 3`` against one seed (issue 18: ≤ 2× on a quiet 2-core machine).

Runs the default ``simgrad run`` with 1 and with 3 seeds, each in a fresh process, for the
code under test (this checkout's ``src``) and, with ``--baseline SRC``, for another checkout's
``src`` (e.g. a worktree of the commit before the change), interleaved so both see the same
load. Prints wall and CPU seconds (children's user + system), the 3-seed / 1-seed ratios and
the per-stage sums of ``run.json`` (optimize, decode, PC capture over the units).

    python benchmarks/bench_seeds.py --baseline /path/to/main/src [--repeat 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(src: Path, seeds: int, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "simgrad.cli", "run", "--out", str(out), "--quiet"]
    subprocess.run([*cmd, "--seeds", str(seeds)], env=env, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    units = json.loads((out / "run.json").read_text())["timings"]["units"]
    stages = {k: sum(u[k] for u in units) for k in ("optimize_s", "decode_s", "pc_capture_s")}
    return {"wall": wall, "cpu": cpu, **stages}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="the src folder of the code to compare with")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="keep the runs' folders here (to cmp the CSVs)")
    args = ap.parse_args()
    codes = {"new": ROOT / "src"}
    if args.baseline:
        codes = {"baseline": args.baseline, **codes}
    res: dict[tuple[str, int], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.keep:
            tmp = str(args.keep)
        for r in range(args.repeat):
            for seeds in (1, 3):
                for name, src in codes.items():
                    out = Path(tmp) / f"{name}-{seeds}-{r}"
                    res.setdefault((name, seeds), []).append(_run(src, seeds, out))
    print(f"load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    print("code      seeds   wall s    cpu s   optimize  decode  pc_capture")
    for (name, seeds), rows in res.items():
        best = min(rows, key=lambda d: d["wall"])
        print(
            f"{name:9s} {seeds:5d} {best['wall']:8.1f} {best['cpu']:8.1f} "
            f"{best['optimize_s']:9.1f} {best['decode_s']:7.1f} {best['pc_capture_s']:10.1f}"
        )
    for name in codes:
        one, three = (min(res[(name, s)], key=lambda d: d["wall"]) for s in (1, 3))
        print(
            f"{name}: 3 seeds / 1 seed = {three['wall'] / one['wall']:.2f}× wall, "
            f"{three['cpu'] / one['cpu']:.2f}× CPU (target ≤ 2×)"
        )


if __name__ == "__main__":
    main()
