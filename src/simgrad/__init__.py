"""simgrad — exact, fast, differentiable similarity measures between representations.

>>> import numpy as np, simgrad as sg
>>> X = np.random.default_rng(0).normal(size=(100, 20))
>>> round(sg.score("cka", X, X), 6)
1.0
"""

from .measures import Card, Measure, aliases, card, measure, measures, score

__version__ = "0.1.0"

__all__ = [
    "Card",
    "Measure",
    "__version__",
    "aliases",
    "card",
    "measure",
    "measures",
    "score",
]
