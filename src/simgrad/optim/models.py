"""A small continuous-time recurrent network (CTRNN), the usual model fitted to recordings.

Euler discretization of τ dh/dt = −h + relu(W_in x + W_rec h + b), with α = dt/τ::

    h_{t+1} = (1 − α) h_t + α · relu(W_in x_t + W_rec h_t + b),    o_t = W_out h_{t+1}

Defaults: 100 units, τ = 100 ms, dt = 20 ms (α = 0.2). Weights are drawn from a
``torch.Generator`` seeded by ``seed`` (never the global RNG): W_in ~ N(0, 1/n_in),
W_rec ~ N(0, g²/n) with g = 0.9, b = 0, W_out ~ N(0, 1/n).

>>> net = CTRNN(n_inputs=3, n_outputs=2)
>>> out, states = net(torch.zeros(5, 4, 3, dtype=torch.float64))
>>> tuple(out.shape), tuple(states.shape)
((5, 4, 2), (5, 4, 100))
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["CTRNN"]


class CTRNN(nn.Module):
    """Continuous-time RNN; ``forward(inputs (T, B, n_inputs))`` → ``(outputs, states)``
    shaped ``(T, B, n_outputs)`` and ``(T, B, n_hidden)`` (the activity compared with data)."""

    def __init__(
        self,
        n_inputs: int,
        n_hidden: int = 100,
        n_outputs: int = 1,
        *,
        tau: float = 100.0,
        dt: float = 20.0,
        gain: float = 0.9,
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__()
        for name, v in (("n_inputs", n_inputs), ("n_hidden", n_hidden), ("n_outputs", n_outputs)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}.")
        if not (tau > 0 and dt > 0 and dt <= tau):
            raise ValueError(f"need 0 < dt <= tau, got dt={dt!r}, tau={tau!r}.")
        self.alpha = dt / tau
        self.tau, self.dt = float(tau), float(dt)
        g = torch.Generator().manual_seed(int(seed))

        def normal(*shape: int, std: float) -> nn.Parameter:
            w = torch.randn(*shape, generator=g, dtype=torch.float64) * std
            return nn.Parameter(w.to(dtype))

        self.w_in = normal(n_hidden, n_inputs, std=1 / math.sqrt(n_inputs))
        self.w_rec = normal(n_hidden, n_hidden, std=gain / math.sqrt(n_hidden))
        self.b = nn.Parameter(torch.zeros(n_hidden, dtype=dtype))
        self.w_out = normal(n_outputs, n_hidden, std=1 / math.sqrt(n_hidden))
        self.b_out = nn.Parameter(torch.zeros(n_outputs, dtype=dtype))

    @property
    def n_hidden(self) -> int:
        return self.w_rec.shape[0]

    def forward(
        self, inputs: torch.Tensor, h0: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if inputs.ndim != 3 or inputs.shape[-1] != self.w_in.shape[1]:
            raise ValueError(
                f"inputs must be (time, batch, {self.w_in.shape[1]}), got {tuple(inputs.shape)}."
            )
        x = inputs.to(self.w_in.dtype)
        h = (
            torch.zeros(x.shape[1], self.n_hidden, dtype=x.dtype, device=x.device)
            if h0 is None
            else h0
        )
        drive = x @ self.w_in.T + self.b  # (T, B, n)
        states = []
        for t in range(x.shape[0]):
            h = (1 - self.alpha) * h + self.alpha * torch.relu(drive[t] + h @ self.w_rec.T)
            states.append(h)
        s = torch.stack(states)
        return s @ self.w_out.T + self.b_out, s
