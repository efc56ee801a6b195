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
    names = sorted(set(sg.measures(args.pattern)) | set(_by_alias(args.pattern)))
    rows = [(n, ", ".join(sg.card(n).aliases) or "-", sg.card(n).description) for n in names]
    w_name = max((len(r[0]) for r in rows), default=4)
    w_alias = max([len("aliases")] + [len(r[1]) for r in rows])
    if rows:
        print(f"{'name':<{w_name}}  {'aliases':<{w_alias}}  description")
    for name, al, desc in rows:
        print(f"{name:<{w_name}}  {al:<{w_alias}}  {desc}")
    noun = "measure" if len(names) == 1 else "measures"
    print(
        f"\n{len(names)} {noun}. An alias is accepted wherever a name is; "
        "`simgrad measures --card NAME` prints one card."
    )
    return 0


def _by_alias(pattern: str) -> list[str]:
    """Canonical names of the aliases matching ``pattern`` (``simgrad measures cka``)."""
    import fnmatch

    from simgrad.measures.registry import aliases

    return [c for a, c in aliases().items() if fnmatch.fnmatchcase(a, pattern)]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("measures", help="list measures, or print one measure's card")
    p.add_argument("pattern", nargs="?", default="*", help="glob over canonical names and aliases")
    p.add_argument("--card", metavar="NAME", help="print the card of one measure")
    p.set_defaults(func=_run)
