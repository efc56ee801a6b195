"""The nuclear norm ``‖A‖_* = Σσ`` of a batch of matrices, with one SVD per evaluation.

Without a gradient, ``svdvals`` gives the value. With one, a single SVD ``A = U Σ Vᵀ`` serves
the value (Σσ) and the backward (``∂‖A‖_*/∂A = U Vᵀ``, the polar factor, saved by the
forward): the same singular vectors ``svdvals``' own backward would compute, without going
through its generic backward. ``U Vᵀ`` is finite for repeated and zero singular values (any
orthonormal completion of U, V is a subgradient), so gradients stay finite at ``Y = X``,
rotations of X and rank-deficient inputs.

On a CPU, a batch of SVDs is split over Python threads, each running LAPACK on one core: a
threaded LAPACK SVD of a 200×200 matrix gains nothing from a second core and collapses on a
loaded machine (threads waiting for each other), while independent matrices scale.

>>> a = torch.diag(torch.tensor([3.0, 1.0, 1.0], dtype=torch.float64)).requires_grad_()
>>> v = nuclear_norm(a); v.backward(); (float(v), a.grad.diagonal().tolist())
(5.0, [1.0, 1.0, 1.0])
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

__all__ = ["nuclear_norm", "svd_split", "svdvals_split"]

#: split a batch over threads only when each matrix is at least this wide (smaller SVDs are
#: cheaper than a thread hand-off)
MIN_SPLIT_WIDTH = 32

_LOCK = threading.Lock()


def _split(a: torch.Tensor, op: Callable[[torch.Tensor], Any]) -> list[Any] | None:
    """``op`` on parts of the ``(N, p, q)`` batch ``a``, one Python thread per torch thread with
    torch set to one thread meanwhile (restored after); ``None`` where splitting does not pay
    or is not safe (not a CPU, one thread, small matrices, not the main thread, or another
    split running: the thread count is a process-wide setting)."""
    k = min(torch.get_num_threads(), a.shape[0])
    if (
        a.device.type != "cpu"
        or k < 2
        or min(a.shape[-2:]) < MIN_SPLIT_WIDTH
        or threading.current_thread() is not threading.main_thread()
        or not _LOCK.acquire(blocking=False)
    ):
        return None
    try:
        n = torch.get_num_threads()
        bounds = [round(a.shape[0] * t / k) for t in range(k + 1)]
        parts = [a[bounds[t] : bounds[t + 1]] for t in range(k)]
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(k) as ex:
                return list(ex.map(op, parts))
        finally:
            torch.set_num_threads(n)
    finally:
        _LOCK.release()


def svd_split(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``torch.linalg.svd(a, full_matrices=False)`` of a ``(..., p, q)`` batch, split over
    threads on a CPU (see the module docstring)."""
    batch = a.shape[:-2]
    flat = a.reshape(-1, *a.shape[-2:])
    outs = _split(flat, lambda m: torch.linalg.svd(m, full_matrices=False))
    if outs is None:
        return torch.linalg.svd(a, full_matrices=False)
    u, s, vh = (torch.cat([o[i] for o in outs]) for i in range(3))
    return (
        u.reshape(*batch, *u.shape[-2:]),
        s.reshape(*batch, s.shape[-1]),
        vh.reshape(*batch, *vh.shape[-2:]),
    )


def svdvals_split(a: torch.Tensor) -> torch.Tensor:
    """``torch.linalg.svdvals(a)`` of a ``(..., p, q)`` batch, split over threads on a CPU."""
    flat = a.reshape(-1, *a.shape[-2:])
    outs = _split(flat, torch.linalg.svdvals)
    if outs is None:
        return torch.linalg.svdvals(a)
    return torch.cat(outs).reshape(*a.shape[:-2], -1)


class _NuclearNorm(torch.autograd.Function):
    """``Σσ(A)``; backward ``g · U Vᵀ`` from the forward's SVD."""

    @staticmethod
    def forward(ctx, a):  # type: ignore[override]
        u, s, vh = svd_split(a)
        ctx.save_for_backward(u, vh)
        return s.sum(-1)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        u, vh = ctx.saved_tensors
        return grad[..., None, None] * (u @ vh)


def nuclear_norm(a: torch.Tensor) -> torch.Tensor:
    """Sum of singular values of the last two dimensions (batched).

    Its gradient is the polar factor ``U Vᵀ`` of the one SVD taken in the forward, finite even
    for repeated or zero singular values (unlike ``eigh`` of ``AᵀA``, or a full ``svd`` whose
    U, V are differentiated). Without a gradient to track, ``svdvals`` alone.
    """
    if not (a.requires_grad and torch.is_grad_enabled()):
        return svdvals_split(a).sum(-1)
    return _NuclearNorm.apply(a)
