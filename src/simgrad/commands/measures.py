"""``simgrad measures [PATTERN] [--card NAME]``: list measures or print one card."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
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
    noun = "measure" if len(names) == 1 else "measures"
    print(f"\n{len(names)} {noun}. `simgrad measures --card NAME` prints one card.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("measures", help="list measures, or print one measure's card")
    p.add_argument("pattern", nargs="?", default="*", help="glob over canonical names")
    p.add_argument("--card", metavar="NAME", help="print the card of one measure")
    p.set_defaults(func=_run)
