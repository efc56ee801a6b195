"""The ``simgrad`` command: thin argument parsing over the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _cmd_measures(args: argparse.Namespace) -> int:
    import simgrad as sg

    if args.card:
        try:
            print(sg.card(args.card))
        except ValueError as exc:
            print(f"simgrad: error: {exc}", file=sys.stderr)
            return 2
        return 0
    names = sg.measures(args.pattern)
    width = max((len(n) for n in names), default=0)
    for name in names:
        print(f"{name:<{width}}  {sg.card(name).description}")
    print(f"\n{len(names)} measures. `simgrad measures --card NAME` prints one card.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simgrad",
        description="Exact, fast, differentiable similarity measures and what their scores mean.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("measures", help="list measures, or print one measure's card")
    p.add_argument("pattern", nargs="?", default="*", help="glob over canonical names")
    p.add_argument("--card", metavar="NAME", help="print the card of one measure")
    p.set_defaults(func=_cmd_measures)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
