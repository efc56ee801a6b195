"""Noise ceilings of the shared trial recordings under the paper's six measures (the table in
docs/statistics.md). Needs the recordings (SIMGRAD_DATA_DIR). Run:

    SIMGRAD_DATA_DIR=/path/to/data python benchmarks/stats_ceilings.py [--splits 100]
"""

from __future__ import annotations

import argparse

import simgrad as sg
from simgrad.measures import short_name
from simgrad.options import PANEL

DATASETS = ("hatsopoulos-reach-trials", "park2025-pfc", "zhang-desimone2011-it")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", type=int, default=100)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    args = ap.parse_args()
    head = "| dataset | trials × [time ×] conditions × units | measure | ceiling | 95% split |"
    print(head)
    print("|---|---|---|---|---|")
    for name in args.datasets.split(","):
        trials = sg.stats.ceiling.trial_array(sg.datasets.load(name))
        shape = " × ".join(map(str, trials.shape))
        for m in PANEL:
            try:
                r = sg.stats.noise_ceiling(m, trials, n_splits=args.splits)
                ci = r.confidence_interval
                cell = f"{r.ceiling:.3f} | [{ci.low:.3f}, {ci.high:.3f}]"
            except ValueError as exc:
                cell = f"— | {str(exc).split(';')[0]}"
            print(f"| {name} | {shape} | {short_name(m)} | {cell} |", flush=True)


if __name__ == "__main__":
    main()
