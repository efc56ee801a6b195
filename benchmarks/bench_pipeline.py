"""Wall-clock of the main job's cheap paths (the timings tests must not assert).

1. Validation: ``RunOptions.create`` with the default options, and a user error caught
   before any work (``sg.run`` on a missing ``--data`` file); target well under 1 s.
2. Resume: ``sg.run`` again on a finished small run (every unit from its checkpoint, files
   rewritten); target well under 30 s.

Usage::

    python benchmarks/bench_pipeline.py [--markdown]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import simgrad as sg
from bench_pairwise import timeit  # median of repeats (run from benchmarks/ or as a script)
from simgrad.options import RunOptions


def _user_error(d: Path) -> None:
    try:
        sg.run(data=d / "missing.npz", out=d / "o", progress=False)
    except ValueError:
        return
    raise AssertionError("a missing data file was accepted")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        data = sg.datasets.load("context", n_units=30, n_time=5, seed=1).to_npz(d / "ref.npz")
        kw = dict(data=data, measures=["cka", "nbs"], max_iter=40, out=d / "run", progress=False)
        sg.run(**kw)  # the first run computes; the timed ones resume
        rows = [
            ("RunOptions.create() (defaults)", timeit(RunOptions.create, a.repeats), "< 1 s"),
            ("user error before any work", timeit(lambda: _user_error(d), a.repeats), "< 1 s"),
            ("resume a finished run", timeit(lambda: sg.run(**kw), a.repeats), "< 30 s"),
        ]
    if a.markdown:
        print("| pipeline | median (s) | target |\n|---|---|---|")
        for name, t, target in rows:
            print(f"| {name} | {t:.3f} | {target} |")
    else:
        for name, t, target in rows:
            print(f"{name:<34} {t:8.3f} s   (target {target})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
