"""``simgrad run``: the main job (see :func:`simgrad.report.main_job.run`).

The flags are generated from :class:`simgrad.options.RunOptions`: one ``--name-with-dashes``
per field, with its help line, allowed values and default. Every option can also come from a
TOML file (``--config FILE``, keys = the field names); options given on the command line win
over the file. User errors (a malformed ``--data`` file, an unknown measure, an unwritable
``--out`` …) are reported as one line before any optimization starts, with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ..options import OptionSpec, spec

HELP = """\
Optimize synthetic data towards a reference dataset under each measure, decode every
label and measure principal-component capture along the way, and write the tables, the
figures and a self-contained report.html into --out (default: ./simgrad-out).
With no argument: the built-in 'context' reference and the paper's panel of measures."""


def _run(args: argparse.Namespace) -> int:
    from ..report.main_job import run

    options = {s.name: getattr(args, s.name) for s in spec()}
    try:
        run(config=args.config, progress=not args.quiet, **options)
    except (ValueError, TypeError, FileNotFoundError, PermissionError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"simgrad run: error: {msg}", file=sys.stderr)
        return 2
    return 0


def _argtype(s: OptionSpec) -> Callable[[str], Any]:
    """The option's parser of command-line text, with argparse's one-line error."""

    def parse(text: str) -> Any:
        try:
            return s.parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {s.type}, got {text!r}") from None

    parse.__name__ = s.name
    return parse


def _help(s: OptionSpec) -> str:
    return f"{s.help}; {s.range} (default: {s.default})".replace("%", "%%")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="the main job: dataset + measures -> tables, figures, report.html",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = p.add_mutually_exclusive_group()
    for s in spec():
        group = source if s.name in ("dataset", "data") else p
        group.add_argument(s.flag, dest=s.name, metavar=s.metavar, type=_argtype(s), help=_help(s))
    p.add_argument("--config", metavar="FILE", help="TOML file holding any of these options")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output or summary")
    p.set_defaults(func=_run)
