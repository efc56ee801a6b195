"""simgrad — exact, fast, differentiable similarity measures between representations.

The public API lives here. Heavier layers (datasets, optimization, analyses, the pipeline)
are imported lazily on first use, so ``import simgrad`` stays fast.

>>> import numpy as np, simgrad as sg
>>> X = np.random.default_rng(0).normal(size=(100, 20))
>>> round(sg.score("cka", X, X), 6)
1.0
"""

from importlib import import_module
from typing import Any

from . import _threads

_threads.set_env_defaults()  # OpenMP must not spin: set before torch is first imported

from .measures import Card, Measure, aliases, card, measure, measures, score  # noqa: E402

__version__ = "0.1.0"

# public name -> "module" (the module itself) or "module:attribute"
_LAZY = {
    "datasets": "simgrad.datasets",
    "stats": "simgrad.stats",
    "Dataset": "simgrad.datasets:Dataset",
    "optimize": "simgrad.optim:optimize",
    "Trajectory": "simgrad.optim:Trajectory",
    "allowed_region": "simgrad.optim:allowed_region",
    "fit_model": "simgrad.optim:fit_model",
    "analysis": "simgrad.analysis",
    "theory": "simgrad.analysis.theory",
    "pairwise": "simgrad.allpairs:pairwise",
    "streaming": "simgrad.streaming",
    "activations": "simgrad.models:activations",
    "compare_model": "simgrad.models:compare_model",
    "compare": "simgrad.comparison:compare",
    "run": "simgrad.report.main_job:run",
    "RunOptions": "simgrad.options:RunOptions",
    "RunResult": "simgrad.pipeline:RunResult",
    "sweep": "simgrad.sweeps:sweep",
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'simgrad' has no attribute {name!r}")
    mod_name, _, attr = target.partition(":")
    obj = import_module(mod_name)
    if attr:
        obj = getattr(obj, attr)
    globals()[name] = obj
    return obj


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Card",
    "Measure",
    "__version__",
    "aliases",
    "card",
    "measure",
    "measures",
    "score",
    *_LAZY,
]
