"""All-pairs similarity: sg.pairwise against the products it cannot avoid and against a loop
over the single-pair function; streaming against the full-batch computation.

Every figure is a ratio of two times measured in this run (median of ``--repeats``), so the
table stays meaningful on a loaded machine. Run by hand::

    python benchmarks/bench_pairwise.py              # 24 reps × 2000 × 256 units, 2 threads
    python benchmarks/bench_pairwise.py --quick      # smaller, ~1 minute
    python benchmarks/bench_pairwise.py --markdown   # a table for docs/benchmarks.md

Baselines:

- *unavoidable products* (CKA): one centred Gram ``X̃X̃ᵀ`` per representation and one GEMM of
  the stacked, flattened Grams for all pairs (``F Fᵀ``), as plain torch calls; and the
  feature-space equivalent, all cross-products ``X̃_iᵀX̃_j`` of the upper triangle.
- *loop*: ``sg.measure(name)(X_i, X_j)`` for every unordered pair ``i ≤ j`` (what a user
  would write), validation included.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import simgrad as sg


def timeit(fn, repeats: int, warmup: bool = False) -> float:
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_reps(k: int, n: int, d: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    latent = torch.randn(n, 32, generator=g, dtype=torch.float64)
    return [
        latent @ torch.randn(32, d, generator=g, dtype=torch.float64)
        + torch.randn(n, d, generator=g, dtype=torch.float64)
        for _ in range(k)
    ]


def gram_products(reps):
    """One centred Gram per representation + one GEMM for all pairs (plain torch)."""
    f = torch.stack([(c @ c.T).reshape(-1) for c in (x - x.mean(0) for x in reps)])
    return f @ f.T


def feature_products(reps):
    """All cross-products X̃_iᵀX̃_j of the upper triangle, one GEMM per pair (plain torch)."""
    cs = [x - x.mean(0) for x in reps]
    return [cs[i].T @ cs[j] for i in range(len(cs)) for j in range(i, len(cs))]


def loop(name, reps):
    m = sg.measure(name)
    k = len(reps)
    return {(i, j): float(m(reps[i], reps[j])) for i in range(k) for j in range(i, k)}


def max_diff(mat, ref) -> float:
    return max(abs(float(mat[i, j]) - v) for (i, j), v in ref.items())


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, default=24)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="12 reps × 1000 × 128, 2 repeats")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--measures", default="cka,cka-hsic_song,procrustes-angular_score,cca,linreg")
    a = ap.parse_args(argv)
    if a.quick:
        a.k, a.n, a.d, a.repeats = 12, 1000, 128, 2
    torch.set_num_threads(a.threads)
    reps = make_reps(a.k, a.n, a.d)
    rows = []
    measures = a.measures.split(",")
    with torch.no_grad():
        base_times: dict[str, list[float]] = {"gram": [], "feature": []}
        gram_products(reps)
        feature_products(reps)
        for name in measures:
            # interleaved: baseline products, pairwise and the loop, repeated (medians), so
            # that drifting machine load hits all of them alike
            t_pw_all, t_loop_all = [], []
            sg.pairwise(reps, measure=name)  # warm-up (lazy imports, allocator)
            for _ in range(a.repeats):
                base_times["gram"].append(timeit(lambda: gram_products(reps), 1))
                if name.startswith("cka"):
                    base_times["feature"].append(timeit(lambda: feature_products(reps), 1))
                t_pw_all.append(timeit(lambda name=name: sg.pairwise(reps, measure=name), 1))
                t_loop_all.append(timeit(lambda name=name: loop(name, reps), 1))
            t_loop = statistics.median(t_loop_all)
            t_pw = statistics.median(t_pw_all)
            S = sg.pairwise(reps, measure=name)
            ref = loop(name, reps)
            off = {k: v for k, v in ref.items() if k[0] != k[1]}
            row = {
                "task": f"pairwise {name}",
                "time_s": t_pw,
                "vs_loop": t_loop / t_pw,
                "max_abs_diff": max_diff(S, off),
            }
            if name.startswith("cka"):
                n_rep = a.repeats
                t_base = min(
                    statistics.median(base_times["gram"][-n_rep:]),
                    statistics.median(base_times["feature"][-n_rep:]),
                )
                row["vs_products"] = t_pw / t_base
            rows.append(row)
            print(f"# done: {row}", flush=True)
        t_gram = statistics.median(base_times["gram"])
        t_feat = statistics.median(base_times["feature"]) if base_times["feature"] else 0.0
        # streaming: 50 000 × 100 in batches of 512 against the full-batch score
        rng = np.random.default_rng(0)
        x = rng.standard_normal((50_000, 100))
        y = x[:, :50] @ rng.standard_normal((50, 100)) + rng.standard_normal((50_000, 100))
        batches = list(zip(np.array_split(x, 98), np.array_split(y, 98)))
        names = ["cka", "cka-hsic_song", "nbs"]
        t_stream = timeit(lambda: sg.streaming.stream_score(names, batches), a.repeats, True)
        t_full = timeit(lambda: [sg.score(nm, x, y) for nm in names], a.repeats, True)
        got = sg.streaming.stream_score(names, batches)
        rows.append(
            {
                "task": "streaming cka+cka_song+nbs, 50000×100, batches of 512",
                "time_s": t_stream,
                "vs_full_batch": t_full / t_stream,
                "max_abs_diff": max(abs(got[nm] - sg.score(nm, x, y)) for nm in names),
            }
        )
    header = (
        f"K={a.k} representations × n={a.n} samples × d={a.d} units, float64, "
        f"{a.threads} thread(s), torch {torch.__version__}; plain products: Grams + "
        f"one GEMM {t_gram:.3f} s, feature cross-products {t_feat:.3f} s"
    )
    print(header)
    if a.markdown:
        print(
            "\n| task | time (s) | loop / pairwise | pairwise / products | "
            "full / streamed | max |Δ| vs single-pair |"
        )
        print("|---|---:|---:|---:|---:|---:|")
    for r in rows:

        def f(key, fmt="{:.2f}", r=r):
            return fmt.format(r[key]) if key in r else "—"

        if a.markdown:
            print(
                f"| {r['task']} | {r['time_s']:.3f} | {f('vs_loop')} | {f('vs_products')} | "
                f"{f('vs_full_batch')} | {r['max_abs_diff']:.1e} |"
            )
        else:
            print(
                f"{r['task']:<58} {r['time_s']:8.3f} s  loop/pw {f('vs_loop'):>6}  "
                f"pw/products {f('vs_products'):>6}  full/stream {f('vs_full_batch'):>6}  "
                f"maxdiff {r['max_abs_diff']:.1e}"
            )
    return rows


if __name__ == "__main__":
    main()
