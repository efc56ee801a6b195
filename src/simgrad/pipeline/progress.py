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
from typing import Any, TextIO

__all__ = ["Progress", "isatty"]


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
