"""Shared numerics for the measures: centering, stable nuclear norms, safe arccos and
spectral functions of symmetric matrices with finite gradients at repeated eigenvalues.

All functions take tensors shaped ``(..., samples, units)`` and broadcast over leading
batch dimensions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .nuclear import nuclear_norm
from .shared import batch_constant, memo

__all__ = [
    "angular_score",
    "bures_metric",
    "bures_similarity",
    "bures_sq_metric",
    "center",
    "center_kernel",
    "cross",
    "double_center",
    "eps_for",
    "fro2",
    "gram_feature",
    "hsic_cosine",
    "hsic_linear",
    "max_abs",
    "nuclear_terms",
    "pairwise_sq_dists",
    "pow2_rescale",
    "safe_scale_range",
    "nuclear_norm",
    "pad_to_same_width",
    "rank_tol",
    "require_positive",
    "safe_arccos",
    "safe_sqrt",
    "sym_matrix_function",
    "tiny",
    "trace_scale",
    "u_center",
    "unit_columns",
    "unit_rows",
    "unit_scale",
    "zero_diag",
]

HSIC_ESTIMATORS = ("gretton", "song", "lange")


def eps_for(dtype: torch.dtype) -> float:
    """Clamp margin for arccos: ``1e-7`` in float64 (as the paper), ``1e-6`` in float32."""
    return 1e-7 if dtype == torch.float64 else 1e-6


def rank_tol(dtype: torch.dtype) -> float:
    """Relative eigenvalue tolerance below which a direction counts as absent."""
    return 1e-10 if dtype == torch.float64 else 1e-5


def tiny(t: torch.Tensor) -> float:
    """The smallest positive normal number of ``t``'s dtype (a floor for clamps)."""
    return torch.finfo(t.dtype).tiny


def fro2(a: torch.Tensor) -> torch.Tensor:
    """Squared Frobenius norm ``‖A‖²_F = Σ a²`` over the last two dimensions."""
    return (a * a).sum((-2, -1))


def outer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched outer product ``a bᵀ`` of the last axes: ``(…, p), (…, q) → (…, p, q)``."""
    return a.unsqueeze(-1) * b.unsqueeze(-2)


def center(x: torch.Tensor) -> torch.Tensor:
    """Subtract each unit's mean over samples: ``X̃ = X − 1 μᵀ``.

    A gradient-free reference expanded over a batch is centred once (and stays expanded);
    inside :func:`~simgrad.measures.shared.shared_terms` the result is shared between measures.
    """
    base = batch_constant(x)
    if base is not None:
        return memo("center", (x,), lambda: center(base).expand(x.shape))
    return memo("center", (x,), lambda: x - x.mean(dim=-2, keepdim=True))


def unit_scale(x: torch.Tensor) -> torch.Tensor:
    """``x / max|x|`` per ``(n, d)`` matrix, the divisor detached (an all-zero matrix is kept).

    For scale-invariant measures this changes no value and no gradient (f(x) = f(x/c) for any
    fixed c > 0 gives ∇f(x) = ∇f(x/c)/c) but keeps fourth powers of the data inside the
    float32 range: ‖X̃ᵀX̃‖²_F of data at 1e-6 underflows and at 1e6 overflows in float32.
    """
    s = x.detach().abs().amax((-2, -1), keepdim=True)
    return x / torch.where(s > 0, s, torch.ones_like(s))


def max_abs(x: torch.Tensor) -> torch.Tensor:
    """The detached largest ``|x|`` of each ``(n, d)`` matrix, shaped ``(..., 1, 1)``."""
    return x.detach().abs().amax((-2, -1), keepdim=True)


def pow2_rescale(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``x · 2⁻ᵉ`` with ``2ᵉ`` the power of two just above the detached ``scale`` (> 0).

    Multiplying by a power of two is exact in floating point, so a scale-invariant measure
    gets the same value at any representable data scale (1e-300 … 1e300 in float64, 1e-40 …
    1e38 in float32), with the exact gradient ∇f(x) = ∇f(x/c)/c. Two half-steps keep each
    factor representable (2¹⁰⁷⁴ is not).

    >>> x = torch.tensor([[3e-300, -1e-300]], dtype=torch.float64)
    >>> pow2_rescale(x, max_abs(x)).abs().max().item() <= 1.0
    True
    """
    _, e = torch.frexp(scale.detach())
    e = (-e).to(x.dtype)
    half = torch.floor(e / 2)
    return x * torch.exp2(half) * torch.exp2(e - half)


def safe_scale_range(dtype: torch.dtype) -> tuple[float, float]:
    """Largest-|x| range inside which a measure that is not scale-invariant is computed:
    ``[tiny^¼, max^¼]`` of the dtype (float64 ≈ 1.2e-77 … 1.2e77, float32 ≈ 3.3e-10 …
    4.3e9), so that fourth powers of the data (products of Grams) neither overflow nor
    underflow.

    >>> lo, hi = safe_scale_range(torch.float64); 1e-70 > lo and 1e70 < hi
    True
    """
    fi = torch.finfo(dtype)
    return fi.tiny**0.25, fi.max**0.25


def require_positive(term: torch.Tensor, ref: torch.Tensor, message: str) -> None:
    """Raise ``ValueError(message)`` where a self-similarity ``term`` (a denominator) is zero
    up to rounding: ``term ≤ √eps · |ref|``, ``ref`` the size of what it was computed from.

    An unbiased estimator's self-term (e.g. the U-statistic HSIC of X with itself) can be 0
    for a non-constant input (X = I: every sample orthogonal to the others, equally long);
    the ratio is then undefined, and clamping the denominator would return 1e137.

    >>> require_positive(torch.tensor(1.0), torch.tensor(1.0), "degenerate")
    """
    tol = torch.finfo(term.dtype).eps ** 0.5
    if bool((term.detach() <= tol * ref.detach().abs()).any()):
        raise ValueError(message)


def trace_scale(c: torch.Tensor) -> torch.Tensor:
    """The detached trace of ``(..., d, d)`` Grams, shaped ``(..., 1, 1)``, 1 where it is 0.

    Scale-invariant measures divide their d×d (or n×n) products by it: O(d²) instead of a
    pass over the n×d data, with the same effect as :func:`unit_scale` on the range.
    """
    t = c.detach().diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None]
    return torch.where(t > 0, t, torch.ones_like(t))


def pad_to_same_width(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad the narrower of two ``(..., n, d)`` tensors with zero columns (netrep)."""
    p, q = x.shape[-1], y.shape[-1]
    if p < q:
        x = torch.nn.functional.pad(x, (0, q - p))
    elif q < p:
        y = torch.nn.functional.pad(y, (0, p - q))
    return x, y


def safe_sqrt(x: torch.Tensor, floor: float = 0.0) -> torch.Tensor:
    """``sqrt(max(x, floor))`` whose gradient is 0 (not inf) where ``x <= floor``."""
    pos = x > floor
    safe = torch.where(pos, x, torch.ones_like(x))
    return torch.where(pos, safe.sqrt(), torch.full_like(x, math.sqrt(floor)))


def unit_rows(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit L2 norm, ``x_i / ‖x_i‖``; a row whose squared norm is 0 is kept
    as it is (an all-zero row stays zero)."""
    sq = (x * x).sum(-1, keepdim=True)
    return x / torch.where(sq > 0, safe_sqrt(sq), torch.ones_like(sq))


def unit_columns(x: torch.Tensor) -> torch.Tensor:
    """Columns (units) scaled to unit L2 norm over the samples, ``x_j / ‖x_j‖``; a column
    whose norm is not above :func:`tiny` is set to 0 (with a zero gradient)."""
    nrm = safe_sqrt((x * x).sum(-2, keepdim=True))
    ok = nrm > tiny(x)
    return torch.where(ok, x / torch.where(ok, nrm, torch.ones_like(nrm)), 0 * x)


class _SafeArccos(torch.autograd.Function):
    @staticmethod
    def forward(ctx, s):  # type: ignore[override]
        ctx.save_for_backward(s)
        return torch.arccos(s.clamp(-1.0, 1.0))

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (s,) = ctx.saved_tensors
        lim = 1 - eps_for(s.dtype)
        sc = s.clamp(-lim, lim)
        return -grad / torch.sqrt(1 - sc * sc)


def safe_arccos(s: torch.Tensor) -> torch.Tensor:
    """``arccos(s)`` whose value is exact (s clipped to [−1, 1]) and whose slope is that of
    ``s`` clamped to ``[−1 + ε, 1 − ε]``, so it stays finite as ``Y → X``.

    This is the paper's clamp fix applied to the derivative only, so identical inputs still
    give an angle of exactly 0.
    """
    return _SafeArccos.apply(s)


def angular_score(s: torch.Tensor) -> torch.Tensor:
    """The paper's angular score ``1 − (2/π)·arccos(s)``; 1 for identical inputs."""
    return 1 - (2 / math.pi) * safe_arccos(s)


class _Gram(torch.autograd.Function):
    """``XᵀX`` whose backward is one product ``X (G + Gᵀ)`` (autograd's matmul backward takes
    two, one per factor)."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        ctx.save_for_backward(x)
        return x.transpose(-1, -2) @ x

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return x @ (grad + grad.transpose(-1, -2))


def gram_feature(x: torch.Tensor) -> torch.Tensor:
    """``Xᵀ X`` for ``(..., n, d)`` input (the d×d feature-space Gram); once for a reference
    expanded over a batch, shared inside :func:`~simgrad.measures.shared.shared_terms`."""
    base = batch_constant(x)
    if base is None:
        return memo("gram", (x,), lambda: _Gram.apply(x))
    d = x.shape[-1]
    return memo("gram", (x,), lambda: gram_feature(base).expand(*x.shape[:-2], d, d))


def cross(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``Xᵀ Y`` for ``(..., n, p)``, ``(..., n, q)`` input, shared inside
    :func:`~simgrad.measures.shared.shared_terms` (one product, one backward product, for
    every measure of the pair that needs it)."""
    return memo("cross", (x, y), lambda: x.transpose(-1, -2) @ y)


# ----------------------------------------------------------------------------- Bures / nuclear
def nuclear_terms(x: torch.Tensor, y: torch.Tensor):
    """``(‖X‖², ‖Y‖², ‖XᵀY‖_*)`` of inputs already centred (or whitened, or factors F of a
    Gram G = FFᵀ): the three numbers every Bures / Procrustes / NBS measure is made of."""
    return fro2(x), fro2(y), nuclear_norm(cross(x, y))


def bures_similarity(nx2: torch.Tensor, ny2: torch.Tensor, nuc: torch.Tensor) -> torch.Tensor:
    """Normalised nuclear norm (NBS, Procrustes cosine, Bures similarity):
    ``‖XᵀY‖_* / √(‖X‖²·‖Y‖²)``, each squared norm clamped at :func:`tiny`. Broadcasts."""
    t = tiny(nx2)
    return nuc / (nx2.clamp_min(t) * ny2.clamp_min(t)).sqrt()


def bures_sq_metric(nx2: torch.Tensor, ny2: torch.Tensor, nuc: torch.Tensor) -> torch.Tensor:
    """Squared Bures metric (squared Procrustes distance) ``max(0, ‖X‖² + ‖Y‖² − 2‖XᵀY‖_*)``."""
    return (nx2 + ny2 - 2 * nuc).clamp_min(0)


def bures_metric(nx2: torch.Tensor, ny2: torch.Tensor, nuc: torch.Tensor) -> torch.Tensor:
    """Bures metric (Procrustes Euclidean distance) ``√`` :func:`bures_sq_metric`; the
    gradient is 0 (not inf) where it is exactly 0."""
    return safe_sqrt(bures_sq_metric(nx2, ny2, nuc))


class _SymMatrixFunction(torch.autograd.Function):
    """``f(A) = V f(Λ) Vᵀ`` for symmetric A, with the Daleckii–Krein derivative.

    The backward uses divided differences ``(f(λi) − f(λj)) / (λi − λj)`` and ``f'(λi)``
    where eigenvalues (nearly) coincide, so repeated or zero eigenvalues give finite
    gradients (plain ``eigh`` backward divides by ``λi − λj``).
    """

    @staticmethod
    def forward(ctx, a, f, fprime, lam=None, v=None):  # type: ignore[override]
        if lam is None or v is None:
            lam, v = torch.linalg.eigh(a)
        flam = f(lam)
        ctx.save_for_backward(lam, v, flam)
        ctx.fprime = fprime
        return (v * flam.unsqueeze(-2)) @ v.transpose(-1, -2)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        lam, v, flam = ctx.saved_tensors
        fp = ctx.fprime(lam)
        dl = lam.unsqueeze(-1) - lam.unsqueeze(-2)
        df = flam.unsqueeze(-1) - flam.unsqueeze(-2)
        scale = lam.abs().amax(-1, keepdim=True).unsqueeze(-1).clamp_min(1e-300)
        close = dl.abs() <= 1e3 * torch.finfo(lam.dtype).eps * scale
        safe_dl = torch.where(close, torch.ones_like(dl), dl)
        avg_fp = 0.5 * (fp.unsqueeze(-1) + fp.unsqueeze(-2))
        phi = torch.where(close, avg_fp, df / safe_dl)
        g = 0.5 * (grad + grad.transpose(-1, -2))
        inner = v.transpose(-1, -2) @ g @ v
        return v @ (phi * inner) @ v.transpose(-1, -2), None, None, None, None


def sym_matrix_function(
    a: torch.Tensor,
    f: Callable[[torch.Tensor], torch.Tensor],
    fprime: Callable[[torch.Tensor], torch.Tensor],
    eig: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Apply a scalar function to the eigenvalues of symmetric ``a`` (batched).

    ``f`` and ``fprime`` (its derivative) act elementwise on eigenvalues and must be finite
    everywhere (clip before powers). Gradients are finite at repeated eigenvalues. Pass
    ``eig=(λ, V)`` (from ``torch.linalg.eigh(a)``, detached) to reuse a decomposition the
    caller already has instead of computing it again.

    >>> a = torch.eye(3, dtype=torch.float64) * 4
    >>> sym_matrix_function(a, torch.sqrt, lambda x: 0.5 / x.sqrt()).diagonal()
    tensor([2., 2., 2.], dtype=torch.float64)
    """
    if eig is None:
        return _SymMatrixFunction.apply(a, f, fprime)
    lam, v = eig
    return _SymMatrixFunction.apply(a, f, fprime, lam.detach(), v.detach())


def inv_sqrt_psd(
    c: torch.Tensor,
    rtol: float | None = None,
    eig: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Pseudo-inverse square root of a PSD matrix: ``λ^(-1/2)`` for eigenvalues above
    ``rtol × tr(c)``, else 0. ``eig`` reuses a decomposition (see :func:`sym_matrix_function`).
    """
    tol = rank_tol(c.dtype) if rtol is None else rtol
    cut = tol * c.diagonal(dim1=-2, dim2=-1).sum(-1).clamp_min(torch.finfo(c.dtype).tiny)
    cut = cut.unsqueeze(-1)

    def f(lam: torch.Tensor) -> torch.Tensor:
        keep = lam > cut
        return torch.where(keep, torch.where(keep, lam, torch.ones_like(lam)).rsqrt(), 0 * lam)

    def fp(lam: torch.Tensor) -> torch.Tensor:
        keep = lam > cut
        safe = torch.where(keep, lam, torch.ones_like(lam))
        return torch.where(keep, -0.5 * safe.pow(-1.5), 0 * lam)

    return sym_matrix_function(c, f, fp, eig)


def effective_rank(
    c: torch.Tensor, rtol: float | None = None, lam: torch.Tensor | None = None
) -> torch.Tensor:
    """Number of eigenvalues of PSD ``c`` above ``rtol`` × its trace (no gradient).

    ``lam`` reuses already computed eigenvalues of ``c``.
    """
    tol = rank_tol(c.dtype) if rtol is None else rtol
    lam = torch.linalg.eigvalsh(c.detach()) if lam is None else lam.detach()
    cut = tol * lam.clamp_min(0).sum(-1, keepdim=True).clamp_min(torch.finfo(c.dtype).tiny)
    return (lam > cut).sum(-1).to(c.dtype)


# ----------------------------------------------------------------------------- kernels, HSIC
def zero_diag(k: torch.Tensor) -> torch.Tensor:
    """``(..., n, n)`` matrices with their diagonals set to 0 (``K ⊙ (11ᵀ − I)``)."""
    n = k.shape[-1]
    return k * (1 - torch.eye(n, dtype=k.dtype, device=k.device))


def pairwise_sq_dists(k: torch.Tensor, sq: torch.Tensor | None = None) -> torch.Tensor:
    """Squared distances ``D_ij = sq_i + sq_j − 2 K_ij`` from a Gram ``K = XXᵀ`` (or
    ``XΛXᵀ``) of ``(..., n, n)``, clamped at 0, zero diagonal; ``sq`` (the rows' squared
    norms) defaults to the Gram's diagonal."""
    if sq is None:
        sq = k.diagonal(dim1=-2, dim2=-1)
    return zero_diag((sq.unsqueeze(-1) + sq.unsqueeze(-2) - 2 * k).clamp_min(0))


def owned(t: torch.Tensor) -> bool:
    """Whether a freshly made tensor may be modified in place (no autograd graph to keep)."""
    return not (torch.is_grad_enabled() and t.requires_grad)


def double_center(k: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """``H K H`` with ``H = I − 11ᵀ/n``: row means, then column means subtracted.

    ``inplace=True`` overwrites ``k`` (the caller's fresh matrix) when no autograd graph is
    tracked through it; the values are the same either way.

    >>> double_center(torch.ones(3, 3)).abs().max().item()
    0.0
    """
    if inplace and owned(k):
        k.sub_(k.mean(-1, keepdim=True))
        return k.sub_(k.mean(-2, keepdim=True))
    k = k - k.mean(-1, keepdim=True)
    return k - k.mean(-2, keepdim=True)


def u_center(k: torch.Tensor) -> torch.Tensor:
    """Székely–Rizzo U-centring of ``(..., n, n)`` kernels (zero diagonal; needs n ≥ 4):
    ``K̃ = K₀ − K₀11ᵀ/(n−2) − 11ᵀK₀/(n−2) + 1ᵀK₀1·11ᵀ/((n−1)(n−2))`` off the diagonal,
    ``K₀`` the kernel with its diagonal zeroed. ``⟨K̃, L̃⟩/(n(n−3))`` is Song's HSIC_u."""
    n = k.shape[-1]
    k0 = zero_diag(k)
    r = k0.sum(-1, keepdim=True)
    s = r.sum(-2, keepdim=True)
    kc = k0 - r / (n - 2) - r.transpose(-1, -2) / (n - 2) + s / ((n - 1) * (n - 2))
    return zero_diag(kc)


def center_kernel(k: torch.Tensor, hsic: str) -> torch.Tensor:
    """The kernel as each HSIC estimator centres it, so that ``⟨K̃, L̃⟩_F`` is the estimator
    up to a factor of n: ``gretton`` H K H, ``song`` :func:`u_center`, ``lange`` H K H with
    its diagonal zeroed."""
    if hsic == "gretton":
        return double_center(k)
    if hsic == "lange":
        return zero_diag(double_center(k))
    if hsic == "song":
        return u_center(k)
    raise ValueError(f"Unknown HSIC estimator {hsic!r}; known: {list(HSIC_ESTIMATORS)}.")


def hsic_linear(
    xy2: torch.Tensor, ab: torch.Tensor, ta: torch.Tensor, tb: torch.Tensor, n: int, hsic: str
) -> torch.Tensor:
    """HSIC of two linear kernels K = X̃X̃ᵀ, L = ỸỸᵀ from sufficient statistics, up to the
    estimator's normalisation: with ``xy2 = ‖X̃ᵀỸ‖²_F = ⟨K, L⟩``, the row norms
    ``a_i = K_ii``, ``b_i = L_ii`` given as ``ab = Σ a_i b_i``, ``ta = Σ a_i``, ``tb = Σ b_i``:

    - ``gretton``  ``xy2``                         (= ⟨HKH, HLH⟩, X̃ and Ỹ centred)
    - ``lange``    ``xy2 − ab``                    (zero-diagonal centred kernels)
    - ``song``     ``xy2 − ab + ta·tb/((n−1)(n−2)) − 2/(n−2)·ab``  (= n(n−3)·HSIC_u)

    Arguments broadcast (all pairs: ``ta[:, None]``, ``tb[None, :]``). The estimator's own
    factor (1/(n−1)², 1/(n(n−3))) cancels in CKA and is not applied.

    >>> x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    >>> a = (x * x).sum(-1)
    >>> hsic_linear(fro2(x.T @ x), (a * a).sum(), a.sum(), a.sum(), 2, "lange").item()
    2.0
    """
    if hsic == "gretton":
        return xy2
    if hsic == "lange":
        return xy2 - ab
    if hsic == "song":
        return xy2 - ab + ta * tb / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * ab
    raise ValueError(f"Unknown HSIC estimator {hsic!r}; known: {list(HSIC_ESTIMATORS)}.")


def hsic_cosine(num: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """CKA from HSIC terms: ``num / (√dx · √dy)``, each self-term clamped at :func:`tiny`
    (so constant inputs give 0, not NaN). Arguments broadcast."""
    return num / (dx.clamp_min(tiny(dx)).sqrt() * dy.clamp_min(tiny(dy)).sqrt())
