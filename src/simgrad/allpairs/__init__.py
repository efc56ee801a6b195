"""All-pairs similarity matrices: ``sg.pairwise``.

``pairwise(reps_a, reps_b=None, measure)`` returns the matrix ``S[i, j] = measure(a_i, b_j)``
(``X = a_i`` is the reference, ``Y = b_j`` the candidate) as one differentiable torch tensor.
With ``reps_b`` omitted it compares every pair of ``reps_a`` and, for symmetric measures,
computes each unordered pair once.

This package is a generic driver. The work that depends on one representation is done once
per representation by the measure's **family**, which registers a ``pairwise`` hook next to
its measure (:func:`simgrad.measures.registry.register_hooks`)::

    def pairwise(A, B, values, ctx) -> torch.Tensor | None

- ``A``, ``B``: lists of ``(samples, units)`` tensors (validated, one dtype and device,
  ``(time, conditions, units)`` flattened time-major; not centred). ``B`` is ``None`` when
  all pairs of ``A`` are asked for: the hook may then compute each unordered pair once.
- ``values``: the template's parsed parameters (as ``sg.card(name).params``).
- ``ctx``: a :class:`~simgrad.allpairs.context.PairContext`: ``name``, ``family``, ``form``,
  ``tail``, ``symmetric``, ``budget``, ``algorithm``, and the driver's building blocks —
  ``ctx.pairs(factor, combine, A, B)`` (a factor once per representation, a combine per
  pair), ``ctx.inner(vector, A, B)`` (inner products of per-representation vectors as
  budgeted GEMMs), ``ctx.cross(A, B, op)`` (``‖A_iᵀB_j‖²_F`` or batched nuclear norms),
  ``ctx.linear_products(A, B)`` (linear-kernel statistics, feature or sample space by flop
  count), ``ctx.reduce(A, B)`` (wide representations → their n×n factor), ``ctx.log(msg)``
  and ``ctx.require_auto()`` (hooks without a feature/sample choice call it).
- returns the ``(len(A), len(B or A))`` matrix in the measure's output form, or ``None``
  when these parameters have no batched algorithm.

A family without a hook (or whose hook returns ``None``) falls back to a loop over the
single-pair function (logged at debug level on the ``simgrad`` logger). A toy family::

    register_hooks("toydot", pairwise=lambda A, B, values, ctx: ctx.inner(
        lambda x: x.mean(0), A, B))

The families' hooks: linear CKA (Gretton, Song, Lange) and ENSD from
:meth:`~PairContext.linear_products`; RBF CKA from one centred kernel per representation
and one GEMM; NBS, Procrustes, Bures and shape metrics from partially whitened
representations and batched nuclear norms; CCA from whitened ones; in-sample regression
from one spectral factor per candidate; RSA from one RDM per representation (one GEMM for
cosine, Pearson, Spearman, ρ_a, cosine_cov and corr_cov, cached RDMs otherwise).

Products are chunked so that the temporary matrices stay within ``memory_budget`` bytes
(not counting the inputs themselves and, when gradients are needed, what autograd keeps).
On CPU a batch of nuclear norms is split over Python threads, one per torch thread (the
torch thread count is set to 1 meanwhile and then restored, a process-wide setting).

>>> import numpy as np, simgrad as sg
>>> rng = np.random.default_rng(0)
>>> reps = [rng.normal(size=(100, d)) for d in (5, 8, 12)]
>>> S = sg.pairwise(reps, measure="cka")
>>> S.shape, round(float(S[1, 2]), 10) == round(sg.score("cka", reps[1], reps[2]), 10)
(torch.Size([3, 3]), True)
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from .._array import Pair
from ..measures.registry import family_hooks, lookup
from ..measures.registry import measure as get_measure
from . import blocks
from .context import PairContext
from .inputs import parse_bytes, prepare
from .linear import sample_factor

__all__ = ["PairContext", "pairwise", "parse_bytes", "sample_factor"]

log = logging.getLogger("simgrad.allpairs")

DEFAULT_BUDGET = 1 << 30  # 1 GiB
_ALGORITHMS = ("auto", "feature", "sample")


def pairwise(
    reps_a: Any,
    reps_b: Any = None,
    measure: str = "cka",
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    memory_budget: int | float | str = DEFAULT_BUDGET,
    algorithm: str = "auto",
) -> torch.Tensor:
    """Scores between all pairs of representations: ``S[i, j] = measure(a_i, b_j)``.

    Parameters
    ----------
    reps_a, reps_b : sequences of arrays ``(samples, units)`` or ``(time, conditions, units)``
        (numpy, torch, xarray), all with the same samples; widths may differ. A stacked
        ``(K, samples, units)`` array counts as K representations. Without ``reps_b`` every
        pair of ``reps_a`` is compared (each unordered pair once for symmetric measures).
    measure : a measure name or alias (see ``sg.measures()``).
    device, dtype : where and in which precision to compute (default: the inputs' own; numpy
        becomes float64).
    memory_budget : bytes (or ``"2GB"``) for the temporary matrices of one block of pairs.
    algorithm : ``"auto"``, ``"feature"`` (d×d cross-products) or ``"sample"`` (n×n Grams);
        a choice for the CKA, ENSD, shape, CCA and regression families, whose two routes give
        the same numbers. ``"auto"`` counts flops and logs the choice at debug level on the
        ``simgrad`` logger.

    Returns
    -------
    torch.Tensor of shape (len(reps_a), len(reps_b or reps_a)), differentiable with respect
    to every torch input that requires grad.

    >>> import torch, simgrad as sg
    >>> g = torch.Generator().manual_seed(0)
    >>> reps = [torch.randn(50, 4, generator=g, dtype=torch.float64) for _ in range(3)]
    >>> S = sg.pairwise(reps, measure="procrustes-angular_score")
    >>> bool(torch.allclose(S, S.T)), bool(torch.allclose(S.diagonal(), torch.ones(3).double()))
    (True, True)
    """
    if not isinstance(algorithm, str) or algorithm not in _ALGORITHMS:
        raise ValueError(f"algorithm must be one of {list(_ALGORITHMS)}, got {algorithm!r}.")
    budget = parse_bytes(memory_budget)
    tpl, values, canon = lookup(measure)
    m = get_measure(canon)
    A, B, n_cond = prepare(reps_a, reps_b, device, dtype)
    ctx = PairContext(
        name=canon,
        family=tpl.family,
        form=tpl.form,
        tail=tpl.tail,
        symmetric=B is None and m.card.symmetric,
        budget=budget,
        algorithm=algorithm,
    )
    hook = family_hooks(tpl.family).pairwise
    if hook is not None:
        out = hook(A, B, values, ctx)
        if out is not None:
            return out
    ctx.require_auto()
    Bl = A if B is None else B
    ctx.log(
        "no batched algorithm; looping over "
        f"{len(A) * (len(A) + 1) // 2 if ctx.symmetric else len(A) * len(Bl)} single-pair calls"
    )
    return blocks.loop(
        lambda i, j: m.compute(Pair(A[i], Bl[j], n_cond)), len(A), len(Bl), ctx.symmetric
    )
