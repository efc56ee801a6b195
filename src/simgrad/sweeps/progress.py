"""Progress of a whole sweep: units finished, skipped, running, failed, and time left.

:class:`Progress` is a snapshot handed to the ``progress`` callback of :func:`simgrad.sweep`
after every change; :class:`LinePrinter` is the default callback: on a terminal a line per
change, in a log file a line per finished unit, with a text bar::

    sweep [########------------]  3/8 finished (1 skipped) · 2 running · 0 failed · 14s, ~19s left

The estimate of time left is the mean duration of the units computed so far (as measured on
the workers, so cluster start-up does not count) times the units still to go, divided by the
number of units that run at once (``slots``: worker threads); before any unit finished it is
unknown.

>>> p = Progress(total=8, finished=4, skipped=0, running=2, failed=0, elapsed=10.0, computed=4,
...              unit_seconds=5.0, slots=2)
>>> p.eta
10.0
>>> p.line(width=8)
'sweep [####----]  4/8 finished · 2 running · 0 failed · 10s, ~10s left'
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

from ..pipeline.progress import isatty

__all__ = ["LinePrinter", "Progress"]


@dataclass(frozen=True)
class Progress:
    """A snapshot of a sweep's progress.

    ``finished`` counts units with a completion marker (computed now or ``skipped`` because a
    previous run finished them), ``computed`` those finished by this run, ``failed`` those that
    gave up after their retries. ``last`` is the id of the unit whose change triggered this
    snapshot (``None`` for periodic updates). ``unit_seconds`` is the mean duration of the
    units computed so far, ``slots`` how many units run at once.
    """

    total: int
    finished: int
    skipped: int
    running: int
    failed: int
    elapsed: float
    computed: int = 0
    last: str | None = None
    last_status: str | None = None
    unit_seconds: float | None = None
    slots: int = 1

    @property
    def remaining(self) -> int:
        return self.total - self.finished - self.failed

    @property
    def eta(self) -> float | None:
        """Seconds left (``None`` before the first unit is computed)."""
        if self.remaining == 0:
            return 0.0
        if self.unit_seconds is None:
            return None
        return self.unit_seconds * self.remaining / max(1, self.slots)

    def line(self, width: int = 20) -> str:
        filled = round(width * self.finished / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        skip = f" ({self.skipped} skipped)" if self.skipped else ""
        eta = self.eta
        left = "" if eta is None else f", ~{_secs(eta)} left"
        return (
            f"sweep [{bar}] {self.finished:>2}/{self.total} finished{skip} · {self.running} running"
            f" · {self.failed} failed · {_secs(self.elapsed)}{left}"
        )


def _secs(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class LinePrinter:
    """The default progress callback: text lines on ``stream`` (default stderr).

    On a terminal (``tty``; default: ``stream.isatty()``) a line is printed whenever the counts
    change, and at most every ``every`` seconds otherwise, so long units still show the clock.
    Elsewhere (a log file, CI, a batch job) exactly one line per unit that finished or failed,
    ending with its id and status (``… · 10s, ~10s left · toy2d__cka__seed1__3f2a… done``).

    """

    def __init__(
        self, stream: TextIO | None = None, every: float = 30.0, *, tty: bool | None = None
    ):
        self.stream = stream
        self.every = every
        self.tty = tty
        self._last_counts: tuple | None = None
        self._last_time = 0.0

    def __call__(self, p: Progress) -> None:
        stream = self.stream or sys.stderr
        tty = self.tty if self.tty is not None else isatty(stream)
        if not tty:
            if p.last is not None:
                print(f"{p.line()} · {p.last} {p.last_status}", file=stream, flush=True)
            return
        if p.last_status == "failed" and p.last:
            print(f"sweep: unit {p.last} failed", file=stream)
        counts = (p.finished, p.running, p.failed)
        now = time.monotonic()
        if counts == self._last_counts and now - self._last_time < self.every:
            return
        self._last_counts, self._last_time = counts, now
        print(p.line(), file=stream, flush=True)
