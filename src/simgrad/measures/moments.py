"""Sufficient statistics of paired samples seen in minibatches, and the streaming hook's type.

:class:`PairMoments` sees minibatches ``(X_b, Y_b)`` and keeps only sums whose size depends on
the widths, never on the sample count. With ``u = x − s_x`` and ``v = y − s_y`` (``s`` the
first batch's mean, a fixed shift that keeps the sums well conditioned) and ``α = ‖u‖²``,
``β = ‖v‖²`` per sample, it accumulates::

    n, Σu, Σv, Σuuᵀ, Σvvᵀ, Σuvᵀ                         (second moments)
    Σα, Σβ, Σα², Σβ², Σαβ, Σαu, Σαv, Σβu, Σβv          (row-norm products)

The centred cross-products are ``X̃ᵀỸ = Σuvᵀ − n·ūv̄ᵀ`` (likewise X̃ᵀX̃, ỸᵀỸ); the row norms
of the centred data ``a_i = ‖x_i − x̄‖²``, ``b_i = ‖y_i − ȳ‖²`` enter through ``Σa``, ``Σb``,
``Σab``, ``Σa²``, ``Σb²``, which expand exactly into the sums above.

A family's ``streaming`` hook (see :class:`~simgrad.measures.registry.Hooks`) returns a
:class:`Stream`: which statistic to accumulate (``PairMoments`` unless it says otherwise) and
how to finish the measure from it. :func:`surrogate_stream` is the hook of every measure that
depends on the data only through its centred second moments: it evaluates the measure's own
function on a small surrogate pair with the same centred cross-products.

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> X = torch.randn(100, 3, generator=g, dtype=torch.float64)
>>> m = PairMoments()
>>> for xb, yb in zip(X.split(30), (2 * X).split(30)):
...     m.update(xb, yb)
>>> cxx, cyy, cxy = m.covariances()
>>> bool(torch.allclose(cxy, 2 * cxx)), m.n
(True, 100)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .linalg import sym_matrix_function

__all__ = ["PairMoments", "Stream", "surrogate_stream"]


class PairMoments:
    """Running shifted sums of paired samples (see the module docstring).

    ``update(x, y)`` takes float tensors ``(b, p)``, ``(b, q)`` of one dtype and device;
    ``n``, :meth:`covariances`, :meth:`row_norm_sums` and :meth:`surrogate` read the result.
    """

    def __init__(self) -> None:
        self.n = 0
        self._shift: tuple[torch.Tensor, torch.Tensor] | None = None
        self._s: dict[str, torch.Tensor] = {}
        self._surrogate: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def nbytes(self) -> int:
        """Bytes held by the sums (a function of the widths only)."""
        held = list(self._s.values()) + list(self._shift or ())
        return sum(t.numel() * t.element_size() for t in held)

    def update(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Add the samples of one minibatch."""
        if x.shape[0] == 0:
            return
        if self._shift is None:
            self._shift = (x.mean(0), y.mean(0))
        u, v = x - self._shift[0], y - self._shift[1]
        al, be = (u * u).sum(1), (v * v).sum(1)
        parts = {
            "su": u.sum(0),
            "sv": v.sum(0),
            "suu": u.T @ u,
            "svv": v.T @ v,
            "suv": u.T @ v,
            "sa": al.sum(),
            "sb": be.sum(),
            "saa": (al * al).sum(),
            "sbb": (be * be).sum(),
            "sab": (al * be).sum(),
            "sau": al @ u,
            "sav": al @ v,
            "sbu": be @ u,
            "sbv": be @ v,
        }
        for k, val in parts.items():
            self._s[k] = self._s[k] + val if k in self._s else val
        self.n += int(x.shape[0])
        self._surrogate = None

    def require(self, minimum: int) -> None:
        """Raise ``ValueError`` unless at least ``minimum`` samples were seen."""
        if self.n < minimum:
            raise ValueError(f"Only {self.n} sample(s) seen; at least {minimum} are needed.")

    def covariances(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Centred cross-products (X̃ᵀX̃, ỸᵀỸ, X̃ᵀỸ) of everything seen so far."""
        self.require(2)
        s, n = self._s, self.n
        mu, mv = s["su"] / n, s["sv"] / n
        cxx = s["suu"] - n * torch.outer(mu, mu)
        cyy = s["svv"] - n * torch.outer(mv, mv)
        cxy = s["suv"] - n * torch.outer(mu, mv)
        return 0.5 * (cxx + cxx.T), 0.5 * (cyy + cyy.T), cxy

    def row_norm_sums(self) -> dict[str, torch.Tensor]:
        """Σa, Σb, Σab, Σa², Σb² (keys ``a b ab aa bb``) of the centred row norms."""
        self.require(2)
        s, n = self._s, self.n
        mu, mv = s["su"] / n, s["sv"] / n
        m2, w2 = mu @ mu, mv @ mv

        def sum_prod(saa, sa_v, sb_u, suv, sa, sb, su, sv, m, w, mm, ww):
            # Σ (α_i − 2m·u_i + mm)(β_i − 2w·v_i + ww), expanded into the accumulated sums
            return (
                saa
                - 2 * (sa_v @ w)
                + ww * sa
                - 2 * (m @ sb_u)
                + 4 * (m @ suv @ w)
                - 2 * ww * (su @ m)
                + mm * sb
                - 2 * mm * (sv @ w)
                + n * mm * ww
            )

        ab = sum_prod(
            s["sab"],
            s["sav"],
            s["sbu"],
            s["suv"],
            s["sa"],
            s["sb"],
            s["su"],
            s["sv"],
            mu,
            mv,
            m2,
            w2,
        )
        aa = sum_prod(
            s["saa"],
            s["sau"],
            s["sau"],
            s["suu"],
            s["sa"],
            s["sa"],
            s["su"],
            s["su"],
            mu,
            mu,
            m2,
            m2,
        )
        bb = sum_prod(
            s["sbb"],
            s["sbv"],
            s["sbv"],
            s["svv"],
            s["sb"],
            s["sb"],
            s["sv"],
            s["sv"],
            mv,
            mv,
            w2,
            w2,
        )
        return {"a": s["sa"] - n * m2, "b": s["sb"] - n * w2, "ab": ab, "aa": aa, "bb": bb}

    def surrogate(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A small pair (X', Y') with 2(p+q) rows, zero column means and the accumulated
        centred cross-products: X'ᵀX' = X̃ᵀX̃, X'ᵀY' = X̃ᵀỸ, Y'ᵀY' = ỸᵀỸ (computed once per
        state)."""
        if self._surrogate is None:
            cxx, cyy, cxy = self.covariances()
            p = cxx.shape[0]
            joint = torch.cat([torch.cat([cxx, cxy], 1), torch.cat([cxy.T, cyy], 1)], 0)
            scale = joint.diagonal().abs().max().clamp_min(torch.finfo(joint.dtype).tiny)
            root = (
                sym_matrix_function(joint / scale, lambda l: l.clamp_min(0).sqrt(), lambda l: 0 * l)
                * scale.sqrt()
            )
            f = torch.cat([root, -root], 0) / 2**0.5
            self._surrogate = (f[:, :p], f[:, p:])
        return self._surrogate


@dataclass(frozen=True)
class Stream:
    """How one measure is accumulated over minibatches (what a ``streaming`` hook returns).

    ``statistic()`` makes an empty accumulator with ``update(x, y)`` (float tensors
    ``(b, p)``, ``(b, q)``) and ``nbytes``; measures whose streams name the same factory share
    one accumulator. ``finish(statistic)`` returns the measure's value as a 0-dim tensor.

    A toy family's hook, for ``‖X̃ᵀỸ‖²_F / (‖X̃ᵀX̃‖_F ‖ỸᵀỸ‖_F)``:

    >>> def hook(template, values):
    ...     def finish(m):
    ...         cxx, cyy, cxy = m.covariances()
    ...         return (cxy**2).sum() / ((cxx**2).sum() * (cyy**2).sum()).sqrt()
    ...     return Stream(finish)
    """

    finish: Callable[[Any], torch.Tensor]
    statistic: Callable[[], Any] = PairMoments


def surrogate_stream(template: Any, values: dict) -> Stream:
    """The streaming hook of a measure of the centred second moments alone: the measure's
    own function evaluated on :meth:`PairMoments.surrogate`."""
    fn = template.build(**values)
    return Stream(lambda m: fn(*m.surrogate(), n_conditions=None))
