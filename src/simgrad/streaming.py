"""Streaming (minibatch) estimators: similarity of data that does not fit in memory.

A generic driver over the families' ``streaming`` hooks (see
:class:`~simgrad.measures.registry.Hooks`). For each measure, the family's hook
``streaming(template, values)`` returns a :class:`~simgrad.measures.moments.Stream`: which
statistic to accumulate and ``finish(statistic)``, the measure's value from it; ``None`` means
these parameters need individual samples (RBF kernels, RDMs, cross-validation folds) and the
measure is not streamable (``ValueError``). Measures whose streams name the same statistic
share one accumulator; no minibatch is kept after :meth:`StreamingSimilarity.update` returns.

The stock statistic, :class:`~simgrad.measures.moments.PairMoments`, holds the shifted second
moments and row-norm sums of the pairs (sizes depend on the widths only). From it:

- linear CKA (``cka.py``): ‖X̃ᵀỸ‖² and the centred row-norm sums give the Gretton, Song and
  Lange HSIC exactly, so the streamed CKA equals the full-batch CKA (averaging per-batch CKA
  does not: it is biased upwards by the batch size);
- measures of the centred second moments alone — ENSD, NBS, Procrustes, Bures, shape metrics
  (any α), CCA and in-sample linear/ridge regression — evaluate their own function on a small
  surrogate pair with the accumulated cross-products
  (:func:`~simgrad.measures.moments.surrogate_stream`).

A new family streams by registering a hook next to its measure, e.g.
``register_hooks("toy", streaming=surrogate_stream)`` or a hook returning
``Stream(finish)`` with its own ``finish(moments)``.

>>> import torch, simgrad as sg
>>> g = torch.Generator().manual_seed(0)
>>> X = torch.randn(1000, 6, generator=g, dtype=torch.float64)
>>> Y = X @ torch.randn(6, 4, generator=g, dtype=torch.float64)
>>> s = sg.streaming.stream_score("cka", zip(X.split(128), Y.split(128)))
>>> abs(s - sg.score("cka", X, Y)) < 1e-12
True
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from ._array import as_tensor
from .measures.moments import Stream
from .measures.registry import family_hooks, lookup, measures

__all__ = ["StreamingSimilarity", "stream_score", "streamable", "streamable_families"]


def _stream(name: str) -> tuple[str, Stream | None]:
    """The canonical name of ``name`` and its family's stream (``None``: not streamable)."""
    tpl, values, canon = lookup(name)
    hook = family_hooks(tpl.family).streaming
    return canon, (hook(tpl, values) if hook is not None else None)


def streamable(name: str) -> bool:
    """Whether a measure can be accumulated over minibatches of samples.

    >>> streamable("cka-hsic_song"), streamable("cka-kernel=(rbf-sigma=1)-hsic=gretton-score")
    (True, False)
    """
    return _stream(name)[1] is not None


def streamable_families() -> list[str]:
    """Families that registered a ``streaming`` hook (some of their parameters may still need
    individual samples: see :func:`streamable`).

    >>> "cka" in streamable_families() and "neighbors" not in streamable_families()
    True
    """
    families = {name.split("-")[0] for name in measures()}
    return sorted(f for f in families if family_hooks(f).streaming is not None)


class StreamingSimilarity:
    """Accumulate minibatches of paired samples; compute several measures at the end.

    Parameters
    ----------
    measures : names (or aliases) of streamable measures (see :func:`streamable`).
    dtype : accumulation precision (float64 by default, also for float32 batches).
    device : where the sums live (default: the first batch's device).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> acc = StreamingSimilarity(["cka", "nbs"])
    >>> for _ in range(4):
    ...     x = rng.normal(size=(64, 5))
    ...     _ = acc.update(x, x[:, :3] + 0.1 * rng.normal(size=(64, 3)))
    >>> sorted(acc.compute()), acc.n_samples
    (['cka', 'nbs'], 256)
    """

    def __init__(
        self,
        measures: str | Sequence[str] = ("cka",),
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> None:
        if isinstance(measures, str):
            measures = [measures]
        measures = list(measures)
        if not measures:
            raise ValueError("measures is empty; name at least one streamable measure.")
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a floating torch dtype, got {dtype!r}.")
        self._streams: list[tuple[str, Stream]] = []
        for name in measures:
            canon, stream = _stream(name)
            if stream is None:
                raise ValueError(
                    f"measure {name!r} ({canon}) cannot be streamed: it needs individual "
                    "samples (kernels, RDMs or cross-validation folds). Families with "
                    f"streamable measures: {', '.join(streamable_families())}."
                )
            self._streams.append((name, stream))
        self.dtype = dtype
        self.device = device
        self.reset()

    def reset(self) -> StreamingSimilarity:
        """Forget every batch seen so far."""
        self.n_samples = 0
        self._widths: tuple[int, int] | None = None
        self._stats: dict[Any, Any] = {}
        for _, stream in self._streams:
            if stream.statistic not in self._stats:
                self._stats[stream.statistic] = stream.statistic()
        return self

    @property
    def nbytes(self) -> int:
        """Bytes held by the accumulated statistics: a function of the widths, not of the
        number of samples seen."""
        return sum(int(stat.nbytes) for stat in self._stats.values())

    def update(self, x: Any, y: Any) -> StreamingSimilarity:
        """Add a minibatch: ``x`` (b, p) and ``y`` (b, q) hold the same b samples."""
        n_seen = self.n_samples
        xb = as_tensor(x, f"x (batch after {n_seen} samples)", check_finite=True)
        yb = as_tensor(y, f"y (batch after {n_seen} samples)", check_finite=True)
        if xb.ndim != 2 or yb.ndim != 2:
            raise ValueError(
                f"Minibatches must be (samples, units); got x {tuple(xb.shape)}, "
                f"y {tuple(yb.shape)}."
            )
        if xb.shape[0] != yb.shape[0]:
            raise ValueError(
                f"x and y must hold the same samples: this batch has {xb.shape[0]} rows of x "
                f"and {yb.shape[0]} rows of y."
            )
        if xb.shape[0] == 0 and self._widths is None:
            return self
        widths = (int(xb.shape[1]), int(yb.shape[1]))
        if self._widths is not None and widths != self._widths:
            p, q = self._widths
            raise ValueError(
                f"Unit counts changed between batches: expected x with {p} and y with {q} "
                f"units, got {widths[0]} and {widths[1]}."
            )
        self._widths = widths
        dev = self.device if self.device is not None else xb.device
        xb = xb.detach().to(device=dev, dtype=self.dtype)
        yb = yb.detach().to(device=dev, dtype=self.dtype)
        for stat in self._stats.values():
            stat.update(xb, yb)
        self.n_samples += int(xb.shape[0])
        return self

    def compute_tensors(self) -> dict[str, torch.Tensor]:
        """Each measure as a 0-dim tensor, keyed by the name given."""
        if self.n_samples < 2:
            raise ValueError(f"Only {self.n_samples} sample(s) seen; at least 2 are needed.")
        return {name: s.finish(self._stats[s.statistic]) for name, s in self._streams}

    def compute(self) -> dict[str, float]:
        """Each measure as a float, keyed by the name given."""
        return {k: float(v) for k, v in self.compute_tensors().items()}


def _pairs(batches: Iterable, batches_y: Iterable | None) -> Iterable:
    if batches_y is None:
        for k, item in enumerate(batches):
            if not (isinstance(item, (tuple, list)) and len(item) >= 2):
                raise TypeError(
                    f"batch {k} must be a pair (X_batch, Y_batch); give the Y batches as a "
                    "second iterable to stream two loaders side by side."
                )
            yield item[0], item[1]
        return
    sentinel = object()
    for k, (x, y) in enumerate(itertools.zip_longest(batches, batches_y, fillvalue=sentinel)):
        if x is sentinel or y is sentinel:
            short = "X" if x is sentinel else "Y"
            raise ValueError(
                f"The {short} batches ran out after {k} batches; the two "
                "iterables must yield the same number of batches."
            )
        x = x[0] if isinstance(x, (tuple, list)) else x
        y = y[0] if isinstance(y, (tuple, list)) else y
        yield x, y


def stream_score(
    name: str | Sequence[str],
    batches: Iterable,
    batches_y: Iterable | None = None,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> float | dict[str, float]:
    """Score(s) of minibatched data: ``batches`` yields ``(X_b, Y_b)``, or two iterables
    (e.g. DataLoaders; a batch that is a tuple contributes its first element) yield the X and
    the Y batches. Returns a float for one name, a dict for several.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(300, 4)); Y = X + rng.normal(size=(300, 4))
    >>> round(stream_score("nbs", np.array_split(X, 5), np.array_split(Y, 5)), 10) == round(
    ...     float(__import__("simgrad").score("nbs", X, Y)), 10)
    True
    """
    names = [name] if isinstance(name, str) else list(name)
    acc = StreamingSimilarity(names, dtype=dtype, device=device)
    for x, y in _pairs(batches, batches_y):
        acc.update(x, y)
    out = acc.compute()
    return out[name] if isinstance(name, str) else out
