"""Layer pruning by similarity (issue 15, acceptance 4; after Pons et al. 2024).

On the digits MLP of ``layer_correspondence.py`` (8 hidden Linear+ReLU blocks of width 64,
all skippable since the input has 64 features), for each block k: skip it (identity) and
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


def without(net: nn.Sequential, blocks: list[int]) -> nn.Sequential:
    """A copy of ``net`` with hidden blocks ``blocks`` (Linear k and its ReLU) removed."""
    mods = list(copy.deepcopy(net))
    drop = {2 * b for b in blocks} | {2 * b + 1 for b in blocks}
    return nn.Sequential(*[m for i, m in enumerate(mods) if i not in drop])


def accuracy(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((net.eval()(X).argmax(1) == y).float().mean())


def one_seed(seed: int, epochs: int) -> dict:
    Xtr, ytr, Xte, yte = data("mlp")
    net = train(mlp(seed, Xtr.shape[1], 10), Xtr, ytr, epochs, seed)
    last = str(2 * N_LAYERS)
    full = sg.activations(net, Xtr, layers=[last])[last]
    cka = []
    for k in range(N_LAYERS):
        pruned = without(net, [k])
        out = sg.activations(pruned, Xtr, layers=[str(2 * N_LAYERS - 2)])
        cka.append(sg.score("cka", full, next(iter(out.values()))))
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
    p.add_argument("--out", default=None)
    a = p.parse_args()
    rows = [one_seed(s, a.epochs) for s in range(a.seeds)]
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
        Path(a.out).write_text(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
