"""Work shared between measures evaluated on the same pair: a scope that memoises centring
and cross-products, and the detection of a reference broadcast over a batch.

An optimization with joint targets evaluates several measures on the same ``(X, Y)`` at every
step (``simgrad region``: CKA and Procrustes). Inside :func:`shared_terms`, :func:`memo`
returns the result computed earlier in the scope for the same operation on the same tensors
(same objects, not modified in place since), so X̃, Ỹ and X̃ᵀỸ are formed once and autograd
sums the gradients reaching them before the one backward product. Outside a scope nothing is
kept.

A reference repeated over a batch (``x.expand(B, n, d)`` with no gradient) is recognised by
its zero batch strides: :func:`batch_constant` returns the one ``(n, d)`` matrix, so centring it
or forming its Gram costs one matrix, not B.

>>> import torch
>>> x, y = torch.randn(5, 3), torch.randn(5, 3)
>>> with shared_terms():
...     a = memo("cross", (x, y), lambda: x.T @ y)
...     b = memo("cross", (x, y), lambda: x.T @ y + 1)
>>> a is b
True
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

import torch

__all__ = ["batch_constant", "memo", "shared_terms"]

_SCOPE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("simgrad_shared", default=None)


@contextlib.contextmanager
def shared_terms() -> Iterator[None]:
    """A scope inside which :func:`memo` reuses results (nested scopes share the outer one)."""
    if _SCOPE.get() is not None:
        yield
        return
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def memo(
    kind: str, args: tuple[torch.Tensor, ...], compute: Callable[[], torch.Tensor]
) -> torch.Tensor:
    """``compute()``, or inside :func:`shared_terms` the result stored for ``kind`` on the same
    tensor objects at the same version and grad mode. The arguments are kept alive with the
    result, so their ids cannot be reused by other tensors while the scope lasts."""
    cache = _SCOPE.get()
    if cache is None:
        return compute()
    key = (kind, torch.is_grad_enabled(), *((id(a), a._version) for a in args))
    hit = cache.get(key)
    if hit is not None:
        return hit[0]
    out = compute()
    cache[key] = (out, args)
    return out


def batch_constant(x: torch.Tensor) -> torch.Tensor | None:
    """The ``(n, d)`` matrix that a gradient-free ``(..., n, d)`` tensor repeats along every
    leading dimension (all their strides 0, as after ``expand``), else ``None``.

    >>> batch_constant(torch.ones(4, 3).expand(5, 4, 3)).shape
    torch.Size([4, 3])
    """
    if x.ndim <= 2 or x.requires_grad or any(s != 0 for s in x.stride()[:-2]):
        return None
    return x[(0,) * (x.ndim - 2)]
