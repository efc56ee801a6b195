"""From models to scores: speed and memory of ``sg.compare``, ``sg.activations`` and
``sg.compare_model`` (issue 15, acceptance 3 and 5). Every ratio is against a baseline timed
in the same run (best of ``--repeats``), so it can be rerun on a quiet machine.

- ``compare``: 12 layers × 3 areas × 4 measures (linear CKA, angular Procrustes, RSA, linear
  regression) on 2000 samples through ``sg.compare`` (the all-pairs engine) against a loop of
  ``sg.score`` calls; prints the speed-up (target ≥ 5×) and the largest difference.
- ``extract``: ``sg.activations`` of every leaf of a random-weight ResNet-18 (64×64 inputs,
  ``reduce="mean"``) against the model's own forward pass over the same batches, both under
  ``torch.no_grad()``; prints the ratio (target ≤ 1.2).
- ``memory``: in a fresh process each, ``sg.compare_model`` with streaming linear CKA on 2000
  inputs of 64×64 through every leaf of the ResNet-18 (``reduce="mean"`` and
  ``"project-512"``); prints the peak resident memory (target ≤ 1.5 GB), then the largest
  difference from the in-memory computation (``sg.activations`` + ``sg.compare``; target
  ≤ 1e-10), and the CKA change that ``project-512`` makes against ``flatten`` on the last
  stages (the Johnson–Lindenstrauss distortion in practice).

    PYTHONPATH=src OMP_NUM_THREADS=1 python3 benchmarks/bench_models.py compare extract memory
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

import simgrad as sg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from resnet_plain import resnet18  # noqa: E402

MEASURES = ("cka", "procrustes-angular_score", "rsa", "linreg")


def best(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def bench_compare(n: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 64))
    layers, h = {}, x
    for k in range(12):
        h = np.tanh(h @ rng.normal(size=(h.shape[1], 128)) / np.sqrt(h.shape[1]))
        layers[f"layer{k}"] = h
    areas = {
        a: layers[f"layer{k}"][:, :80] + rng.normal(size=(n, 80))
        for a, k in (("V1", 2), ("V4", 6), ("IT", 10))
    }

    def engine(ms=MEASURES):
        return sg.compare(layers, areas, measures=ms)

    def loop(ms=MEASURES):
        return [sg.score(m, layers[la], areas[ar]) for m in ms for la in layers for ar in areas]

    small = {k: v[:50] for k, v in layers.items()}
    sg.compare(small, {k: v[:50] for k, v in areas.items()}, measures=MEASURES)  # warm-up
    per = {}
    for m in MEASURES:
        t_l, t_e = interleaved(lambda m=m: loop((m,)), lambda m=m: engine((m,)), repeats)
        per[m] = {"loop_s": t_l, "compare_s": t_e, "speedup": t_l / t_e}
    t_loop, t_eng = interleaved(loop, engine, repeats)
    ref, df = loop(), engine()
    diff = float(np.max(np.abs(df["score"].to_numpy() - np.asarray(ref))))
    return {
        "n": n,
        "pairs": len(ref),
        "loop_s": t_loop,
        "compare_s": t_eng,
        "speedup": t_loop / t_eng,
        "max_abs_diff": diff,
        "per_measure": per,
    }


def interleaved(base, fn, repeats: int) -> tuple[float, float]:
    """Best times of ``base`` and ``fn``, alternated so that load hits both alike."""
    tb, tf = [], []
    for _ in range(repeats):
        tb.append(best(base, 1)[0])
        tf.append(best(fn, 1)[0])
    return min(tb), min(tf)


def bench_extract(n: int, size: int, repeats: int, batch: int) -> dict:
    net = resnet18()
    x = torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(0))

    def forward():
        with torch.no_grad():
            for xb in x.split(batch):
                net(xb)

    def extract():
        return sg.activations(net, x, reduce="mean", batch_size=batch)

    forward()  # warm-up
    t_fwd, _ = best(forward, repeats)
    t_act, acts = best(extract, repeats)
    return {
        "n": n,
        "size": size,
        "layers": len(acts),
        "forward_s": t_fwd,
        "activations_s": t_act,
        "ratio": t_act / t_fwd,
    }


CHILD = r"""
import json, resource, sys, time, torch
sys.path.insert(0, {here!r})
import simgrad as sg
from resnet_plain import resnet18
n, size, reduce, batch = {n}, {size}, {reduce!r}, {batch}
net = resnet18()
x = torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(0))
g = torch.Generator().manual_seed(1)
pooled = torch.nn.functional.avg_pool2d(x, 8).flatten(1).double()
areas = {{a: pooled @ torch.randn(pooled.shape[1], 60, generator=g, dtype=torch.float64)
         for a in ("V1", "V4", "IT")}}
t0 = time.perf_counter()
df = sg.compare_model(net, x, areas, "cka", reduce=reduce, batch_size=batch)
t = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out = {{"reduce": reduce, "peak_bytes": peak, "seconds": t, "rows": len(df),
        "scores": df["score"].tolist()}}
if {check}:
    acts = sg.activations(net, x, reduce=reduce, batch_size=batch)
    ref = sg.compare(acts, areas, measures="cka")
    out["max_abs_diff"] = float(abs(ref["score"].to_numpy() - df["score"].to_numpy()).max())
print("RESULT" + json.dumps(out))
"""


def child(n: int, size: int, reduce: str, batch: int, check: bool) -> dict:
    code = CHILD.format(here=str(HERE), n=n, size=size, reduce=reduce, batch=batch, check=check)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT") :])


def bench_memory(n: int, size: int, batch: int, check_n: int, reduces: list[str]) -> list[dict]:
    out = []
    for reduce in reduces:
        r = child(n, size, reduce, batch, check=False)  # fresh process: peak of streaming only
        c = child(min(n, check_n), size, reduce, batch, check=True)
        r["max_abs_diff"], r["check_n"] = c["max_abs_diff"], min(n, check_n)
        out.append(r)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("parts", nargs="*", default=["compare", "extract", "memory"])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reduces", default="mean,project-512", help="reductions of `memory`")
    p.add_argument("--check-n", type=int, default=2000, help="samples of the in-memory check")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    res: dict = {}
    if "compare" in a.parts:
        res["compare"] = r = bench_compare(a.n, a.repeats)
        print(
            f"compare: {r['pairs']} pairs, loop {r['loop_s']:.2f}s, sg.compare "
            f"{r['compare_s']:.2f}s -> {r['speedup']:.1f}x (max diff {r['max_abs_diff']:.1e})"
        )
        for m, v in r["per_measure"].items():
            print(
                f"  {m:28s} loop {v['loop_s']:.2f}s  sg.compare {v['compare_s']:.2f}s  "
                f"{v['speedup']:.1f}x"
            )
    if "extract" in a.parts:
        res["extract"] = r = bench_extract(a.n, a.size, a.repeats, a.batch)
        print(
            f"extract: {r['layers']} layers, forward {r['forward_s']:.2f}s, activations "
            f"{r['activations_s']:.2f}s -> {r['ratio']:.2f}x"
        )
    if "memory" in a.parts:
        res["memory"] = rs = bench_memory(a.n, a.size, a.batch, a.check_n, a.reduces.split(","))
        for r in rs:
            print(
                f"memory {r['reduce']:12s}: peak {r['peak_bytes'] / 2**30:.2f} GiB, "
                f"{r['seconds']:.1f}s, {r['rows']} rows, max diff vs in-memory "
                f"{r['max_abs_diff']:.1e}"
            )
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
