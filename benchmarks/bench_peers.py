"""simgrad against the libraries a user would otherwise pick, on the same all-pairs tasks.

For each task the peer and simgrad compute the same K×K matrix (values are compared, the
largest difference is printed) and the ratio of their times, measured in this run (median
of ``--repeats``), is reported. Peers that cannot be imported are listed with the reason.

    pip install -e ".[bench]"           # ckatorch, himalaya, repsim (Kisung You's, PyPI)
    python benchmarks/bench_peers.py [--markdown] [--k 8 --n 500 --d 64]

Peers:
- rsatoolbox (``calc_rdm`` + ``compare``) for RSA with correlation RDMs and Pearson comparison;
- ckatorch (``cka_base``, linear kernel, biased and unbiased) looped over pairs;
- repsim 0.1.5 from PyPI — Kisung You's C++/Eigen package (not wrongu/repsim, which is
  git-only): ``repsim.cka(list, "linear", "gretton")`` returns the M×M matrix directly;
- himalaya ``Ridge`` (numpy backend) fitted per pair, pooled in-sample R²;
- netrep: not on PyPI (git-only install), reported as unavailable unless importable, then
  ``LinearMetric(alpha=1, score_method="angular").pairwise_distances``.
"""

from __future__ import annotations

import argparse
import importlib

import numpy as np
import torch

import simgrad as sg
from bench_pairwise import timeit  # median of repeats (run from benchmarks/ or as a script)


def make_reps(k: int, n: int, d: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 16))
    return [latent @ rng.standard_normal((16, d)) + rng.standard_normal((n, d)) for _ in range(k)]


def try_import(name: str):
    try:
        return importlib.import_module(name), ""
    except Exception as exc:  # noqa: BLE001 - report any import failure
        return None, f"{type(exc).__name__}: {exc}"[:80]


def ours(name: str, reps) -> np.ndarray:
    with torch.no_grad():
        return sg.pairwise(reps, measure=name).numpy()


def task_rsatoolbox(reps):
    rsa, err = try_import("rsatoolbox")
    if rsa is None:
        return None, err
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm, compare, concat

    def peer():
        rdms = concat([calc_rdm(Dataset(x), method="correlation") for x in reps])
        return compare(rdms, rdms, method="corr")

    return (
        "rsatoolbox calc_rdm + compare(corr)",
        "rsa-rdm=correlation-compare=pearson-score",
        peer,
    ), ""


def task_ckatorch(reps, unbiased: bool):
    ck, err = try_import("ckatorch.core")
    if ck is None:
        return None, err
    ts = [torch.as_tensor(x) for x in reps]

    def peer():
        k = len(ts)
        out = np.eye(k)
        with torch.no_grad():
            for i in range(k):
                for j in range(i + 1, k):
                    out[i, j] = out[j, i] = float(
                        ck.cka_base(ts[i], ts[j], kernel="linear", unbiased=unbiased)
                    )
        return out

    label = "ckatorch cka_base loop" + (" (unbiased)" if unbiased else "")
    return (label, "cka-hsic_song" if unbiased else "cka", peer), ""


def task_repsim(reps):
    rp, err = try_import("repsim")
    if rp is None:
        return None, err
    if not hasattr(rp, "cka"):
        return None, "this repsim is not Kisung You's package (no repsim.cka)"
    return (
        "repsim (K. You, C++) cka linear gretton",
        "cka",
        lambda: np.asarray(rp.cka(reps, kernel_type="linear", estimator="gretton")),
    ), ""


def task_himalaya(reps, alpha: float):
    hm, err = try_import("himalaya.ridge")
    if hm is None:
        return None, err

    def peer():
        k = len(reps)
        out = np.empty((k, k))
        for i, x in enumerate(reps):  # predict X = reps[i] from Y = reps[j]
            xc = x - x.mean(0)
            for j, y in enumerate(reps):
                pred = hm.Ridge(alpha=alpha, fit_intercept=True).fit(y, x).predict(y)
                out[i, j] = 1 - ((x - pred) ** 2).sum() / (xc**2).sum()
        return out

    return (
        f"himalaya Ridge(alpha={alpha:g}) per pair, pooled R²",
        f"ridge-lambda={alpha:g}-r2",
        peer,
    ), ""


def task_netrep(reps):
    nr, err = try_import("netrep.metrics")
    if nr is None:
        return None, "not on PyPI (git-only install); " + err
    metric = nr.LinearMetric(alpha=1.0, center_columns=True, score_method="angular")

    def peer():
        d = metric.pairwise_distances(reps, processes=1, verbose=False)
        return np.cos(d[0] if isinstance(d, tuple) else d)

    return ("netrep LinearMetric(alpha=1) pairwise_distances (cos)", "nbs", peer), ""


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    reps = make_reps(a.k, a.n, a.d)
    tasks = [
        ("rsatoolbox", task_rsatoolbox(reps)),
        ("ckatorch", task_ckatorch(reps, unbiased=False)),
        ("ckatorch", task_ckatorch(reps, unbiased=True)),
        ("repsim", task_repsim(reps)),
        ("himalaya", task_himalaya(reps, alpha=100.0)),
        ("netrep", task_netrep(reps)),
    ]
    rows = []
    for peer_name, (spec, err) in tasks:
        if spec is None:
            rows.append({"peer": peer_name, "task": "—", "error": err})
            continue
        label, measure, peer = spec
        t_peer = timeit(peer, a.repeats, warmup=True)
        t_ours = timeit(lambda measure=measure: ours(measure, reps), a.repeats, warmup=True)
        diff = float(np.abs(np.asarray(peer()) - ours(measure, reps)).max())
        rows.append(
            {
                "peer": peer_name,
                "task": label,
                "measure": measure,
                "peer_s": t_peer,
                "ours_s": t_ours,
                "ratio": t_peer / t_ours,
                "max_abs_diff": diff,
            }
        )
    print(
        f"K={a.k} representations × n={a.n} samples × d={a.d} units (all pairs), float64, "
        f"{a.threads} thread(s), torch {torch.__version__}"
    )
    if a.markdown:
        print(
            "\n| peer | task | simgrad measure | peer (s) | simgrad (s) | peer / simgrad | "
            "max |Δ| |"
        )
        print("|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            line = (
                f"| {r['peer']} | not available: {r['error']} | | | | | |"
                if a.markdown
                else f"{r['peer']:<11} not available: {r['error']}"
            )
        elif a.markdown:
            line = (
                f"| {r['peer']} | {r['task']} | `{r['measure']}` | {r['peer_s']:.3f} | "
                f"{r['ours_s']:.3f} | {r['ratio']:.1f} | {r['max_abs_diff']:.1e} |"
            )
        else:
            line = (
                f"{r['peer']:<11} {r['task']:<48} {r['peer_s']:8.3f} s  simgrad "
                f"{r['ours_s']:8.3f} s  ratio {r['ratio']:7.1f}  maxdiff "
                f"{r['max_abs_diff']:.1e}"
            )
        print(line)
    return rows


if __name__ == "__main__":
    main()
