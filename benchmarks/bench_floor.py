"""Every family at its floor: one table of simgrad vs the unavoidable work and the best
installable peer, all measured in one run.

    python benchmarks/bench_floor.py [--n 4000 --p 512 --q 256] [--repeats 3] [--markdown]

Floors (measured in this run, best of ``--repeats``):

- *products*: XᵀY + XᵀX + YᵀY, the work of every measure of second moments (CKA, Procrustes,
  NBS, shape metrics, CCA family, ENSD, regression, and RSA's polynomial comparisons of
  squared-Euclidean / correlation RDMs, which simgrad evaluates in feature space);
- *RDMs*: forming the two n×n RDMs, the work of RSA's rank comparisons and of the
  neighbourhood measures (an n×n similarity per input).

Peers, when importable (each value is checked against simgrad's, the largest |Δ| printed):
rsatoolbox (``calc_rdm`` + ``compare``) for RSA and for linear CKA (= rsatoolbox
``cosine_cov`` of squared-Euclidean RDMs), scipy ``orthogonal_procrustes`` for Procrustes,
scikit-learn ``LinearRegression`` for in-sample R². netrep is git-only (not on PyPI) and is
listed as unavailable unless importable. Times are forward passes without gradients,
float64; ratios are what to compare across machines.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

import simgrad as sg
from simgrad.measures.rsa import rdm

# (row label, simgrad measure, floor) — one or more measures per family
MEASURES: list[tuple[str, str, str]] = [
    ("cka (linear)", "cka", "products"),
    ("procrustes angular", "procrustes-angular_score", "products"),
    ("nbs", "nbs-score", "products"),
    ("shape metric α=0.5", "shape_metric-alpha=0.5-angular_score", "products"),
    ("cca", "cca-score", "products"),
    ("svcca dim=10", "svcca-dim=10-score", "products"),
    ("pwcca", "pwcca-score", "products"),
    ("ensd", "ensd", "products"),
    ("linear regression R²", "linear_regression-r2", "products"),
    ("ridge λ=1 R²", "ridge-lambda=1-r2", "products"),
    ("rsa sq-euclid × cosine", "rsa-rdm=squared_euclidean-compare=cosine", "products"),
    ("rsa sq-euclid × pearson", "rsa-rdm=squared_euclidean-compare=pearson", "products"),
    ("rsa sq-euclid × cosine_cov", "rsa-rdm=squared_euclidean-compare=cosine_cov", "products"),
    ("rsa correlation × pearson", "rsa-rdm=correlation-compare=pearson", "products"),
    ("rsa correlation × corr_cov", "rsa-rdm=correlation-compare=corr_cov", "products"),
    ("rsa correlation × spearman", "rsa-rdm=correlation-compare=spearman", "RDMs"),
    ("rsa correlation × kendall", "rsa-rdm=correlation-compare=kendall", "RDMs"),
    ("mutual kNN k=10", "mutual_knn-topk=10-score", "RDMs"),
]
_RSATOOLBOX = {
    "cosine": "cosine",
    "pearson": "corr",
    "cosine_cov": "cosine_cov",
    "corr_cov": "corr_cov",
    "spearman": "spearman",
    "kendall": "kendall",
}


def best(fn: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` calls (after one warm-up when repeats > 1)."""
    if repeats > 1:
        fn()
    times = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _try(name: str):
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - any import failure means "not installable here"
        return None


def peer_for(name: str, X: np.ndarray, Y: np.ndarray) -> tuple[str, Callable[[], float]] | None:
    """(peer label, a call returning the peer's value) or None."""
    rsa = _try("rsatoolbox")
    if name.startswith("rsa-") and rsa is not None:
        from rsatoolbox.data import Dataset
        from rsatoolbox.rdm import calc_rdm, compare

        kind = name.split("rdm=")[1].split("-")[0]
        method = _RSATOOLBOX[name.split("compare=")[1].split("-")[0]]
        kind = "euclidean" if kind == "squared_euclidean" else kind

        def run_rsa() -> float:
            rx, ry = calc_rdm(Dataset(X), method=kind), calc_rdm(Dataset(Y), method=kind)
            return float(compare(rx, ry, method=method)[0, 0])

        return "rsatoolbox", run_rsa
    if name == "cka" and rsa is not None:
        return peer_for("rsa-rdm=squared_euclidean-compare=cosine_cov", X, Y)
    if name.startswith("procrustes"):
        from scipy.linalg import orthogonal_procrustes

        def run_proc() -> float:
            a, b = X - X.mean(0), Y - Y.mean(0)
            a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
            w = max(a.shape[1], b.shape[1])
            a = np.pad(a, ((0, 0), (0, w - a.shape[1])))
            b = np.pad(b, ((0, 0), (0, w - b.shape[1])))
            r, _ = orthogonal_procrustes(b, a)
            s = float(np.sum((b @ r) * a))
            return 1 - 2 / np.pi * float(np.arccos(np.clip(s, -1, 1)))

        return "scipy orthogonal_procrustes", run_proc
    if name == "linear_regression-r2" and _try("sklearn") is not None:
        from sklearn.linear_model import LinearRegression

        def run_lr() -> float:  # simgrad's R² predicts X from Y, pooled over units
            pred = LinearRegression().fit(Y, X).predict(Y)
            xc = X - X.mean(0)
            return 1 - float(((X - pred) ** 2).sum() / (xc**2).sum())

        return "scikit-learn LinearRegression", run_lr
    return None


def _data(n: int, p: int, q: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    Y = X[:, :q] @ rng.standard_normal((q, q)) * 0.5 + rng.standard_normal((n, q))
    return X, Y


def run(n: int, p: int, q: int, repeats: int, peers: bool, only: str | None = None) -> list[dict]:
    X, Y = _data(n, p, q)
    x, y = torch.as_tensor(X), torch.as_tensor(Y)
    rows = []
    with torch.no_grad():
        floors = {
            "products": best(lambda: (x.T @ y, x.T @ x, y.T @ y), repeats),
            "RDMs": best(lambda: (rdm(x, "correlation"), rdm(y, "correlation")), repeats),
        }
        for label, name, floor in MEASURES:
            if only and only not in label:
                continue
            m = sg.measure(name)
            t = best(lambda m=m: m(x, y), repeats)
            value = float(m(x, y))
            row = dict(label=label, name=name, t=t, floor=floor, ratio=t / floors[floor])
            peer = peer_for(name, X, Y) if peers else None
            if peer is not None:
                plabel, call = peer
                tp = best(call, 1 if floor == "RDMs" else repeats)
                row.update(peer=plabel, tp=tp, delta=abs(call() - value))
            rows.append(row)
    for r in rows:
        r["floor_s"] = floors[r["floor"]]
    return rows


def markdown(rows: list[dict], args: argparse.Namespace) -> str:
    floors = {"products": np.nan, "RDMs": np.nan} | {r["floor"]: r["floor_s"] for r in rows}
    out = [
        f"n = {args.n} samples, {args.p} vs {args.q} units, float64, torch threads = "
        f"{torch.get_num_threads()}, best of {args.repeats}; floors in this run: products "
        f"{floors['products'] * 1e3:.1f} ms, two correlation RDMs {floors['RDMs'] * 1e3:.1f} ms.",
        "",
        "| measure | simgrad (ms) | ÷ floor | floor | best peer | peer (ms) | peer ÷ simgrad "
        "| max |Δ| |",
        "|---|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in rows:
        peer = r.get("peer", "—")
        tp = f"{r['tp'] * 1e3:.1f}" if "tp" in r else "—"
        speed = f"{r['tp'] / r['t']:.1f}" if "tp" in r else "—"
        delta = f"{r['delta']:.1e}" if "delta" in r else "—"
        out.append(
            f"| {r['label']} | {r['t'] * 1e3:.1f} | {r['ratio']:.2f} | {r['floor']} | {peer} "
            f"| {tp} | {speed} | {delta} |"
        )
    netrep = "importable" if _try("netrep") is not None else "not installable (git-only)"
    out += ["", f"netrep: {netrep}. Machine: {platform.processor() or platform.machine()}, "
            f"Python {platform.python_version()}, torch {torch.__version__}."]  # fmt: skip
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--p", type=int, default=512)
    ap.add_argument("--q", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--only", help="only the rows whose label contains this text")
    ap.add_argument("--markdown", action="store_true", help="(the table is always markdown)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = run(args.n, args.p, args.q, args.repeats, not args.no_peers, args.only)
    print(markdown(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
