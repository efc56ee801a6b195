"""Speed of sg.optimize against baselines measured in the same run.

1. Step overhead: one optimization step (evaluation, recording, checks, Adam) divided by the
   measure's own forward + backward on the same data (target: ≤ 1.5).
2. Batched restarts: R restarts as one batched run divided by R runs one after another
   (target on the CPU: ≤ 1; on a GPU, ``--device cuda``: 8 restarts ≤ 2 × one run).

Timings are medians over ``--repeats`` interleaved repetitions. Usage::

    python benchmarks/bench_optim.py                 # Hatsopoulos condition averages, CPU
    python benchmarks/bench_optim.py --full          # all 121 × 10 ms time points
    python benchmarks/bench_optim.py --device cuda --restarts 8
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import simgrad as sg
from simgrad._array import check_pair

MEASURES = ["cka", "cka-angular_score", "nbs", "procrustes-angular_score", "linreg"]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def reference(full: bool) -> np.ndarray:
    try:
        if full:
            return sg.datasets.load("hatsopoulos2007-condavg").data
        return sg.datasets.load("hatsopoulos2007-condavg", window=(-300, 400), bin_ms=50).data
    except (FileNotFoundError, ValueError, OSError):
        print("(Hatsopoulos file not found: using a seeded (14, 8, 141) Gaussian reference)")
        return np.random.default_rng(0).normal(size=(14, 8, 141)) * 5 + 3


def measure_fwd_bwd(x: np.ndarray, name: str, n: int, device: str, dtype) -> float:
    """Seconds per forward + backward of the measure alone (the baseline)."""
    m = sg.measure(name)
    g = torch.Generator().manual_seed(0)
    y = torch.randn(x.shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)
    y.requires_grad_(True)
    pair = check_pair(torch.as_tensor(x, dtype=dtype, device=device), y)
    for _ in range(2):
        m.compute(pair).backward()
    _sync(device)
    t = time.perf_counter()
    for _ in range(n):
        y.grad = None
        pair = check_pair(torch.as_tensor(x, dtype=dtype, device=device), y)
        m.compute(pair).backward()
    _sync(device)
    return (time.perf_counter() - t) / n


def optimize_step(x, name, n, device, dtype, restarts=1) -> float:
    """Seconds per step of sg.optimize (target=None so every run takes exactly n steps)."""
    _sync(device)
    t = time.perf_counter()
    sg.optimize(x, name, max_iter=n, target=None, device=device, dtype=dtype, restarts=restarts)
    _sync(device)
    return (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--iters", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--restarts", type=int, default=8)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    ap.add_argument("--full", action="store_true", help="use all 121 time points (10 ms)")
    ap.add_argument("--measures", nargs="*", default=MEASURES)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    x = reference(a.full)
    print(
        f"reference {x.shape}, device {a.device}, {a.dtype}, {a.iters} steps, "
        f"median of {a.repeats}, torch threads {torch.get_num_threads()}"
    )
    print("\n1. one optimization step / the measure's own forward+backward (target <= 1.5)")
    print(f"{'measure':<28}{'fwd+bwd ms':>12}{'step ms':>10}{'ratio':>8}")
    for name in a.measures:
        base, step = [], []
        optimize_step(x, name, 3, a.device, dtype)  # warm-up
        for _ in range(a.repeats):
            base.append(measure_fwd_bwd(x, name, a.iters, a.device, dtype))
            step.append(optimize_step(x, name, a.iters, a.device, dtype))
        b, s = statistics.median(base), statistics.median(step)
        print(f"{name:<28}{1e3 * b:>12.3f}{1e3 * s:>10.3f}{s / b:>8.2f}")

    r = a.restarts
    gpu = a.device.startswith("cuda")
    print(
        f"\n2. {r} restarts batched vs "
        + ("one run (target <= 2)" if gpu else f"{r} runs one after another (target <= 1)")
    )
    print(f"{'measure':<28}{'batched s':>11}{'baseline s':>11}{'ratio':>8}")
    for name in a.measures:
        bat, seq = [], []
        for _ in range(a.repeats):
            bat.append(a.iters * optimize_step(x, name, a.iters, a.device, dtype, restarts=r))
            one = a.iters * optimize_step(x, name, a.iters, a.device, dtype)
            seq.append(
                one
                if gpu
                else one
                + sum(
                    a.iters * optimize_step(x, name, a.iters, a.device, dtype) for _ in range(r - 1)
                )
            )
        b, s = statistics.median(bat), statistics.median(seq)
        print(f"{name:<28}{b:>11.3f}{s:>11.3f}{b / s:>8.2f}")


if __name__ == "__main__":
    main()
