"""The measure library: pure torch functions registered under standardized names.

Importing this package registers every family. Adding a family is one module and one line in
``_FAMILIES`` below: the module registers its templates (``register`` or
``register_similarity``), its aliases (``alias(..., display=True)`` for a short display
name), one paragraph on what it measures (``describe``) and, optionally, the hooks of
the generic drivers (``register_hooks``: ``pairwise``, ``streaming``, ``theory``; see
:class:`~simgrad.measures.registry.Hooks`).
"""

from importlib import import_module

from .cards import Card
from .registry import (
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
    "ridge_cv",
    "pls",
    "rsa",
    "svcca",
    "crossval",
    "permutation",
    "neighbors",
    "neighborhood",
    "resi_statistics",
    "resi_rsm",
    "matching",
    "resi_procrustes",
    "imd",
    "versa",
)

for _mod in _FAMILIES:
    import_module(f"{__name__}.{_mod}")

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
