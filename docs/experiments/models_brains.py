"""Models and brains (issue 15, acceptance 2): task-trained CTRNNs against recordings.

1. A CTRNN (100 units) trained on the center-out task (task loss only, never the recordings)
   against ``hatsopoulos2007-condavg`` (M1, 8 reach directions): model time window × brain
   time window (100 ms windows from −300 to 400 ms; each window = 5 steps × 8 directions),
   conditions aligned by the ``direction`` label (the model's conditions are deliberately
   given in another order; ``sg.compare`` reorders them).
2. A CTRNN trained on the context-dependent integration task against the ``context``
   reference (15 time points × 72 conditions), aligned on (context, motion and colour
   coherence).

Each trained network is shown beside the same network before training (its seed's initial
weights). Writes ``models_brains.json`` and figures (PNG) beside itself when ``--out`` is given.

    PYTHONPATH=src OMP_NUM_THREADS=1 SIMGRAD_DATA_DIR=/work/shared/data \
        python3 docs/experiments/models_brains.py --out docs/experiments
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import torch

import simgrad as sg
from simgrad.optim import CTRNN, center_out_task, context_integration_task

MEASURES = ("cka", "procrustes-angular_score", "rsa")


def train(net: CTRNN, task, iters: int, lr: float = 0.01) -> list[float]:
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(iters):
        opt.zero_grad()
        out, _ = net(task.inputs)
        loss = task.loss(out)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def states(net: CTRNN, task, order: np.ndarray) -> np.ndarray:
    """(time, conditions, units) hidden states through sg.activations (conditions in
    ``order``): the CTRNN is time-major, so batch_dim=1 and output = the states."""
    acts = sg.activations(net, task.inputs[:, order], output=lambda o: o[1], batch_dim=1)
    flat = acts["output"].numpy()  # (conditions, time*units)
    T = task.inputs.shape[0]
    return flat.reshape(len(order), T, -1).transpose(1, 0, 2)


def windows(data: np.ndarray, times: np.ndarray, edges: list[float]) -> dict[str, np.ndarray]:
    out = {}
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (times > lo) & (times <= hi)
        out[f"{int(lo)}..{int(hi)}"] = data[sel]
    return out


def center_out(iters: int, seed: int) -> dict:
    brain = sg.datasets.load("hatsopoulos2007-condavg")
    dirs = brain.labels["direction"]
    task = center_out_task(dirs, dt=20.0, start_ms=-300, stop_ms=400)
    net = CTRNN(task.n_inputs, 100, 2, seed=seed)
    init = copy.deepcopy(net)
    losses = train(net, task, iters)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(dirs))  # the model's conditions in another order
    edges = list(range(-300, 401, 100))
    # brain: 10 ms bins -> the model's 20 ms step ends
    steps = np.abs(brain.time[None, :] - task.time_ms[:, None]).argmin(1)
    b = brain.data[steps]
    bw = windows(b, task.time_ms, edges)
    brain_side = {k: sg.Dataset(v, {"direction": dirs}, name=f"M1 {k}") for k, v in bw.items()}
    res = {"task_loss": [losses[0], losses[-1]]}
    for label, model in (("trained", net), ("untrained", init)):
        mw = windows(states(model, task, order), task.time_ms, edges)
        df = sg.compare(mw, brain_side, measures=MEASURES, labels_a={"direction": dirs[order]})
        whole = sg.compare(
            {"model": states(model, task, order)},
            {"M1": b},
            measures=MEASURES,
            labels_a={"direction": dirs[order]},
            labels_b={"direction": dirs},
        )
        res[label] = {"windows": df.to_dict("records"), "whole": whole.to_dict("records")}
    return res


def context(iters: int, seed: int) -> dict:
    ref = sg.datasets.load("context")
    task = context_integration_task()
    net = CTRNN(task.n_inputs, 100, 3, seed=seed)
    init = copy.deepcopy(net)
    losses = train(net, task, iters)
    steps = task.steps_at(ref.time).numpy()
    keys = ("context", "motion_coherence", "colour_coherence")
    lab_model = {k: task.labels[k] for k in keys}
    res = {"task_loss": [losses[0], losses[-1]]}
    for label, model in (("trained", net), ("untrained", init)):
        s = states(model, task, np.arange(task.n_conditions))[steps]
        df = sg.compare({"model": s}, ref, measures=MEASURES, labels_a=lab_model)
        res[label] = {"whole": df.to_dict("records")}
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--iters", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    result = {"center_out": center_out(a.iters, a.seed), "context": context(a.iters, a.seed)}
    for part in ("center_out", "context"):
        r = result[part]
        print(part, "task loss", np.round(r["task_loss"], 4))
        for label in ("trained", "untrained"):
            for row in r[label]["whole"]:
                print(f"  {label:9s} {row['measure']:28s} {row['score']:.3f}")
    if a.out:
        out = Path(a.out)
        (out / "models_brains.json").write_text(json.dumps(result, indent=1, default=float))
        figures(result, out)


def figures(result: dict, out: Path) -> None:
    """Heatmaps of the center-out comparison, model window × M1 window."""
    import pandas as pd

    from simgrad.report.figures import png_bytes
    from simgrad.report.layers import layer_heatmap

    for label in ("trained", "untrained"):
        df = pd.DataFrame(result["center_out"][label]["windows"])
        fig = layer_heatmap(
            df,
            "cka",
            xlabel="M1 window (ms from movement onset)",
            ylabel=f"{label} CTRNN window (ms)",
        )
        (out / f"models_brains_center_out_{label}_cka.png").write_bytes(png_bytes(fig))


if __name__ == "__main__":
    main()
