"""The ``simgrad`` command: thin argument parsing over the library.

Each sub-command lives in ``simgrad/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (taking the parsed
arguments, returning an exit code).

No failure prints a traceback unless ``--debug`` is given (anywhere on the line): the
command prints one line ``simgrad COMMAND: error: ...`` and exits with

====  ==================================================================================
0     success
1     the computation failed (a non-finite score or gradient, a linear-algebra failure,
      units of a sweep that failed, an unexpected error)
2     a user error: invalid arguments, options, grid, data file or dataset
3     the environment failed during the work: disk full, an I/O error
130   interrupted (Ctrl-C)
====  ==================================================================================
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from . import __version__

_COMMANDS = ("measures", "compare", "run", "region", "sweep", "layers")

#: exit codes (documented in the README's troubleshooting section)
EXIT_FAILED, EXIT_USAGE, EXIT_ENVIRONMENT, EXIT_INTERRUPTED = 1, 2, 3, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simgrad",
        description="Exact, fast, differentiable similarity measures and what their scores mean.",
    )
    parser.add_argument("--version", action="version", version=f"simgrad {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of a failure (also accepted after the command)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS:
        try:
            mod = import_module(f"simgrad.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"simgrad.commands.{name}":
                raise
            continue
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    args = parser.parse_args(argv)
    from ._threads import configure_torch

    configure_torch()  # threads from the cores this process may use (SIMGRAD_THREADS)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"simgrad {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `simgrad measures | head`
        sys.stderr.close()
        return 0
    except Exception as exc:
        if debug:
            raise
        code, text = describe_failure(exc)
        print(f"simgrad {args.command}: error: {text}", file=sys.stderr)
        if code == EXIT_FAILED:
            print(f"(run `simgrad --debug {args.command} ...` for the traceback)", file=sys.stderr)
        return code


def describe_failure(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line for a failure that reached the command line."""
    first = (str(exc).strip().splitlines() or [""])[0][:500]
    if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
        import errno

        reason = exc.strerror or first or type(exc).__name__
        where = f": {exc.filename}" if exc.filename else ""
        hint = " (free some space or choose another --out)" if exc.errno == errno.ENOSPC else ""
        return EXIT_ENVIRONMENT, f"{reason}{where}{hint}"
    if isinstance(exc, (ValueError, TypeError)):
        return EXIT_USAGE, first or type(exc).__name__
    if isinstance(exc, FloatingPointError):  # NonFiniteError: e.g. a learning rate too large
        text = first or "a score or gradient became non-finite"
        return EXIT_FAILED, f"{text} A smaller learning rate (--lr) usually avoids this."
    return EXIT_FAILED, f"{type(exc).__name__}: {first}" if first else type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
