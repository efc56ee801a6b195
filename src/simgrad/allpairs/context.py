"""What a family's ``pairwise`` hook receives besides the representations: the measure's
name, form and parameters' context, the memory budget and algorithm, and the driver's
batched building blocks (see :mod:`simgrad.allpairs` for the hook contract)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from . import blocks
from .linear import LinearProducts, linear_products, reduce

__all__ = ["PairContext"]

log = logging.getLogger("simgrad.allpairs")

Reps = list[torch.Tensor]


@dataclass(frozen=True)
class PairContext:
    """The driver's side of a ``pairwise`` hook call.

    ``name`` is the canonical measure name, ``family``/``form``/``tail`` its template's;
    ``symmetric`` is True when all pairs of one list are asked for and the measure is
    symmetric (so ``S[j, i] = S[i, j]`` may be reused); ``budget`` is the byte budget for
    temporaries; ``algorithm`` is ``"auto"``, ``"feature"`` or ``"sample"``.
    """

    name: str
    family: str
    form: str
    tail: str
    symmetric: bool
    budget: int
    algorithm: str

    def log(self, what: str) -> None:
        """Note (debug level, ``simgrad.allpairs``) how this measure's pairs are computed."""
        log.debug("pairwise %s: %s", self.name, what)

    def require_auto(self) -> None:
        """Refuse ``algorithm="feature"``/``"sample"`` (for hooks without that choice)."""
        if self.algorithm != "auto":
            raise ValueError(
                f"algorithm={self.algorithm!r} is not available for {self.name}: it has no "
                "feature- or sample-space variant; use 'auto'."
            )

    def pairs(
        self,
        factor: Callable[[torch.Tensor], Any],
        combine: Callable[[Any, Any], torch.Tensor],
        A: Reps,
        B: Reps | None,
    ) -> torch.Tensor:
        """``S[i, j] = combine(factor(a_i), factor(b_j))``: each factor computed once, each
        pair combined once (only ``j ≥ i`` when :attr:`symmetric`).

        >>> ctx = PairContext("toy", "toy", "score", "", True, 1 << 20, "auto")
        >>> reps = [torch.ones(3, 1), torch.arange(3.0)[:, None]]
        >>> ctx.pairs(lambda x: x.sum(), lambda a, b: a * b, reps, None).tolist()
        [[9.0, 9.0], [9.0, 9.0]]
        """
        fa = [factor(a) for a in A]
        fb = fa if B is None else [factor(b) for b in B]
        sym = self.symmetric and B is None
        return blocks.loop(lambda i, j: combine(fa[i], fb[j]), len(fa), len(fb), sym)

    def inner(
        self,
        vector: Callable[[torch.Tensor], torch.Tensor],
        A: Reps,
        B: Reps | None,
        length: int | None = None,
    ) -> torch.Tensor:
        """``S[i, j] = ⟨v(a_i), v(b_j)⟩`` for a per-representation vector ``v`` (flattened;
        one ``length`` for all, found from ``v(a_0)`` when not given), as blocked GEMMs
        within the budget; ``B=None`` forms the upper blocks of A with itself only. Vectors
        of blocks that do not fit together are rebuilt.

        >>> ctx = PairContext("toy", "toy", "score", "", True, 1 << 20, "auto")
        >>> reps = [torch.ones(3, 1), torch.arange(3.0)[:, None]]
        >>> ctx.inner(lambda x: x[:, 0], reps, None).tolist()
        [[3.0, 3.0], [3.0, 5.0]]
        """
        if length is None:
            length = int(vector(A[0]).numel())

        def stacked(lst: Reps) -> Callable[[list[int]], torch.Tensor]:
            return lambda idx: torch.stack([vector(lst[i]).reshape(-1) for i in idx])

        vb = None if B is None else stacked(B)
        kb = len(A) if B is None else len(B)
        item = A[0].element_size()
        return blocks.vector_gram(stacked(A), len(A), vb, kb, length, self.budget, item)

    def cross(self, A: Reps, B: Reps | None, op: str) -> torch.Tensor:
        """``‖A_iᵀB_j‖²_F`` (``op="fro2"``) or ``‖A_iᵀB_j‖_*`` (``"nuc"``) of all pairs, in
        budgeted blocks; nuclear norms are batched (threads on CPU, eigvalsh on a GPU)."""
        return blocks.cross(A, B, op, self.budget)

    def linear_products(self, A: Reps, B: Reps | None) -> LinearProducts:
        """Linear-kernel statistics of all pairs by the cheaper of the feature- and
        sample-space routes (or the one ``algorithm`` forces); see
        :class:`~simgrad.allpairs.linear.LinearProducts`."""
        return linear_products(A, B, self.algorithm, self.budget, self.name)

    def reduce(self, A: Reps, B: Reps | None) -> tuple[Reps, Reps | None]:
        """Representations wider than their samples replaced by their n×n factor
        ``(X̃X̃ᵀ)^½`` (all of them with ``algorithm="sample"``, none with ``"feature"``):
        for measures that depend on X̃ only through X̃X̃ᵀ up to a rotation of the units."""
        ra = reduce(A, self.algorithm, self.name, "reps_a")
        return ra, (None if B is None else reduce(B, self.algorithm, self.name, "reps_b"))
