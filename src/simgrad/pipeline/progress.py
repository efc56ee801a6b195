"""Progress output of the main job: one line per stage, and a bar per run on a terminal.

With a terminal (``stream.isatty()``) each optimization shows a tqdm bar, as before. Without
one (a log file, CI, a Dask worker) there is no tqdm at all, only the stage lines, so a log
holds a few lines per run instead of thousands of carriage-return updates.

>>> import io
>>> buf = io.StringIO()
>>> p = Progress(buf)
>>> p.line("stage one")
>>> bar = p.bar(10, "cka")
>>> bar.update(3, 0.5); bar.close()
>>> buf.getvalue()
'stage one\\n'
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["EtaLines", "Progress", "isatty"]


def isatty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (``False`` for streams without ``isatty`` or closed).

    >>> import io
    >>> isatty(io.StringIO())
    False
    """
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _NoBar:
    """A bar that shows nothing (no terminal, or progress off)."""

    def update(self, iteration: int, score: float) -> None:
        pass

    def close(self) -> None:
        pass


class _Bar:
    """A tqdm bar over the iterations of one run, showing the current score."""

    def __init__(self, total: int, desc: str, stream: TextIO):
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=total, desc=desc, unit="it", leave=False, file=stream, dynamic_ncols=True
        )

    def update(self, iteration: int, score: float) -> None:
        self._bar.n = iteration
        self._bar.set_postfix_str(f"score {score:.4f}", refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


class Progress:
    """Where the main job reports: ``True`` = stderr, ``False``/``None`` = nowhere, or any
    text stream. :meth:`line` writes one line; :meth:`bar` gives a per-run bar (a tqdm bar on
    a terminal, else one that shows nothing)."""

    def __init__(self, target: bool | TextIO | None = True):
        if target is True:
            target = sys.stderr
        self.stream: TextIO | None = target or None
        self.tty = self.stream is not None and isatty(self.stream)

    def line(self, msg: str) -> None:
        if self.stream is not None:
            print(msg, file=self.stream, flush=True)

    def bar(self, total: int, desc: str) -> Any:
        if self.stream is None or not self.tty:
            return _NoBar()
        return _Bar(total, desc, self.stream)


class EtaLines:
    """Progress of a long loop as a few lines with an estimate of the time left: one after
    ``first`` iterations, then one per tenth of ``total``, each
    ``"<label>: iteration k/N (p %) · e s elapsed · about r s left"``, where
    ``r = e · (N − k) / k``. Call it as ``eta(k, *ignored)`` after iteration ``k`` (an
    optimizer callback fits); it returns ``None``, so it never stops the loop.

    >>> out, now = [], [0.0]
    >>> eta = EtaLines(100, "region", out.append, clock=lambda: now[0])
    >>> for k in range(101):
    ...     now[0] = 0.5 * k
    ...     eta(k)
    >>> print("\\n".join(out[:2] + out[-1:]))
    region: iteration 5/100 (5 %) · 2 s elapsed · about 48 s left
    region: iteration 10/100 (10 %) · 5 s elapsed · about 45 s left
    region: iteration 100/100 (100 %) · 50 s elapsed · done
    """

    def __init__(
        self,
        total: int,
        label: str,
        write: Callable[[str], Any],
        *,
        first: int = 5,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.total, self.label, self.write, self.clock = max(1, int(total)), label, write, clock
        self.t0 = clock()
        self.marks = sorted(
            {min(first, self.total)} | {max(1, round(self.total * i / 10)) for i in range(1, 11)}
        )
        self.lines: list[str] = []

    def __call__(self, k: int, *_: Any) -> None:
        if not self.marks or k < self.marks[0]:
            return None
        while self.marks and self.marks[0] <= k:
            self.marks.pop(0)
        e = self.clock() - self.t0
        tail = "done" if k >= self.total else f"about {e * (self.total - k) / k:.0f} s left"
        line = (
            f"{self.label}: iteration {k}/{self.total} ({100 * k / self.total:.0f} %) · "
            f"{e:.0f} s elapsed · {tail}"
        )
        self.lines.append(line)
        self.write(line)
        return None
