"""Exact and soft ranks of vectors, and Kendall's τ, in torch (the rank comparisons of RSA).

- :func:`rankdata`: ranks 1…M with ties given their average rank (scipy ``rankdata``), by a
  radix sort of the floats' order-preserving integer keys.
- :func:`kendall_tau`: τ_b or τ_a exactly, with no M×M matrix: on CPU by scipy's compiled
  merge-sort count (O(M log M); 5× faster than the torch route at M = 8·10⁶), elsewhere
  by a vectorized torch merge sort that counts inversions (O(M log² M)).
- :func:`soft_rank`: Blondel et al.'s (2020) differentiable ranks, the projection of
  ``strength · zscore(v)`` onto the permutahedron.

>>> rankdata(torch.tensor([[2.0, 2.0, 1.0]])).tolist()
[[2.5, 2.5, 1.0]]
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .linalg import tiny

__all__ = ["kendall_tau", "rankdata", "soft_rank"]


def _order_keys(v: torch.Tensor) -> torch.Tensor:
    """Integer keys with the order (and the ties) of the floats ``v``: the IEEE bits, with
    the magnitude bits of negatives flipped. Sorting them is exact and, on CPU, lets torch
    use its radix sort (several times faster than comparison-sorting floats)."""
    v = v.detach() + 0.0  # a fresh copy; −0.0 → +0.0, so the two zeros stay tied
    if v.dtype == torch.float64:
        b = v.view(torch.int64)
        sign = b >> 63
        return b.bitwise_xor_(sign.bitwise_and_(0x7FFFFFFFFFFFFFFF))
    b = v.to(torch.float32).view(torch.int32)
    sign = b >> 31
    return b.bitwise_xor_(sign.bitwise_and_(0x7FFFFFFF)).to(torch.int64)


def _tie_bounds(s: torch.Tensor, new: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First and last index of the tie group of each position of a sorted row.

    ``new[..., i]`` is True where a new group starts at i.
    """
    m = s.shape[-1]
    ar = torch.arange(m, device=s.device).expand_as(new)
    start = torch.where(new, ar, torch.zeros_like(ar)).cummax(-1).values
    last = torch.ones_like(new)
    last[..., :-1] = new[..., 1:]
    end = torch.where(last, ar, torch.full_like(ar, m - 1)).flip(-1).cummin(-1).values.flip(-1)
    return start, end


def _starts(s: torch.Tensor) -> torch.Tensor:
    new = torch.ones(s.shape, dtype=torch.bool, device=s.device)
    new[..., 1:] = s[..., 1:] != s[..., :-1]
    return new


def rankdata(v: torch.Tensor) -> torch.Tensor:
    """Ranks 1…M along the last axis, ties given their average rank (scipy ``rankdata``).

    >>> rankdata(torch.tensor([3.0, 1.0, 3.0, 2.0])).tolist()
    [3.5, 1.0, 3.5, 2.0]
    """
    v = v.detach()
    s, idx = torch.sort(_order_keys(v), dim=-1, stable=True)
    new = _starts(s)
    if bool(new.all()):  # no ties: the sorted positions are the ranks
        del s
        pos = torch.arange(1, v.shape[-1] + 1, dtype=v.dtype, device=v.device).expand_as(v)
        return torch.empty_like(v).scatter_(-1, idx, pos)
    start, end = _tie_bounds(s, new)
    del s
    avg = (start + end).to(v.dtype) / 2 + 1
    return torch.empty_like(avg).scatter_(-1, idx, avg)


def _pairs_tied(s: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """Σ t(t−1)/2 over tie groups of a sorted row (int64)."""
    start, end = _tie_bounds(s, new)
    size = end - start + 1
    # each group counted once, at its first position
    return torch.where(new, size * (size - 1) // 2, torch.zeros_like(size)).sum(-1)


def _inversions(y: torch.Tensor) -> torch.Tensor:
    """Number of pairs i < j with y_i > y_j in each row (bottom-up merge sort, vectorized:
    at each level every sorted left block is merged with its right neighbour by
    ``searchsorted``, which also counts the left elements greater than each right one)."""
    b, m = y.shape
    p = 1 << max(0, (m - 1).bit_length())
    pad = math.inf if y.is_floating_point() else torch.iinfo(y.dtype).max
    a = torch.cat([y, torch.full((b, p - m), pad, dtype=y.dtype, device=y.device)], -1)
    inv = torch.zeros(b, dtype=torch.int64, device=y.device)
    w = 1
    while w < p:
        nb = p // (2 * w)
        blocks = a.view(b, nb, 2, w)
        left = blocks[:, :, 0, :].contiguous()
        right = blocks[:, :, 1, :].contiguous()
        le = torch.searchsorted(left, right, right=True)  # left elements ≤ each right one
        inv += (w - le).sum((-2, -1))
        lt = torch.searchsorted(right, left, right=False)  # right elements < each left one
        ar = torch.arange(w, device=y.device)
        merged = torch.empty(b, nb, 2 * w, dtype=a.dtype, device=a.device)
        merged.scatter_(-1, ar + lt, left)
        merged.scatter_(-1, ar + le, right)
        a = merged.view(b, p)
        w *= 2
    return inv


def _scipy_tau_b(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
    """τ_b of each row by scipy's compiled merge-sort count (``scipy.stats.kendalltau``, O(M
    log M)), 0 where a row is all ties; ``None`` without scipy (the torch route is used)."""
    try:
        from scipy.stats import kendalltau
    except ImportError:  # pragma: no cover - scipy is a dependency
        return None
    m = x.shape[-1]
    xn = x.detach().reshape(-1, m).to(torch.float64).numpy()
    yn = y.detach().reshape(-1, m).to(torch.float64).numpy()
    out = []
    for a, b in zip(xn, yn):
        if m < 2 or (a == a[0]).all() or (b == b[0]).all():
            out.append(0.0)
        else:
            out.append(float(kendalltau(a, b).statistic))
    return torch.tensor(out, dtype=torch.float64)


def kendall_tau(x: torch.Tensor, y: torch.Tensor, variant: str = "b") -> torch.Tensor:
    """Kendall's τ_b (``variant="b"``) or τ_a between rows of ``(..., M)`` tensors, exactly,
    without an M×M matrix: O(M log M) on CPU (scipy's merge sort), O(M log² M) elsewhere.

    τ_a = (n_c − n_d) / n₀ and τ_b = (n_c − n_d) / √((n₀ − n₁)(n₀ − n₂)), with n₀ = M(M−1)/2,
    n₁, n₂ the pairs tied in x, in y, and n_c − n_d = n₀ − n₁ − n₂ + n₃ − 2 n_d (n₃ = pairs
    tied in both).

    >>> a, b = torch.tensor([1.0, 2, 3, 4]), torch.tensor([1.0, 3, 2, 4])
    >>> round(kendall_tau(a, b).item() * 3, 6)  # (5 concordant − 1 discordant) / 6 pairs
    2.0
    """
    shape = x.shape[:-1]
    m = x.shape[-1]
    xb = _order_keys(x).reshape(-1, m)
    yb = _order_keys(y).reshape(-1, m)
    n0 = m * (m - 1) // 2
    scipy_tau = _scipy_tau_b(x, y) if x.device.type == "cpu" else None
    if scipy_tau is not None:
        if variant == "b":
            return scipy_tau.clamp(-1.0, 1.0).to(x.dtype).reshape(shape)
        xs, ys = torch.sort(xb, dim=-1).values, torch.sort(yb, dim=-1).values
        n1, n2 = _pairs_tied(xs, _starts(xs)), _pairs_tied(ys, _starts(ys))
        den = ((n0 - n1).to(torch.float64) * (n0 - n2).to(torch.float64)).sqrt()
        diff = torch.round(scipy_tau * den)  # the integer n_c − n_d, exactly
        return (diff / max(n0, 1)).clamp(-1.0, 1.0).to(x.dtype).reshape(shape)
    # lexicographic sort by (x, y)
    o1 = torch.sort(yb, dim=-1, stable=True).indices
    o2 = torch.sort(xb.gather(-1, o1), dim=-1, stable=True).indices
    order = o1.gather(-1, o2)
    xs, ys = xb.gather(-1, order), yb.gather(-1, order)
    newx = _starts(xs)
    n1 = _pairs_tied(xs, newx)
    newxy = newx | _starts(ys)
    n3 = _pairs_tied(xs, newxy)
    ysort = yb.gather(-1, o1)
    n2 = _pairs_tied(ysort, _starts(ysort))
    nd = _inversions(ys)
    diff = (n0 - n1 - n2 + n3 - 2 * nd).to(torch.float64)
    if variant == "a":
        tau = diff / max(n0, 1)
    else:
        den = ((n0 - n1).to(torch.float64) * (n0 - n2).to(torch.float64)).sqrt()
        tau = torch.where(den > 0, diff / den.clamp_min(1.0), torch.zeros_like(diff))
    return tau.clamp(-1.0, 1.0).to(x.dtype).reshape(shape)


# ----------------------------------------------------------------------------- soft ranks
class _SoftRank(torch.autograd.Function):
    """Projection of z onto the permutahedron of (1, …, M) (Blondel et al. 2020)."""

    @staticmethod
    def forward(ctx, z):  # type: ignore[override]
        try:
            from scipy.optimize import isotonic_regression
        except ImportError:  # pragma: no cover - scipy < 1.12
            raise ImportError(
                "compare=soft_spearman needs scipy >= 1.12 (scipy.optimize.isotonic_regression)."
            ) from None

        zc = z.detach().cpu()
        zn = zc.numpy()
        m = zn.shape[-1]
        w = np.arange(m, 0, -1, dtype=np.float64)
        out = np.empty_like(zn)
        orders, blocks = [], []
        # descending order by torch's radix sort of the integer keys (numpy's stable argsort
        # of floats took 70 % of the time)
        perms = torch.sort(_order_keys(-zc), dim=-1, stable=True).indices.numpy()
        for i, row in enumerate(zn):
            order = perms[i]
            s = row[order]
            res = isotonic_regression(s - w, increasing=False)
            out[i, order] = s - res.x
            orders.append(order)
            blocks.append(np.asarray(res.blocks))
        ctx.orders, ctx.blocks = orders, blocks
        return torch.as_tensor(out, dtype=z.dtype, device=z.device)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        g = grad.detach().cpu().numpy()
        out = np.empty_like(g)
        for i, (order, blk) in enumerate(zip(ctx.orders, ctx.blocks)):
            gs = g[i, order]
            starts = blk[:-1]
            sizes = np.diff(blk)
            means = np.add.reduceat(gs, starts) / sizes
            out[i, order] = gs - np.repeat(means, sizes)
        return torch.as_tensor(out, dtype=grad.dtype, device=grad.device)


def soft_rank(v: torch.Tensor, strength: float) -> torch.Tensor:
    """Differentiable ranks of the rows of ``(..., M)`` ``v``: the Euclidean projection of
    ``strength · zscore(v)`` onto the permutahedron of (1, …, M). Exact (average-tie) ranks
    once ``strength`` × the smallest gap between sorted z-scores exceeds 1.

    >>> soft_rank(torch.tensor([0.3, -2.0, 1.0], dtype=torch.float64), 100.0).tolist()
    [2.0, 1.0, 3.0]
    """
    shape = v.shape
    m = shape[-1]
    vc = v - v.mean(-1, keepdim=True)
    var = (vc * vc).mean(-1, keepdim=True)
    # a constant row (up to rounding: variance below (1000·eps)² of the mean square) has no
    # order: all its soft ranks tie (z = 0, zero gradient) instead of ranking the noise
    eps = 1e3 * torch.finfo(v.dtype).eps
    flat = (var <= eps * eps * (v * v).mean(-1, keepdim=True).detach()) | (var <= tiny(v))
    sd = torch.where(flat, torch.ones_like(var), var).sqrt()
    z = torch.where(flat, torch.zeros_like(vc), strength * vc / sd).reshape(-1, m)
    return _SoftRank.apply(z).reshape(shape)
