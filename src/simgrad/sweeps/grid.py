"""The sweep grid: which datasets, measures, seeds and ``sg.run`` settings to combine.

A grid is read from a TOML file (:func:`load_grid`) or built from keyword arguments
(:func:`make_grid`). It is validated completely before any unit starts: unknown keys, values
of the wrong type, unknown dataset names (checked against ``sg.datasets.available()``) and
unknown measure names (checked through ``sg.measure``) raise ``ValueError``/``TypeError``
naming the key.

Grid file (every top-level key that is not one of the reserved ones below is an option of
``sg.run``; a list of values sweeps over them)::

    datasets = ["toy2d", { name = "ultrametric", n_conditions = 20 }]
    measures = ["cka", "procrustes-angular_score"]
    seeds = 3                       # or an explicit list, e.g. [0, 1, 2]
    max_iter = 300                  # one value: the same in every unit
    lr = [0.1, 0.01]                # a list: one setting per value
    out = "sweep-out"               # optional, like --out
    workers = 4                     # optional, like --workers
    scheduler = "tcp://host:8786"   # optional, like --scheduler
    retries = 2                     # optional: retries of a unit that raised

The units are the product datasets × settings × measures × seeds, in that order.

>>> g = make_grid(datasets=["toy2d"], measures=["cka"], seeds=2, validate=False)
>>> [(u.dataset, u.measure, u.seed) for u in g.units()]
[('toy2d', 'cka', 0), ('toy2d', 'cka', 1)]
"""

from __future__ import annotations

import inspect
import itertools
import json
import numbers
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .units import Unit

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 with the tomli backport
    import tomli as tomllib

__all__ = ["RESERVED_KEYS", "SWEEP_KEYS", "Grid", "load_grid", "make_grid"]

#: keys of a grid file that are not options of ``sg.run``
SWEEP_KEYS = ("out", "workers", "scheduler", "retries")
RESERVED_KEYS = ("datasets", "measures", "seeds", *SWEEP_KEYS)
#: ``sg.run`` parameters that the sweep itself sets for every unit
_OWNED_BY_SWEEP = ("dataset", "data", "measures", "seeds", "seed", "out", "progress", "verbose")
#: ``sg.run`` parameters that make no sense per unit
_NOT_IN_GRID = {"config": "a sweep grid holds the options itself; copy them from the config file"}


@dataclass(frozen=True)
class Grid:
    """A validated sweep grid.

    ``datasets`` holds ``(name, load_options)`` pairs, ``settings`` one dict of ``sg.run``
    options per combination of the swept values, ``swept`` the names of the options that take
    more than one value (they become columns of the aggregated tables).
    """

    datasets: tuple[tuple[str, dict], ...]
    measures: tuple[str, ...]
    seeds: tuple[int, ...]
    settings: tuple[dict, ...] = ({},)
    swept: tuple[str, ...] = ()
    sweep_options: dict = field(default_factory=dict)
    dataset_ids: tuple[str, ...] = ()

    def units(self) -> list[Unit]:
        """All units, in the order datasets × settings × measures × seeds."""
        ids = self.dataset_ids or ("",) * len(self.datasets)
        out = []
        for ((name, load), did), setting, measure, seed in itertools.product(
            zip(self.datasets, ids), self.settings, self.measures, self.seeds
        ):
            out.append(Unit(name, measure, seed, dict(setting), dict(load), did))
        return out

    def as_dict(self) -> dict:
        """A JSON-serializable description (written to ``DIR/sweep.json``)."""
        return {
            "datasets": [
                {"name": n, **({"id": i} if i else {}), **o}
                for (n, o), i in zip(self.datasets, self.dataset_ids or ("",) * len(self.datasets))
            ],
            "measures": list(self.measures),
            "seeds": list(self.seeds),
            "settings": [dict(s) for s in self.settings],
            "swept": list(self.swept),
        }


# ----------------------------------------------------------------------------- reading
def load_grid(path: str | Path, *, validate: bool = True) -> Grid:
    """Read and validate a TOML grid file (format in the module docstring).

    Raises ``ValueError`` for a missing file, a TOML syntax error or an invalid grid.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"grid file {str(path)!r} does not exist.")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"grid file {str(path)!r} is not valid TOML: {exc}") from None
    return grid_from_mapping(raw, source=str(path), validate=validate)


def grid_from_mapping(
    raw: Mapping[str, Any], *, source: str = "grid", validate: bool = True
) -> Grid:
    """Build a :class:`Grid` from the parsed contents of a grid file."""
    if not isinstance(raw, Mapping):
        raise TypeError(f"{source}: a grid must be a table of keys, got {type(raw).__name__}.")
    missing = [k for k in ("datasets", "measures", "seeds") if k not in raw]
    if missing:
        raise ValueError(
            f"{source}: missing key(s) {missing}; a grid needs datasets, measures and seeds."
        )
    options = {k: v for k, v in raw.items() if k not in RESERVED_KEYS}
    sweep_opts = {k: raw[k] for k in SWEEP_KEYS if k in raw}
    return make_grid(
        datasets=raw["datasets"],
        measures=raw["measures"],
        seeds=raw["seeds"],
        run_options=options,
        sweep_options=sweep_opts,
        source=source,
        validate=validate,
    )


def make_grid(
    *,
    datasets: Any,
    measures: Any,
    seeds: Any,
    run_options: Mapping[str, Any] | None = None,
    sweep_options: Mapping[str, Any] | None = None,
    source: str = "grid",
    validate: bool = True,
    run_fn: Callable | None = None,
) -> Grid:
    """Validate the pieces of a grid and combine them.

    ``run_options`` maps ``sg.run`` parameters to one value or a list of values to sweep. A
    list is read as one value (not a sweep) only when the parameter itself takes a sequence
    and the list's items are not lists: ``labels = ["context"]`` is one setting,
    ``labels = [["context"], ["stimulus"]]`` two. ``validate=False`` skips the checks that
    need the datasets and pipeline layers (names, ``sg.run``'s signature).
    """
    ds, ids = _parse_datasets(datasets, source)
    ms = _parse_measures(measures, source, validate)
    sd = _parse_seeds(seeds, source)
    run_options = dict(run_options or {})
    sweep_options = _parse_sweep_options(dict(sweep_options or {}), source)
    if validate:
        _check_datasets(ds, source)
        run_fn = run_fn or _default_run()
    params = _run_params(run_fn) if run_fn is not None else None
    axes: dict[str, list] = {}
    for key, value in run_options.items():
        if not isinstance(key, str):
            raise TypeError(f"{source}: option names must be strings, got {key!r}.")
        if key in _OWNED_BY_SWEEP:
            raise ValueError(f"{source}: key {key!r} is set by the sweep itself; remove it.")
        if key in _NOT_IN_GRID:
            raise ValueError(f"{source}: key {key!r} is not allowed: {_NOT_IN_GRID[key]}.")
        if params is not None and key not in params:
            raise ValueError(
                f"{source}: unknown key {key!r}; allowed are {list(RESERVED_KEYS)} and the "
                f"options of sg.run: {_allowed(params)}."
            )
        param = params.get(key) if params is not None else None
        values = _as_axis(value, param)
        if not values:
            raise ValueError(f"{source}: key {key!r} has an empty list of values.")
        for v in values:
            _check_type(key, v, param, source)
        axes[key] = values
    keys = list(axes)
    settings = tuple(dict(zip(keys, combo)) for combo in itertools.product(*axes.values()))
    swept = tuple(k for k in keys if len(axes[k]) > 1)
    grid = Grid(ds, ms, sd, settings or ({},), swept, sweep_options, ids)
    labels = [Unit(name, "", 0, {}, opts, did).label for (name, opts), did in zip(ds, ids)]
    if len(set(labels)) != len(labels):
        raise ValueError(
            f"{source}: key 'datasets' gives two entries the same name in the tables "
            f"({labels}); add a distinct 'id' to each."
        )
    return grid


# ----------------------------------------------------------------------------- pieces
def _parse_datasets(value: Any, source: str) -> tuple[tuple[tuple[str, dict], ...], tuple]:
    if isinstance(value, (str, Mapping)):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise ValueError(f"{source}: key 'datasets' must be a non-empty list of names.")
    out: list[tuple[str, dict]] = []
    ids: list[str] = []
    for i, item in enumerate(value):
        did = ""
        if isinstance(item, str):
            name, opts = item, {}
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
            _check_jsonable(f"datasets[{i}]", opts, source)
        else:
            raise TypeError(
                f"{source}: key 'datasets' item {i} must be a name or a table with 'name', "
                f"got {type(item).__name__}."
            )
        if not name:
            raise ValueError(f"{source}: key 'datasets' item {i} is an empty name.")
        if (name, opts) in out:
            raise ValueError(
                f"{source}: key 'datasets' lists {name!r} twice with the same options."
            )
        out.append((name, opts))
        ids.append(did)
    return tuple(out), tuple(ids)


def _parse_measures(value: Any, source: str, validate: bool) -> tuple[str, ...]:
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
        canon = name
        if validate:
            from ..measures import measure

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


def _parse_seeds(value: Any, source: str) -> tuple[int, ...]:
    if isinstance(value, bool):
        raise TypeError(f"{source}: key 'seeds' must be an integer count or a list of integers.")
    if isinstance(value, numbers.Integral):
        if value < 1:
            raise ValueError(f"{source}: key 'seeds' must be at least 1, got {value}.")
        return tuple(range(int(value)))
    if isinstance(value, range):
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


def _parse_sweep_options(opts: dict, source: str) -> dict:
    if "out" in opts and not isinstance(opts["out"], (str, Path)):
        raise TypeError(f"{source}: key 'out' must be a path string, got {opts['out']!r}.")
    if "scheduler" in opts and not isinstance(opts["scheduler"], str):
        raise TypeError(
            f"{source}: key 'scheduler' must be an address (tcp://host:port) or the path of a "
            "scheduler file, as a string."
        )
    for key, low in (("workers", 0), ("retries", 0)):
        if key in opts:
            v = opts[key]
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
                raise TypeError(f"{source}: key {key!r} must be an integer >= {low}, got {v!r}.")
    if "workers" in opts and "scheduler" in opts:
        raise ValueError(f"{source}: give 'workers' or 'scheduler', not both.")
    return opts


def _check_datasets(datasets: Iterable[tuple[str, dict]], source: str) -> None:
    """Every name must be known to ``sg.datasets`` and loadable here (files present), and
    every load option a parameter of its loader."""
    import difflib
    from importlib import import_module

    from .. import datasets as sgd

    infos = {d.name: d for d in sgd.available()}
    for name, opts in datasets:
        key = name.strip().lower().replace("_", "-")
        if key not in infos:
            close = difflib.get_close_matches(key, list(infos), n=3, cutoff=0.5)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ValueError(
                f"{source}: key 'datasets': unknown dataset {name!r}.{hint} "
                f"Known: {', '.join(infos)}."
            )
        if not infos[key].present:
            where = ", ".join(infos[key].files) or "its package"
            raise ValueError(
                f"{source}: key 'datasets': dataset {name!r} cannot be loaded here ({where} "
                "missing; set SIMGRAD_DATA_DIR to the folder holding the recordings)."
            )
        if opts:
            mod, _, fn = sgd.REGISTRY[key].loader.partition(":")
            loader = getattr(import_module(f"{sgd.__name__}.{mod}"), fn)
            params = inspect.signature(loader).parameters
            if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
                for opt in opts:
                    if opt not in params:
                        raise ValueError(
                            f"{source}: key 'datasets': {name!r} has no load option {opt!r}; "
                            f"it takes {sorted(params)}."
                        )


def _default_run() -> Callable:
    from ..pipeline import run

    return run


def _allowed(params: Mapping[str, Any]) -> list[str]:
    return sorted(p for p in params if p not in _OWNED_BY_SWEEP and p not in _NOT_IN_GRID)


def _run_params(fn: Callable) -> dict[str, inspect.Parameter]:
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: fall back to the defaults' types
        hints = {}
    out = {}
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[name] = p.replace(annotation=hints.get(name, inspect.Parameter.empty))
    return out


# ----------------------------------------------------------------------------- types
def _takes_sequence(param: inspect.Parameter | None) -> bool:
    if param is None:
        return False
    ann = param.annotation
    if ann is inspect.Parameter.empty:
        return isinstance(param.default, (list, tuple))
    return any(_is_seq_type(a) for a in _union_args(ann))


def _union_args(ann: Any) -> tuple:
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return typing.get_args(ann)
    return (ann,)


def _is_seq_type(ann: Any) -> bool:
    origin = typing.get_origin(ann) or ann
    try:
        return (
            isinstance(origin, type)
            and issubclass(origin, (list, tuple, Sequence))
            and (origin is not str)
        )
    except TypeError:
        return False


def _as_axis(value: Any, param: inspect.Parameter | None) -> list:
    if isinstance(value, list):
        if _takes_sequence(param) and not any(isinstance(v, list) for v in value):
            return [value]
        return list(value)
    return [value]


def _check_type(key: str, value: Any, param: inspect.Parameter | None, source: str) -> None:
    _check_jsonable(key, value, source)
    if param is None:
        return
    ann = param.annotation
    if ann is inspect.Parameter.empty:
        d = param.default
        if d is inspect.Parameter.empty or d is None:
            return
        ann = type(d) if not isinstance(d, (list, tuple)) else list
    if not _matches(value, ann):
        raise TypeError(
            f"{source}: key {key!r} has a value of the wrong type: {value!r} "
            f"({type(value).__name__}); sg.run expects {_fmt_ann(ann)}."
        )


def _matches(value: Any, ann: Any) -> bool:
    if ann is Any or ann is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in typing.get_args(ann))
    if origin is typing.Literal:
        return value in typing.get_args(ann)
    if ann is None or ann is type(None):
        return value is None
    if ann is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ann is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ann is bool:
        return isinstance(value, bool)
    if ann is str:
        return isinstance(value, str)
    if _is_seq_type(ann):
        if not isinstance(value, (list, tuple)):
            return False
        args = typing.get_args(ann)
        if args and args[-1] is not Ellipsis and len(args) == 1:
            return all(_matches(v, args[0]) for v in value)
        if args and args[-1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return True
    base = origin or ann
    if isinstance(base, type):
        if issubclass(base, Mapping):
            return isinstance(value, Mapping)
        if base.__module__ in ("pathlib", "os") or base is Path:
            return isinstance(value, (str, Path))
        return isinstance(value, base)
    return True  # TypeVars, protocols, strings we cannot judge: let sg.run decide


def _fmt_ann(ann: Any) -> str:
    return getattr(ann, "__name__", None) or str(ann).replace("typing.", "")


def _check_jsonable(key: str, value: Any, source: str) -> None:
    try:
        json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        raise TypeError(
            f"{source}: key {key!r} must hold plain values (numbers, strings, booleans, lists, "
            f"tables), got {type(value).__name__}."
        ) from None
