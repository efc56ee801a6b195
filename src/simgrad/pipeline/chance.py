"""``results/chance.csv``: how high each measure gets by chance at the reference's n and d.

For every measure of the run: the distribution of ``measure(reference, G)`` over independent
standard Gaussian G of the reference's shape (``sg.stats.chance_level``, :data:`N_DRAWS`
draws evaluated as one batch: seconds for the paper's panel), next to the run's own scores:
the initial (iteration 0) and final scores over seeds, with their across-seed range when
``--seeds > 1``, and where the final score sits in the null (``final_above_null``: the
fraction of null draws it exceeds; for a distance, the fraction it stays below).
``null_q95`` is the normal approximation mean + 1.645·sd (mean − 1.645·sd for a distance):
with a handful of draws an empirical 95th percentile would be the maximum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..measures import measure as get_measure
from ..stats import chance_level
from .tables import last_rows

__all__ = ["CHANCE_COLUMNS", "N_DRAWS", "chance_table"]

#: null draws per measure, one batched call each: the null's spread at these sizes is small
#: (sd ≈ 0.005 for CKA on the default reference), so 8 draws fix its mean and sd to a few
#: thousandths at ≈ 0.15 s per measure on the default reference (quiet machine, 2 cores)
N_DRAWS = 8

CHANCE_COLUMNS = [
    "measure",
    "samples",
    "units",
    "null_mean",
    "null_sd",
    "null_q95",
    "initial_score",
    "final_score",
    "final_low",
    "final_high",
    "seeds",
    "final_above_null",
]


def _ends(scores: pd.DataFrame, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """Each seed's first (iteration 0) and last score of ``measure``, in seed order."""
    first = last_rows(scores, measure, first=True)["score"]
    return first.to_numpy(float), last_rows(scores, measure)["score"].to_numpy(float)


def chance_table(
    data: np.ndarray,
    measures: Sequence[str],
    scores: pd.DataFrame,
    *,
    n_draws: int = N_DRAWS,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per measure (:data:`CHANCE_COLUMNS`); ``data`` is the reference's array.

    >>> import numpy as np, pandas as pd
    >>> ref = np.random.default_rng(0).normal(size=(40, 8))
    >>> sc = pd.DataFrame({"measure": "cka", "seed": 0, "iteration": [0, 1], "score": [.2, .99]})
    >>> row = chance_table(ref, ["cka"], sc, n_draws=8).iloc[0]
    >>> bool(row["final_above_null"] == 1.0)
    True
    """
    rows: list[dict[str, Any]] = []
    arr = np.asarray(data, dtype=np.float64)
    for m in measures:
        lvl = chance_level(m, arr, n_resamples=n_draws, seed=seed)
        first, last = _ends(scores, m)
        dist = get_measure(m).is_distance
        final = float(last.mean()) if last.size else float("nan")
        above = (
            float(np.mean(lvl.scores > final) if dist else np.mean(lvl.scores < final))
            if last.size
            else float("nan")
        )
        rows.append(
            {
                "measure": m,
                "samples": int(np.prod(arr.shape[:-1])),
                "units": int(arr.shape[-1]),
                "null_mean": lvl.mean,
                "null_sd": lvl.sd,
                "null_q95": lvl.mean + (-1.645 if dist else 1.645) * lvl.sd,
                "initial_score": float(first.mean()) if first.size else float("nan"),
                "final_score": final,
                "final_low": float(last.min()) if last.size > 1 else float("nan"),
                "final_high": float(last.max()) if last.size > 1 else float("nan"),
                "seeds": int(last.size),
                "final_above_null": above,
            }
        )
    return pd.DataFrame(rows, columns=CHANCE_COLUMNS)
