"""The main job's commands on a quiet and on a shared machine, before and after issue 18.

Times (wall and CPU: the children's user + system time, every thread) of

- ``simgrad run`` (the default: context, the paper's panel),
- ``simgrad run --dataset hatsopoulos2007-condavg``,
- ``simgrad run --seeds 3``,
- ``simgrad region --measures cka,procrustes-angular_score``,

each quiet and with one competing CPU-bound process (``python -c "while True: pass"``), for
the working tree (``--new``, default: this checkout's ``src``) and the base commit
(``--old``: a folder holding its ``src``, e.g. from ``git archive 93b587c src``),
interleaved in one run so both see the same machine. It prints every time, the ratios
new/old, and checks issue 18's floor on the new code:

- quiet: ``run`` and ``run --dataset hatsopoulos2007-condavg`` ≤ 60 s each, ``--seeds 3`` ≤ 2×
  one seed, ``region`` ≤ 90 s;
- with one competing process: wall ≤ 1.8× quiet and CPU time ≤ quiet (+5 % tolerance).

Environment: ``SIMGRAD_DATA_DIR`` must point at the recordings (Hatsopoulos). Each command
writes into a fresh temporary folder (no checkpoint reuse). Run it on an otherwise quiet
machine; on a loaded one the ratios new/old still compare like with like.

Usage::

    mkdir -p /tmp/simgrad-base && git archive 93b587c src | tar -x -C /tmp/simgrad-base
    python benchmarks/bench_shared_machine.py --old /tmp/simgrad-base
    python benchmarks/bench_shared_machine.py --old /tmp/simgrad-base --only run --repeats 1
    python benchmarks/bench_shared_machine.py --tiny        # seconds: a smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: name -> arguments after ``simgrad``
JOBS = {
    "run": ["run"],
    "run-hatsopoulos": ["run", "--dataset", "hatsopoulos2007-condavg"],
    "run-seeds3": ["run", "--seeds", "3"],
    "region": ["region", "--measures", "cka,procrustes-angular_score"],
}
#: small versions (for --tiny; ``{data}`` is a small reference written by the script)
_SMALL = ["--data", "{data}", "--measures", "nbs,cka", "--max-iter", "15", "--labels", "context"]
TINY = {
    "run": ["run", *_SMALL],
    "run-seeds3": ["run", *_SMALL, "--seeds", "3"],
    "region": [
        "region",
        "--data",
        "{data}",
        "--measures",
        "cka,nbs",
        "--points-per-side",
        "2",
        "--max-iter",
        "5",
    ],
}


def _small_reference(folder: Path) -> str:
    """A small context reference (5 time bins, 30 units) as ``.npz`` for ``--tiny``."""
    code = (
        "import simgrad as sg, sys; sg.datasets.load('context', n_units=30, n_time=5, seed=2)"
        ".to_npz(sys.argv[1])"
    )
    path = folder / "small.npz"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    subprocess.run([sys.executable, "-c", code, str(path)], env=env, check=True)
    return str(path)


@contextlib.contextmanager
def competitor(on: bool) -> Iterator[None]:
    """One CPU-bound process while the block runs (when ``on``)."""
    if not on:
        yield
        return
    p = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        yield
    finally:
        p.kill()
        p.wait()


def time_job(src: Path, args: list[str], busy: bool) -> tuple[float, float, int]:
    """Wall and CPU seconds of ``simgrad <args>`` with ``src`` first on the path; exit code."""
    env = dict(os.environ, PYTHONPATH=str(src))
    for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "SIMGRAD_THREADS", "KMP_BLOCKTIME"):
        env.pop(k, None)  # each version picks its own thread settings
    with tempfile.TemporaryDirectory() as out, competitor(busy):
        cmd = [sys.executable, "-m", "simgrad", *args, "--out", out]
        if args[0] == "run":
            cmd.append("--quiet")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if rc.returncode:
        print(f"  ! {' '.join(args)} failed ({rc.returncode}): {rc.stderr.decode()[-400:]}")
    return wall, cpu, rc.returncode


def measure(
    versions: dict[str, Path], jobs: dict[str, list[str]], repeats: int
) -> dict[tuple[str, str, bool], tuple[float, float]]:
    """Best-of-``repeats`` (wall, cpu) per (version, job, busy), versions interleaved."""
    best: dict[tuple[str, str, bool], tuple[float, float]] = {}
    for _ in range(repeats):
        for job, args in jobs.items():
            for busy in (False, True):
                for ver, src in versions.items():
                    wall, cpu, rc = time_job(src, args, busy)
                    key = (ver, job, busy)
                    label = "busy " if busy else "quiet"
                    print(f"  {ver:>3} {job:<16} {label} wall {wall:7.1f} s  cpu {cpu:7.1f} s")
                    if rc == 0 and (key not in best or wall < best[key][0]):
                        best[key] = (wall, cpu)
    return best


def _checks(best: dict, jobs: dict[str, list[str]], tiny: bool) -> list[tuple[str, bool]]:
    """Issue 18's floor on the new version (time limits only at full scale)."""
    out = []
    get = best.get
    if not tiny:
        for job, limit in (("run", 60), ("run-hatsopoulos", 60), ("region", 90)):
            if get(("new", job, False)):
                out.append((f"{job} quiet ≤ {limit} s", get(("new", job, False))[0] <= limit))
    one, three = get(("new", "run", False)), get(("new", "run-seeds3", False))
    if one and three:
        out.append(("--seeds 3 ≤ 2× one seed (quiet)", three[0] <= 2 * one[0]))
    for job in jobs:
        q, b = get(("new", job, False)), get(("new", job, True))
        if q and b:
            out.append((f"{job}: busy wall ≤ 1.8× quiet", b[0] <= 1.8 * q[0]))
            out.append((f"{job}: busy CPU ≤ quiet CPU (+5 %)", b[1] <= 1.05 * q[1]))
    return out


def report(best: dict, versions: dict[str, Path], jobs: dict, tiny: bool) -> bool:
    print("\njob               machine  " + "  ".join(f"{v:>16}" for v in versions), end="")
    print("   new/old wall  new/old cpu" if "old" in versions else "")
    for job in jobs:
        for busy in (False, True):
            cells = []
            for v in versions:
                w = best.get((v, job, busy))
                cells.append(f"{w[0]:6.1f}s/{w[1]:6.1f}cpu" if w else f"{'failed':>16}")
            line = f"{job:<17} {'busy ' if busy else 'quiet'}    " + "  ".join(cells)
            n, o = best.get(("new", job, busy)), best.get(("old", job, busy))
            if n and o:
                line += f"   {n[0] / o[0]:11.2f}×  {n[1] / o[1]:10.2f}×"
            print(line)
    for v in versions:
        q, b = best.get((v, "run", False)), best.get((v, "run", True))
        one, three = best.get((v, "run", False)), best.get((v, "run-seeds3", False))
        if q and b:
            print(f"{v}: run busy/quiet wall {b[0] / q[0]:.2f}×, cpu {b[1] / q[1]:.2f}×", end="")
        if one and three:
            print(f"; --seeds 3 / one seed {three[0] / one[0]:.2f}×", end="")
        print()
    checks = _checks(best, jobs, tiny)
    print("\nissue 18 floor (new):")
    for text, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    return all(ok for _, ok in checks)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--new", type=Path, default=ROOT, help="checkout with the new src/")
    ap.add_argument("--old", type=Path, help="checkout of the base commit (its src/ is used)")
    ap.add_argument("--repeats", type=int, default=1, help="best of N (default 1)")
    ap.add_argument("--only", help="comma-separated jobs: " + ", ".join(JOBS))
    ap.add_argument("--tiny", action="store_true", help="seconds-long versions of the jobs")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the competitor is killed
    jobs = dict(TINY if args.tiny else JOBS)
    if args.tiny:
        data = _small_reference(Path(tempfile.mkdtemp(prefix="bench-shared-")))
        jobs = {k: [a.replace("{data}", data) for a in v] for k, v in jobs.items()}
    if args.only:
        jobs = {k: v for k, v in jobs.items() if k in args.only.split(",")}
    versions = {"new": args.new / "src"}
    if args.old is not None:
        versions["old"] = args.old / "src"
    for v, src in versions.items():
        if not (src / "simgrad" / "__init__.py").exists():
            ap.error(f"--{v}: no src/simgrad in {src.parent}")
    print(f"cores available: {len(os.sched_getaffinity(0))}; jobs: {', '.join(jobs)}")
    best = measure(versions, jobs, args.repeats)
    return 0 if report(best, versions, jobs, args.tiny) else 1


if __name__ == "__main__":
    sys.exit(main())
