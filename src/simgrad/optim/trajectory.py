"""The record of one optimization run (:class:`Trajectory`) and the policy that decides which
iterates are kept (:class:`Recorder`).

A run evaluates the score of ``Y_0, Y_1, …, Y_K`` (``K = n_iter`` Adam steps); ``scores[k]`` is
the score of ``Y_k`` and every one is kept. Full copies of ``Y_k`` (float64, on the CPU) are kept
only for the iterations chosen by the record policy:

- ``"auto"``: every iterate up to ``dense`` (10), log-spaced iterations after that, and any
  iterate whose score moved by more than ``score_step`` (0.005 of the score; for a distance,
  0.005 × the initial distance) since the last kept one, so curves thresholded along the score
  axis stay dense; always the first and the last. Memory is bounded by ``max_bytes`` (256 MiB):
  when full, the score step doubles and the kept set is thinned to match it.
- ``"all"``: every iterate; an ``int`` s: every s-th iterate; an iterable: exactly those.

>>> rec = Recorder("auto", max_iter=1000, n_values=1000, score_scale=1.0)
>>> [k for k in range(40) if rec.wants(k, 0.0)][:12]
[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Recorder", "Trajectory"]


@dataclass
class Trajectory:
    """Scores and recorded iterates of one optimization run.

    Attributes
    ----------
    measure : canonical measure name (joint runs: the names joined by ``" & "``).
    measures : the canonical names, one per column of ``scores`` (a single name for one measure).
    is_distance : whether the measure is a distance (joint runs: a tuple, one flag per measure).
    scores : ``(n_iter + 1,)`` score of every iterate, index 0 = the initial Y
        (joint runs: ``(n_iter + 1, n_measures)``).
    recorded_iterations : increasing iterations whose Y was kept (always 0 and the last).
    recorded : ``(k, *shape)`` float64 copies of Y at ``recorded_iterations``.
    final : the last Y (float64 numpy, the reference's shape).
    seed, converged (target reached), n_iter (optimizer steps taken), timings (seconds),
    interrupted (stopped by Ctrl-C), targets (joint runs: one target per measure),
    loss : ``(n_iter + 1,)`` value of the minimized objective at each iterate.
    final_reference : the last reference when it was optimized too (allowed regions, variant B).
    settings : the arguments of the run (lr, optimizer, max_iter, target, dtype, device, ...).
    """

    measure: str
    measures: list[str]
    is_distance: Any
    scores: np.ndarray
    recorded_iterations: np.ndarray
    recorded: np.ndarray
    final: np.ndarray
    seed: int
    converged: bool
    n_iter: int
    timings: dict = field(default_factory=dict)
    interrupted: bool = False
    targets: np.ndarray | None = None
    loss: np.ndarray | None = None
    final_reference: np.ndarray | None = None
    settings: dict = field(default_factory=dict)

    @property
    def recorded_scores(self) -> np.ndarray:
        """``scores[recorded_iterations]``."""
        return self.scores[self.recorded_iterations]

    @property
    def final_score(self) -> float | np.ndarray:
        """The score of the last iterate (an array of one per measure for joint runs)."""
        last = self.scores[-1]
        return float(last) if np.ndim(last) == 0 else np.asarray(last)

    def save(self, path: str | os.PathLike) -> Path:
        """Write to ``path`` (``.npz``, no pickle) atomically: a temporary file, then
        ``os.replace``, so an interrupted save never leaves a half-written file.

        >>> import tempfile, numpy as np
        >>> t = Trajectory("cka", ["cka"], False, np.array([0.1, 0.5]), np.array([0, 1]),
        ...                np.zeros((2, 3, 2)), np.zeros((3, 2)), 0, False, 1)
        >>> p = t.save(tempfile.mkdtemp() + "/run.npz")
        >>> Trajectory.load(p).scores.tolist()
        [0.1, 0.5]
        """
        path = Path(path)
        meta = {
            "measure": self.measure,
            "measures": list(self.measures),
            "is_distance": self.is_distance
            if isinstance(self.is_distance, bool)
            else list(self.is_distance),
            "seed": int(self.seed),
            "converged": bool(self.converged),
            "n_iter": int(self.n_iter),
            "interrupted": bool(self.interrupted),
            "timings": self.timings,
            "settings": {k: v for k, v in self.settings.items() if _jsonable(v)},
        }
        arrays = {
            "scores": self.scores,
            "recorded_iterations": self.recorded_iterations,
            "recorded": self.recorded,
            "final": self.final,
            "meta": np.array(json.dumps(meta)),
        }
        for name in ("targets", "loss", "final_reference"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Trajectory:
        """Read a trajectory written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            opt = {n: f[n] for n in ("targets", "loss", "final_reference") if n in f.files}
            isd = meta["is_distance"]
            return cls(
                measure=meta["measure"],
                measures=meta["measures"],
                is_distance=tuple(isd) if isinstance(isd, list) else isd,
                scores=f["scores"],
                recorded_iterations=f["recorded_iterations"],
                recorded=f["recorded"],
                final=f["final"],
                seed=meta["seed"],
                converged=meta["converged"],
                n_iter=meta["n_iter"],
                timings=meta["timings"],
                interrupted=meta["interrupted"],
                settings=meta["settings"],
                **opt,
            )

    def __repr__(self) -> str:
        status = (
            "interrupted"
            if self.interrupted
            else ("converged" if self.converged else "not converged")
        )
        fs = self.final_score
        fs_txt = f"{fs:.4f}" if np.ndim(fs) == 0 else np.array2string(np.asarray(fs), precision=4)
        return (
            f"Trajectory({self.measure!r}, seed={self.seed}, n_iter={self.n_iter}, "
            f"final score {fs_txt}, {status}, {len(self.recorded_iterations)} iterates kept)"
        )


def _log_marks(max_iter: int, n: int = 40) -> set[int]:
    if max_iter <= 0:
        return {0}
    return {int(round(v)) for v in np.geomspace(1, max_iter, n)} | {0}


class Recorder:
    """Decides which iterates of a run to keep, and keeps them (float64 numpy copies).

    ``n_values`` is the number of entries of one iterate (for the memory bound) and
    ``score_scale`` converts the score step to the measure's units (1 for scores, the initial
    distance for distances).
    """

    def __init__(
        self,
        record: Any,
        *,
        max_iter: int,
        n_values: int,
        score_scale: float = 1.0,
        dense: int = 10,
        score_step: float = 0.005,
        max_bytes: int = 256 * 2**20,
    ):
        self.mode: str
        self.items: list[tuple[int, np.ndarray, float]] = []
        self.max_iter = max_iter
        if isinstance(record, str):
            if record not in ("auto", "all"):
                raise ValueError(
                    f"record must be 'auto', 'all', a positive int stride or an iterable of "
                    f"iterations; got {record!r}."
                )
            self.mode = record
        elif isinstance(record, (bool, np.bool_)):
            raise TypeError("record must be 'auto', 'all', an int stride or an iterable, not bool.")
        elif isinstance(record, (int, np.integer)):
            if record < 1:
                raise ValueError(f"record as a stride must be a positive int, got {record}.")
            self.mode, self.stride = "stride", int(record)
        elif isinstance(record, Iterable):
            its = sorted({int(i) for i in record})
            if any(i < 0 for i in its):
                raise ValueError("record iterations must be non-negative.")
            self.mode, self.explicit = "explicit", set(its)
        else:
            raise TypeError(f"record must be 'auto', 'all', an int or an iterable, got {record!r}.")
        self.dense = dense
        self.step = score_step * (score_scale if score_scale > 0 else 1.0)
        self.max_items = max(4, int(max_bytes // max(1, 8 * n_values)))
        self.marks = _log_marks(max_iter)
        self.last_score: float | None = None

    def wants(self, k: int, score: float) -> bool:
        """Whether iterate ``k`` (score ``score``; max |Δ| for joint runs) should be kept."""
        if k == 0:
            return True
        if self.mode == "all":
            return True
        if self.mode == "stride":
            return k % self.stride == 0
        if self.mode == "explicit":
            return k in self.explicit
        if k <= self.dense or k in self.marks:
            return True
        return self.last_score is None or _moved(score, self.last_score) > self.step

    def keep(self, k: int, y: np.ndarray, score: float) -> None:
        """Store iterate ``k`` (``y`` is copied to float64)."""
        if self.items and self.items[-1][0] == k:
            return
        self.items.append((k, np.array(y, dtype=np.float64, copy=True), score))
        self.last_score = score
        if self.mode == "auto" and len(self.items) > self.max_items:
            self._thin()

    def _thin(self) -> None:
        """Double the score step and drop kept iterates closer than it (keep 0 and the last)."""
        self.step = self.step * 2 if self.step > 0 else 0.01
        kept = [self.items[0]]
        for item in self.items[1:-1]:
            if _moved(item[2], kept[-1][2]) > self.step:
                kept.append(item)
        kept.append(self.items[-1])
        if len(kept) > self.max_items:  # scores barely moved: fall back to even spacing
            idx = np.unique(np.linspace(0, len(kept) - 1, self.max_items // 2).astype(int))
            kept = [kept[i] for i in idx]
        self.items = kept
        self.last_score = kept[-1][2]

    def finish(self, k: int, y: np.ndarray, score: float) -> tuple[np.ndarray, np.ndarray]:
        """Add the last iterate and return ``(iterations, stacked iterates)``."""
        self.keep(k, y, score)
        its = np.array([i for i, _, _ in self.items], dtype=np.int64)
        arr = np.stack([a for _, a, _ in self.items]) if self.items else np.empty((0,))
        return its, arr


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False


def _moved(a: Any, b: Any) -> float:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b)
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))))


def scale_of(value: float) -> float:
    """Score-step scale for a distance whose initial value is ``value``."""
    v = abs(float(value))
    return v if math.isfinite(v) and v > 0 else 1.0
