"""The nuclear norm ``‖A‖_* = Σσ`` of a batch of matrices, with one SVD per evaluation.

Without a gradient, ``svdvals`` gives the value. With one, a single SVD ``A = U Σ Vᵀ`` serves
the value (Σσ) and the backward (``∂‖A‖_*/∂A = U Vᵀ``, the polar factor, saved by the
forward): the same singular vectors ``svdvals``' own backward would compute, without going
through its generic backward. ``U Vᵀ`` is finite for repeated and zero singular values (any
orthonormal completion of U, V is a subgradient), so gradients stay finite at ``Y = X``,
rotations of X and rank-deficient inputs.

(Splitting a CPU batch of SVDs over Python threads with torch set to one thread meanwhile
was tried: it left MKL in a state where a later ``linalg.solve`` failed, so it is not done.)

>>> a = torch.diag(torch.tensor([3.0, 1.0, 1.0], dtype=torch.float64)).requires_grad_()
>>> v = nuclear_norm(a); v.backward(); (float(v), a.grad.diagonal().tolist())
(5.0, [1.0, 1.0, 1.0])
"""

from __future__ import annotations

import torch

__all__ = ["nuclear_norm"]


class _NuclearNorm(torch.autograd.Function):
    """``Σσ(A)``; backward ``g · U Vᵀ`` from the forward's SVD."""

    @staticmethod
    def forward(ctx, a):  # type: ignore[override]
        u, s, vh = torch.linalg.svd(a, full_matrices=False)
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
        return torch.linalg.svdvals(a).sum(-1)
    return _NuclearNorm.apply(a)
