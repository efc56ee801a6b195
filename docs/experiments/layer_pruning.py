"""Layer pruning by similarity (issue 15, acceptance 4; after Pons et al. 2024).

On a digits MLP (``--arch plain``: the 8 hidden Linear+ReLU layers of width 64 of
``layer_correspondence.py``, each removable since all are 64 → 64; ``--arch residual``: 8
residual blocks h ← h + ReLU(W h + b), each skippable as the identity), for each block k:
skip it and
measure linear CKA between the full network's output (logits) and the pruned network's, on
the training inputs. The most redundant block is the one whose removal changes the output
least (highest CKA). Test accuracy (no fine-tuning, and after one epoch of fine-tuning) is
reported for removing the most redundant block(s) against removing a random block (the mean
over all blocks, i.e. the expectation of a uniformly random choice), over ``--seeds`` nets.

    PYTHONPATH=src OMP_NUM_THREADS=1 python3 docs/experiments/layer_pruning.py \
        --out docs/experiments/layer_pruning.json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import simgrad as sg

sys.path.insert(0, str(Path(__file__).parent))
from layer_correspondence import N_LAYERS, data, mlp, train  # noqa: E402


class ResMLP(nn.Module):
    """Input Linear(64, 64) + ReLU, ``N_LAYERS`` residual blocks h ← h + ReLU(W_k h + b_k),
    linear head; ``skip`` = blocks left out (identity)."""

    def __init__(self, seed: int, d_in: int, n_out: int, width: int = 64) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.inp = nn.Sequential(nn.Linear(d_in, width), nn.ReLU())
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(width, width), nn.ReLU()) for _ in range(N_LAYERS)
        )
        self.head = nn.Linear(width, n_out)
        self.skip: set[int] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for k, b in enumerate(self.blocks):
            if k not in self.skip:
                h = h + b(h)
        return self.head(h)


def without(net: nn.Module, blocks: list[int]) -> nn.Module:
    """A copy of ``net`` with hidden blocks ``blocks`` removed (plain: Linear k and its ReLU;
    residual: the block becomes the identity)."""
    if isinstance(net, ResMLP):
        new = copy.deepcopy(net)
        new.skip = set(blocks)
        return new
    mods = list(copy.deepcopy(net))
    drop = {2 * b for b in blocks} | {2 * b + 1 for b in blocks}
    return nn.Sequential(*[m for i, m in enumerate(mods) if i not in drop])


def logits(net: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The output representation through sg.activations (the last Linear)."""
    name = "head" if isinstance(net, ResMLP) else str(len(net) - 1)
    return sg.activations(net, X, layers=[name])[name]


def accuracy(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((net.eval()(X).argmax(1) == y).float().mean())


def one_seed(seed: int, epochs: int, arch: str) -> dict:
    Xtr, ytr, Xte, yte = data("mlp")
    make = ResMLP if arch == "residual" else mlp
    net = train(make(seed, Xtr.shape[1], 10), Xtr, ytr, epochs, seed)
    full = logits(net, Xtr)
    cka = [sg.score("cka", full, logits(without(net, [k]), Xtr)) for k in range(N_LAYERS)]
    order = list(np.argsort(cka)[::-1])  # most redundant first
    acc_each = [accuracy(without(net, [k]), Xte, yte) for k in range(N_LAYERS)]
    tuned_each = [
        accuracy(train(without(net, [k]), Xtr, ytr, 1, seed), Xte, yte) for k in range(N_LAYERS)
    ]
    two = [int(order[0]), int(order[1])]
    return {
        "seed": seed,
        "full_accuracy": accuracy(net, Xte, yte),
        "cka_when_skipped": cka,
        "most_redundant": int(order[0]),
        "accuracy_without_each": acc_each,
        "accuracy_without_each_finetuned": tuned_each,
        "accuracy_without_most_redundant": acc_each[order[0]],
        "accuracy_without_random_mean": float(np.mean(acc_each)),
        "accuracy_without_least_redundant": acc_each[order[-1]],
        "finetuned_without_most_redundant": tuned_each[order[0]],
        "finetuned_without_random_mean": float(np.mean(tuned_each)),
        "two_most_redundant": two,
        "accuracy_without_two_most_redundant": accuracy(without(net, two), Xte, yte),
        "spearman_cka_vs_accuracy": float(
            np.corrcoef(np.argsort(np.argsort(cka)), np.argsort(np.argsort(acc_each)))[0, 1]
        ),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--arch", choices=["plain", "residual"], default="residual")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    rows = [one_seed(s, a.epochs, a.arch) for s in range(a.seeds)]
    keys = [
        "full_accuracy",
        "accuracy_without_most_redundant",
        "accuracy_without_random_mean",
        "accuracy_without_least_redundant",
        "accuracy_without_two_most_redundant",
        "finetuned_without_most_redundant",
        "finetuned_without_random_mean",
        "spearman_cka_vs_accuracy",
    ]
    for k in keys:
        v = [r[k] for r in rows]
        print(f"{k:40s} {np.mean(v):.3f} ± {np.std(v):.3f}   {np.round(v, 3)}")
    print("most redundant block per seed:", [r["most_redundant"] for r in rows])
    if a.out:
        Path(a.out).write_text(json.dumps({"arch": a.arch, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
