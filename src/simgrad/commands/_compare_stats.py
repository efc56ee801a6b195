"""Statistics for ``simgrad compare`` (``--permutations``, ``--bootstrap``,
``--ceiling-trials``, ``--out``): per measure the permutation p-value and null mean, the
bootstrap interval, the reference's noise ceiling and score/ceiling (``sg.stats``)."""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

COLUMNS = (
    "name",
    "value",
    "pvalue",
    "null_mean",
    "ci_low",
    "ci_high",
    "ci_method",
    "ceiling",
    "ceiling_low",
    "ceiling_high",
    "score_over_ceiling",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The statistics options of ``simgrad compare``."""
    g = p.add_argument_group("statistics (sg.stats; see docs/statistics.md)")
    g.add_argument(
        "--permutations",
        type=int,
        default=0,
        metavar="N",
        help="permutation test with N shuffles of Y's conditions: p-value, null mean",
    )
    g.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="N",
        help="BCa bootstrap interval (95%%) from N resamples of the conditions",
    )
    g.add_argument(
        "--ceiling-trials",
        default=None,
        metavar="FILE",
        help="trials of the reference, .npy/.npz (trials, [time,] conditions, units): "
        "split-half noise ceiling and score/ceiling",
    )
    g.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    g.add_argument(
        "--out",
        default=None,
        metavar="FILE.csv|FILE.json",
        help="also write the results table (CSV or JSON by suffix)",
    )


def wanted(args: argparse.Namespace) -> bool:
    return bool(args.permutations or args.bootstrap or args.ceiling_trials or args.out)


def _load_trials(path: str) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"--ceiling-trials: no such file: {path}")
    if p.suffix == ".npz":
        with np.load(p, allow_pickle=False) as z:
            return np.asarray(z["data" if "data" in z.files else z.files[0]], dtype=np.float64)
    return np.asarray(np.load(p, allow_pickle=False), dtype=np.float64)


def add_statistics(rows: list[dict], x: np.ndarray, y: np.ndarray, args: argparse.Namespace):
    """Add the requested statistics to each row (ValueError on bad input, before work)."""
    import simgrad as sg

    for flag in ("permutations", "bootstrap"):
        if getattr(args, flag) < 0:
            raise ValueError(f"--{flag} must be a non-negative count.")
    trials = _load_trials(args.ceiling_trials) if args.ceiling_trials else None
    for r in rows:
        if "error" in r:  # the measure failed on these data: reported once, no statistics
            continue
        r.update(
            sg.stats.score_statistics(
                r["name"],
                x,
                y,
                permutations=args.permutations,
                resamples=args.bootstrap,
                seed=args.seed,
                trials=trials,
            )
        )
        if r.get("ceiling") is not None:
            c = r["ceiling"]
            r["score_over_ceiling"] = r["value"] / c if c > 0 else None
    return rows


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def print_statistics(rows: list[dict]) -> None:
    cols = [c for c in COLUMNS[2:] if any(c in r for r in rows)]
    if not cols:
        return
    w = max(len(r["name"]) for r in rows)
    print("\n" + f"{'measure':<{w}}  " + "  ".join(f"{c:>12}" for c in cols))
    for r in rows:
        print(f"{r['name']:<{w}}  " + "  ".join(f"{_cell(r.get(c)):>12}" for c in cols))


def write(rows: list[dict], path: str) -> None:
    """CSV (one row per measure, the COLUMNS) or JSON (the full rows), by suffix."""
    p = Path(path)
    if p.suffix == ".json":
        p.write_text(json.dumps({"results": rows}, indent=2, allow_nan=False, default=str))
        return
    with p.open("w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(COLUMNS)
        for r in rows:
            wr.writerow([_cell(r.get(c)) for c in COLUMNS])
