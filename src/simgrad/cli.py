"""The ``simgrad`` command: thin argument parsing over the library.

Each sub-command lives in ``simgrad/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (taking the parsed
arguments, returning an exit code).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from . import __version__

_COMMANDS = ("measures", "compare", "run", "region", "sweep", "layers")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simgrad",
        description="Exact, fast, differentiable similarity measures and what their scores mean.",
    )
    parser.add_argument("--version", action="version", version=f"simgrad {__version__}")
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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("simgrad: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `simgrad measures | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
