"""The optimizers of the batched loop and of :func:`~simgrad.optim.fit_model`: a lean Adam and
:func:`make_optimizer`, which turns the ``optimizer`` argument into an optimizer."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["Adam", "make_optimizer"]


class Adam:
    """Adam with torch's defaults (betas 0.9, 0.999, eps 1e-8, no weight decay), the same
    arithmetic as ``torch.optim.Adam``'s single-tensor path, without its per-step bookkeeping
    (which costs as much as a small measure's backward)::

        m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
    """

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self, set_to_none: bool = True) -> None:  # noqa: ARG002
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / math.sqrt(bc2)).add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / bc1)


def make_optimizer(optimizer: Any, params: Sequence[torch.Tensor], lr: float) -> Any:
    """``"adam"`` (default betas), ``"sgd"``, an Optimizer subclass, or a factory ``f(params)``.

    >>> p = torch.zeros(3, requires_grad=True)
    >>> type(make_optimizer("sgd", [p], 0.1)).__name__
    'SGD'
    """
    if isinstance(optimizer, str):
        name = optimizer.lower()
        if name == "adam":
            return Adam(params, lr=lr)
        if name == "sgd":
            return torch.optim.SGD(params, lr=lr)
        raise ValueError(
            f"optimizer must be 'adam', 'sgd' or a torch optimizer, got {optimizer!r}."
        )
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer(params, lr=lr)
    if callable(optimizer):
        return optimizer(params)
    raise TypeError(
        f"optimizer must be a name, an Optimizer class or a factory, got {optimizer!r}."
    )
