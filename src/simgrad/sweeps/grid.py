"""The sweep grid: which datasets, measures, seeds and run settings to combine.

A grid is read from a TOML file (:func:`load_grid`) or built from keyword arguments
(:func:`make_grid`). It is validated completely before any unit starts: the sweep's own keys
here, every unit's run options by building its :class:`~simgrad.options.RunOptions` (so a bad
value is refused with the same message as ``simgrad run`` gives), dataset names through
:func:`simgrad.datasets.canonical_name`. Errors are ``ValueError``/``TypeError`` naming the key.

Grid file (every top-level key that is not one of :data:`RESERVED_KEYS` is a run option, a
field of ``RunOptions``; a list of values sweeps over them)::

    datasets = ["toy2d", { name = "ultrametric", n_conditions = 20 }]
    measures = ["cka", "procrustes-angular_score"]
    seeds = 3                       # or an explicit list, e.g. [0, 1, 2]
    max_iter = 300                  # one value: the same in every unit
    lr = [0.1, 0.01]                # a list: one setting per value
    out = "sweep-out"               # optional, like --out
    workers = 4                     # optional, like --workers
    scheduler = "tcp://host:8786"   # optional, like --scheduler
    retries = 2                     # optional: retries of a unit that raised
    report = true                   # optional: write report.html (false: tables only)
    unit_reports = false            # optional: figures and report.html in every unit folder

The units are the product datasets × settings × measures × seeds, in that order.

>>> g = make_grid(datasets=["toy2d"], measures=["cka"], seeds=2, validate=False)
>>> [(u.dataset, u.measure, u.seed) for u in g.units()]
[('toy2d', 'cka', 0), ('toy2d', 'cka', 1)]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._toml import load_toml
from .parse import (
    check_datasets,
    check_jsonable,
    parse_datasets,
    parse_measures,
    parse_seeds,
    parse_sweep_options,
)
from .units import UNITS, Unit

if TYPE_CHECKING:
    from ..options import OptionSpec

__all__ = [
    "LARGE_GRID",
    "OWNED_BY_SWEEP",
    "RESERVED_KEYS",
    "SWEEP_KEYS",
    "Grid",
    "check_size",
    "load_grid",
    "make_grid",
]

#: grids with more units than this run only when confirmed (``--yes``, ``yes=True``)
LARGE_GRID = 10_000
#: the most settings the swept run options may combine into (built before the size check)
MAX_SETTINGS = 1_000_000

#: keys of a grid file that configure the sweep, not the units
SWEEP_KEYS = ("out", "workers", "scheduler", "retries", "report", "unit_reports")
RESERVED_KEYS = ("datasets", "measures", "seeds", *SWEEP_KEYS)
#: run options that the sweep sets for every unit itself
OWNED_BY_SWEEP = ("dataset", "data", "measures", "seeds", "out")


@dataclass(frozen=True)
class Grid:
    """A validated sweep grid.

    ``datasets`` holds ``(name, load_options)`` pairs, ``settings`` one dict of run options
    per combination of the swept values, ``swept`` the names of the options that take more
    than one value (they become columns of the aggregated tables).
    """

    datasets: tuple[tuple[str, dict], ...]
    measures: tuple[str, ...]
    seeds: tuple[int, ...]
    settings: tuple[dict, ...] = ({},)
    swept: tuple[str, ...] = ()
    sweep_options: dict = field(default_factory=dict)
    dataset_ids: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """The number of units, computed without building them."""
        return len(self.datasets) * len(self.settings) * len(self.measures) * len(self.seeds)

    def describe_size(self) -> str:
        """``"40 units (2 datasets × 1 setting × 4 measures × 5 seeds)"``."""
        parts = [
            (len(self.datasets), "dataset"),
            (len(self.settings), "setting"),
            (len(self.measures), "measure"),
            (len(self.seeds), "seed"),
        ]
        terms = " × ".join(f"{n:,} {w}{'' if n == 1 else 's'}" for n, w in parts)
        return f"{self.size:,} units ({terms})"

    def units(self) -> list[Unit]:
        """All units, in the order datasets × settings × measures × seeds."""
        ids = self.dataset_ids or ("",) * len(self.datasets)
        return [
            Unit(name, measure, seed, dict(setting), dict(load), did)
            for ((name, load), did), setting, measure, seed in itertools.product(
                zip(self.datasets, ids), self.settings, self.measures, self.seeds
            )
        ]

    def as_dict(self) -> dict:
        """A JSON-serializable description (written to ``DIR/sweep.json``)."""
        ids = self.dataset_ids or ("",) * len(self.datasets)
        return {
            "datasets": [
                {"name": n, **({"id": i} if i else {}), **o}
                for (n, o), i in zip(self.datasets, ids)
            ],
            "measures": list(self.measures),
            "seeds": list(self.seeds),
            "settings": [dict(s) for s in self.settings],
            "swept": list(self.swept),
        }


def load_grid(
    path: str | Path, *, validate: bool = True, max_units: int | None = LARGE_GRID
) -> Grid:
    """Read and validate a TOML grid file (format in the module docstring).

    Raises ``ValueError`` for a missing file, a TOML syntax error, an invalid grid or one
    of more than ``max_units`` units (``None``: any size; see :func:`check_size`).
    """
    raw = load_toml(path, what="grid file")
    return grid_from_mapping(raw, source=str(path), validate=validate, max_units=max_units)


def grid_from_mapping(
    raw: Mapping[str, Any],
    *,
    source: str = "grid",
    validate: bool = True,
    max_units: int | None = LARGE_GRID,
) -> Grid:
    """Build a :class:`Grid` from the parsed contents of a grid file."""
    if not isinstance(raw, Mapping):
        raise TypeError(f"{source}: a grid must be a table of keys, got {type(raw).__name__}.")
    missing = [k for k in ("datasets", "measures", "seeds") if k not in raw]
    if missing:
        raise ValueError(
            f"{source}: missing key(s) {missing}; a grid needs datasets, measures and seeds."
        )
    return make_grid(
        datasets=raw["datasets"],
        measures=raw["measures"],
        seeds=raw["seeds"],
        run_options={k: v for k, v in raw.items() if k not in RESERVED_KEYS},
        sweep_options={k: raw[k] for k in SWEEP_KEYS if k in raw},
        source=source,
        validate=validate,
        max_units=max_units,
    )


def check_size(grid: Grid, max_units: int | None, source: str = "grid") -> None:
    """Refuse a grid of more than ``max_units`` units (``None``: no limit), saying its size,
    before any unit is built: a typo in ``seeds`` must not start a week of work."""
    if max_units is not None and grid.size > max_units:
        raise ValueError(
            f"{source}: the grid has {grid.describe_size()}, more than {max_units:,}; "
            "confirm with --yes (sg.sweep(..., yes=True)) to run it."
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
    max_units: int | None = LARGE_GRID,
) -> Grid:
    """Validate the pieces of a grid and combine them.

    ``run_options`` maps run options to one value or a list of values to sweep. A list is
    read as one value (not a sweep) only when the option itself takes a list and the list's
    items are not lists: ``labels = ["context"]`` is one setting, ``labels = [["context"],
    ["stimulus"]]`` two. ``validate=False`` skips the checks that load the datasets' registry
    and build every unit's ``RunOptions``. A grid of more than ``max_units`` units raises
    ``ValueError`` saying its size (:func:`check_size`).
    """
    ds, ids = parse_datasets(datasets, source)
    grid = Grid(
        ds,
        parse_measures(measures, source),
        parse_seeds(seeds, source),
        *_settings(dict(run_options or {}), source),
        parse_sweep_options(dict(sweep_options or {}), source),
        ids,
    )
    labels = [Unit(name, "", 0, {}, opts, did).label for (name, opts), did in zip(ds, ids)]
    if len(set(labels)) != len(labels):
        raise ValueError(
            f"{source}: key 'datasets' gives two entries the same name in the tables "
            f"({labels}); add a distinct 'id' to each."
        )
    check_size(grid, max_units, source)
    if validate:
        check_datasets(ds, source)
        check_units(grid, source)
    return grid


def check_units(grid: Grid, source: str = "grid") -> None:
    """Build the ``RunOptions`` of every setting × measure (nothing is written): the first
    invalid one raises its ``ValueError``/``TypeError``, which names the option. Datasets and
    seeds are checked on their own, so this costs settings × measures, not units."""
    (name, load), did = grid.datasets[0], (grid.dataset_ids or ("",))[0]
    for setting in grid.settings:
        for m in grid.measures:
            unit = Unit(name, m, grid.seeds[0], dict(setting), dict(load), did)
            unit.run_options(Path(UNITS) / unit.uid, where=source)


def _settings(options: dict, source: str) -> tuple[tuple[dict, ...], tuple[str, ...]]:
    """``(settings, swept)``: the product of the options' values, and the swept names."""
    from ..options import spec

    fields = {s.name: s for s in spec()}
    axes: dict[str, list] = {}
    for key, value in options.items():
        if not isinstance(key, str):
            raise TypeError(f"{source}: option names must be strings, got {key!r}.")
        if key in OWNED_BY_SWEEP or key == "progress":
            raise ValueError(f"{source}: key {key!r} is set by the sweep itself; remove it.")
        if key == "config":
            raise ValueError(
                f"{source}: key 'config' is not allowed: a sweep grid holds the options "
                "itself; copy them from the config file."
            )
        if key not in fields:
            allowed = sorted(k for k in fields if k not in OWNED_BY_SWEEP)
            raise ValueError(
                f"{source}: unknown key {key!r}; allowed are {list(RESERVED_KEYS)} and the "
                f"run options {allowed}."
            )
        values = _as_axis(value, _takes_list(fields[key]))
        if not values:
            raise ValueError(f"{source}: key {key!r} has an empty list of values.")
        for v in values:
            check_jsonable(key, v, source)
        axes[key] = values
    keys = list(axes)
    n_settings = math.prod(len(v) for v in axes.values())
    if n_settings > MAX_SETTINGS:
        raise ValueError(
            f"{source}: the swept options combine into {n_settings:,} settings "
            f"(at most {MAX_SETTINGS:,})."
        )
    settings = tuple(dict(zip(keys, combo)) for combo in itertools.product(*axes.values()))
    return settings or ({},), tuple(k for k in keys if len(axes[k]) > 1)


def _takes_list(option: OptionSpec) -> bool:
    """Whether a run option's value is itself a list (``labels``), from its listed type."""
    return "list[" in option.type


def _as_axis(value: Any, takes_list: bool) -> list:
    if isinstance(value, list):
        if takes_list and not any(isinstance(v, list) for v in value):
            return [value]
        return list(value)
    return [value]
