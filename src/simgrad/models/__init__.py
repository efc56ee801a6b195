"""From a PyTorch model to representations and scores.

- :func:`activations` (``sg.activations``): every chosen layer as ``(samples, units)``
  through forward hooks, with reductions for conv maps and spilling to memory-mapped files;
- :func:`compare_model` (``sg.compare_model``): layer × area scores, streaming the measures
  of second moments batch by batch (activations are never all held).
"""

from .record import activations, iter_batches, make_extraction
from .reduce import finish_pca, parse_reduce, projection
from .stream import compare_model

__all__ = [
    "activations",
    "compare_model",
    "finish_pca",
    "iter_batches",
    "make_extraction",
    "parse_reduce",
    "projection",
]
