"""Fixed per-call overhead of the measure call path, and linear CKA against its floor.

Issue 19, acceptance 3: at 200 × 50 the overhead of ``sg.score(name, X, Y)`` and
``sg.measure(name)(X, Y)`` — validation, name resolution, dispatch, dtype conversion, the scale
guard and the range check — is ≤ 0.3 ms over the measure's own computation (``m.fn`` on
ready tensors); at 1000 × 100, linear CKA through ``sg.measure`` is ≤ 1.5× its floor, the three
products XᵀY, XᵀX, YᵀY. Every figure is a ratio or a difference of times measured in this run
(median of ``--repeat`` blocks), so it stays meaningful on a loaded machine.

    python benchmarks/bench_overhead.py [--threads 1] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

import simgrad as sg

CLOCK = time.perf_counter  # main() switches to process CPU time for one thread


def timeit(fn: Callable[[], object], repeat: int, min_time: float = 0.05) -> float:
    """Median seconds per call over ``repeat`` blocks of enough calls to last ``min_time``."""
    fn()
    calls, t0 = 0, CLOCK()
    while CLOCK() - t0 < min_time:
        fn()
        calls += 1
    per_block = max(calls, 1)
    times = []
    for _ in range(repeat):
        t0 = CLOCK()
        for _ in range(per_block):
            fn()
        times.append((CLOCK() - t0) / per_block)
    return statistics.median(times)


def floor_products(x: torch.Tensor, y: torch.Tensor) -> Callable[[], object]:
    def run():
        return x.T @ y, x.T @ x, y.T @ y

    return run


def overhead_rows(n: int, p: int, q: int, names: list[str], repeat: int) -> list[tuple]:
    rng = np.random.default_rng(0)
    Xn, Yn = rng.normal(size=(n, p)), rng.normal(size=(n, q))
    Xt, Yt = torch.from_numpy(Xn), torch.from_numpy(Yn)
    rows = []
    for name in names:
        m = sg.measure(name)
        with torch.no_grad():
            core = timeit(lambda m=m: m.fn(Xt, Yt), repeat)
            call_t = timeit(lambda m=m: m(Xt, Yt), repeat)
        score_np = timeit(lambda name=name: sg.score(name, Xn, Yn), repeat)
        rows.append((name, core, call_t - core, score_np - core))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=7)
    global CLOCK
    ap.add_argument("--wall", action="store_true", help="wall-clock time even for one thread")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.threads == 1 and not args.wall:
        CLOCK = time.process_time  # CPU time of this process: robust to other processes
    clock = "process CPU time" if CLOCK is time.process_time else "wall time"
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {clock}, "
        f"median of {args.repeat} blocks"
    )

    print("\n## Per-call overhead at 200 x 50 (target <= 0.3 ms)\n")
    print(
        "| measure | computation (ms) | sg.measure(name)(X, Y) overhead (ms) | "
        "sg.score(name, numpy) overhead (ms) |"
    )
    print("|---|---|---|---|")
    names = ["cka", "nbs", "procrustes-angular_score", "linreg", "rsa"]
    for name, core, call_o, score_o in overhead_rows(200, 50, 50, names, args.repeat):
        print(f"| {name} | {core * 1e3:.3f} | {call_o * 1e3:.3f} | {score_o * 1e3:.3f} |")

    print("\n## Linear CKA at 1000 x 100 against the products X'Y, X'X, Y'Y (target <= 1.5x)\n")
    rng = np.random.default_rng(1)
    X = torch.from_numpy(rng.normal(size=(1000, 100)))
    Y = torch.from_numpy(rng.normal(size=(1000, 100)))
    floor = timeit(floor_products(X, Y), args.repeat)
    m = sg.measure("cka")
    with torch.no_grad():
        via_measure = timeit(lambda: m(X, Y), args.repeat)
        via_fn = timeit(lambda: m.fn(X, Y), args.repeat)
    via_score = timeit(lambda: sg.score("cka", X, Y), args.repeat)
    print("| route | ms | / floor |")
    print("|---|---|---|")
    print(f"| floor (3 products) | {floor * 1e3:.3f} | 1.00 |")
    for label, t in (
        ("m.fn (no checks)", via_fn),
        ("sg.measure('cka')(X, Y)", via_measure),
        ("sg.score('cka', X, Y)", via_score),
    ):
        print(f"| {label} | {t * 1e3:.3f} | {t / floor:.2f} |")


if __name__ == "__main__":
    main()
