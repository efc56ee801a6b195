"""The main job's computation: from a dataset to the tables a paper can cite.

For each measure and seed, :func:`compute` optimizes synthetic data towards the reference
(``sg.optimize``), decodes every label along the trajectory
(:func:`simgrad.analysis.decode_trajectory` with the options' decoding budget), measures
which principal components of the reference are captured as the score rises, and compares
the capture scores with the theory's predictions (``sg.theory``). It returns the tables as
DataFrames (:class:`RunResult`) and writes only checkpoints; :func:`simgrad.report.write_run`
writes the files and ``sg.run`` does both::

    import simgrad as sg
    from simgrad.pipeline import compute
    res = compute(sg.RunOptions.create(measures=["cka"], max_iter=100, out="out"))
    res.thresholds          # one row per measure × seed × label
"""

from .compute import compute
from .result import RunResult
from .tables import PC_R2_COLUMNS, TABLE_COLUMNS, summary_table
from .unit import decodable_labels

__all__ = [
    "PC_R2_COLUMNS",
    "TABLE_COLUMNS",
    "RunResult",
    "compute",
    "decodable_labels",
    "summary_table",
]
