"""Streaming (minibatch) estimators: similarity of data that does not fit in memory.

A :class:`StreamingSimilarity` sees the samples in minibatches ``(X_b, Y_b)`` and keeps only
sums whose size depends on the widths, never on the sample count. With ``u = x − s_x`` and
``v = y − s_y`` (``s`` the first batch's mean, a fixed shift that keeps the sums well
conditioned) and ``α = ‖u‖²``, ``β = ‖v‖²`` per sample, it accumulates::

    n, Σu, Σv, ΣuuᵀΣ, Σvvᵀ, Σuvᵀ                       (second moments)
    Σα, Σβ, Σα², Σβ², Σαβ, Σαu, Σαv, Σβu, Σβv          (row-norm products)

At ``compute()`` the centred cross-products are ``X̃ᵀỸ = Σuvᵀ − n·ūv̄ᵀ`` (and likewise for
X̃ᵀX̃, ỸᵀỸ), and the row norms of the centred data ``a_i = ‖x_i − x̄‖²`` enter only through
``Σa = Σα − n‖ū‖²`` and ``Σa_ib_i``, ``Σa_i²``, ``Σb_i²``, which expand exactly into the sums
above. That is all the unbiased HSIC (Song et al. 2012) needs::

    n(n−3)·HSIC_u = ‖X̃ᵀỸ‖² − Σab + Σa·Σb/((n−1)(n−2)) − 2/(n−2)·Σab

so the streamed CKA equals the full-batch CKA for the Gretton, Song and Lange estimators
(averaging per-batch CKA does not: it is biased upwards by the batch size).

Measures that depend on the data only through its centred second moments — linear CKA
(Gretton), ENSD, NBS, Procrustes, Bures, shape metrics (any α), CCA and in-sample
linear/ridge regression — are evaluated by the registry's own function on a small surrogate
pair ``(X', Y')`` with ``2(p+q)`` rows whose centred cross-products equal the accumulated
ones (``X'ᵀX' = X̃ᵀX̃``, ``X'ᵀY' = X̃ᵀỸ``, ``Y'ᵀY' = ỸᵀỸ``, column means 0). Measures that need
individual samples (RBF kernels, RSA, cross-validated scores) raise ``ValueError``.

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
from .measures.linalg import sym_matrix_function
from .measures.registry import lookup
from .measures.registry import measure as get_measure

__all__ = ["StreamingSimilarity", "stream_score", "streamable"]

_MOMENT_FAMILIES = ("nbs", "procrustes", "bures_distance", "shape_metric", "cca", "ensd")


def streamable(name: str) -> bool:
    """Whether a measure can be accumulated over minibatches of samples.

    >>> streamable("cka-hsic_song"), streamable("cka-kernel=(rbf-sigma=1)-hsic=gretton-score")
    (True, False)
    """
    tpl, values, _ = lookup(name)
    return _kind(tpl, values) is not None


def _kind(tpl: Any, values: dict) -> str | None:
    fam = tpl.family
    if fam == "cka":
        if values["kernel"][0] != "linear":
            return None
        return "hsic"
    if fam in _MOMENT_FAMILIES:
        return "moments"
    if fam in ("linear_regression", "ridge") and "cv" not in values:
        return "moments"
    return None


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
        self._specs = []
        for name in measures:
            tpl, values, canon = lookup(name)
            kind = _kind(tpl, values)
            if kind is None:
                raise ValueError(
                    f"measure {name!r} cannot be streamed: it needs individual samples "
                    "(kernels, RDMs or cross-validation folds). Streamable families: linear "
                    "CKA (all HSIC estimators), ENSD, NBS, Procrustes, Bures, shape metrics, "
                    "CCA and in-sample linear/ridge regression."
                )
            self._specs.append((name, canon, kind, values))
        self.dtype = dtype
        self.device = device
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> StreamingSimilarity:
        """Forget every batch seen so far."""
        self.n_samples = 0
        self._s: dict[str, torch.Tensor] = {}
        self._shift: tuple[torch.Tensor, torch.Tensor] | None = None
        return self

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
        dev = self.device if self.device is not None else xb.device
        xb = xb.detach().to(device=dev, dtype=self.dtype)
        yb = yb.detach().to(device=dev, dtype=self.dtype)
        if self._shift is None:
            if xb.shape[0] == 0:
                return self
            self._shift = (xb.mean(0), yb.mean(0))
        else:
            p, q = self._shift[0].shape[0], self._shift[1].shape[0]
            if xb.shape[1] != p or yb.shape[1] != q:
                raise ValueError(
                    f"Unit counts changed between batches: expected x with {p} and y with {q} "
                    f"units, got {xb.shape[1]} and {yb.shape[1]}."
                )
        u = xb - self._shift[0]
        v = yb - self._shift[1]
        al, be = (u * u).sum(1), (v * v).sum(1)
        parts = {
            "su": u.sum(0), "sv": v.sum(0),
            "suu": u.T @ u, "svv": v.T @ v, "suv": u.T @ v,
            "sa": al.sum(), "sb": be.sum(), "saa": (al * al).sum(), "sbb": (be * be).sum(),
            "sab": (al * be).sum(), "sau": al @ u, "sav": al @ v, "sbu": be @ u, "sbv": be @ v,
        }
        for k, val in parts.items():
            self._s[k] = self._s[k] + val if k in self._s else val
        self.n_samples += int(xb.shape[0])
        return self

    # ------------------------------------------------------------------ results
    def covariances(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Centred cross-products (X̃ᵀX̃, ỸᵀỸ, X̃ᵀỸ) of everything seen so far."""
        self._check_ready(2)
        s, n = self._s, self.n_samples
        mu, mv = s["su"] / n, s["sv"] / n
        cxx = s["suu"] - n * torch.outer(mu, mu)
        cyy = s["svv"] - n * torch.outer(mv, mv)
        cxy = s["suv"] - n * torch.outer(mu, mv)
        return 0.5 * (cxx + cxx.T), 0.5 * (cyy + cyy.T), cxy

    def row_norm_sums(self) -> dict[str, torch.Tensor]:
        """Σa, Σb, Σab, Σa², Σb² of the centred row norms a_i = ‖x_i − x̄‖², b_i = ‖y_i − ȳ‖²."""
        self._check_ready(2)
        s, n = self._s, self.n_samples
        mu, mv = s["su"] / n, s["sv"] / n
        m2, w2 = mu @ mu, mv @ mv

        def sum_prod(saa, sa_v, sb_u, suv, sa, sb, su, sv, m, w, mm, ww):
            return (saa - 2 * (sa_v @ w) + ww * sa - 2 * (m @ sb_u) + 4 * (m @ suv @ w)
                    - 2 * ww * (su @ m) + mm * sb - 2 * mm * (sv @ w) + n * mm * ww)

        ab = sum_prod(s["sab"], s["sav"], s["sbu"], s["suv"], s["sa"], s["sb"], s["su"], s["sv"],
                      mu, mv, m2, w2)
        aa = sum_prod(s["saa"], s["sau"], s["sau"], s["suu"], s["sa"], s["sa"], s["su"], s["su"],
                      mu, mu, m2, m2)
        bb = sum_prod(s["sbb"], s["sbv"], s["sbv"], s["svv"], s["sb"], s["sb"], s["sv"], s["sv"],
                      mv, mv, w2, w2)
        return {"a": s["sa"] - n * m2, "b": s["sb"] - n * w2, "ab": ab, "aa": aa, "bb": bb}

    def surrogate(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A small pair (X', Y') with 2(p+q) rows, zero column means and the accumulated
        centred cross-products: X'ᵀX' = X̃ᵀX̃, X'ᵀY' = X̃ᵀỸ, Y'ᵀY' = ỸᵀỸ."""
        cxx, cyy, cxy = self.covariances()
        p = cxx.shape[0]
        joint = torch.cat([torch.cat([cxx, cxy], 1), torch.cat([cxy.T, cyy], 1)], 0)
        scale = joint.diagonal().abs().max().clamp_min(torch.finfo(joint.dtype).tiny)
        root = sym_matrix_function(
            joint / scale, lambda l: l.clamp_min(0).sqrt(), lambda l: 0 * l
        ) * scale.sqrt()
        f = torch.cat([root, -root], 0) / 2**0.5
        return f[:, :p], f[:, p:]

    def _check_ready(self, minimum: int) -> None:
        if self.n_samples < minimum:
            raise ValueError(
                f"Only {self.n_samples} sample(s) seen; at least {minimum} are needed."
            )

    def _hsic_cka(self, hsic: str) -> torch.Tensor:
        n = self.n_samples
        self._check_ready(4 if hsic == "song" else 2)
        cxx, cyy, cxy = self.covariances()
        xy2, xx2, yy2 = (cxy * cxy).sum(), (cxx * cxx).sum(), (cyy * cyy).sum()
        r = self.row_norm_sums()
        if hsic == "gretton":
            num, dx, dy = xy2, xx2, yy2
        elif hsic == "lange":
            num, dx, dy = xy2 - r["ab"], xx2 - r["aa"], yy2 - r["bb"]
        else:
            c1, c2 = 1.0 / ((n - 1) * (n - 2)), 2.0 / (n - 2)
            num = xy2 - r["ab"] + r["a"] * r["b"] * c1 - c2 * r["ab"]
            dx = xx2 - r["aa"] + r["a"] * r["a"] * c1 - c2 * r["aa"]
            dy = yy2 - r["bb"] + r["b"] * r["b"] * c1 - c2 * r["bb"]
        tiny = torch.finfo(num.dtype).tiny
        return num / (dx.clamp_min(tiny) * dy.clamp_min(tiny)).sqrt()

    def compute_tensors(self) -> dict[str, torch.Tensor]:
        """Each measure as a 0-dim tensor, keyed by the name given."""
        from .measures.forms import transform

        self._check_ready(2)
        out: dict[str, torch.Tensor] = {}
        surrogate = None
        for name, canon, kind, values in self._specs:
            if kind == "hsic":
                tpl, _, _ = lookup(canon)
                out[name] = transform(tpl.form, self._hsic_cka(values["hsic"]))
            else:
                if surrogate is None:
                    surrogate = self.surrogate()
                out[name] = get_measure(canon).fn(*surrogate, n_conditions=None)
        return out

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
            raise ValueError(f"The {short} batches ran out after {k} batches; the two "
                             "iterables must yield the same number of batches.")
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
