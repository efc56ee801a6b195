"""Nuclear norms of many small cross-products: split over Python threads on CPU, batched
(Gram ``eigvalsh``, ``svdvals`` fallback) on a GPU, queued until enough are waiting."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import torch

__all__ = ["NuclearQueue", "batched_nuclear_norms", "svd_nuclear_norms"]


@contextlib.contextmanager
def _one_thread_per_op() -> Iterator[int]:
    """Run torch ops single-threaded inside (restoring the setting after), so that work can
    be split over Python threads without oversubscribing the cores."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield n
    finally:
        torch.set_num_threads(n)


def svd_nuclear_norms(mats: list[torch.Tensor]) -> torch.Tensor:
    """``Σσ`` of each matrix, through ``svdvals``; on CPU the list is split over the torch
    threads (torch loops over a batch of small SVDs on one core, and LAPACK's
    bidiagonalisation of a 256×256 matrix gains little from a second thread). The torch
    thread count is set to 1 meanwhile and then restored (a process-wide setting)."""
    k = min(torch.get_num_threads(), len(mats))
    if mats[0].device.type != "cpu" or k < 2:
        return torch.stack([torch.linalg.svdvals(m).sum() for m in mats])
    grad = torch.is_grad_enabled()

    def run(part: list[torch.Tensor]) -> list[torch.Tensor]:
        with torch.set_grad_enabled(grad):
            return [torch.linalg.svdvals(m).sum() for m in part]

    bounds = [round(len(mats) * t / k) for t in range(k + 1)]
    parts = [mats[bounds[t] : bounds[t + 1]] for t in range(k)]
    with _one_thread_per_op(), ThreadPoolExecutor(k) as ex:
        outs = list(ex.map(run, parts))
    return torch.stack([v for out in outs for v in out])


def batched_nuclear_norms(m: torch.Tensor) -> torch.Tensor:
    """Nuclear norms of a batch ``(N, p, q)`` on a GPU; exact, finite gradients.

    In float64 ``Σ√λ`` of the smaller Gram ``MᵀM``/``MMᵀ`` from a batched ``eigvalsh`` is
    used where its spectrum is well separated from 0 (λ_min > 1e-6 λ_max, so each σ is
    within ~1e-13 σ_max), and ``svdvals`` for the other matrices (and in lower precision).
    """
    p, q = m.shape[-2], m.shape[-1]
    if m.dtype != torch.float64 or min(p, q) < 2:
        return torch.linalg.svdvals(m).sum(-1)
    g = m.transpose(-1, -2) @ m if q <= p else m @ m.transpose(-1, -2)
    lam = torch.linalg.eigvalsh(g)
    ok = lam[..., 0].detach() > 1e-6 * lam[..., -1].detach()
    lam_safe = torch.where(ok.unsqueeze(-1), lam, torch.ones_like(lam))
    nuc = torch.where(ok, lam_safe.sqrt().sum(-1), torch.zeros_like(lam[..., 0]))
    bad = torch.nonzero(~ok).squeeze(-1)
    if bad.numel():
        nuc = nuc.index_put((bad,), torch.linalg.svdvals(m[bad]).sum(-1))
    return nuc


class NuclearQueue:
    """Cross-products of pairs waiting for their nuclear norms, computed together — a block
    often holds a single pair, too few to spread over threads or to batch on a GPU — and
    flushed once the blocks they keep alive reach ``limit`` bytes."""

    def __init__(self, limit: int):
        self.limit = limit
        self.pending: list[tuple[int, int, torch.Tensor]] = []
        self.bytes = 0
        self.idx: list[tuple[int, int]] = []
        self.vals: list[torch.Tensor] = []

    def add(
        self, mm: torch.Tensor, rows: list[int], cols: list[int], wa: list[int], wb: list[int]
    ) -> None:
        """Queue the (wa × wb) sub-blocks of ``mm``, pair (rows[a], cols[b]) each."""
        oa = [0, *itertools.accumulate(wa)]
        ob = [0, *itertools.accumulate(wb)]
        for a, i in enumerate(rows):
            for b, j in enumerate(cols):
                self.pending.append((i, j, mm[oa[a] : oa[a + 1], ob[b] : ob[b + 1]]))
        self.bytes += mm.numel() * mm.element_size()
        if self.bytes > self.limit:
            self.flush()

    def put(self, i: int, j: int, value: torch.Tensor) -> None:
        """Record an already known nuclear norm."""
        self.idx.append((i, j))
        self.vals.append(value.reshape(1))

    def flush(self) -> None:
        if not self.pending:
            return
        mats = [m for _, _, m in self.pending]
        if mats[0].device.type == "cpu":
            self.vals.append(svd_nuclear_norms(mats))
            self.idx += [(i, j) for i, j, _ in self.pending]
        else:
            by_shape: dict[tuple[int, ...], list[int]] = {}
            for t, m in enumerate(mats):
                by_shape.setdefault(tuple(m.shape), []).append(t)
            for ts in by_shape.values():
                self.vals.append(batched_nuclear_norms(torch.stack([mats[t] for t in ts])))
                self.idx += [self.pending[t][:2] for t in ts]
        self.pending, self.bytes = [], 0

    def matrix(self, ka: int, kb: int, symmetric: bool) -> torch.Tensor:
        """The (ka, kb) matrix of nuclear norms (upper triangle mirrored when symmetric)."""
        self.flush()
        vals = torch.cat(self.vals)
        rows = torch.as_tensor([i for i, _ in self.idx], device=vals.device)
        cols = torch.as_tensor([j for _, j in self.idx], device=vals.device)
        out = vals.new_zeros(ka, kb).index_put((rows, cols), vals)
        if symmetric:
            out = torch.triu(out) + torch.triu(out, 1).transpose(0, 1)
        return out
