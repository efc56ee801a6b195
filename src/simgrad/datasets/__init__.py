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
import warnings
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
        "M1 center-out reach, 8 direction averages; shape (121, 8, 141); t = -800..400 ms, "
        "step 10 ms; labels direction",
        ("hatsopoulos2007_m1_condavg/hatsopoulos2007_condavg.npz",),
    ),
    "hatsopoulos-reach-trials": Entry(
        "shared:load_hatsopoulos_reach_trials",
        "recording",
        "motor cortex single-trial mean rates, 8 directions; shape (158, 143); labels direction",
        ("hatsopoulos_reachdata_m1_trials/reachdata_trials.npz",),
    ),
    "zhang-desimone2011-it": Entry(
        "shared:load_zhang_desimone2011_it",
        "recording",
        "IT, 7 objects x 3 positions, pseudo-population trials; shape (6, 210, 132); "
        "t = -50..450 ms, step 100 ms; labels object, position",
        ("zhang_desimone2011_it_objects/zhang_desimone_it.npz",),
    ),
    "park2025-pfc": Entry(
        "shared:load_park2025_pfc",
        "recording",
        "PFC, context (look/no-look) x direction, pseudo-population trials; shape (24, 40, 319); "
        "t = 25..1175 ms, step 50 ms; labels context, direction",
        ("park2025_pfc_look_nolook/park_pfc.npz",),
    ),
    "mante2013": Entry(
        "paper:load_mante2013",
        "paper",
        "PFC (monkey A), context-dependent integration, public zip download (unverified); "
        "shape (15, 72, units); labels context, motion, colour, choice",
        ("mante2013/PFC data.zip", "mante2013/PFC data", "mante2013/mante2013_ar_parsed_v1.npz"),
    ),
    "hatsopoulos2007": Entry(
        "paper:load_hatsopoulos2007",
        "paper",
        "M1 single reach trials after movement onset, Dryad download (unverified); shape "
        "(10, trials, units); t = 25..475 ms, step 50 ms; labels target",
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
        "simulated context-dependent integration population (default reference); shape "
        "(15, 72, 200); t = 125..825 ms, step 50 ms; labels context, motion, colour, choice, "
        "motion_coherence, colour_coherence",
    ),
    "toy2d": Entry(
        "synthetic:toy2d",
        "synthetic",
        "2-D toy trajectories, 2 choices x 3 strengths; shape (10, 6, 2); t = 0..9, step 1; "
        "labels choice, stimulus",
    ),
    "exp-gaussian": Entry(
        "synthetic:exp_gaussian",
        "synthetic",
        "Gaussian data with exponentially decaying PC variances; shape (200, 50); labels pc1, pc5",
    ),
    "ultrametric": Entry(
        "synthetic:ultrametric",
        "synthetic",
        "hierarchical binary patterns, 10 categories; shape (100, 50); labels category, superclass",
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
    unreadable: list[str] = []
    for name, e in REGISTRY.items():
        if e.kind == "synthetic":
            present = True
        elif e.files:
            present = _any_present(base, e.files, unreadable)
        elif name == "siegel2015":
            present = False
        else:
            present = find_spec("brainscore_vision") is not None
        out.append(DatasetInfo(name, e.kind, e.description, present, e.files))
    if unreadable:
        warnings.warn(
            f"the data directory {base} cannot be read ({unreadable[0]}); the recordings in it "
            "are listed as missing. Fix its permissions or point SIMGRAD_DATA_DIR elsewhere.",
            UserWarning,
            stacklevel=2,
        )
    return out


def _any_present(base: Any, files: tuple[str, ...], unreadable: list[str]) -> bool:
    """Whether one of ``files`` exists under ``base``; a folder that cannot be read counts
    as missing and its reason is added to ``unreadable``."""
    for f in files:
        try:
            if (base / f).exists():
                return True
        except OSError as exc:
            unreadable.append(exc.strerror or type(exc).__name__)
    return False
