"""``simgrad compare X Y [--measures A,B,...]``: scores between two saved representations.

``X`` is the reference (e.g. recordings), ``Y`` the candidate (e.g. a model layer). Files are
``.npy`` arrays or ``.npz`` files with an array ``data`` (see docs/datasets.md), or any format
``sg.datasets.from_file`` reads. Each measure's value is printed with what its card says about
it: whether higher means more similar (a score) or lower does (a distance), and its range.

Example::

    $ simgrad compare brain.npz model.npy --measures cka,procrustes-distance=angular
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..options import PANEL
from . import _compare_stats as stats_cli


class _Error(Exception):
    """A user error: printed as one line, exit code 2."""


def load_array(path: str, argname: str) -> np.ndarray:
    """Read a representation from ``.npy`` or ``.npz`` (array ``data``), else via
    ``sg.datasets.from_file``. Raises :class:`_Error` with one clear line."""
    p = Path(path)
    if not p.is_file():
        raise _Error(f"{argname}: no such file: {path}")
    try:
        if p.suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if "data" not in z.files:
                    keys = ", ".join(z.files) or "none"
                    raise _Error(f"{argname}: {path} has no array 'data' (arrays: {keys}).")
                arr = z["data"]
        else:
            from ..datasets import from_file

            arr = from_file(p).data
    except _Error:
        raise
    except (OSError, ValueError, TypeError, KeyError, EOFError) as exc:
        raise _Error(f"{argname}: cannot read {path}: {exc}") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise _Error(f"{argname}: {path} must hold a real numeric array, got dtype {arr.dtype}.")
    if arr.ndim not in (2, 3):
        raise _Error(
            f"{argname}: {path} must be (samples, units) or (time, conditions, units); "
            f"got shape {arr.shape}."
        )
    return np.asarray(arr, dtype=np.float64)


def _range_text(lo: float, hi: float) -> str:
    def f(v: float) -> str:
        if math.isinf(v):
            return "-∞" if v < 0 else "∞"
        if abs(v - math.pi / 2) < 1e-12:
            return "π/2"
        if abs(v - math.pi) < 1e-12:
            return "π"
        return f"{v:g}"

    return f"[{f(lo)}, {f(hi)}]"


def describe(card: Any, value: float) -> dict[str, Any]:
    """The value of one measure with its card's reading of it."""
    lo, hi = card.range
    if card.form == "distance":
        meaning = "distance: 0 = identical, lower is more similar"
    else:
        meaning = "score: higher is more similar" + (", 1 = identical" if hi == 1 else "")
    return {
        "measure": card.name,
        "value": value,
        "form": card.form,
        "range": [lo, hi],
        "range_text": _range_text(lo, hi),
        "meaning": meaning,
    }


def compare(x: np.ndarray, y: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """Compute each measure between ``x`` (reference) and ``y`` (candidate)."""
    import simgrad as sg

    rows = []
    for name in names:
        value = float(sg.score(name, x, y))
        rows.append({"name": name, **describe(sg.card(name), value)})
    return rows


def _run(args: argparse.Namespace) -> int:
    import simgrad as sg

    try:
        names = [m.strip() for m in args.measures.split(",") if m.strip()]
        if not names:
            raise _Error("--measures: give at least one measure name.")
        for n in names:
            try:
                sg.measure(n)
            except ValueError as exc:
                raise _Error(f"--measures: {exc}") from None
        x = load_array(args.x, "X")
        y = load_array(args.y, "Y")
        try:
            rows = compare(x, y, names)
            if stats_cli.wanted(args):
                rows = stats_cli.add_statistics(rows, x, y, args)
        except (ValueError, TypeError) as exc:
            raise _Error(str(exc)) from None
    except _Error as exc:
        print(f"simgrad compare: error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        stats_cli.write(rows, args.out)
    if args.json:
        print(json.dumps({"X": args.x, "Y": args.y, "results": rows}, indent=2))
        return 0
    print(f"X (reference): {args.x}  shape {tuple(x.shape)}")
    print(f"Y (candidate): {args.y}  shape {tuple(y.shape)}\n")
    w = max(len(r["name"]) for r in rows)
    print(f"{'measure':<{w}}  {'value':>10}  {'range':<12}  reading")
    for r in rows:
        arrow = "↓" if r["form"] == "distance" else "↑"
        print(
            f"{r['name']:<{w}}  {r['value']:>10.4f}  {r['range_text']:<12}  {arrow} {r['meaning']}"
        )
    stats_cli.print_statistics(rows)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="scores between two saved representations (X reference, Y candidate)",
        description="Compute similarity measures between two saved representations. X is the "
        "reference (e.g. recordings), Y the candidate (e.g. a model). Files: .npy, or .npz "
        "with an array 'data'.",
    )
    p.add_argument("x", metavar="X", help="reference: .npy or .npz (array 'data')")
    p.add_argument("y", metavar="Y", help="candidate: same samples as X; units may differ")
    p.add_argument(
        "--measures",
        default=",".join(PANEL),
        metavar="A,B,...",
        help="comma-separated measure names or aliases (default: the paper's panel)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    stats_cli.add_arguments(p)
    p.set_defaults(func=_run)
