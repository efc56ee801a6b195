"""Blocked all-pairs products within a memory budget: cross-products of representations
(``‖A_iᵀB_j‖²_F`` or ``‖A_iᵀB_j‖_*``), inner products of per-representation vectors, and the
plain loop over pairs. ``B = None`` means all pairs of ``A``: only blocks on or above the
diagonal are formed and the result is mirrored."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .nuclear import NuclearQueue

__all__ = ["assemble", "chunks", "cross", "loop", "vector_gram"]


def chunks(widths: Sequence[int], max_width: float) -> list[list[int]]:
    """Consecutive groups of indices whose summed width stays ≤ max_width (≥ 1 index each).

    >>> chunks([3, 3, 5, 1], 6)
    [[0, 1], [2, 3]]
    """
    groups: list[list[int]] = []
    cur: list[int] = []
    tot = 0
    for k, w in enumerate(widths):
        if cur and tot + w > max_width:
            groups.append(cur)
            cur, tot = [], 0
        cur.append(k)
        tot += w
    if cur:
        groups.append(cur)
    return groups


def assemble(blocks: dict, row_groups: list, col_groups: list, symmetric: bool) -> torch.Tensor:
    """The matrix from its ``(bi, bj)`` blocks (the lower ones transposed when symmetric)."""
    rows = []
    for bi in range(len(row_groups)):
        row = []
        for bj in range(len(col_groups)):
            if symmetric and bj < bi:
                row.append(blocks[(bj, bi)].transpose(0, 1))
            else:
                row.append(blocks[(bi, bj)])
        rows.append(torch.cat(row, 1))
    return torch.cat(rows, 0)


def _segment_sums(m2: torch.Tensor, wa: Sequence[int], wb: Sequence[int]) -> torch.Tensor:
    """Sum ``m2`` over its (wa × wb) blocks → (len(wa), len(wb))."""
    if len(set(wa)) == 1 and len(set(wb)) == 1:
        return m2.reshape(len(wa), wa[0], len(wb), wb[0]).sum((1, 3))

    def indicator(ws: Sequence[int]) -> torch.Tensor:
        idx = torch.repeat_interleave(
            torch.arange(len(ws), device=m2.device), torch.as_tensor(ws, device=m2.device)
        )
        p = torch.zeros(sum(ws), len(ws), dtype=m2.dtype, device=m2.device)
        p[torch.arange(sum(ws), device=m2.device), idx] = 1
        return p

    return indicator(wa).T @ m2 @ indicator(wb)


class _Stacks:
    """Column-stacked groups of representations, kept when small next to the budget (else
    re-stacked on each use)."""

    def __init__(self, reps: list[torch.Tensor], groups: list[list[int]], keep: bool):
        self.reps, self.groups = reps, groups
        self.kept = [self._stack(g) for g in groups] if keep else None

    def _stack(self, idx: list[int]) -> torch.Tensor:
        return torch.cat([self.reps[i] for i in idx], 1) if len(idx) > 1 else self.reps[idx[0]]

    def __getitem__(self, b: int) -> torch.Tensor:
        return self.kept[b] if self.kept is not None else self._stack(self.groups[b])


def _group_width(n: int, budget: int, item: int, widths: list[int], op: str, sym: bool) -> float:
    """Total unit width of a group: 2W² + 2nW ≤ budget elements for square blocks; in the
    symmetric case ~1024 for ``nuc`` (an efficient GEMM; diagonal blocks go pair by pair)
    and ≤ 256 for ``fro2`` (the diagonal blocks' lower halves are wasted work)."""
    elems = max(budget // item, 1)
    w_max = max((-2 * n + math.sqrt(4 * n * n + 8 * elems)) / 4, 1)
    if sym:
        w_max = min(w_max, max(1024 if op == "nuc" else 256, max(widths)))
    return w_max


def _diagonal_nuc(A: list[torch.Tensor], idx: list[int], queue: NuclearQueue) -> None:
    """The pairs of one diagonal block, one by one (no wasted lower half)."""
    for a, i in enumerate(idx):
        queue.put(i, i, (A[i] * A[i]).sum())  # ‖ZᵀZ‖_* = ‖Z‖²_F, no product
        for j in idx[a + 1 :]:
            mm = A[i].transpose(0, 1) @ A[j]
            queue.add(mm, [i], [j], [A[i].shape[1]], [A[j].shape[1]])


def cross(
    A: list[torch.Tensor], B: list[torch.Tensor] | None, op: str, budget: int
) -> torch.Tensor:
    """``op`` of every cross-product ``A_iᵀB_j`` (B = A and upper blocks only when None).

    ``op="fro2"`` gives ‖A_iᵀB_j‖²_F, ``op="nuc"`` the nuclear norm ‖A_iᵀB_j‖_*. The
    products come from blocks of ``[A_I]ᵀ[B_J]`` sized to the memory budget.

    >>> a = [torch.eye(3, dtype=torch.float64)[:, :k] for k in (1, 2)]
    >>> cross(a, None, "fro2", 1 << 20).tolist()
    [[1.0, 1.0], [1.0, 2.0]]
    """
    symmetric = B is None
    Bl = A if B is None else B
    item = A[0].element_size()
    widths_a = [a.shape[1] for a in A]
    w_max = _group_width(A[0].shape[0], budget, item, widths_a, op, symmetric)
    ga = chunks(widths_a, w_max)
    gb = ga if symmetric else chunks([b.shape[1] for b in Bl], w_max)
    keep = sum(t.numel() for t in A + ([] if symmetric else Bl)) * item <= budget // 4
    za = _Stacks(A, ga, keep)
    zb = za if symmetric else _Stacks(Bl, gb, keep)
    blocks = {}
    queue = NuclearQueue(budget // 4)
    for bi, rows in enumerate(ga):
        wa = [A[i].shape[1] for i in rows]
        for bj, cols in enumerate(gb):
            if symmetric and bj < bi:
                continue
            if symmetric and op == "nuc" and bj == bi:
                _diagonal_nuc(A, rows, queue)
                continue
            wb = [Bl[j].shape[1] for j in cols]
            mm = za[bi].transpose(0, 1) @ zb[bj]
            if op == "fro2":
                blocks[(bi, bj)] = _segment_sums(mm * mm, wa, wb)
            else:
                queue.add(mm, rows, cols, wa, wb)
    if op == "nuc":
        return queue.matrix(len(A), len(Bl), symmetric)
    return assemble(blocks, ga, gb, symmetric)


def vector_gram(
    vec_a: Callable[[list[int]], torch.Tensor],
    ka: int,
    vec_b: Callable[[list[int]], torch.Tensor] | None,
    kb: int,
    length: int,
    budget: int,
    item: int,
) -> torch.Tensor:
    """Inner products ``⟨v_i, w_j⟩`` of per-representation vectors (length ``length``),
    built in blocks that fit the budget (blocks that do not fit together are rebuilt).
    ``vec_a(idx)`` stacks the vectors of the representations ``idx``; ``vec_b=None``: all
    pairs of the first list."""
    symmetric = vec_b is None
    per = max(1, int(budget // item // (2 * length)))
    ga = [list(range(s, min(s + per, ka))) for s in range(0, ka, per)]
    gb = ga if symmetric else [list(range(s, min(s + per, kb))) for s in range(0, kb, per)]
    vb = vec_a if vec_b is None else vec_b
    blocks = {}
    for bi, rows in enumerate(ga):
        fa = vec_a(rows)
        for bj, cols in enumerate(gb):
            if symmetric and bj < bi:
                continue
            fb = fa if symmetric and bj == bi else vb(cols)
            blocks[(bi, bj)] = fa @ fb.transpose(0, 1)
    return assemble(blocks, ga, gb, symmetric)


def loop(fn: Callable[[int, int], torch.Tensor], ka: int, kb: int, symmetric: bool):
    """``[[fn(i, j)]]`` for all pairs; with ``symmetric`` only ``j ≥ i``, mirrored."""
    vals = {}
    for i in range(ka):
        for j in range(i if symmetric else 0, kb):
            vals[(i, j)] = fn(i, j)
    rows = [
        torch.stack([vals[(j, i)] if symmetric and j < i else vals[(i, j)] for j in range(kb)])
        for i in range(ka)
    ]
    return torch.stack(rows)
