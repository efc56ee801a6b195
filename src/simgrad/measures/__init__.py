"""The measure library: pure torch functions registered under standardized names.

Importing this package registers every family. Add a family by creating a module that calls
:func:`~simgrad.measures.registry.register` and listing it in ``_FAMILIES`` below.
"""

from importlib import import_module

from .registry import (
    Card,
    Measure,
    aliases,
    card,
    lookup,
    measure,
    measures,
    score,
    short_name,
)

_FAMILIES = (
    "cka",
    "shape",
    "cca",
    "ensd",
    "regression",
    "rsa",
    "svcca",
    "permutation",
    "neighbors",
)

for _mod in _FAMILIES:
    try:
        import_module(f"{__name__}.{_mod}")
    except ModuleNotFoundError as _exc:  # a family not written yet
        if _exc.name != f"{__name__}.{_mod}":
            raise

__all__ = [
    "Card",
    "Measure",
    "aliases",
    "card",
    "lookup",
    "measure",
    "measures",
    "score",
    "short_name",
]
