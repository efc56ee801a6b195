"""Ctrl-C as a flag: while an optimization runs, the first SIGINT only sets a flag, so the loop
can finish its step and return what it has; a second Ctrl-C interrupts at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["InterruptFlag"]


class InterruptFlag:
    """Turns the first SIGINT into ``self.set = True`` (main thread only) inside a ``with``.

    >>> with InterruptFlag() as flag:
    ...     flag.set
    False
    """

    def __init__(self) -> None:
        self.set = False
        self._old: Any = None

    def ask(self, callback: Callable[..., Any] | None, *args: Any) -> bool:
        """``bool(callback(*args))``, the callback's wish to stop (``False`` without one); a
        ``KeyboardInterrupt`` it raises sets the flag instead, like Ctrl-C."""
        if callback is None:
            return False
        try:
            return bool(callback(*args))
        except KeyboardInterrupt:
            self.set = True
            return False

    def _handler(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        self.set = True
        signal.signal(signal.SIGINT, self._old)  # a second Ctrl-C interrupts at once

    def __enter__(self) -> InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            try:
                self._old = signal.signal(signal.SIGINT, self._handler)
            except (ValueError, TypeError):  # embedded interpreters
                self._old = None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None and signal.getsignal(signal.SIGINT) == self._handler:
            signal.signal(signal.SIGINT, self._old)
