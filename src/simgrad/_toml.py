"""Read (and write flat) TOML files: ``tomllib`` (Python ≥ 3.11) or the ``tomli`` backport.

:func:`load_toml` reads a file into a dict and turns every failure (missing file, bad UTF-8,
bad TOML) into one ``ValueError`` naming the file. :func:`dumps_toml` writes a flat table of
strings, numbers, booleans and lists of them, which is what the option files hold.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "run.toml")
>>> _ = open(path, "w").write(dumps_toml({"measures": ["cka", "nbs"], "seeds": 3, "lr": 0.1}))
>>> load_toml(path)
{'measures': ['cka', 'nbs'], 'seeds': 3, 'lr': 0.1}
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 with the tomli backport
    import tomli as tomllib

__all__ = ["dumps_toml", "load_toml"]


def load_toml(path: str | os.PathLike, what: str = "config") -> dict[str, Any]:
    """The content of the TOML file ``path`` as a dict.

    Raises ``ValueError`` starting with ``what`` for a missing file or one that is not
    valid UTF-8 TOML (the parser's message, with line and column, is kept).
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{what}: no such file: {str(p)!r}.")
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what}: {str(p)!r} is not valid TOML ({exc}).") from None


def _value(v: Any, key: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return repr(v)
    if isinstance(v, (str, os.PathLike)):
        return json.dumps(str(v), ensure_ascii=False)  # a TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x, key) for x in v) + "]"
    raise TypeError(f"{key}: cannot write {type(v).__name__} values to TOML.")


def dumps_toml(mapping: Mapping[str, Any]) -> str:
    """A flat mapping as TOML text, one ``key = value`` line each; ``None`` values are left
    out (TOML has no null). Raises ``TypeError`` for values TOML cannot hold."""
    return "".join(f"{k} = {_value(v, k)}\n" for k, v in mapping.items() if v is not None)
