"""Datasets: the :class:`Dataset` type, loaders of recordings, synthetic references, files.

>>> import simgrad as sg
>>> ds = sg.datasets.load("context", seed=0)
>>> ds.shape
(15, 72, 200)
>>> [d.name for d in sg.datasets.available()][:2]
['hatsopoulos2007-condavg', 'hatsopoulos-reach-trials']

``load(name, **options)`` passes the options to the loader named in :data:`REGISTRY`
(see each loader's docstring, or ``docs/datasets.md``). Files are found under
``$SIMGRAD_DATA_DIR`` (default: the per-user cache ``pooch.os_cache("simgrad")``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from .dataset import Dataset
from .download import data_dir
from .files import from_file, from_xarray
from .preprocess import (
    average_conditions,
    pca,
    pseudo_population,
    rebin,
    soft_normalize,
    time_window,
)
from .synthetic import matched_spectrum

__all__ = [
    "REGISTRY",
    "Dataset",
    "DatasetInfo",
    "available",
    "average_conditions",
    "canonical_name",
    "data_dir",
    "from_file",
    "from_xarray",
    "load",
    "matched_spectrum",
    "pca",
    "pseudo_population",
    "rebin",
    "soft_normalize",
    "time_window",
]


@dataclass(frozen=True)
class Entry:
    loader: str  # "module:function" inside simgrad.datasets
    kind: str  # "recording" | "paper" | "synthetic"
    description: str
    files: tuple[str, ...] = ()  # paths relative to the data directory; any one suffices


@dataclass(frozen=True)
class DatasetInfo:
    """One row of :func:`available`."""

    name: str
    kind: str
    description: str
    present: bool
    files: tuple[str, ...]


REGISTRY: dict[str, Entry] = {
    "hatsopoulos2007-condavg": Entry(
        "shared:load_hatsopoulos2007_condavg",
        "recording",
        "M1 center-out reach, 8 direction averages, 141 units, -300..400 ms, 50 ms bins",
        ("hatsopoulos2007_m1_condavg/hatsopoulos2007_condavg.npz",),
    ),
    "hatsopoulos-reach-trials": Entry(
        "shared:load_hatsopoulos_reach_trials",
        "recording",
        "motor cortex single-trial mean rates, 158 trials x 143 neurons, 8 directions",
        ("hatsopoulos_reachdata_m1_trials/reachdata_trials.npz",),
    ),
    "zhang-desimone2011-it": Entry(
        "shared:load_zhang_desimone2011_it",
        "recording",
        "IT, 7 objects x 3 positions, 132 neurons, pseudo-population trials, 100 ms bins",
        ("zhang_desimone2011_it_objects/zhang_desimone_it.npz",),
    ),
    "park2025-pfc": Entry(
        "shared:load_park2025_pfc",
        "recording",
        "PFC, context (look/no-look) x direction, 319 units, pseudo-population trials",
        ("park2025_pfc_look_nolook/park_pfc.npz",),
    ),
    "mante2013": Entry(
        "paper:load_mante2013",
        "paper",
        "PFC (monkey A), context-dependent integration, 72 conditions (public zip download)",
        ("mante2013/PFC data.zip", "mante2013/PFC data", "mante2013/mante2013_ar_parsed_v1.npz"),
    ),
    "hatsopoulos2007": Entry(
        "paper:load_hatsopoulos2007",
        "paper",
        "M1 single reach trials, 0..500 ms after movement onset, 50 ms counts (Dryad file)",
        ("hatsopoulos2007/Dataset5_Monkey4_Session1_ReachDataSimultaneousRecording.mat",),
    ),
    "majajhong2015": Entry(
        "paper:load_majajhong2015",
        "paper",
        "IT responses to 3200 object images, 8 categories (needs brainscore_vision)",
    ),
    "freemanziemba2013": Entry(
        "paper:load_freemanziemba2013",
        "paper",
        "V1+V2 responses to textures vs spectrally matched noise (needs brainscore_vision)",
    ),
    "siegel2015": Entry(
        "paper:load_siegel2015",
        "paper",
        "six areas, cued motion/colour categorization (not public; cannot be loaded)",
    ),
    "context": Entry(
        "synthetic:context",
        "synthetic",
        "simulated context-dependent integration population, 15 x 72 x 200 (default reference)",
    ),
    "toy2d": Entry(
        "synthetic:toy2d",
        "synthetic",
        "2-D toy trajectories, 10 time x 6 conditions (2 choices x 3 strengths)",
    ),
    "exp-gaussian": Entry(
        "synthetic:exp_gaussian",
        "synthetic",
        "Gaussian data with exponentially decaying PC variances, 200 x 50",
    ),
    "ultrametric": Entry(
        "synthetic:ultrametric",
        "synthetic",
        "hierarchical binary patterns, 100 leaves x 50 features, 10 categories",
    ),
}


def canonical_name(name: str) -> str:
    """The :data:`REGISTRY` key that ``name`` stands for: case, surrounding blanks and ``_``
    versus ``-`` do not matter. Raises ``ValueError`` for an unknown name (naming close
    matches), ``TypeError`` for a non-string.

    >>> canonical_name(" Exp_Gaussian ")
    'exp-gaussian'
    """
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a string, got {type(name).__name__}.")
    key = name.strip().lower().replace("_", "-")
    if key not in REGISTRY:
        close = difflib.get_close_matches(key, list(REGISTRY), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown dataset {name!r}.{hint} Known: {', '.join(REGISTRY)}; or read a file "
            "with sg.datasets.from_file(path)."
        )
    return key


def _entry(name: str) -> Entry:
    return REGISTRY[canonical_name(name)]


def load(name: str, **options: Any) -> Dataset:
    """Load a dataset by name; ``options`` go to its loader (e.g. ``seed``, ``mode``,
    ``window``, ``bin_ms``, ``trials_per_condition``, ``data_dir``).

    >>> load("toy2d").shape
    (10, 6, 2)
    """
    entry = _entry(name)
    mod, _, fn = entry.loader.partition(":")
    loader = getattr(import_module(f"{__name__}.{mod}"), fn)
    try:
        ds = loader(**options)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise TypeError(f"load({name!r}): {exc}. See help(sg.datasets.{mod}.{fn}).") from None
        raise
    # record how it was made (JSON-friendly) for run logs
    ds.extra["load"] = {"name": name, **{k: _plain(v) for k, v in options.items()}}
    return ds


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def available(data_dir: Any = None) -> list[DatasetInfo]:
    """Every known dataset with a one-line description and whether it can be loaded now
    (synthetic: always; files: present under the data directory; brainscore datasets:
    whether ``brainscore_vision`` is installed; ``siegel2015``: never)."""
    from importlib.util import find_spec

    from .download import data_dir as _dd

    base = _dd(data_dir)
    out = []
    for name, e in REGISTRY.items():
        if e.kind == "synthetic":
            present = True
        elif e.files:
            present = any((base / f).exists() for f in e.files)
        elif name == "siegel2015":
            present = False
        else:
            present = find_spec("brainscore_vision") is not None
        out.append(DatasetInfo(name, e.kind, e.description, present, e.files))
    return out
