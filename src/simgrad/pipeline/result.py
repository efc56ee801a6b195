"""What :func:`~simgrad.pipeline.compute` returns: the main job's tables, before any file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["RunResult"]


@dataclass
class RunResult:
    """The results of the main job as DataFrames, with what produced them.

    ``scores``, ``decoding``, ``thresholds`` and ``pc_capture`` hold exactly the columns of
    ``results/*.csv`` (:data:`~simgrad.pipeline.TABLE_COLUMNS`); ``pc_r2`` (``measure, seed,
    iteration, score, pc, r2``) and ``theory`` (``measure, pc, explained_variance_ratio,
    predicted_capture_score``) are the data behind the PC figures; ``summary`` is one row per
    measure (:func:`~simgrad.pipeline.summary_table`). ``info`` is the content of ``run.json``
    (versions, arguments, dataset, measures, seeds, timings); ``out`` the output folder;
    ``options`` the :class:`~simgrad.options.RunOptions` and ``dataset`` the reference
    ``Dataset`` of the run (the report's dataset card is drawn from it).
    """

    scores: pd.DataFrame
    decoding: pd.DataFrame
    thresholds: pd.DataFrame
    pc_capture: pd.DataFrame
    pc_r2: pd.DataFrame
    theory: pd.DataFrame
    summary: pd.DataFrame
    out: Path
    info: dict = field(default_factory=dict)
    options: Any = field(default=None, repr=False)
    dataset: Any = field(default=None, repr=False)
    chance: Any = field(default=None, repr=False)  # results/chance.csv (pipeline.chance)

    @property
    def report(self) -> Path:
        """``out/report.html`` (written by :func:`simgrad.report.write_run`)."""
        return self.out / "report.html"
