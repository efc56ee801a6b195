"""One unit of a sweep (one dataset × one measure × one seed × one setting) and how it runs.

A unit writes into ``DIR/units/<unit-id>/``: the tables and ``run.json`` of the main job for
that single measure and seed (figures and ``report.html`` too when unit reports are asked
for), plus the completion marker ``done.json``. The folder appears atomically: the run
writes into ``DIR/units/.tmp/<unit-id>.<random>/``, writes the marker last, and the folder is
then renamed into place. A unit is finished exactly when its folder holds the marker, so a
worker killed half-way leaves nothing that looks finished, and running a unit twice (a retry
on another worker) is harmless: the second rename finds the unit done and discards its copy.

>>> u = Unit("toy2d", "cka", 0, {"max_iter": 30})
>>> u.uid.startswith("toy2d__cka__seed0__")
True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..options import RunOptions

__all__ = ["MARKER", "Unit", "execute_unit", "is_done", "read_marker", "unit_dir"]

MARKER = "done.json"
UNITS = "units"
TMP = ".tmp"


@dataclass(frozen=True)
class Unit:
    """One run of the pipeline: a dataset, a single measure, a single seed, run options.

    ``load`` holds options for ``sg.datasets.load`` (empty: the dataset's defaults);
    ``dataset_id`` names the dataset in the tables (see :attr:`label`).
    """

    dataset: str
    measure: str
    seed: int
    options: dict = field(default_factory=dict)
    load: dict = field(default_factory=dict)
    dataset_id: str = ""

    @property
    def label(self) -> str:
        """The ``dataset`` value in the tables: ``dataset_id`` if given, else the name, with
        the load options appended when there are any (``context(n_units=50)``)."""
        if self.dataset_id:
            return self.dataset_id
        if not self.load:
            return self.dataset
        opts = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(self.load.items()))
        return f"{self.dataset}({opts})"

    def spec(self) -> dict:
        """Everything that determines the unit's results, as plain JSON values."""
        return {
            "dataset": self.dataset,
            "load": self.load,
            "measure": self.measure,
            "seed": self.seed,
            "options": self.options,
        }

    @property
    def digest(self) -> str:
        text = json.dumps(self.spec(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def uid(self) -> str:
        """Folder name: readable parts plus a hash of the full spec (so changing ``max_iter``
        gives a new unit instead of silently reusing an old result)."""
        return f"{_slug(self.dataset)}__{_slug(self.measure)}__seed{self.seed}__{self.digest}"

    def run_options(
        self, out: str | Path, *, dataset: Any = None, where: str = "unit"
    ) -> RunOptions:
        """The unit's :class:`~simgrad.options.RunOptions`: its options with its one measure
        and seed, writing into ``out``; ``dataset`` (default: the name) may be a loaded
        ``Dataset``. Raises the ``ValueError``/``TypeError`` of an invalid option."""
        from ..options import RunOptions

        given = {
            **self.options,
            "dataset": self.dataset if dataset is None else dataset,
            "measures": [self.measure],
            "seeds": [self.seed],
            "out": str(out),
        }
        return RunOptions.from_mapping(given, where=where)

    def __hash__(self) -> int:  # dict fields are unhashable; the spec hash identifies a unit
        return hash(self.digest)


def _slug(text: str, limit: int = 48) -> str:
    s = re.sub(r"[^A-Za-z0-9._=+-]+", "_", text).strip("._") or "x"
    return s[:limit]


def unit_dir(out: str | Path, unit: Unit) -> Path:
    return Path(out) / UNITS / unit.uid


def is_done(out: str | Path, unit: Unit) -> bool:
    """Whether the unit's folder holds its completion marker."""
    return (unit_dir(out, unit) / MARKER).is_file()


def read_marker(out: str | Path, unit: Unit) -> dict:
    return json.loads((unit_dir(out, unit) / MARKER).read_text())


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


def execute_unit(
    unit: Unit,
    out: str | Path,
    run_unit: Callable[[Unit, Path], Any],
    *,
    torch_threads: int | None = None,
) -> dict:
    """Run one unit unless it is already finished; idempotent and crash-safe.

    ``run_unit(unit, folder)`` does the work, writing the unit's outputs into ``folder``.
    ``torch_threads`` (set on Dask workers) limits torch and the BLAS/OpenMP pools.
    Returns ``{"uid", "status": "done" | "skipped", "seconds", ...}``.
    """
    final = unit_dir(out, unit)
    if (final / MARKER).is_file():
        return {"uid": unit.uid, "status": "skipped", "seconds": 0.0}
    limits: Any = contextlib.nullcontext()
    if torch_threads:  # on a worker process: torch and BLAS/OpenMP pools to this many threads
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(int(torch_threads))
        limits = threadpool_limits(int(torch_threads))
    tmp_root = Path(out) / UNITS / TMP
    tmp_root.mkdir(parents=True, exist_ok=True)
    work = tmp_root / f"{unit.uid}.{uuid.uuid4().hex[:12]}"
    work.mkdir()
    t0 = time.perf_counter()
    try:
        with limits:
            run_unit(unit, work)
        seconds = time.perf_counter() - t0
        marker = {
            **unit.spec(),
            "uid": unit.uid,
            "seconds": seconds,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        _write_json_atomic(work / MARKER, marker)
        published = _publish(work, final)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    status = "done" if published else "skipped"
    return {"uid": unit.uid, "status": status, "seconds": seconds if published else 0.0}


def _publish(work: Path, final: Path) -> bool:
    """Rename ``work`` to ``final``; if another attempt finished first, keep its copy.

    Returns whether ``work`` became the unit's folder."""
    try:
        os.rename(work, final)
        return True
    except OSError:
        if (final / MARKER).is_file():
            return False  # someone else finished this unit: ours is discarded by the caller
    # ``final`` exists but is unfinished (left by hand or an old layout): move it aside.
    stale = final.parent / TMP / f"{final.name}.stale.{uuid.uuid4().hex[:8]}"
    os.rename(final, stale)
    shutil.rmtree(stale, ignore_errors=True)
    try:
        os.rename(work, final)
        return True
    except OSError:
        if not (final / MARKER).is_file():
            raise
        return False
