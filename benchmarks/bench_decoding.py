"""Decoding speed: the batched torch solver vs scikit-learn on the same work.

Work: a 200-iterate trajectory of a (15, 72, 200) dataset (the synthetic ``context``
reference plus noise of decreasing size, so accuracies move from chance to the reference's),
4 binary labels, per-time-step StratifiedKFold(5) → 200 × 15 × 5 × 4 = 60 000 fits.
scikit-learn (converged lbfgs, the exact path) is timed on ``--sk-iterates`` iterates and
extrapolated linearly to 200 (said so in the output). Both run in this process with the same
thread count, so the ratio is measured in the same run.

    python benchmarks/bench_decoding.py --threads 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import simgrad as sg
from simgrad.analysis import decode_iterates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterates", type=int, default=200)
    ap.add_argument("--sk-iterates", type=int, default=4)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ds = sg.datasets.load("context")
    labels = {k: ds.labels[k] for k in ("context", "motion", "colour", "choice")}
    rng = np.random.default_rng(0)
    k = args.iterates
    noise = np.geomspace(30.0, 0.01, k)[:, None, None, None] * ds.data.std()
    its = ds.data[None] + noise * rng.normal(size=(k, *ds.shape))
    dtype = getattr(torch, args.dtype)
    t0 = time.perf_counter()
    res = decode_iterates(its, labels, seed=0, dtype=dtype)
    t_torch = time.perf_counter() - t0
    sub = np.linspace(0, k - 1, args.sk_iterates).round().astype(int)
    t0 = time.perf_counter()
    ref = decode_iterates(its[sub], labels, seed=0, method="sklearn")
    t_sk = (time.perf_counter() - t0) * k / sub.size
    diff = max(float(np.abs(res.accuracy[n][sub] - ref.accuracy[n]).max()) for n in labels)
    print(f"work: {k} iterates x {ds.shape} x {len(labels)} labels, threads={args.threads}")
    print(f"torch ({args.dtype}): {t_torch:8.2f} s")
    print(f"sklearn (timed on {sub.size} iterates, extrapolated to {k}): {t_sk:8.2f} s")
    print(f"speed-up sklearn/torch: {t_sk / t_torch:6.1f}x   max |acc diff| = {diff:.4f}")
    ranges = {n: (round(a.min(), 3), round(a.max(), 3)) for n, a in res.accuracy.items()}
    print("accuracy range:", ranges)


if __name__ == "__main__":
    main()
