"""The figure and table of docs/statistics.md: CKA estimators on *independent* Gaussian data
(n = 50 samples, d units each) as d grows — biased (Gretton) CKA tends to 1, the unbiased
(Song) estimator and null-calibrated biased CKA stay at 0, Lange's zero-diagonal estimator
rises (Murphy, Zylberberg & Fyshe 2024). Seeded; takes seconds. Run:

    python benchmarks/figure_cka_chance.py [--out docs/img/cka_chance.png]
"""

from __future__ import annotations

import argparse

import numpy as np

import simgrad as sg

DS = (10, 30, 100, 300, 1000, 3000, 10000)
ROWS = {
    "biased (gretton)": lambda x, y: sg.score("cka", x, y),
    "unbiased (song)": lambda x, y: sg.score("cka-unbiased", x, y),
    "lange (zero diagonal)": lambda x, y: sg.score("cka-lange", x, y),
    "biased, null-calibrated": lambda x, y: (
        sg.stats.null_calibrated("cka", x, y, n_resamples=199).statistic
    ),
}


def table(n: int = 50, seeds: int = 5) -> dict[str, np.ndarray]:
    """mean and sd over ``seeds`` draws: ``{estimator: array (len(DS), 2)}``."""
    out = {k: np.zeros((len(DS), 2)) for k in ROWS}
    for j, d in enumerate(DS):
        vals = {k: [] for k in ROWS}
        for s in range(seeds):
            rng = np.random.default_rng(1000 * s + d)
            x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
            for k, f in ROWS.items():
                vals[k].append(f(x, y))
        for k in ROWS:
            out[k][j] = np.mean(vals[k]), np.std(vals[k])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/img/cka_chance.png")
    args = ap.parse_args()
    t = table()
    print("| estimator | " + " | ".join(f"d = {d}" for d in DS) + " |")
    print("|---|" + "---|" * len(DS))
    for k, v in t.items():
        print(f"| {k} | " + " | ".join(f"{m:+.3f}" for m in v[:, 0]) + " |")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    for k, v in t.items():
        ax.errorbar(DS, v[:, 0], yerr=v[:, 1], marker="o", ms=4, capsize=2, label=k)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("units d (each of X, Y), n = 50 samples")
    ax.set_ylabel("linear CKA of independent X, Y")
    ax.set_title("CKA by chance: mean ± sd over 5 draws", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
