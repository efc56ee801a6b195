"""Aggregated tables of a sweep and their across-seed summaries.

:func:`collect` stacks the ``results/*.csv`` tables of finished units into one table each, with
a ``dataset`` column first and one column per swept run option; rows keep the unit order
(datasets × settings × measures × seeds) and, inside a unit, the order of the unit's table.

:func:`mean_interval` gives the across-seed mean and its two-sided Student-t interval,

    mean ± t_{(1+level)/2, n−1} · s / √n,      s = sample standard deviation (ddof = 1),

empty for a single seed. :func:`summarize_thresholds` and :func:`summarize_runs` apply it per
(dataset, setting, measure[, label]). Threshold scores that were never reached are empty cells;
they are counted (``reached`` of ``seeds``) and left out of the mean.

>>> m, lo, hi = mean_interval([0.4, 0.5, 0.6])
>>> round(m, 3), round(lo, 3), round(hi, 3)
(0.5, 0.252, 0.748)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .units import Unit, unit_dir

__all__ = [
    "TABLES",
    "collect",
    "mean_interval",
    "summarize_runs",
    "summarize_thresholds",
]

#: the tables of the main job that a sweep stacks (``results/<name>.csv``)
TABLES = ("scores", "decoding", "thresholds", "pc_capture")


def mean_interval(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)`` of the finite values, with a Student-t interval at ``level``.

    NaNs are ignored; with no value all three are NaN, with one value the bounds are NaN.
    """
    from scipy import stats

    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}.")
    x = np.asarray(list(values), dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(x.mean())
    if n == 1:
        return (mean, np.nan, np.nan)
    half = float(stats.t.ppf((1 + level) / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return (mean, mean - half, mean + half)


def _read(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None


def collect(
    out: str | Path, units: Sequence[Unit], swept: Sequence[str] = ()
) -> dict[str, pd.DataFrame]:
    """One DataFrame per table in :data:`TABLES`, stacked over the finished ``units``.

    Units without a completion marker are left out (the caller reports them as missing).
    """
    from .units import MARKER

    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for u in units:
        folder = unit_dir(out, u)
        if not (folder / MARKER).is_file():
            continue
        for name in TABLES:
            df = _read(folder / "results" / f"{name}.csv")
            if df is None:
                continue
            front = {"dataset": u.label} if "dataset" not in df.columns else {}
            front.update({k: _cell(u.options.get(k)) for k in swept if k not in df.columns})
            for i, (k, v) in enumerate(front.items()):
                df.insert(i, k, [v] * len(df))
            parts[name].append(df)
    return {
        name: (pd.concat(dfs, ignore_index=True) if dfs else pd.DataFrame())
        for name, dfs in parts.items()
    }


def _cell(v):
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else v


def _group_cols(df: pd.DataFrame, swept: Sequence[str], extra: Sequence[str]) -> list[str]:
    cols = ["dataset", *swept, "measure", *extra]
    return [c for c in cols if c in df.columns]


def summarize_thresholds(
    thresholds: pd.DataFrame, swept: Sequence[str] = (), level: float = 0.95
) -> pd.DataFrame:
    """Across-seed threshold scores per (dataset, setting, measure, label).

    Columns: the group columns, ``chance``, ``reference_accuracy`` (means), ``seeds``,
    ``reached`` (seeds whose decoding reached the threshold), ``threshold_score`` (mean over
    the reached seeds; empty if none), ``threshold_score_low``/``_high`` (t interval).
    """
    cols = [
        *_group_cols(thresholds, swept, ["label"]),
        "chance",
        "reference_accuracy",
        "seeds",
        "reached",
        "threshold_score",
        "threshold_score_low",
        "threshold_score_high",
    ]
    if thresholds.empty:
        return pd.DataFrame(columns=cols)
    keys = _group_cols(thresholds, swept, ["label"])
    rows = []
    for key, g in thresholds.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        ts = pd.to_numeric(g["threshold_score"], errors="coerce")
        m, lo, hi = mean_interval(ts, level)
        rows.append(
            {
                **dict(zip(keys, key)),
                "chance": float(g["chance"].mean()) if "chance" in g else np.nan,
                "reference_accuracy": float(g["reference_accuracy"].mean())
                if "reference_accuracy" in g
                else np.nan,
                "seeds": int(g["seed"].nunique()) if "seed" in g else len(g),
                "reached": int(ts.notna().sum()),
                "threshold_score": m,
                "threshold_score_low": lo,
                "threshold_score_high": hi,
            }
        )
    return pd.DataFrame(rows, columns=cols)


def summarize_runs(
    scores: pd.DataFrame, swept: Sequence[str] = (), level: float = 0.95
) -> pd.DataFrame:
    """Across-seed final score and iteration count per (dataset, setting, measure).

    Per run (one seed), the final score is the score at the last iteration and the iteration
    count that last iteration's index. Columns: the group columns, ``seeds``,
    ``final_score``/``_low``/``_high`` and ``iterations``/``_low``/``_high``.
    """
    keys = _group_cols(scores, swept, [])
    cols = [
        *keys,
        "seeds",
        "final_score",
        "final_score_low",
        "final_score_high",
        "iterations",
        "iterations_low",
        "iterations_high",
    ]
    if scores.empty:
        return pd.DataFrame(columns=cols)
    last = (
        scores.sort_values("iteration", kind="stable")
        .groupby([*keys, "seed"], sort=False, dropna=False)
        .tail(1)
    )
    order = scores[[*keys, "seed"]].drop_duplicates()
    last = order.merge(last, on=[*keys, "seed"], how="left")
    rows = []
    for key, g in last.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        fs = mean_interval(g["score"], level)
        it = mean_interval(g["iteration"], level)
        rows.append(
            {
                **dict(zip(keys, key)),
                "seeds": len(g),
                **_trio("final_score", fs),
                **_trio("iterations", it),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _trio(name: str, t: tuple[float, float, float]) -> dict:
    return {name: t[0], f"{name}_low": t[1], f"{name}_high": t[2]}
