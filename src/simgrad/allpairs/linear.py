"""The products of linear kernels for all pairs, in feature or sample space, and the
sample-space factor of wide representations.

For centred, unit-scaled X̃_i, :func:`linear_products` gives the three sufficient statistics
every linear-kernel estimator needs: ``⟨K̃_i, K̃_j⟩ = ‖X̃_iᵀX̃_j‖²_F``, the self terms
``‖X̃_iᵀX̃_i‖²_F`` and the row norms ``a_i = diag K̃_i``. The cross term comes from either
the **feature** space (blocks of ``ZᵀZ`` with ``Z = [X̃_1 … X̃_K]``, squared and summed per
block) or the **sample** space (each centred Gram stored once as its upper-triangular row
blocks, the off-diagonal ones scaled by √2, so that ``⟨K_i, K_j⟩`` is a plain dot product
and all pairs are one GEMM). ``algorithm="auto"`` picks the one with fewer flops for the
whole matrix.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch

from ..measures.linalg import center, sym_matrix_function, tiny, unit_scale
from .blocks import cross, vector_gram

__all__ = ["LinearProducts", "linear_products", "reduce", "sample_factor"]

log = logging.getLogger("simgrad.allpairs")


@dataclass(frozen=True)
class LinearProducts:
    """Sufficient statistics of the linear kernels of all pairs (inputs centred and divided
    by their detached max-abs, which scale-invariant estimators do not see).

    ``xy2[i, j] = ‖X̃_iᵀỸ_j‖²_F``; ``xx2[i] = ‖X̃_iᵀX̃_i‖²_F``, ``yy2[j]`` likewise;
    ``ra[i]``, ``rb[j]`` the (n,) row norms ``‖x̃_ik‖²``; ``n`` the sample count.
    """

    xy2: torch.Tensor
    xx2: torch.Tensor
    yy2: torch.Tensor
    ra: torch.Tensor
    rb: torch.Tensor
    n: int

    @property
    def ta(self) -> torch.Tensor:
        """``tr K̃_i = Σ_k a_ik`` (ka,)."""
        return self.ra.sum(1)

    @property
    def tb(self) -> torch.Tensor:
        return self.rb.sum(1)


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


def _gram_vector_length(n: int, nb: int) -> int:
    sizes = [len(s) for s in torch.tensor_split(torch.empty(n), nb)]
    return sum(sizes[a] * sizes[b] for a in range(nb) for b in range(a, nb))


def _route(wa: list[int], wb: list[int] | None, n: int, budget: int, item: int, algorithm: str):
    """Feature or sample space by the multiply-adds of the whole matrix; also returns the
    row-block count and vector length of the sample route and the costs (for the log)."""
    nb = 1 if n < 256 else 4
    length = _gram_vector_length(n, nb)
    per = max(1, int(budget // item // (2 * length)))
    n_blocks_a = math.ceil(len(wa) / per)
    if wb is None:  # block J is rebuilt for every block I ≤ J
        feat = n * (sum(wa) ** 2 + sum(w * w for w in wa)) / 2
        samp = length * sum(wa) * (n_blocks_a + 1) / 2 + length * len(wa) * (len(wa) + 1) / 2
    else:  # the B blocks are rebuilt for every block of A
        feat = n * (sum(wa) * sum(wb) + sum(w * w for w in wa) + sum(w * w for w in wb))
        samp = length * (sum(wa) + n_blocks_a * sum(wb)) + length * len(wa) * len(wb)
    feasible = budget // item >= 2 * length + n * n // nb
    if algorithm == "auto":
        route = "sample" if feasible and samp < feat else "feature"
    else:
        route = algorithm
    return route, nb, length, feat, samp, feasible


def _self_fro2(cs: list[torch.Tensor], n: int) -> torch.Tensor:
    return torch.stack(
        [((c.transpose(0, 1) @ c) ** 2).sum() if c.shape[1] <= n else ((c @ c.T) ** 2).sum()
         for c in cs]
    )  # fmt: skip


def linear_products(
    A: list[torch.Tensor], B: list[torch.Tensor] | None, algorithm: str, budget: int, name: str
) -> LinearProducts:
    """:class:`LinearProducts` of all pairs (``B=None``: of A with itself, each unordered pair
    once), by the feature- or sample-space route (see the module docstring); the choice and
    both costs are logged at debug level."""
    symmetric = B is None
    n = A[0].shape[0]
    ac = [unit_scale(center(a)) for a in A]
    bc = ac if symmetric else [unit_scale(center(b)) for b in B]
    item = ac[0].element_size()
    wb = None if symmetric else [b.shape[1] for b in bc]
    route, nb, length, feat, samp, feasible = _route(
        [a.shape[1] for a in ac], wb, n, budget, item, algorithm
    )
    log.debug(
        "pairwise %s: %d×%d %s pairs of n=%d samples; feature-space cost %.3g, sample-space "
        "cost %.3g%s → %s-space algorithm",
        name, len(ac), len(bc), "symmetric" if symmetric else "cross", n, feat, samp,
        "" if feasible else " (Grams exceed the memory budget)", route,
    )  # fmt: skip
    if route == "feature":
        xy2 = cross(ac, None if symmetric else bc, "fro2", budget)
    else:

        def vec(lst: list[torch.Tensor]):
            return lambda idx: _gram_vectors(lst, idx, nb, length)

        vb = None if symmetric else vec(bc)
        xy2 = vector_gram(vec(ac), len(ac), vb, len(bc), length, budget, item)
    xx2 = xy2.diagonal() if symmetric else _self_fro2(ac, n)
    yy2 = xx2 if symmetric else _self_fro2(bc, n)
    ra = torch.stack([(c * c).sum(1) for c in ac])
    rb = ra if symmetric else torch.stack([(c * c).sum(1) for c in bc])
    return LinearProducts(xy2, xx2, yy2, ra, rb, n)


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
    cut = 1e3 * torch.finfo(k.dtype).eps * k.diagonal().sum().detach().clamp_min(tiny(k))

    def f(lam: torch.Tensor) -> torch.Tensor:
        keep = lam > cut
        return torch.where(keep, torch.where(keep, lam, torch.ones_like(lam)).sqrt(), 0 * lam)

    def fp(lam: torch.Tensor) -> torch.Tensor:
        keep = lam > cut
        safe = torch.where(keep, lam, torch.ones_like(lam))
        return torch.where(keep, 0.5 * safe.rsqrt(), 0 * lam)

    return sym_matrix_function(k, f, fp)


def reduce(reps: list[torch.Tensor], algorithm: str, name: str, label: str) -> list[torch.Tensor]:
    """Replace representations wider than their sample count by their n×n factor
    (``algorithm="auto"``), all of them (``"sample"``) or none (``"feature"``)."""
    n = reps[0].shape[0]
    pick = [algorithm == "sample" or (algorithm == "auto" and r.shape[1] > n) for r in reps]
    if any(pick):
        log.debug(
            "pairwise %s: %d of %d %s representation(s) reduced to their n×n sample-space "
            "factor (n=%d)", name, sum(pick), len(reps), label, n,
        )  # fmt: skip
    return [sample_factor(r) if p else r for r, p in zip(reps, pick)]
