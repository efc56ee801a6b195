"""Speed of sg.stats (issue 14, acceptance 4), as ratios against baselines timed in the same
run (absolute times depend on the machine and its load):

1. 1000 permutations of linear CKA, 2000 × 256 vs 2000 × 256: ``sg.stats.permutation_test``
   against (a) the unavoidable products X̃ᵀỸ_π alone (batched, pre-gathered: the floor) and
   (b) 1000 calls of ``sg.score`` on permuted Y (the loop a user would write).
2. 1000 bootstrap resamples of angular Procrustes: ``sg.stats.bootstrap`` (percentile)
   against the loop of ``sg.score`` on resampled rows.

Loops are timed on ``--loop`` calls and scaled to 1000 (said in the output). Run:

    OMP_NUM_THREADS=2 python benchmarks/bench_stats.py [--loop 1000] [--sizes 2000x256,500x64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import simgrad as sg

B = 1000


def _time(f, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def products_floor(x: np.ndarray, y: np.ndarray, perms: np.ndarray, chunk: int = 32) -> float:
    """Time of the B products X̃ᵀỸ_π alone, on one pre-gathered chunk reused."""
    xc = torch.as_tensor(x - x.mean(0))
    yc = torch.as_tensor(y - y.mean(0))
    yp = yc[torch.as_tensor(perms[:chunk])]

    def run():
        for _ in range(0, B, chunk):
            torch.matmul(xc.transpose(0, 1), yp)

    return _time(run)


def bench_permutation(n: int, d: int, n_loop: int) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    res = {}
    res["stats"] = _time(lambda: sg.stats.permutation_test("cka", x, y, n_resamples=B))
    perms = np.stack([np.random.default_rng(i).permutation(n) for i in range(B)])
    res["floor"] = products_floor(x, y, perms)
    t = _time(lambda: [sg.score("cka", x, y[p]) for p in perms[:n_loop]])
    res["loop"] = t * B / n_loop
    print(f"\nlinear CKA, {B} permutations, {n} x {d} vs {n} x {d}")
    print(f"  products X'Y_pi alone (floor): {res['floor']:8.2f} s")
    print(f"  sg.stats.permutation_test:     {res['stats']:8.2f} s")
    print(f"  loop of sg.score ({n_loop} calls x {B // n_loop}): {res['loop']:8.2f} s")
    print(f"  ratio stats / floor = {res['stats'] / res['floor']:.2f}  (target <= 2)")
    print(f"  speed-up loop / stats = {res['loop'] / res['stats']:.1f}x  (target >= 20)")


def bench_bootstrap(n: int, d: int, n_loop: int) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, d))
    y = x @ rng.normal(size=(d, d)) + rng.normal(size=(n, d))
    name = "procrustes-angular_score"
    t_stats = _time(lambda: sg.stats.bootstrap(name, x, y, n_resamples=B, method="percentile"))
    idx = np.random.default_rng(2).integers(0, n, (n_loop, n))
    t_loop = _time(lambda: [sg.score(name, x[i], y[i]) for i in idx]) * B / n_loop
    print(f"\nangular Procrustes, {B} bootstrap resamples, {n} x {d}")
    print(f"  sg.stats.bootstrap (percentile): {t_stats:8.2f} s")
    print(f"  loop of sg.score ({n_loop} calls x {B // n_loop}): {t_loop:8.2f} s")
    print(f"  speed-up loop / stats = {t_loop / t_stats:.1f}x  (target >= 3)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loop", type=int, default=100, help="loop calls actually timed")
    ap.add_argument("--sizes", default="2000x256,500x64,200x20", help="bootstrap sizes n x d")
    args = ap.parse_args()
    print(f"torch threads: {torch.get_num_threads()}")
    bench_permutation(2000, 256, args.loop)
    for s in args.sizes.split(","):
        n, d = map(int, s.split("x"))
        bench_bootstrap(n, d, args.loop)


if __name__ == "__main__":
    main()
