"""Kornblith et al. (2019) Table 2 test, offline: does a measure find the corresponding layer?

Two settings (each: ``--seeds`` networks of one architecture trained from different seeds):

- ``mlp``: 8 hidden ReLU layers (width 64) on scikit-learn's digits (8×8 images);
- ``cnn``: 8 Conv1d(8, k=5) + BatchNorm + ReLU blocks on MNIST-1D (``mnist1d`` package,
  generated procedurally: no download).

For every ordered pair of networks (i ≠ j) and every layer l of network i, the layer of
network j with the highest similarity to it is "picked"; the table gives the fraction of picks
equal to l (chance = 1/8). Layers are compared on held-out inputs, flattened.

    PYTHONPATH=src OMP_NUM_THREADS=1 python3 docs/experiments/layer_correspondence.py \
        --out docs/experiments/layer_correspondence.json
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import permutations

import numpy as np
import torch
from torch import nn

import simgrad as sg

MEASURES = {
    "CKA (linear)": "cka",
    "CKA (RBF 0.4)": "cka-kernel=(rbf-sigma=0.4)-hsic=gretton-score",
    "CKA (RBF 0.8)": "cka-kernel=(rbf-sigma=0.8)-hsic=gretton-score",
    "angular Procrustes": "procrustes-angular_score",
    "CCA (mean ρ)": "cca",
    "CCA (R²_CCA)": "cca-squared_score",
    "SVCCA (0.99)": "svcca",
    "PWCCA": "pwcca",
    "linear regression (R²)": "linreg",
    "RSA (correlation RDM, Pearson)": "rsa",
}
#: Kornblith et al. 2019, Table 2 (10 ten-layer CNNs on CIFAR-10), as recalled: see docs/models.md.
PUBLISHED = {
    "CKA (linear)": 99.3,
    "CKA (RBF 0.4)": 99.1,
    "CKA (RBF 0.8)": 99.3,
    "CCA (mean ρ)": 1.4,
    "CCA (R²_CCA)": 10.6,
    "SVCCA (0.99)": 9.9,
    "PWCCA": 11.1,
    "linear regression (R²)": 45.4,
}
N_LAYERS = 8


def mlp(seed: int, d_in: int, n_out: int, width: int = 64) -> nn.Module:
    torch.manual_seed(seed)
    mods: list[nn.Module] = []
    d = d_in
    for _ in range(N_LAYERS):
        mods += [nn.Linear(d, width), nn.ReLU()]
        d = width
    mods.append(nn.Linear(d, n_out))
    return nn.Sequential(*mods)


class CNN1d(nn.Module):
    """8 × (Conv1d 8 channels, kernel 5, padding 2; BatchNorm; ReLU), then a linear readout."""

    def __init__(self, seed: int, length: int, n_out: int, channels: int = 8) -> None:
        super().__init__()
        torch.manual_seed(seed)
        blocks = []
        c = 1
        for _ in range(N_LAYERS):
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(c, channels, 5, padding=2), nn.BatchNorm1d(channels), nn.ReLU()
                )
            )
            c = channels
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(channels * length, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(x[:, None, :]).flatten(1))


def data(setting: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    if setting == "mlp":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        rng = np.random.default_rng(0)
        idx = rng.permutation(len(X))
        tr, te = idx[:1200], idx[1200:]
        return (
            torch.tensor(X[tr], dtype=torch.float32),
            torch.tensor(y[tr]),
            torch.tensor(X[te], dtype=torch.float32),
            torch.tensor(y[te]),
        )
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = 5000
    d = make_dataset(args)
    return (
        torch.tensor(d["x"], dtype=torch.float32),
        torch.tensor(d["y"]),
        torch.tensor(d["x_test"], dtype=torch.float32),
        torch.tensor(d["y_test"]),
    )


def train(net: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, seed: int) -> nn.Module:
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(X), generator=g).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(net(X[idx]), y[idx]).backward()
            opt.step()
    return net.eval()


def layer_names(net: nn.Module, setting: str) -> list[str]:
    if setting == "mlp":
        return [str(2 * k + 1) for k in range(N_LAYERS)]  # the ReLUs
    return [f"blocks.{k}" for k in range(N_LAYERS)]


def accuracy(reps: list[dict[str, torch.Tensor]], name: str) -> float:
    hits = total = 0
    for i, j in permutations(range(len(reps)), 2):
        df = sg.compare(reps[i], reps[j], measures=name)
        S = df.pivot(index="a", columns="b", values="score").loc[list(reps[i]), list(reps[j])]
        picks = np.asarray(S.to_numpy()).argmax(1)
        hits += int((picks == np.arange(len(picks))).sum())
        total += len(picks)
    return hits / total


def run(setting: str, seeds: int, epochs: int, n_eval: int, only: list[str] | None = None) -> dict:
    Xtr, ytr, Xte, yte = data(setting)
    Xev = Xte[:n_eval]
    reps, accs = [], []
    t0 = time.perf_counter()
    for s in range(seeds):
        net = mlp(s, Xtr.shape[1], 10) if setting == "mlp" else CNN1d(s, Xtr.shape[1], 10)
        train(net, Xtr, ytr, epochs, s)
        with torch.no_grad():
            accs.append(float((net(Xte).argmax(1) == yte).float().mean()))
        reps.append(sg.activations(net, Xev, layers=layer_names(net, setting)))
    t_train = time.perf_counter() - t0
    print(
        f"{setting}: trained {seeds} nets in {t_train:.0f}s, accuracy {np.round(accs, 3)}",
        flush=True,
    )
    table = {}
    errors = {}
    for label, name in MEASURES.items():
        if only and label not in only:
            continue
        try:
            table[label] = accuracy(reps, name)
        except Exception as exc:  # a measure failing on real activations is a finding
            errors[label] = f"{type(exc).__name__}: {str(exc)[:200]}"
            table[label] = float("nan")
        print(f"  {label:32s} {100 * table[label]:5.1f}%", flush=True)
    return {
        "setting": setting,
        "seeds": seeds,
        "epochs": epochs,
        "n_eval": int(len(Xev)),
        "test_accuracy": accs,
        "train_seconds": t_train,
        "fraction_correct": table,
        "errors": errors,
        "units": {k: int(v.shape[1]) for k, v in reps[0].items()},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--settings", default="mlp,cnn")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--n-eval", type=int, default=500)
    p.add_argument("--only", default=None, help="measure labels (';'-separated) to run")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    only = a.only.split(";") if a.only else None
    results = [run(s, a.seeds, a.epochs, a.n_eval, only) for s in a.settings.split(",")]
    print(f"{'measure':32s} " + " ".join(f"{r['setting']:>8s}" for r in results) + "  published")
    for label in MEASURES:
        if only and label not in only:
            continue
        cells = " ".join(f"{100 * r['fraction_correct'][label]:7.1f}%" for r in results)
        pub = PUBLISHED.get(label)
        print(f"{label:32s} {cells}  {'' if pub is None else f'{pub:.1f}%'}")
    for r in results:
        acc = np.round(r["test_accuracy"], 3)
        print(r["setting"], "test accuracy", acc, f"{r['train_seconds']:.0f}s")
    if a.out:
        with open(a.out, "w") as fh:
            json.dump({"results": results, "published": PUBLISHED}, fh, indent=1)


if __name__ == "__main__":
    main()
