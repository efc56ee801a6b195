"""All-pairs similarity matrices: ``sg.pairwise``.

``pairwise(reps_a, reps_b=None, measure)`` returns the matrix ``S[i, j] = measure(a_i, b_j)``
(``X = a_i`` is the reference, ``Y = b_j`` the candidate) as one differentiable torch tensor.
With ``reps_b`` omitted it compares every pair of ``reps_a`` and, for symmetric measures,
computes each unordered pair once.

The work that depends on one representation is done once per representation, and every pair
comes out of a few batched products:

- linear CKA (Gretton, Song, Lange) and ENSD: all three estimators need only
  ``⟨K̃_i, K̃_j⟩ = ‖X̃_iᵀX̃_j‖²_F`` and the row norms ``a_i = diag K̃_i``
  (``Σ a b`` is one small GEMM). The cross term comes from either the **feature** space
  (blocks of ``ZᵀZ`` with ``Z = [X̃_1 … X̃_K]``, squared and summed per block) or the
  **sample** space (each centred Gram stored once as its upper-triangular row blocks, the
  off-diagonal ones scaled by √2, so that ``⟨K_i, K_j⟩`` is a plain dot product of two
  vectors and all pairs are one GEMM). ``algorithm="auto"`` picks the one with fewer flops
  for the whole matrix (logged at debug level on the ``simgrad`` logger).
- RBF CKA: each kernel is built and centred (double-, U- or zero-diagonal centring) once;
  HSICs of all pairs are one GEMM of the flattened kernels.
- NBS, Procrustes, Bures and shape metrics: centre (and partially whiten) once per
  representation; nuclear norms of the cross-products of all pairs, in batches. On CPU the
  batch of ``svdvals`` is split over Python threads, one per torch thread (torch itself
  loops over the batch on one core; the torch thread count is set to 1 meanwhile and then
  restored, a process-wide setting). On a GPU, in float64, a nuclear norm is
  ``Σ √λ(MᵀM)`` from a batched ``eigvalsh`` when the smallest eigenvalue exceeds 1e-6 ×
  the largest (error < 1e-13 relative) and ``svdvals`` otherwise.
- CCA: whiten once per representation; canonical correlations from the same batched
  cross-products.
- In-sample linear / ridge regression: one spectral factor per candidate,
  ``E₁ = Ỹ(ỸᵀỸ + λ)^(−½)`` and ``E₂ = Ỹ(ỸᵀỸ)^(½)(ỸᵀỸ + λ)^(−1)``, so that
  ``‖X̃ − ỸB‖² = ‖X̃‖² − 2‖E₁ᵀX̃‖² + ‖E₂ᵀX̃‖²`` for all pairs from one product.
- RSA: one RDM per representation; cosine, Pearson, Spearman, ρ_a, cosine_cov and corr_cov
  comparisons of all pairs are one GEMM; the other comparisons loop over pairs of the cached
  RDMs.
- Any other measure falls back to a loop over the single-pair function (logged).

Products are chunked so that the temporary matrices stay within ``memory_budget`` bytes
(not counting the inputs themselves and, when gradients are needed, what autograd keeps).

>>> import numpy as np, simgrad as sg
>>> rng = np.random.default_rng(0)
>>> reps = [rng.normal(size=(100, d)) for d in (5, 8, 12)]
>>> S = sg.pairwise(reps, measure="cka")
>>> S.shape, round(float(S[1, 2]), 10) == round(sg.score("cka", reps[1], reps[2]), 10)
(torch.Size([3, 3]), True)
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

from ._array import Pair, as_tensor, flatten_time
from .measures.forms import transform
from .measures.linalg import (
    center,
    inv_sqrt_psd,
    rank_tol,
    safe_sqrt,
    sym_matrix_function,
    unit_scale,
)
from .measures.registry import lookup
from .measures.registry import measure as get_measure

__all__ = ["pairwise", "parse_bytes", "sample_factor"]

log = logging.getLogger("simgrad.allpairs")

DEFAULT_BUDGET = 1 << 30  # 1 GiB
_ALGORITHMS = ("auto", "feature", "sample")
_ANGULAR = ("score", "distance=angular", "angular_score")


# ----------------------------------------------------------------------------- inputs
def parse_bytes(value: int | float | str) -> int:
    """A memory size in bytes: a positive number, or a string such as ``"512MB"``/``"2GiB"``.

    >>> parse_bytes("1.5GB"), parse_bytes("64MiB"), parse_bytes(1000)
    (1500000000, 67108864, 1000)
    """
    if isinstance(value, bool):
        raise TypeError("memory_budget must be a number of bytes or a string like '2GB'.")
    if isinstance(value, (int, float)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"memory_budget must be positive, got {value!r}.")
        return int(value)
    if not isinstance(value, str):
        raise TypeError(
            f"memory_budget must be a number of bytes or a string like '2GB', "
            f"got {type(value).__name__}."
        )
    m = re.fullmatch(r"\s*([0-9.]+(?:e[0-9+-]+)?)\s*([kmgt]?i?b?)\s*", value.lower())
    units = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "k": 1e3, "m": 1e6,
             "g": 1e9, "t": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
    if m is None or m.group(2) not in units:
        raise ValueError(f"memory_budget {value!r} is not a size such as '512MB' or '2GiB'.")
    return parse_bytes(float(m.group(1)) * units[m.group(2)])


def _as_list(reps: Any, name: str) -> list:
    if isinstance(reps, (str, bytes)) or reps is None:
        raise TypeError(f"{name} must be a sequence of arrays, got {type(reps).__name__}.")
    if isinstance(reps, torch.Tensor) or hasattr(reps, "__array__") and hasattr(reps, "ndim"):
        if reps.ndim not in (3, 4):
            raise ValueError(
                f"{name} given as one array must be stacked representations (K, samples, units) "
                f"or (K, time, conditions, units); got shape {tuple(reps.shape)}."
            )
        return [reps[k] for k in range(reps.shape[0])]
    try:
        out = list(reps)
    except TypeError:
        msg = f"{name} must be a sequence of arrays, got {type(reps).__name__}."
        raise TypeError(msg) from None
    if not out:
        raise ValueError(f"{name} is empty; give at least one representation.")
    return out


def _prepare(reps_a: Any, reps_b: Any, device: Any, dtype: Any) -> tuple[list, list | None, Any]:
    """Validate, convert and flatten; returns (A, B or None, n_conditions)."""
    groups = [("reps_a", _as_list(reps_a, "reps_a"))]
    if reps_b is not None:
        groups.append(("reps_b", _as_list(reps_b, "reps_b")))
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch dtype, got {dtype!r}.")
    converted = [[as_tensor(r, f"{g}[{k}]") for k, r in enumerate(lst)] for g, lst in groups]
    flat = [t for lst in converted for t in lst]
    if dtype is None:
        dtype = flat[0].dtype
        for t in flat[1:]:
            dtype = torch.promote_types(dtype, t.dtype)
    if device is None:
        device = flat[0].device
    shape0 = None
    out = []
    for (g, _), lst in zip(groups, converted):
        res = []
        for k, t in enumerate(lst):
            if t.ndim not in (2, 3):
                raise ValueError(
                    f"{g}[{k}] must be (samples, units) or (time, conditions, units); "
                    f"got shape {tuple(t.shape)}."
                )
            if shape0 is None:
                shape0 = tuple(t.shape[:-1])
            elif tuple(t.shape[:-1]) != shape0:
                raise ValueError(
                    f"All representations must share their samples: {g}[{k}] has shape "
                    f"{tuple(t.shape)} but the first one has {shape0} before the unit axis."
                )
            if t.shape[-1] == 0:
                raise ValueError(f"{g}[{k}] has no units.")
            t = t.to(device=device, dtype=dtype)
            if t.ndim == 3:
                t = flatten_time(t)
            if t.shape[0] < 2:
                raise ValueError(f"{g}[{k}] has {t.shape[0]} sample(s); at least 2 are needed.")
            td = t.detach()
            if bool((td.amax(0) == td.amin(0)).all()):
                raise ValueError(
                    f"{g}[{k}] is constant across samples (zero variance in every unit); a "
                    "similarity to a constant representation is undefined."
                )
            res.append(t)
        out.append(res)
    assert shape0 is not None
    n_cond = int(shape0[1]) if len(shape0) == 2 else None
    return out[0], (out[1] if len(out) > 1 else None), n_cond


# ----------------------------------------------------------------------------- block helpers
def _tiny(t: torch.Tensor) -> float:
    return torch.finfo(t.dtype).tiny


def _chunks(widths: Sequence[int], max_width: float) -> list[list[int]]:
    """Consecutive groups of indices whose summed width stays ≤ max_width (≥ 1 index each)."""
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


def _assemble(blocks: dict, row_groups: list, col_groups: list, symmetric: bool) -> torch.Tensor:
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


@contextlib.contextmanager
def _one_thread_per_op():
    """Run torch ops single-threaded inside (restoring the setting after), so that work can
    be split over Python threads without oversubscribing the cores."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield n
    finally:
        torch.set_num_threads(n)


def _svd_nuclear_norms(mats: list[torch.Tensor]) -> torch.Tensor:
    """``Σσ`` of each matrix, through ``svdvals``; on CPU the list is split over the torch
    threads (torch loops over a batch of small SVDs on one core, and LAPACK's
    bidiagonalisation of a 256×256 matrix gains little from a second thread)."""
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


def _nuclear_norms(m: torch.Tensor) -> torch.Tensor:
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


def _cross(
    A: list[torch.Tensor],
    B: list[torch.Tensor] | None,
    op: str,
    budget: int,
) -> torch.Tensor:
    """``op`` of every cross-product ``A_iᵀB_j`` (B = A and upper blocks only when None).

    ``op="fro2"`` gives ‖A_iᵀB_j‖²_F, ``op="nuc"`` the nuclear norm ‖A_iᵀB_j‖_*.
    The products come from blocks of ``[A_I]ᵀ[B_J]`` sized to the memory budget. In the
    symmetric case only blocks on or above the diagonal are formed: for ``fro2`` the groups
    are kept narrow (≤ 256 units or one representation) so that little of the diagonal
    blocks' lower halves is wasted; for ``nuc`` they are ~1024 units wide (an efficient
    GEMM) and the diagonal blocks are formed pair by pair.
    """
    symmetric = B is None
    Bl = A if B is None else B
    n = A[0].shape[0]
    item = A[0].element_size()
    elems = max(budget // item, 1)
    # 2W² + 2nW ≤ elems for square blocks of total width W
    w_max = max((-2 * n + math.sqrt(4 * n * n + 8 * elems)) / 4, 1)
    widths_a = [a.shape[1] for a in A]
    if symmetric and op == "nuc":  # wide enough for an efficient GEMM; diagonal blocks per pair
        w_max = min(w_max, max(1024, max(widths_a)))
    elif symmetric:  # small groups: the diagonal blocks' lower halves are wasted work
        w_max = min(w_max, max(256, max(widths_a)))
    ga = _chunks(widths_a, w_max)
    gb = ga if symmetric else _chunks([b.shape[1] for b in Bl], w_max)

    def stacked(lst: list[torch.Tensor], idx: list[int]) -> torch.Tensor:
        return torch.cat([lst[i] for i in idx], 1) if len(idx) > 1 else lst[idx[0]]

    # the stacked groups are kept when they are small next to the budget, else re-stacked
    in_bytes = sum(t.numel() for t in A + ([] if symmetric else Bl)) * item
    keep = in_bytes <= budget // 4
    za_all = [stacked(A, I) for I in ga] if keep else None
    zb_all = (za_all if symmetric else [stacked(Bl, J) for J in gb]) if keep else None

    def za(bi: int) -> torch.Tensor:
        return za_all[bi] if za_all is not None else stacked(A, ga[bi])

    def zb(bj: int) -> torch.Tensor:
        return zb_all[bj] if zb_all is not None else stacked(Bl, gb[bj])

    blocks = {}
    queue = _NucQueue(budget // 4)
    for bi, I in enumerate(ga):
        wa = [A[i].shape[1] for i in I]
        for bj, J in enumerate(gb):
            if symmetric and bj < bi:
                continue
            if symmetric and op == "nuc" and bj == bi:  # pair by pair: no wasted lower half
                for a, i in enumerate(I):
                    queue.put(i, i, (A[i] * A[i]).sum())  # ‖ZᵀZ‖_* = ‖Z‖²_F, no product
                    for j in I[a + 1 :]:
                        queue.add(A[i].transpose(0, 1) @ A[j], [i], [j], [A[i].shape[1]],
                                  [A[j].shape[1]])
                continue
            wb = [Bl[j].shape[1] for j in J]
            mm = za(bi).transpose(0, 1) @ zb(bj)
            if op == "fro2":
                blocks[(bi, bj)] = _segment_sums(mm * mm, wa, wb)
            else:
                queue.add(mm, I, J, wa, wb)
    if op == "nuc":
        return queue.matrix(len(A), len(Bl), symmetric)
    return _assemble(blocks, ga, gb, symmetric)


class _NucQueue:
    """Cross-products of pairs waiting for their nuclear norms, computed together — a block
    often holds a single pair, too few to spread over threads or to batch on a GPU — and
    flushed once the blocks they keep alive reach ``limit`` bytes."""

    def __init__(self, limit: int):
        self.limit = limit
        self.pending: list[tuple[int, int, torch.Tensor]] = []
        self.bytes = 0
        self.idx: list[tuple[int, int]] = []
        self.vals: list[torch.Tensor] = []

    def add(self, mm: torch.Tensor, I: list[int], J: list[int], wa: list[int],
            wb: list[int]) -> None:
        oa = [0, *itertools.accumulate(wa)]
        ob = [0, *itertools.accumulate(wb)]
        for a, i in enumerate(I):
            for b, j in enumerate(J):
                self.pending.append((i, j, mm[oa[a] : oa[a + 1], ob[b] : ob[b + 1]]))
        self.bytes += mm.numel() * mm.element_size()
        if self.bytes > self.limit:
            self.flush()

    def put(self, i: int, j: int, value: torch.Tensor) -> None:
        self.idx.append((i, j))
        self.vals.append(value.reshape(1))

    def flush(self) -> None:
        if not self.pending:
            return
        mats = [m for _, _, m in self.pending]
        if mats[0].device.type == "cpu":
            self.vals.append(_svd_nuclear_norms(mats))
            self.idx += [(i, j) for i, j, _ in self.pending]
        else:
            by_shape: dict[tuple[int, ...], list[int]] = {}
            for t, m in enumerate(mats):
                by_shape.setdefault(tuple(m.shape), []).append(t)
            for ts in by_shape.values():
                self.vals.append(_nuclear_norms(torch.stack([mats[t] for t in ts])))
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


def _vector_gram(
    vec_a: Callable[[list[int]], torch.Tensor],
    ka: int,
    vec_b: Callable[[list[int]], torch.Tensor] | None,
    kb: int,
    length: int,
    budget: int,
    item: int,
) -> torch.Tensor:
    """Inner products ``⟨v_i, w_j⟩`` of per-representation vectors (length ``length``),
    built in blocks that fit the budget (blocks that do not fit together are rebuilt)."""
    symmetric = vec_b is None
    per = max(1, int(budget // item // (2 * length)))
    ga = [list(range(s, min(s + per, ka))) for s in range(0, ka, per)]
    gb = ga if symmetric else [list(range(s, min(s + per, kb))) for s in range(0, kb, per)]
    vb = vec_a if vec_b is None else vec_b
    blocks = {}
    for bi, I in enumerate(ga):
        fa = vec_a(I)
        for bj, J in enumerate(gb):
            if symmetric and bj < bi:
                continue
            fb = fa if symmetric and bj == bi else vb(J)
            blocks[(bi, bj)] = fa @ fb.transpose(0, 1)
    return _assemble(blocks, ga, gb, symmetric)


def _gram_vector(xc: torch.Tensor, nb: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """The centred Gram ``X̃X̃ᵀ`` as its upper row blocks, off-diagonal ones scaled by √2, so
    that ``⟨v(X), v(Y)⟩ = ⟨X̃X̃ᵀ, ỸỸᵀ⟩_F`` with (nb+1)/(2nb) of the products and memory.
    With ``out`` (no autograd) the products are written in place, without copies."""
    parts = torch.tensor_split(xc, nb, 0)
    pieces, off = [], 0
    for a in range(nb):
        left = parts[a] * math.sqrt(2.0)
        for b in range(a, nb):
            lhs = parts[a] if a == b else left
            if out is None:
                pieces.append((lhs @ parts[b].transpose(0, 1)).reshape(-1))
            else:
                m = lhs.shape[0] * parts[b].shape[0]
                view = out[off : off + m].view(lhs.shape[0], parts[b].shape[0])
                torch.mm(lhs, parts[b].transpose(0, 1), out=view)
                off += m
    return torch.cat(pieces) if out is None else out


def _gram_vectors(cs: list[torch.Tensor], idx: list[int], nb: int, length: int) -> torch.Tensor:
    if torch.is_grad_enabled() and any(cs[i].requires_grad for i in idx):
        return torch.stack([_gram_vector(cs[i], nb) for i in idx])
    out = torch.empty(len(idx), length, dtype=cs[0].dtype, device=cs[0].device)
    for r, i in enumerate(idx):
        _gram_vector(cs[i], nb, out[r])
    return out


def _row_blocks(n: int) -> int:
    return 1 if n < 256 else 4


def _gram_vector_length(n: int, nb: int) -> int:
    sizes = [len(s) for s in torch.tensor_split(torch.empty(n), nb)]
    return sum(sizes[a] * sizes[b] for a in range(nb) for b in range(a, nb))


# ----------------------------------------------------------------------------- engines
def _linear_cka(A, B, hsic: str, kind: str, algorithm: str, budget: int, name: str):
    """Linear CKA (all estimators) or ENSD for all pairs."""
    symmetric = B is None
    n = A[0].shape[0]
    if hsic == "song" and n < 4:
        raise ValueError(f"The unbiased (song) HSIC needs at least 4 samples, got {n}.")
    Ac = [unit_scale(center(a)) for a in A]
    Bc = Ac if symmetric else [unit_scale(center(b)) for b in B]
    ka, kb = len(Ac), len(Bc)
    wa = [a.shape[1] for a in Ac]
    wb = [b.shape[1] for b in Bc]
    item = Ac[0].element_size()

    # cost model (multiply-adds) for the whole matrix
    if symmetric:
        feat = n * (sum(wa) ** 2 + sum(w * w for w in wa)) / 2
    else:
        feat = n * (sum(wa) * sum(wb) + sum(w * w for w in wa) + sum(w * w for w in wb))
    nb = _row_blocks(n)
    length = _gram_vector_length(n, nb)
    per = max(1, int(budget // item // (2 * length)))
    n_blocks_a = math.ceil(ka / per)
    if symmetric:  # block J is rebuilt for every block I ≤ J
        gram_cost = length * sum(wa) * (n_blocks_a + 1) / 2
        pairs = ka * (ka + 1) / 2
    else:  # the B blocks are rebuilt for every block of A
        gram_cost = length * (sum(wa) + n_blocks_a * sum(wb))
        pairs = ka * kb
    samp = gram_cost + length * pairs
    feasible = budget // item >= 2 * length + n * n // nb
    if algorithm == "auto":
        route = "sample" if feasible and samp < feat else "feature"
    else:
        route = algorithm
    log.debug(
        "pairwise %s: %d×%d %s pairs of n=%d samples; feature-space cost %.3g, sample-space "
        "cost %.3g%s → %s-space algorithm",
        name, ka, kb, "symmetric" if symmetric else "cross", n, feat, samp,
        "" if feasible else " (Grams exceed the memory budget)", route,
    )
    if route == "feature":
        xy2 = _cross(Ac, None if symmetric else Bc, "fro2", budget)
    else:
        def vec(lst: list[torch.Tensor]) -> Callable[[list[int]], torch.Tensor]:
            return lambda idx: _gram_vectors(lst, idx, nb, length)

        xy2 = _vector_gram(vec(Ac), ka, None if symmetric else vec(Bc), kb, length, budget, item)

    def self_terms(lst):
        if symmetric:
            return xy2.diagonal()
        return torch.stack([
            ((c.transpose(0, 1) @ c) ** 2).sum() if c.shape[1] <= n else ((c @ c.T) ** 2).sum()
            for c in lst
        ])

    xx2 = self_terms(Ac)
    yy2 = xx2 if symmetric else self_terms(Bc)
    ra = torch.stack([(c * c).sum(1) for c in Ac])  # (ka, n) row norms
    rb = ra if symmetric else torch.stack([(c * c).sum(1) for c in Bc])
    ta, tb = ra.sum(1), rb.sum(1)
    if kind == "ensd":
        num = xy2 * ta[:, None] * tb[None, :]
        return num / (xx2[:, None] * yy2[None, :]).clamp_min(_tiny(num))
    if hsic == "gretton":
        num, dx, dy = xy2, xx2, yy2
    else:
        ab = ra @ rb.transpose(0, 1)
        aa = (ra * ra).sum(1)
        bb = (rb * rb).sum(1)
        if hsic == "lange":
            num, dx, dy = xy2 - ab, xx2 - aa, yy2 - bb
        else:
            c1, c2 = 1.0 / ((n - 1) * (n - 2)), 2.0 / (n - 2)
            num = xy2 - ab + ta[:, None] * tb[None, :] * c1 - c2 * ab
            dx = xx2 - aa + ta * ta * c1 - c2 * aa
            dy = yy2 - bb + tb * tb * c1 - c2 * bb
    den = (dx.clamp_min(_tiny(dx))[:, None] * dy.clamp_min(_tiny(dy))[None, :]).sqrt()
    return num / den


def _double_center(k: torch.Tensor) -> torch.Tensor:
    k = k - k.mean(-1, keepdim=True)
    return k - k.mean(-2, keepdim=True)


def _zero_diag(k: torch.Tensor) -> torch.Tensor:
    return k - torch.diag_embed(k.diagonal(dim1=-2, dim2=-1))


def _u_center(k: torch.Tensor) -> torch.Tensor:
    n = k.shape[-1]
    k0 = _zero_diag(k)
    r = k0.sum(-1, keepdim=True)
    s = r.sum(-2, keepdim=True)
    return _zero_diag(k0 - r / (n - 2) - r.transpose(-1, -2) / (n - 2) + s / ((n - 1) * (n - 2)))


def _rbf_cka(A, B, sigma: float, hsic: str, budget: int):
    from .measures.cka import rbf_gram

    symmetric = B is None
    n = A[0].shape[0]
    if hsic == "song" and n < 4:
        raise ValueError(f"The unbiased (song) HSIC needs at least 4 samples, got {n}.")
    prep = {"gretton": _double_center, "song": _u_center,
            "lange": lambda k: _zero_diag(_double_center(k))}[hsic]

    def vec(lst):
        return lambda idx: torch.stack([prep(rbf_gram(lst[i], sigma)).reshape(-1) for i in idx])

    item = A[0].element_size()
    h = _vector_gram(vec(A), len(A), None if symmetric else vec(B), len(A if symmetric else B),
                     n * n, budget, item)
    if symmetric:
        hx = hy = h.diagonal()
    else:
        hx = torch.stack([(prep(rbf_gram(a, sigma)) ** 2).sum() for a in A])
        hy = torch.stack([(prep(rbf_gram(b, sigma)) ** 2).sum() for b in B])
    return h / (hx.clamp_min(_tiny(hx))[:, None] * hy.clamp_min(_tiny(hy))[None, :]).sqrt()


_EIG_TOL = 1e-7  # netrep's eigenvalue clip, as in shape.partial_whiten


def _whiten_parts(xc: torch.Tensor, alpha: float):
    """netrep partial whitening of centred xc without its variance rescale, and the two sums
    from which the rescale for any zero-padded width follows."""
    if alpha > 1 - _EIG_TOL:
        return xc, None
    c = xc.transpose(0, 1) @ xc
    lam = torch.linalg.eigvalsh(c).clamp_min(_EIG_TOL)
    new_var = (alpha**2 * lam + 2 * alpha * (1 - alpha) * lam.sqrt() + (1 - alpha) ** 2).sum()

    def f(l: torch.Tensor) -> torch.Tensor:
        return alpha + (1 - alpha) * l.clamp_min(_EIG_TOL).rsqrt()

    def fp(l: torch.Tensor) -> torch.Tensor:
        return torch.where(
            l > _EIG_TOL, -0.5 * (1 - alpha) * l.clamp_min(_EIG_TOL).pow(-1.5), 0 * l
        )

    return xc @ sym_matrix_function(c, f, fp), (lam.sum(), new_var)


def _rescale(sums, d: int, width: torch.Tensor, alpha: float) -> torch.Tensor:
    """Variance rescale of a whitened rep of width d zero-padded to ``width`` (vector)."""
    if sums is None:
        return torch.ones_like(width)
    lam_sum, new_var = sums
    extra = width - d
    pad_var = alpha**2 * _EIG_TOL + 2 * alpha * (1 - alpha) * math.sqrt(_EIG_TOL) + (1 - alpha) ** 2
    return ((lam_sum + extra * _EIG_TOL) / (new_var + extra * pad_var)).sqrt()


def _shape_terms(A, B, alpha: float, budget: int, widths_a=None, widths_b=None):
    """(‖X‖², ‖Y‖², ‖XᵀY‖_*) matrices for NBS/Procrustes (alpha=1) and shape metrics.

    ``widths_*`` are the original unit counts when a representation was replaced by its
    n×n sample-space factor (the padded width and the count of zero eigenvalues follow them).
    """
    symmetric = B is None
    pa = [_whiten_parts(center(a), alpha) for a in A]
    pb = pa if symmetric else [_whiten_parts(center(b), alpha) for b in B]
    kw = {"dtype": A[0].dtype, "device": A[0].device}
    wa = torch.as_tensor(widths_a or [a.shape[1] for a in A], **kw)
    wb = wa if symmetric else torch.as_tensor(widths_b or [b.shape[1] for b in B], **kw)
    width = torch.maximum(wa[:, None], wb[None, :])  # zero-padded width of each pair
    sa = torch.stack(
        [_rescale(s, A[i].shape[1], width[i], alpha) for i, (_, s) in enumerate(pa)]
    )
    sb = torch.stack(
        [_rescale(s, Bl_j.shape[1], width[:, j], alpha)
         for j, ((_, s), Bl_j) in enumerate(zip(pb, A if symmetric else B))], 1
    )
    na = torch.stack([(x * x).sum() for x, _ in pa])
    nb = na if symmetric else torch.stack([(y * y).sum() for y, _ in pb])
    nuc = _cross([x for x, _ in pa], None if symmetric else [y for y, _ in pb], "nuc", budget)
    return na[:, None] * sa * sa, nb[None, :] * sb * sb, nuc * sa * sb


def sample_factor(x: torch.Tensor) -> torch.Tensor:
    """The n×n factor ``F = (X̃X̃ᵀ)^½`` of centred ``x``: ``FFᵀ = FᵀF = X̃X̃ᵀ`` and F has zero
    column means, so every measure that depends on X̃ only through ``X̃X̃ᵀ`` up to an
    orthogonal transformation of the units (NBS, Procrustes, shape metrics, CCA, regression)
    gives the same value on F, at n×n instead of d×d cost when units outnumber samples.
    Eigenvalues below 1e3·ε·λ_max (round-off) are dropped.

    >>> x = torch.randn(5, 40, dtype=torch.float64)
    >>> f = sample_factor(x)
    >>> xc = x - x.mean(0)
    >>> bool(torch.allclose(f @ f.T, xc @ xc.T)), f.shape
    (True, torch.Size([5, 5]))
    """
    xc = center(x)
    k = xc @ xc.transpose(0, 1)
    cut = 1e3 * torch.finfo(k.dtype).eps * k.diagonal().sum().detach().clamp_min(_tiny(k))

    def f(lam: torch.Tensor) -> torch.Tensor:
        keep = lam > cut
        return torch.where(keep, torch.where(keep, lam, torch.ones_like(lam)).sqrt(), 0 * lam)

    def fp(lam: torch.Tensor) -> torch.Tensor:
        keep = lam > cut
        return torch.where(keep, 0.5 * torch.where(keep, lam, torch.ones_like(lam)).rsqrt(),
                           0 * lam)

    return sym_matrix_function(k, f, fp)


def _reduce(reps: list[torch.Tensor], algorithm: str, name: str, label: str):
    """Replace representations wider than their sample count by their n×n factor
    (``algorithm="auto"``), all of them (``"sample"``) or none (``"feature"``)."""
    n = reps[0].shape[0]
    pick = [algorithm == "sample" or (algorithm == "auto" and r.shape[1] > n) for r in reps]
    if any(pick):
        log.debug("pairwise %s: %d of %d %s representation(s) reduced to their n×n "
                  "sample-space factor (n=%d)", name, sum(pick), len(reps), label, n)
    return [sample_factor(r) if p else r for r, p in zip(reps, pick)]


def _shape_output(family: str, form: str, nx2, ny2, nuc):
    tiny = _tiny(nuc)
    cos = nuc / (nx2.clamp_min(tiny) * ny2.clamp_min(tiny)).sqrt()
    sq = (nx2 + ny2 - 2 * nuc).clamp_min(0)
    if family == "bures_distance" or form == "distance=euclidean":
        return safe_sqrt(sq)
    if form == "distance=squared_euclidean":
        return sq
    if form == "squared_score":
        return cos**2
    return transform(form, cos)


def _cca(A, B, form: str, budget: int):
    from .measures.cca import whiten

    symmetric = B is None
    wa = [whiten(a) for a in A]
    wb = wa if symmetric else [whiten(b) for b in B]
    ra = torch.stack([r for _, r in wa])
    rb = ra if symmetric else torch.stack([r for _, r in wb])
    op = "fro2" if form == "squared_score" else "nuc"
    s = _cross([w for w, _ in wa], None if symmetric else [w for w, _ in wb], op, budget)
    s = s / (ra[:, None] * rb[None, :]).clamp_min(1).sqrt()
    return s if form == "squared_score" else transform(form, s)


def _regression_factors(y: torch.Tensor, lam: float):
    """E₁ = Ỹ g₁(C), E₂ = Ỹ g₂(C) with C = ỸᵀỸ, so that P = E₁E₁ᵀ is the hat matrix and
    P² = E₂E₂ᵀ (λ = 0: the pseudo-inverse with the 1e-10·trace cut, and E₁ = E₂)."""
    yc = center(y)
    c = yc.transpose(0, 1) @ yc
    if lam == 0:
        e = yc @ inv_sqrt_psd(c)
        return e, e
    cut = rank_tol(c.dtype) * c.diagonal().sum().clamp_min(_tiny(c))

    def g1(l):
        return (l.clamp_min(0) + lam).rsqrt()

    def g1p(l):
        return -0.5 * (l.clamp_min(0) + lam).pow(-1.5)

    def g2(l):
        lp = l.clamp_min(0)
        return lp.sqrt() / (lp + lam)

    def g2p(l):
        keep = l > cut
        ls = torch.where(keep, l, torch.ones_like(l))
        return torch.where(keep, 0.5 * ls.rsqrt() / (ls + lam) - ls.sqrt() / (ls + lam) ** 2,
                           0 * l)

    return yc @ sym_matrix_function(c, g1, g1p), yc @ sym_matrix_function(c, g2, g2p)


def _regression_matrix(targets, candidates, lam: float, agg: str, budget: int):
    """S[i, j] = in-sample score of predicting targets[i] from candidates[j]."""
    xc = [center(x) for x in targets]
    facs = []
    for y in candidates:
        e1, e2 = _regression_factors(y, lam)
        facs += [e1, e2]
    t = _cross(xc, facs, "fro2", budget)
    t1, t2 = t[:, 0::2], t[:, 1::2]
    xx = torch.stack([(x * x).sum() for x in xc])[:, None]
    tiny = _tiny(xx)
    if agg == "r2":
        return 1 - (xx - 2 * t1 + t2) / xx.clamp_min(tiny)
    return t1 / (xx * t2).clamp_min(tiny).sqrt()


def _regression(A, B, lam: float, agg: str, sym: bool, budget: int):
    cand = A if B is None else B
    s = _regression_matrix(A, cand, lam, agg, budget)
    if not sym:
        return s
    back = s if B is None else _regression_matrix(B, A, lam, agg, budget)
    return 0.5 * (s + back.transpose(0, 1))


_RSA_GEMM = ("cosine", "pearson", "spearman", "rho_a", "cosine_cov", "corr_cov")


def _rsa(A, B, rdm_kind: str, method: str, strength, form: str, budget: int):
    from .measures import rsa as rsa_mod

    symmetric = B is None
    n = A[0].shape[0]
    item = A[0].element_size()
    rank_based = method in ("spearman", "rho_a", "kendall", "tau_a")
    ctx = torch.no_grad() if rank_based else contextlib.nullcontext()
    with ctx:
        if method in _RSA_GEMM:
            m_pairs = n * (n - 1) // 2

            def vector(x):
                d = rsa_mod.rdm(x, rdm_kind)
                if method in ("cosine_cov", "corr_cov"):
                    if method == "corr_cov":
                        off = 1 - torch.eye(n, dtype=d.dtype, device=d.device)
                        d = d - d.sum() / max(n * (n - 1), 1) * off
                    v = _double_center(-0.5 * d).reshape(-1)
                else:
                    v = rsa_mod.upper_triangle(d)
                    if method in ("spearman", "rho_a"):
                        v = rsa_mod.rankdata(v)
                    if method != "cosine":
                        v = v - v.mean()
                if method == "rho_a":
                    return v
                return v / (v * v).sum().clamp_min(_tiny(v)).sqrt()

            def vec(lst):
                return lambda idx: torch.stack([vector(lst[i]) for i in idx])

            length = n * n if method in ("cosine_cov", "corr_cov") else m_pairs
            s = _vector_gram(vec(A), len(A), None if symmetric else vec(B),
                             len(A if symmetric else B), length, budget, item)
            if method == "rho_a":
                s = 12 * s / max(m_pairs**3 - m_pairs, 1)
        else:
            da = [rsa_mod.rdm(a, rdm_kind) for a in A]
            db = da if symmetric else [rsa_mod.rdm(b, rdm_kind) for b in B]
            s = _loop(lambda i, j: rsa_mod.compare_rdms(da[i], db[j], method, strength),
                      len(da), len(db), symmetric)
    return transform(form, s)


def _loop(fn: Callable[[int, int], torch.Tensor], ka: int, kb: int, symmetric: bool):
    vals = {}
    for i in range(ka):
        for j in range(i if symmetric else 0, kb):
            vals[(i, j)] = fn(i, j)
    rows = [
        torch.stack([vals[(j, i)] if symmetric and j < i else vals[(i, j)] for j in range(kb)])
        for i in range(ka)
    ]
    return torch.stack(rows)


# ----------------------------------------------------------------------------- public
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
        a choice for linear CKA and ENSD, whose Gram and covariance routes give the same
        numbers. ``"auto"`` counts the flops of both for the whole matrix and logs the choice
        at debug level on the ``simgrad`` logger.

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
    A, B, n_cond = _prepare(reps_a, reps_b, device, dtype)
    fam, form = tpl.family, tpl.form
    symmetric_loop = B is None and m.card.symmetric
    Bl = A if B is None else B

    def need_feature_only(what: str) -> None:
        if algorithm != "auto":
            raise ValueError(
                f"algorithm={algorithm!r} is not available for {what}; use 'auto' (the "
                "feature/sample switch applies to the CKA, ENSD, shape, CCA and regression "
                "families)."
            )

    def reduced():
        ra = _reduce(A, algorithm, canon, "reps_a")
        rb = None if B is None else _reduce(B, algorithm, canon, "reps_b")
        return ra, rb

    if fam == "cka" and values["kernel"][0] == "linear":
        return transform(form, _linear_cka(A, B, values["hsic"], "cka", algorithm, budget, canon))
    if fam == "ensd":
        return _linear_cka(A, B, "gretton", "ensd", algorithm, budget, canon)
    if fam == "cka":
        if algorithm == "feature":
            raise ValueError("RBF CKA has no feature-space algorithm; use 'auto' or 'sample'.")
        log.debug("pairwise %s: RBF kernels once per representation, one GEMM", canon)
        return transform(form, _rbf_cka(A, B, values["kernel"][1], values["hsic"], budget))
    if fam in ("nbs", "procrustes", "bures_distance", "shape_metric"):
        alpha = float(values.get("alpha", 1.0))
        log.debug("pairwise %s: whiten once per representation, batched nuclear norms", canon)
        ra, rb = reduced()
        terms = _shape_terms(ra, rb, alpha, budget, [a.shape[1] for a in A],
                             None if B is None else [b.shape[1] for b in B])
        return _shape_output(fam, form, *terms)
    if fam == "cca":
        log.debug("pairwise %s: whiten once per representation, batched products", canon)
        return _cca(*reduced(), form, budget)
    if fam in ("linear_regression", "ridge") and "cv" not in values:
        log.debug("pairwise %s: one spectral factor per candidate, one product", canon)
        return _regression(*reduced(), float(values.get("lambda", 0.0)), form,
                           tpl.tail == "sym", budget)
    if fam == "rsa" and "compare" in values and _rsa_available():
        need_feature_only(canon)
        comp = values["compare"]
        log.debug("pairwise %s: one RDM per representation", canon)
        return _rsa(A, B, values["rdm"], comp.method, comp.strength, form, budget)
    need_feature_only(canon)
    log.debug(
        "pairwise %s: no batched algorithm; looping over %d single-pair calls",
        canon,
        len(A) * (len(A) + 1) // 2 if symmetric_loop else len(A) * len(Bl),
    )
    return _loop(lambda i, j: m.compute(Pair(A[i], Bl[j], n_cond)), len(A), len(Bl),
                 symmetric_loop)


def _rsa_available() -> bool:
    try:
        from .measures import rsa as rsa_mod
    except ImportError:  # pragma: no cover - family not present
        return False
    return all(hasattr(rsa_mod, f) for f in ("rdm", "upper_triangle", "rankdata", "compare_rdms"))
