"""The main job's tables: one unit's checkpoint arrays as DataFrames, the theory's
predictions and the summary (one row per measure).

Columns of the CSVs are :data:`TABLE_COLUMNS`. Averages over seeds in :func:`summary_table`
use only the seeds where a threshold was reached; the ``reached`` columns say how many of
them did ("never reached" is never replaced by a number). The rules the report reads the
tables by live here once: each seed's last row (:func:`last_rows`), a final score reaching the
target (:func:`reached_target`), a PC captured before the cutoff (:func:`captured`,
:func:`pc_counts`) and the "k/n" cells (:func:`k_of_n`, :func:`split_k_of_n`,
:func:`missed_target`).

>>> scores = pd.DataFrame({"measure": "m", "seed": 0, "iteration": [0, 1], "score": [.1, .99]})
>>> thr = pd.DataFrame({"measure": ["m"], "seed": [0], "label": ["ctx"], "chance": [.5],
...                     "reference_accuracy": [1.0], "threshold_accuracy": [.95],
...                     "threshold_score": [.4]})
>>> pcs = pd.DataFrame({"measure": "m", "seed": 0, "pc": [1, 2],
...                     "explained_variance_ratio": [.9, .1], "capture_score": [.3, None]})
>>> summary_table(scores, thr, pcs).loc[0, ["threshold_score:ctx", "pcs_captured"]].tolist()
[0.4, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PC_R2_COLUMNS",
    "TABLE_COLUMNS",
    "concat",
    "summary_table",
    "theory_table",
    "unit_tables",
]

#: the columns of ``results/<name>.csv``
TABLE_COLUMNS = {
    "scores": ["measure", "seed", "iteration", "score"],
    "decoding": ["measure", "seed", "iteration", "score", "label", "accuracy"],
    "thresholds": [
        "measure",
        "seed",
        "label",
        "chance",
        "reference_accuracy",
        "threshold_accuracy",
        "threshold_score",
    ],
    "pc_capture": ["measure", "seed", "pc", "explained_variance_ratio", "capture_score"],
}
#: the columns of the R² table behind the PC figure (not written as a CSV)
PC_R2_COLUMNS = ["measure", "seed", "iteration", "score", "pc", "r2"]


def unit_tables(measure: str, seed: int, a: Mapping[str, np.ndarray]) -> dict[str, pd.DataFrame]:
    """One (measure, seed) unit's checkpoint arrays as the rows of every table."""
    scores = a["scores"]
    t_scores = pd.DataFrame(
        {
            "measure": measure,
            "seed": seed,
            "iteration": np.arange(len(scores), dtype=np.int64),
            "score": scores,
        }
    )
    rec, rs = a["recorded_iterations"], a["recorded_scores"]
    dec_rows, thr_rows = [], []
    if "labels" in a:
        for j, lab in enumerate(a["labels"].tolist()):
            sel = a["decoded_label"] == j
            dec_rows.append(
                pd.DataFrame(
                    {
                        "measure": measure,
                        "seed": seed,
                        "iteration": a["decoded_iterations"][sel],
                        "score": a["decoded_scores"][sel],
                        "label": lab,
                        "accuracy": a["decoded_accuracy"][sel],
                    }
                )
            )
            ts = float(a["threshold_score"][j])
            thr_rows.append(
                {
                    "measure": measure,
                    "seed": seed,
                    "label": lab,
                    "chance": float(a["chance"][j]),
                    "reference_accuracy": float(a["reference_accuracy"][j]),
                    "threshold_accuracy": float(a["threshold_accuracy"][j]),
                    "threshold_score": ts if math.isfinite(ts) else None,
                }
            )
    evr, cap = a["explained_variance_ratio"], a["capture_score"]
    t_pc = pd.DataFrame(
        {
            "measure": measure,
            "seed": seed,
            "pc": np.arange(1, len(evr) + 1, dtype=np.int64),
            "explained_variance_ratio": evr,
            "capture_score": [float(c) if math.isfinite(c) else None for c in cap],
        }
    )
    r2 = a["pc_r2"]
    k, p = r2.shape
    t_r2 = pd.DataFrame(
        {
            "measure": measure,
            "seed": seed,
            "iteration": np.repeat(rec, p),
            "score": np.repeat(rs, p),
            "pc": np.tile(np.arange(1, p + 1, dtype=np.int64), k),
            "r2": r2.ravel(),
        }
    )
    return {
        "scores": t_scores,
        "decoding": pd.concat(dec_rows, ignore_index=True) if dec_rows else None,
        "thresholds": pd.DataFrame(thr_rows) if thr_rows else None,
        "pc_capture": t_pc,
        "pc_r2": t_r2,
    }


def concat(parts: list, columns: list[str]) -> pd.DataFrame:
    """The non-empty ``parts`` stacked, in ``columns`` order (typed empty if none)."""
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    df = pd.concat(parts, ignore_index=True)
    return df[columns]


def theory_table(ds: Any, measures: Sequence[str]) -> pd.DataFrame:
    """The spectrum-only theory's capture score per PC, for the measures with a closed form."""
    from ..analysis import theory

    rows = []
    flat = ds.flat()
    lam = theory.spectrum(flat)
    evr = lam / lam.sum() if lam.sum() > 0 else lam
    for m in measures:
        try:
            pred = theory.capture_scores_topk(flat, m)
        except ValueError:  # no closed form for this measure
            continue
        for i, v in enumerate(pred):
            rows.append(
                {
                    "measure": m,
                    "pc": i + 1,
                    "explained_variance_ratio": float(evr[i]),
                    "predicted_capture_score": float(v),
                }
            )
    cols = ["measure", "pc", "explained_variance_ratio", "predicted_capture_score"]
    return pd.DataFrame(rows, columns=cols)


def last_rows(scores: pd.DataFrame, measure: str, *, first: bool = False) -> pd.DataFrame:
    """Each seed's last recorded row of ``measure`` in ``scores`` (the largest
    ``iteration``; ``first=True``: the smallest), one row per seed in seed order."""
    s = scores[scores["measure"] == measure]
    g = s.sort_values(["seed", "iteration"]).groupby("seed")
    return g.head(1) if first else g.tail(1)


def reached_target(finals: Any, target: float, is_distance: bool) -> Any:
    """Which final scores reached ``target``: ``final ≥ target`` (a distance: ``final ≤
    target``, it fell to it); elementwise on a Series or array."""
    return finals <= target if is_distance else finals >= target


def captured(capture_score: Any, cutoff: float) -> Any:
    """Which PCs were captured before the score reached ``cutoff``: ``capture_score ≤
    cutoff`` (a PC never captured, NaN, is not); elementwise on a Series or array."""
    return capture_score <= cutoff


def pc_counts(pc_capture: pd.DataFrame, cutoff: float) -> tuple[float, int]:
    """One measure's ``pc_capture`` rows → (mean over seeds of the number of PCs
    :func:`captured` before ``cutoff``, the most PCs any seed has)."""
    p = pc_capture
    n_captured = captured(p["capture_score"], cutoff).groupby(p["seed"]).sum()
    return float(n_captured.mean()), int(p.groupby("seed")["pc"].count().max())


def k_of_n(k: int, n: int) -> str:
    """The summary's "k/n" cell (``target_reached``, ``reached:<label>``): k of n seeds."""
    return f"{k}/{n}"


def split_k_of_n(cell: object) -> tuple[int, int]:
    """``(k, n)`` of a "k/n" cell written by :func:`k_of_n` (a DataFrame value or CSV text)."""
    k, n = (int(x) for x in str(cell).split("/"))
    return k, n


def missed_target(row: Mapping[str, Any]) -> bool:
    """Whether none of a summary row's seeds reached the target (its ``target_reached`` is
    "0/n"); ``False`` when the summary has no ``target_reached`` column.

    >>> [missed_target(r) for r in ({"target_reached": "0/3"}, {"target_reached": "1/3"}, {})]
    [True, False, False]
    """
    return "target_reached" in row and split_k_of_n(row["target_reached"])[0] == 0


def _n_reached(measure: str, finals: pd.Series, target: float) -> int:
    """How many final scores reached ``target`` (a distance: fell to it)."""
    from ..measures import measure as get_measure

    try:
        dist = get_measure(measure).is_distance
    except ValueError:  # not a registered name (a hand-made table): a score
        dist = False
    return int(reached_target(finals, target, dist).sum())


def summary_table(
    scores: pd.DataFrame,
    thresholds: pd.DataFrame,
    pc_capture: pd.DataFrame,
    *,
    cutoff: float = 0.9,
    measures: Sequence[str] | None = None,
    target: float | None = None,
) -> pd.DataFrame:
    """One row per measure: ``measure, seeds, iterations, final_score``, then (with
    ``target``) ``target_reached`` ("k/n": the seeds whose final score reached ``target``; a
    distance: fell to it), then (with more than one seed) ``final_score_min`` and
    ``final_score_max`` over seeds, then for each label ``threshold_score:<label>`` (mean over
    the seeds that reached it, NaN if none did) and ``reached:<label>`` ("k/n"), then
    ``pcs_captured`` (mean number of PCs whose capture score is ≤ ``cutoff``: captured before
    the score reached ``cutoff``) and ``n_pcs``.
    """
    ms = list(measures) if measures is not None else list(dict.fromkeys(scores["measure"]))
    labels = list(dict.fromkeys(thresholds["label"])) if len(thresholds) else []
    rows = []
    for m in ms:
        last = last_rows(scores, m)
        row: dict[str, object] = {
            "measure": m,
            "seeds": int(last["seed"].nunique()),
            "iterations": float(last["iteration"].mean()) if len(last) else math.nan,
            "final_score": float(last["score"].mean()) if len(last) else math.nan,
        }
        if target is not None:
            row["target_reached"] = k_of_n(_n_reached(m, last["score"], target), len(last))
        if len(ms) and scores.groupby("measure")["seed"].nunique().max() > 1:
            row["final_score_min"] = float(last["score"].min()) if len(last) else math.nan
            row["final_score_max"] = float(last["score"].max()) if len(last) else math.nan
        t = thresholds[thresholds["measure"] == m]
        for lab in labels:
            v = t[t["label"] == lab]["threshold_score"]
            reached = v.dropna()
            row[f"threshold_score:{lab}"] = float(reached.mean()) if len(reached) else math.nan
            row[f"reached:{lab}"] = k_of_n(len(reached), len(v))
        p = pc_capture[pc_capture["measure"] == m]
        if len(p):
            row["pcs_captured"], row["n_pcs"] = pc_counts(p, cutoff)
        else:
            row["pcs_captured"] = math.nan
            row["n_pcs"] = 0
        rows.append(row)
    return pd.DataFrame(rows)
