"""Reductions of one layer's activations ``(batch, *shape)`` to ``(batch, units)``.

- ``"flatten"``: every unit of the map, ``(b, C·H·W)``.
- ``"mean"``: the spatial average of a channels-first map, ``(b, C)``: every dimension after
  the second is averaged (``(b, d)`` activations are left as they are).
- ``"pca-K"``: the first K principal-component scores of the flattened layer, computed once
  all samples are in: with ``X̃`` the centred ``(n, d)`` matrix and ``X̃X̃ᵀ = U Λ Uᵀ`` (top K),
  the scores are ``U Λ^{1/2}`` (signs fixed so each column's largest entry is positive).
  Needs every sample, so it is not streamed.
- ``"project-K"``: a seeded Gaussian random projection ``X R`` with ``R_ij ~ N(0, 1/K)``
  (Johnson–Lindenstrauss). For n points, ``K ≥ 4 ln n / (ε²/2 − ε³/3)`` keeps every pairwise
  squared distance within a factor ``1 ± ε`` with probability ≥ 1 − 1/n (Dasgupta & Gupta
  2003): n = 2000, K = 512 gives ε ≈ 0.38 as a worst-case bound; typical distortions are
  much smaller (``benchmarks/bench_models.py`` prints the CKA change). ``R`` depends on
  ``(seed, width, K)`` only, so layers of the same width share it; it is applied per batch
  and streams, in the activations' own precision (float32 for a float32 model, so ``R`` and
  the product take half the memory), then cast to the requested dtype.

>>> import torch
>>> r = parse_reduce("project-8")
>>> r.kind, r.k
('project', 8)
>>> apply_batch(r, torch.ones(3, 4, 5, 5, dtype=torch.float64), seed=0).shape
torch.Size([3, 8])
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["Reduce", "apply_batch", "finish_pca", "parse_reduce", "project", "projection"]

_KINDS = ("flatten", "mean", "pca-K", "project-K")


@dataclass(frozen=True)
class Reduce:
    """A parsed reduction: ``kind`` in flatten, mean, pca, project; ``k`` for pca/project."""

    kind: str
    k: int | None = None

    @property
    def streams(self) -> bool:
        """Whether each batch can be reduced on its own (all but PCA)."""
        return self.kind != "pca"

    def __str__(self) -> str:
        return self.kind if self.k is None else f"{self.kind}-{self.k}"


def parse_reduce(spec: str | Reduce) -> Reduce:
    """Parse ``"flatten" | "mean" | "pca-K" | "project-K"`` (K a positive int)."""
    if isinstance(spec, Reduce):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"reduce must be a string, one of {list(_KINDS)}; got {spec!r}.")
    if spec in ("flatten", "mean"):
        return Reduce(spec)
    m = re.fullmatch(r"(pca|project)-(\d+)", spec)
    if m is None or int(m.group(2)) < 1:
        raise ValueError(
            f"reduce={spec!r} is not understood; use one of {list(_KINDS)} "
            "(K a positive integer, e.g. 'project-512')."
        )
    return Reduce(m.group(1), int(m.group(2)))


_PROJECTIONS: dict[tuple[int, int, int, str, torch.dtype], torch.Tensor] = {}
_CHUNK_ROWS = 4096  # R is drawn in row blocks, each from its own seeded generator
_CACHE_BYTES = 64 << 20  # projections up to this size are kept for the run


def _block(seed: int, width: int, k: int, b: int, device: Any, dtype: torch.dtype) -> torch.Tensor:
    rows = min(_CHUNK_ROWS, width - b * _CHUNK_ROWS)
    g = torch.Generator().manual_seed(hash((int(seed), int(width), int(k), b)) & 0x7FFFFFFF)
    r = torch.randn(rows, k, generator=g, dtype=torch.float64) / k**0.5
    return r.to(device=device, dtype=dtype)


def projection(
    width: int, k: int, seed: int, device: torch.device | str, dtype: torch.dtype
) -> torch.Tensor:
    """The ``(width, k)`` Gaussian projection, ``N(0, 1/k)`` entries, drawn in blocks of
    4096 rows from generators seeded by ``(seed, width, k, block)`` (cached when ≤ 64 MiB;
    :func:`clear_projections` frees the cache)."""
    key = (int(seed), int(width), int(k), str(device), dtype)
    if key in _PROJECTIONS:
        return _PROJECTIONS[key]
    n_blocks = -(-width // _CHUNK_ROWS)
    r = torch.cat([_block(seed, width, k, b, device, dtype) for b in range(n_blocks)])
    if r.numel() * r.element_size() <= _CACHE_BYTES:
        _PROJECTIONS[key] = r
    return r


def project(flat: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """``flat @ R`` without holding a large ``R``: past 64 MiB the row blocks are drawn again
    for each batch (same numbers, more time, bounded memory)."""
    width = int(flat.shape[1])
    if width * k * flat.element_size() <= _CACHE_BYTES:
        return flat @ projection(width, k, seed, flat.device, flat.dtype)
    out = torch.zeros(flat.shape[0], k, dtype=flat.dtype, device=flat.device)
    for b, start in enumerate(range(0, width, _CHUNK_ROWS)):
        block = _block(seed, width, k, b, flat.device, flat.dtype)
        out += flat[:, start : start + block.shape[0]] @ block
    return out


def clear_projections() -> None:
    """Forget the cached projection matrices."""
    _PROJECTIONS.clear()


def apply_batch(
    r: Reduce, act: torch.Tensor, *, seed: int = 0, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Reduce one batch ``(b, *shape)`` → ``(b, units)`` in ``dtype`` (default: the batch's).
    The spatial mean is taken in the map's own precision (float32 at least: torch sums in
    cascades, so the error stays near float32 round-off) and then cast, which avoids an
    upcast copy of the whole map (20× slower on CPU). PCA: only flattened here."""
    dtype = act.dtype if dtype is None else dtype
    if act.ndim == 1:
        act = act[:, None]
    if r.kind == "mean" and act.ndim > 2:
        if act.dtype in (torch.float16, torch.bfloat16):
            act = act.float()
        return act.mean(dim=tuple(range(2, act.ndim))).to(dtype)
    if r.kind == "project":
        assert r.k is not None
        work = act.dtype if act.dtype in (torch.float32, torch.float64) else torch.float32
        flat = act.reshape(act.shape[0], -1).to(work)
        return project(flat, r.k, seed).to(dtype)
    return act.reshape(act.shape[0], -1).to(dtype)


def finish_pca(x: torch.Tensor, k: int) -> torch.Tensor:
    """Top-``k`` principal-component scores of ``x`` ``(n, d)`` (k clipped to rank ≤ n−1).

    >>> x = torch.randn(50, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> s = finish_pca(x, 6)
    >>> bool(torch.allclose(s.T @ s, torch.diag((s**2).sum(0)), atol=1e-9))
    True
    """
    xc = x - x.mean(0, keepdim=True)
    n, d = xc.shape
    k = min(k, n - 1, d) if n > 1 else min(k, d)
    if d <= n:
        evals, evecs = torch.linalg.eigh(xc.T @ xc)
        v = evecs[:, -k:].flip(-1)
        scores = xc @ v
    else:
        evals, evecs = torch.linalg.eigh(xc @ xc.T)
        lam = evals[-k:].flip(-1).clamp_min(0)
        scores = evecs[:, -k:].flip(-1) * lam.sqrt()
    idx = scores.abs().argmax(0)
    signs = torch.sign(scores.gather(0, idx[None]).squeeze(0))
    signs[signs == 0] = 1
    return scores * signs
