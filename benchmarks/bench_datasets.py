"""Loading time of every shared dataset (and the synthetic ``context`` reference).

Baseline, measured in the same run: reading the arrays the loader needs with plain
``np.load`` (the unavoidable I/O + decompression). Prints, per dataset, the best of
``--repeat`` runs of ``sg.datasets.load(name)``, the baseline, their ratio, and whether the
load stays under the 2 s budget.

    python benchmarks/bench_datasets.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import simgrad as sg

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "SIMGRAD_DATA_DIR" not in os.environ and SHARED.is_dir():
    os.environ["SIMGRAD_DATA_DIR"] = str(SHARED)

#: name -> (file under the data directory, arrays the loader reads)
FILES = {
    "hatsopoulos2007-condavg": (
        "hatsopoulos2007_m1_condavg/hatsopoulos2007_condavg.npz",
        ["firing_rate_hz", "time_ms"],
    ),
    "hatsopoulos-reach-trials": (
        "hatsopoulos_reachdata_m1_trials/reachdata_trials.npz",
        ["rate_hz", "direction_deg"],
    ),
    "zhang-desimone2011-it": (
        "zhang_desimone2011_it_objects/zhang_desimone_it.npz",
        ["counts_50ms", "trial_neuron_idx", "trial_object_idx", "trial_position_idx"],
    ),
    "park2025-pfc": (
        "park2025_pfc_look_nolook/park_pfc.npz",
        ["spike_counts_50ms", "trial_unit_idx", "trial_task_idx", "trial_direction_idx"],
    ),
}


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def raw_read(path: Path, keys: list[str]) -> None:
    with np.load(path) as z:
        for k in keys:
            z[k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = sg.datasets.data_dir()
    print(f"data directory: {root}")
    print(f"{'dataset':26s} {'shape':>18s} {'load s':>8s} {'np.load s':>10s} {'ratio':>7s}  <2 s")
    for name, (rel, keys) in FILES.items():
        path = root / rel
        if not path.is_file():
            print(f"{name:26s} (missing: {path})")
            continue
        shape = sg.datasets.load(name).shape  # warm-up (imports, page cache)
        t_load = best_of(lambda n=name: sg.datasets.load(n), args.repeat)
        t_raw = best_of(lambda p=path, k=keys: raw_read(p, k), args.repeat)
        ok = "yes" if t_load < 2.0 else "NO"
        ratio = t_load / t_raw
        print(f"{name:26s} {str(shape):>18s} {t_load:8.3f} {t_raw:10.3f} {ratio:7.2f}  {ok}")
    shape = sg.datasets.load("context").shape
    t_ctx = best_of(lambda: sg.datasets.load("context", seed=0), args.repeat)
    print(
        f"{'context (synthetic)':26s} {str(shape):>18s} {t_ctx:8.3f} {'-':>10s} {'-':>7s}  "
        f"{'yes' if t_ctx < 2.0 else 'NO'}"
    )


if __name__ == "__main__":
    main()
