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


def _numerical_errors() -> tuple[type[BaseException], ...]:
    import torch

    return (np.linalg.LinAlgError, torch.linalg.LinAlgError, FloatingPointError, OverflowError)


def measure_names(text: str) -> list[str]:
    """The names of a ``--measures A,B,...`` option, each known to ``sg.measure``; raises
    :class:`_Error` with one clear line."""
    from ..measures import measure

    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise _Error("--measures: give at least one measure name.")
    for n in names:
        try:
            measure(n)
        except ValueError as exc:
            raise _Error(f"--measures: {exc}") from None
    return names


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
    from simgrad._array import check_pair

    check_pair(x, y)  # bad inputs (shapes, non-finite values) fail the command: ValueError
    # past that check, a ValueError is one measure refusing these data (a scale it cannot
    # compute at, a degenerate estimator): reported for that measure, the others still run
    NUMERICAL_ERRORS = (*_numerical_errors(), ValueError)
    rows = []
    for name in names:
        try:
            value = float(sg.score(name, x, y))
            error = None
        except NUMERICAL_ERRORS as exc:  # e.g. an SVD that does not converge on huge values
            value, error = math.nan, f"{type(exc).__name__.lstrip('_')}: {_first_line(exc)}"
        if error is None and not math.isfinite(value):
            error = "the value is not finite (are the inputs' magnitudes within float64's range?)"
        row = {"name": name, **describe(sg.card(name), value)}
        if error is not None:
            row["error"] = error
        rows.append(row)
    return rows


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float as ``None`` (JSON has no NaN or infinity)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _run(args: argparse.Namespace) -> int:

    try:
        names = measure_names(args.measures)
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
    failed = [r for r in rows if "error" in r]
    for r in failed:
        print(f"simgrad compare: error: {r['name']}: {r['error']}", file=sys.stderr)
    code = 1 if failed else 0
    if args.out:
        stats_cli.write(rows, args.out)
    if args.json:  # non-finite values (a failed measure, an unbounded range) are null
        doc = _json_safe({"X": args.x, "Y": args.y, "results": rows})
        print(json.dumps(doc, indent=2, allow_nan=False))
        return code
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
    return code


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
