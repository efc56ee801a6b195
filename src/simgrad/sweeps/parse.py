"""Checks of a grid's own keys: datasets, measures, seeds and the sweep options.

Each function takes the raw value of one key and the grid's ``source`` (a file name, or
``"sweep"``) and returns the value in its canonical form, or raises ``ValueError``/``TypeError``
naming the key. Run options are not checked here: a unit's ``RunOptions`` does that.

>>> parse_seeds(3, "grid")
(0, 1, 2)
>>> parse_datasets(["toy2d", {"name": "ultrametric", "id": "u", "n_features": 20}], "grid")
((('toy2d', {}), ('ultrametric', {'n_features': 20})), ('', 'u'))
"""

from __future__ import annotations

import inspect
import json
import numbers
from collections.abc import Iterable, Mapping, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

__all__ = [
    "check_datasets",
    "check_jsonable",
    "parse_datasets",
    "parse_measures",
    "parse_seeds",
    "parse_sweep_options",
]

#: the most seeds a grid may ask for (a count beyond it is a typo, not a plan)
MAX_SEEDS = 100_000


def parse_datasets(value: Any, source: str) -> tuple[tuple[tuple[str, dict], ...], tuple]:
    """``((name, load_options), ...), (id, ...)`` from names or ``{name, id?, **load}`` tables."""
    if isinstance(value, (str, Mapping)):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise ValueError(f"{source}: key 'datasets' must be a non-empty list of names.")
    out: list[tuple[str, dict]] = []
    ids: list[str] = []
    for i, item in enumerate(value):
        name, opts, did = _dataset_item(i, item, source)
        if (name, opts) in out:
            raise ValueError(
                f"{source}: key 'datasets' lists {name!r} twice with the same options."
            )
        out.append((name, opts))
        ids.append(did)
    return tuple(out), tuple(ids)


def _dataset_item(i: int, item: Any, source: str) -> tuple[str, dict, str]:
    if isinstance(item, str):
        name, opts, did = item, {}, ""
    elif isinstance(item, Mapping):
        if not isinstance(item.get("name"), str):
            raise ValueError(
                f"{source}: key 'datasets' item {i} is a table without a string 'name'."
            )
        did = item.get("id", "")
        if not isinstance(did, str):
            raise TypeError(f"{source}: key 'datasets' item {i}: 'id' must be a string.")
        name = item["name"]
        opts = {k: v for k, v in item.items() if k not in ("name", "id")}
        check_jsonable(f"datasets[{i}]", opts, source)
    else:
        raise TypeError(
            f"{source}: key 'datasets' item {i} must be a name or a table with 'name', "
            f"got {type(item).__name__}."
        )
    if not name:
        raise ValueError(f"{source}: key 'datasets' item {i} is an empty name.")
    return name, opts, did


def parse_measures(value: Any, source: str) -> tuple[str, ...]:
    """The names as given; each must be known to ``sg.measure`` and name a different measure."""
    from ..measures import measure

    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise ValueError(f"{source}: key 'measures' must be a non-empty list of measure names.")
    seen: dict[str, str] = {}
    for i, name in enumerate(value):
        if not isinstance(name, str):
            raise TypeError(
                f"{source}: key 'measures' item {i} must be a string, got {type(name).__name__}."
            )
        try:
            canon = measure(name).name
        except ValueError as exc:
            raise ValueError(f"{source}: key 'measures': {exc}") from None
        if canon in seen:
            raise ValueError(
                f"{source}: key 'measures' names the same measure twice: {seen[canon]!r} and "
                f"{name!r} (both {canon!r})."
            )
        seen[canon] = name
    return tuple(value)


def parse_seeds(value: Any, source: str) -> tuple[int, ...]:
    """A count ``n`` (seeds ``0 … n−1``) or a list of distinct integers ``>= 0``."""
    if isinstance(value, bool):
        raise TypeError(f"{source}: key 'seeds' must be an integer count or a list of integers.")
    if isinstance(value, numbers.Integral):
        if value < 1:
            raise ValueError(f"{source}: key 'seeds' must be at least 1, got {value}.")
        if value > MAX_SEEDS:
            raise ValueError(
                f"{source}: key 'seeds' asks for {int(value):,} seeds; at most {MAX_SEEDS:,} "
                "(each seed is a full run of every measure)."
            )
        return tuple(range(int(value)))
    if isinstance(value, range):
        if len(value) > MAX_SEEDS:
            raise ValueError(
                f"{source}: key 'seeds' holds {len(value):,} seeds; at most {MAX_SEEDS:,}."
            )
        value = list(value)
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise TypeError(
            f"{source}: key 'seeds' must be an integer count or a non-empty list of integers, "
            f"got {value!r}."
        )
    out = []
    for s in value:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise TypeError(f"{source}: key 'seeds' holds {s!r}; seeds are integers >= 0.")
        out.append(int(s))
    if len(set(out)) != len(out):
        raise ValueError(f"{source}: key 'seeds' repeats a seed: {out}.")
    return tuple(out)


def parse_sweep_options(opts: dict, source: str) -> dict:
    """``out`` (a path), ``scheduler`` (a string), ``workers``/``retries`` (integers >= 0),
    ``report``/``unit_reports`` (booleans); ``workers`` and ``scheduler`` exclude each other."""
    if "out" in opts and not isinstance(opts["out"], (str, Path)):
        raise TypeError(f"{source}: key 'out' must be a path string, got {opts['out']!r}.")
    if "scheduler" in opts and not isinstance(opts["scheduler"], str):
        raise TypeError(
            f"{source}: key 'scheduler' must be an address (tcp://host:port) or the path of a "
            "scheduler file, as a string."
        )
    for key in ("workers", "retries"):
        v = opts.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise TypeError(f"{source}: key {key!r} must be an integer >= 0, got {v!r}.")
    for key in ("report", "unit_reports"):
        if not isinstance(opts.get(key, False), bool):
            raise TypeError(f"{source}: key {key!r} must be true or false, got {opts[key]!r}.")
    if "workers" in opts and "scheduler" in opts:
        raise ValueError(f"{source}: give 'workers' or 'scheduler', not both.")
    return opts


def check_datasets(datasets: Iterable[tuple[str, dict]], source: str) -> None:
    """Every name must be known to ``sg.datasets`` and loadable here (files present), and
    every load option a parameter of its loader."""
    from .. import datasets as sgd

    infos = {d.name: d for d in sgd.available()}
    for name, opts in datasets:
        try:
            key = sgd.canonical_name(name)
        except ValueError as exc:
            raise ValueError(f"{source}: key 'datasets': {exc}") from None
        if not infos[key].present:
            where = ", ".join(infos[key].files) or "its package"
            raise ValueError(
                f"{source}: key 'datasets': dataset {name!r} cannot be loaded here ({where} "
                "missing; set SIMGRAD_DATA_DIR to the folder holding the recordings)."
            )
        mod, _, fn = sgd.REGISTRY[key].loader.partition(":")
        params = inspect.signature(getattr(import_module(f"{sgd.__name__}.{mod}"), fn)).parameters
        if any(p.kind == p.VAR_KEYWORD for p in params.values()):
            continue
        for opt in opts:
            if opt not in params:
                raise ValueError(
                    f"{source}: key 'datasets': {name!r} has no load option {opt!r}; "
                    f"it takes {sorted(params)}."
                )


def check_jsonable(key: str, value: Any, source: str) -> None:
    """Grid values are plain data (they are hashed into unit ids and written to JSON)."""
    try:
        json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        raise TypeError(
            f"{source}: key {key!r} must hold plain values (numbers, strings, booleans, lists, "
            f"tables), got {type(value).__name__}."
        ) from None
