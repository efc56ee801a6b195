"""The tokens of a measure name: splitting at top-level dashes, and writing and reading the
numbers of parameter values so that every canonical name parses back to the same measure."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["format_number", "parse_number", "split_name"]


def split_name(name: str) -> list[str]:
    """Split a measure name at top-level dashes (dashes inside parentheses are kept).

    >>> split_name("cka-kernel=(rbf-sigma=1)-hsic=gretton-score")
    ['cka', 'kernel=(rbf-sigma=1)', 'hsic=gretton', 'score']
    """
    tokens, depth, cur = [], 0, []
    for ch in name:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"Unbalanced ')' in measure name {name!r}.")
        if ch == "-" and depth == 0:
            tokens.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise ValueError(f"Unbalanced '(' in measure name {name!r}.")
    tokens.append("".join(cur))
    if any(t == "" for t in tokens):
        raise ValueError(f"Empty component in measure name {name!r} (doubled or trailing '-').")
    return tokens


def format_number(v: float) -> str:
    """Canonical spelling of a numeric parameter, which parses back to the same value inside a
    measure name: integers without a decimal point, others in shortest round-trip form
    (``0.5``, ``1e+20``); a small number is written positionally (``0.00001``, not the
    ``1e-05`` that the name grammar would split at its dash), and a negative or very small one
    in parentheses (``(-0.5)``, ``(1e-300)``). :func:`parse_number` reads all of them.

    >>> format_number(1.0), format_number(100), format_number(0.25), format_number(1e-5)
    ('1', '100', '0.25', '0.00001')
    >>> format_number(-2), format_number(1e-300)
    ('(-2)', '(1e-300)')
    """
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"Parameter values must be finite, got {v!r}.")
    if f == int(f) and abs(f) < 1e15:
        text = str(int(f))
    else:
        text = repr(f)
        if "e-" in text:
            positional = np.format_float_positional(f, trim="-")
            text = positional if len(positional) <= 20 else text
    return f"({text})" if "-" in text else text


def parse_number(text: str) -> float:
    """Read a number written by :func:`format_number` (one pair of enclosing parentheses is
    allowed); ``ValueError`` when it is not a finite number.

    >>> parse_number("(1e-300)"), parse_number("0.00001"), parse_number("(-2)")
    (1e-300, 1e-05, -2.0)
    """
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value
