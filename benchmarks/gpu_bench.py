"""GPU benchmark: optimization steps and all-pairs matrices at n = 20 000, d = 1024.

Designed to finish within 5 minutes on one H100-class GPU (a global deadline skips what is
left, and says so). Runs on CPU too; ``--small`` shrinks every size for a smoke run::

    python benchmarks/gpu_bench.py                 # cuda if available, else cpu
    python benchmarks/gpu_bench.py --small         # n=2000, d=64: a CPU smoke run
    python benchmarks/gpu_bench.py --markdown      # a table for docs/benchmarks.md

Timed, each in float32 and float64 (median of ``--repeats`` after a warm-up; the device is
synchronized around every timing):

1. Adam steps on Y (n × d) towards a reference X through a measure (loss = −score or
   distance), with 1 restart and with 8 restarts batched in one ``(8, n, d)`` tensor
   (``batch_ndim=1``). The ratio "8 batched / (8 × 1)" below 1 is the gain of batching.
   Every step checks that the loss and the gradient are finite.
2. ``sg.pairwise`` on K representations of n × d (CKA, Procrustes angular score), against the
   plain cross-product GEMMs of the upper triangle (the products it cannot avoid) and against
   a loop over the single-pair function. One off-diagonal entry is checked against the
   single-pair value.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import simgrad as sg


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.perf_counter() + seconds

    def left(self) -> float:
        return self.end - time.perf_counter()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, repeats: int) -> float:
    fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def adam_step_time(name, x, restarts, repeats, device):
    m = sg.measure(name)
    g = torch.Generator(device=device).manual_seed(0)
    shape = (restarts, *x.shape) if restarts > 1 else tuple(x.shape)
    y = torch.randn(shape, generator=g, device=device, dtype=x.dtype).requires_grad_()
    opt = torch.optim.Adam([y], lr=1e-2)
    sign = 1.0 if m.is_distance else -1.0

    def step():
        opt.zero_grad(set_to_none=True)
        out = m(x, y, batch_ndim=1 if restarts > 1 else 0)
        loss = sign * out.sum()
        loss.backward()
        if not (torch.isfinite(loss) and torch.isfinite(y.grad).all()):
            raise FloatingPointError(f"{name}: non-finite loss or gradient")
        opt.step()

    return timed(step, device, repeats)


def pairwise_rows(reps, dtype, device, repeats, deadline, skipped) -> list[dict]:
    rows = []
    cs = [r - r.mean(0) for r in reps]
    k = len(reps)

    def products():
        return [cs[i].T @ cs[j] for i in range(k) for j in range(i, k)]

    t_prod = timed(products, device, repeats) if deadline.left() > 20 else float("nan")
    for name in ("cka", "procrustes-angular_score"):
        if deadline.left() < 30:
            skipped.append(f"pairwise {name} {dtype}")
            continue
        m = sg.measure(name)
        with torch.no_grad():
            t_pw = timed(lambda name=name: sg.pairwise(reps, measure=name), device, repeats)
            t_loop = timed(
                lambda m=m: [m(reps[i], reps[j]) for i in range(k) for j in range(i, k)],
                device,
                1,
            )
            s = sg.pairwise(reps, measure=name)
            err = abs(float(s[0, 1]) - float(m(reps[0], reps[1])))
        tol = 1e-10 if dtype == torch.float64 else 1e-4
        if not err <= tol:
            raise AssertionError(f"pairwise {name} {dtype}: |Δ| = {err:.2e} > {tol}")
        rows.append(
            {
                "task": f"pairwise {k}×{k}, {name}",
                "dtype": str(dtype).split(".")[-1],
                "time_s": t_pw,
                "vs_products": t_pw / t_prod,
                "vs_loop": t_loop / t_pw,
                "err": err,
            }
        )
    return rows


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="n=2000, d=64, K=4: CPU smoke run")
    ap.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--d", type=int, default=1024)
    ap.add_argument("--k", type=int, default=8, help="representations in the pairwise matrix")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--budget-s", type=float, default=270.0, help="stop starting new timings")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args(argv)
    if a.small:
        a.n, a.d, a.k, a.repeats = 2000, 64, 4, 2
    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    deadline = Deadline(a.budget_s)
    rows: list[dict] = []
    skipped: list[str] = []
    what = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU ({torch.get_num_threads()} threads)"
    )
    for dtype in (torch.float32, torch.float64):
        g = torch.Generator(device=device).manual_seed(1)
        x = torch.randn(a.n, a.d, generator=g, device=device, dtype=dtype)
        for name in ("cka", "procrustes-angular_score"):
            if deadline.left() < 20:
                skipped.append(f"optimize {name} {dtype}")
                continue
            t1 = adam_step_time(name, x, 1, a.repeats, device)
            t8 = adam_step_time(name, x, 8, a.repeats, device)
            rows.append(
                {
                    "task": f"Adam step, {name}",
                    "dtype": str(dtype).split(".")[-1],
                    "time_s": t1,
                    "time8_s": t8,
                    "ratio": t8 / (8 * t1),
                }
            )
        del x
        reps = [torch.randn(a.n, a.d, generator=g, device=device, dtype=dtype) for _ in range(a.k)]
        rows += pairwise_rows(reps, dtype, device, a.repeats, deadline, skipped)
        del reps
        if device.type == "cuda":
            torch.cuda.empty_cache()
    print(f"device: {what}; n={a.n}, d={a.d}, K={a.k}; torch {torch.__version__}")
    if a.markdown:
        print(
            "\n| task | dtype | time (s) | 8 restarts batched (s) | 8-batched / (8 × 1) | "
            "pairwise / products | loop / pairwise | |Δ| |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:

        def f(key, fmt="{:.3f}", r=r):
            return fmt.format(r[key]) if key in r else "—"

        if a.markdown:
            print(
                f"| {r['task']} | {r['dtype']} | {r['time_s']:.4f} | {f('time8_s', '{:.4f}')} "
                f"| {f('ratio', '{:.2f}')} | {f('vs_products', '{:.2f}')} | "
                f"{f('vs_loop', '{:.1f}')} | {f('err', '{:.1e}')} |"
            )
        else:
            print(
                f"{r['task']:<44} {r['dtype']:<8} {r['time_s']:9.4f} s  "
                f"8-batch {f('time8_s', '{:.4f}'):>8}  8b/(8×1) {f('ratio', '{:.2f}'):>5}  "
                f"pw/products {f('vs_products', '{:.2f}'):>5}  loop/pw "
                f"{f('vs_loop', '{:.1f}'):>6}  |Δ| {f('err', '{:.1e}')}"
            )
    for s in skipped:
        print(f"skipped (time budget): {s}")
    return rows


if __name__ == "__main__":
    main()
