"""Batched L2 logistic regression in torch (the fast decoding path).

Solves, for every problem ``b`` of a batch at once, scikit-learn's objective

    min_{W, c}  sum_i  logloss(y_i, x_i W + c)  +  ||W||_F^2 / (2 C)         (intercept free)

with the binomial form (one weight vector) for two classes and the symmetric multinomial
form (one weight vector per class, all penalized) for more, exactly as
``sklearn.linear_model.LogisticRegression(C=C)`` with the lbfgs solver.

Reduction. With the intercept free, the optimal ``W`` lies in the span of the *centred*
training rows (stationarity gives ``W / C = -X̃ᵀ (P - Y)``). With ``X̃ = U S Vᵀ`` the problem is
solved exactly in the coordinates ``F = X̃ V = U S`` (orthogonal columns, ``FᵀF = S²``):
``W = V Z`` and ``||W|| = ||Z||``. ``F`` comes from an eigendecomposition of the centred Gram
matrix (``n × n``, when there are fewer samples than units) or of the covariance (``d × d``).

Solvers. :func:`fit_predict`: damped Newton in those coordinates with a Jacobi-preconditioned
conjugate-gradient inner solve (Hessian-vector products only), any number of classes.
:func:`fit_predict_kernel`: two classes in the kernel form (``W = X̃ᵀα``, logits ``Kα + c``),
exact Newton steps through one ``n × n`` LU solve per problem — the fast path when there are
fewer training samples than units; its Grams come from :func:`centered_fold_grams`. Both use
a batched line search over steps 16 … 1e-3 (the lowest objective with sufficient decrease);
problems that have converged stop moving. Padded samples (folds of unequal size) carry
weight 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["centered_fold_grams", "fit_predict", "fit_predict_kernel", "orthogonal_features"]


def orthogonal_features(
    Xtr: torch.Tensor, mtr: torch.Tensor, Xte: torch.Tensor, rtol: float = 1e-10
) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre by the (masked) training mean and rotate to orthogonal coordinates.

    ``Xtr`` ``(B, n, d)``, ``mtr`` ``(B, n)`` 0/1 weights, ``Xte`` ``(B, m, d)``.
    Returns ``(F, Fte)`` with ``Fᵀ F`` diagonal, ``F`` zero on padded rows, and the test
    rows expressed in the same coordinates (``Fte = (Xte - mean) V``).
    """
    n_valid = mtr.sum(-1, keepdim=True).clamp_min(1.0)  # (B, 1)
    mean = (mtr.unsqueeze(-1) * Xtr).sum(-2, keepdim=True) / n_valid.unsqueeze(-1)
    Xc = (Xtr - mean) * mtr.unsqueeze(-1)
    Xte_c = Xte - mean
    n, d = Xtr.shape[-2], Xtr.shape[-1]
    if n <= d:
        G = Xc @ Xc.transpose(-1, -2)
        lam, U = torch.linalg.eigh(G)
        keep = lam > rtol * lam[..., -1:].clamp_min(torch.finfo(lam.dtype).tiny)
        lam = torch.where(keep, lam, torch.zeros_like(lam))
        s = lam.sqrt()
        inv_s = torch.where(keep, 1.0 / s.clamp_min(torch.finfo(s.dtype).tiny), torch.zeros_like(s))
        F = U * s.unsqueeze(-2)
        Fte = (Xte_c @ Xc.transpose(-1, -2)) @ (U * inv_s.unsqueeze(-2))
    else:
        Cov = Xc.transpose(-1, -2) @ Xc
        _, V = torch.linalg.eigh(Cov)
        F = Xc @ V
        Fte = Xte_c @ V
    return F, Fte


def _probs(logits: torch.Tensor, binary: bool) -> torch.Tensor:
    return torch.sigmoid(logits) if binary else torch.softmax(logits, dim=-1)


def _objective_logits(
    logits: torch.Tensor,
    theta: torch.Tensor,
    Y: torch.Tensor,
    w: torch.Tensor,
    pen: torch.Tensor,
    binary: bool,
) -> torch.Tensor:
    """``Σ_i w_i·logloss(Y_i, logits_i) + ½·Σ pen·θ²`` per problem (``pen`` 1/C, 0 for the
    intercept row)."""
    if binary:
        nll = torch.nn.functional.softplus(logits) - Y * logits
        nll = nll.squeeze(-1)
    else:
        nll = torch.logsumexp(logits, -1) - (Y * logits).sum(-1)
    return (w * nll).sum(-1) + 0.5 * (pen * theta.pow(2)).sum((-1, -2))


LINE_SEARCH_STEPS = (16.0, 8.0, 4.0, 2.0, 1.0, 0.5, 0.25, 0.1, 0.03, 0.01, 1e-3)


def _grid_line_search(
    f: torch.Tensor,
    slope: torch.Tensor,
    steps: torch.Tensor,
    objective: Callable[..., torch.Tensor],
    starts: tuple[torch.Tensor, ...],
    directions: tuple[torch.Tensor, ...],
    *fixed: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(best_t, best_f)`` per problem: the step ``t`` of the grid ``steps`` with the lowest
    ``f(t) = objective(*(s + t·d for s, d in zip(starts, directions)), *fixed)`` among those
    with sufficient decrease (Armijo, ``f(t) ≤ f + 10⁻⁴·t·slope``); ``best_t = 0`` and
    ``best_f = f`` where none has."""
    best_t = torch.zeros_like(f)
    best_f = f.clone()
    for t in steps:
        ft = objective(*(s + t * d for s, d in zip(starts, directions)), *fixed)
        ok = (ft <= f + 1e-4 * t * slope) & (ft < best_f)
        best_t = torch.where(ok, t, best_t)
        best_f = torch.where(ok, ft, best_f)
    return best_t, best_f


def _hessian(
    F1: torch.Tensor,
    F1sq: torch.Tensor,
    wq: torch.Tensor,
    P: torch.Tensor,
    pen: torch.Tensor,
    binary: bool,
) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    """The Hessian-vector product ``v ↦ H v`` of the penalized log loss at probabilities
    ``P`` and the Hessian's diagonal (the Jacobi preconditioner)."""
    if binary:
        curv = wq * P * (1 - P)

        def hvp(v: torch.Tensor) -> torch.Tensor:
            return F1.transpose(-1, -2) @ (curv * (F1 @ v)) + pen * v

        return hvp, F1sq.transpose(-1, -2) @ curv + pen
    WP = wq * P

    def hvp_multi(v: torch.Tensor) -> torch.Tensor:
        A = F1 @ v
        R = WP * A - WP * (P * A).sum(-1, keepdim=True)
        return F1.transpose(-1, -2) @ R + pen * v

    return hvp_multi, F1sq.transpose(-1, -2) @ (WP * (1 - P)) + pen


def _pcg(
    hvp: Callable[[torch.Tensor], torch.Tensor],
    diag: torch.Tensor,
    grad: torch.Tensor,
    max_cg: int,
) -> torch.Tensor:
    """Jacobi-preconditioned conjugate gradients for ``H d = −grad`` (every problem at once;
    stops when every residual fell by 10⁻¹⁰ or after ``max_cg`` steps)."""
    minv = 1.0 / diag.clamp_min(1e-12)
    x = torch.zeros_like(grad)
    res = -grad
    z = minv * res
    p = z.clone()
    rz = (res * z).sum((-1, -2))
    rz0 = rz.abs().clamp_min(1e-300)
    for _ in range(max_cg):
        Hp = hvp(p)
        pHp = (p * Hp).sum((-1, -2))
        alpha = torch.where(pHp > 0, rz / pHp.clamp_min(1e-300), torch.zeros_like(rz))
        x = x + alpha[:, None, None] * p
        res = res - alpha[:, None, None] * Hp
        z = minv * res
        rz_new = (res * z).sum((-1, -2))
        if bool((rz_new.abs() <= 1e-10 * rz0).all()):
            break
        beta = torch.where(rz.abs() > 0, rz_new / rz.clamp_min(1e-300), torch.zeros_like(rz))
        p = z + beta[:, None, None] * p
        rz = rz_new
    return x


def fit_predict(
    F: torch.Tensor,
    Y: torch.Tensor,
    w: torch.Tensor,
    Fte: torch.Tensor,
    *,
    C: float = 1.0,
    max_newton: int = 50,
    max_cg: int = 50,
    tol: float = 1e-6,
) -> torch.Tensor:
    """Fit the batched problems and return the test logits ``(B, m, K)``.

    ``F`` ``(B, n, r)`` training features (orthogonal columns), ``Y`` ``(B, n, K)`` targets
    (one-hot, or ``(B, n, 1)`` 0/1 for the binomial form), ``w`` ``(B, n)`` sample weights
    (0 = padding), ``Fte`` ``(B, m, r)``. Convergence: a Newton step that changes no
    training logit by more than ``tol`` (or a gradient at round-off level).
    """
    binary = Y.shape[-1] == 1
    B, n, r = F.shape
    K = Y.shape[-1]
    ones = torch.ones(B, n, 1, dtype=F.dtype, device=F.device)
    F1 = torch.cat([F, ones], -1)  # (B, n, r+1)
    pen = torch.full((r + 1, 1), 1.0 / C, dtype=F.dtype, device=F.device)
    pen[-1] = 0.0
    theta = torch.zeros(B, r + 1, K, dtype=F.dtype, device=F.device)
    wq = w.unsqueeze(-1)
    F1sq = F1.pow(2)
    g0 = None
    active = torch.ones(B, dtype=torch.bool, device=F.device)
    steps = F.new_tensor(LINE_SEARCH_STEPS)
    f_cur = _objective_logits(F1 @ theta, theta, Y, w, pen, binary)
    for _ in range(max_newton):
        z0 = F1 @ theta  # logits, reused by the line search
        P = _probs(z0, binary)
        grad = F1.transpose(-1, -2) @ (wq * (P - Y)) + pen * theta
        gnorm = grad.flatten(1).norm(dim=-1)
        if g0 is None:
            g0 = gnorm.clamp_min(1e-30)
        active = active & (gnorm > 1e-12 * g0)  # at the optimum to round-off
        if not bool(active.any()):
            break
        hvp, diag = _hessian(F1, F1sq, wq, P, pen, binary)
        x = _pcg(hvp, diag, grad, max_cg) * active[:, None, None]
        # Line search on a grid that also extends the Newton step (far from the optimum of
        # an unscaled, nearly separable problem the step is too short, not too long). The
        # logits are linear in the step, so every candidate costs only elementwise work.
        slope = (grad * x).sum((-1, -2))  # negative
        dz = F1 @ x
        small = dz.abs().flatten(1).amax(-1) <= tol  # the step moves no logit by > tol
        best_t, best_f = _grid_line_search(
            f_cur, slope, steps, _objective_logits, (z0, theta), (dz, x), Y, w, pen, binary
        )
        take = best_t > 0
        theta = theta + best_t[:, None, None] * x
        f_cur = best_f
        active = active & take & ~small
    return torch.cat([Fte, torch.ones_like(Fte[..., :1])], -1) @ theta


# ----------------------------------------------------------------------------- kernel form
def centered_fold_grams(
    G: torch.Tensor, tr_idx: torch.Tensor, w: torch.Tensor, te_idx: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training and test Grams of every fold, centred by the fold's training mean.

    ``G`` ``(P, S, S)`` = ``X Xᵀ`` of each problem's samples, ``tr_idx`` ``(F, n)`` /
    ``w`` ``(F, n)`` the padded training rows of each fold and their 0/1 weights, ``te_idx``
    ``(F, m)``. With ``μ`` the training mean, ``(x_i − μ)·(x_j − μ) = G_ij − m_i − m_j + M``
    where ``m_i = x_i·μ`` and ``M = μ·μ``. Returns ``K`` ``(P·F, n, n)`` (zero on padded rows
    and columns) and ``Kte`` ``(P·F, m, n)`` (zero on padded columns).
    """
    nF = tr_idx.shape[0]
    wv = w.to(G.dtype)
    nw = wv.sum(-1).clamp_min(1.0)  # (F,)
    # mean weights per sample and fold: m = G @ Wm gives m_s = x_s·μ_f for every s, f
    Wm = G.new_zeros(G.shape[-1], nF)
    Wm.index_put_(
        (tr_idx, torch.arange(nF, device=G.device)[:, None].expand_as(tr_idx)),
        wv / nw[:, None],
        accumulate=True,
    )
    m_all = (G @ Wm).transpose(1, 2)  # (P, F, S)
    f_ar = torch.arange(nF, device=G.device)[:, None]
    m_tr = m_all[:, f_ar, tr_idx]  # (P, F, n)
    m_te = m_all[:, f_ar, te_idx]  # (P, F, m)
    M = (m_tr * wv).sum(-1) / nw  # (P, F)
    K = G[:, tr_idx[:, :, None], tr_idx[:, None, :]]  # (P, F, n, n)
    K -= m_tr[..., :, None]
    K -= m_tr[..., None, :]
    K += M[..., None, None]
    K *= wv[None, :, :, None] * wv[None, :, None, :]
    Kte = G[:, te_idx[:, :, None], tr_idx[:, None, :]]  # (P, F, m, n)
    Kte -= m_te[..., :, None]
    Kte -= m_tr[..., None, :]
    Kte += M[..., None, None]
    Kte *= wv[None, :, None, :]
    return K.flatten(0, 1), Kte.flatten(0, 1)


def _kernel_objective(
    z: torch.Tensor,
    alpha: torch.Tensor,
    u: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    C: float,
) -> torch.Tensor:
    """``Σ_i w_i·logloss(y_i, z_i) + αᵀKα / (2C)`` per problem (``u = Kα``)."""
    nll = torch.nn.functional.softplus(z) - y * z
    return (w * nll).sum(-1) + 0.5 / C * (alpha * u).sum(-1)


def _kernel_newton(
    Ka: torch.Tensor,
    z: torch.Tensor,
    a: torch.Tensor,
    u: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    C: float,
) -> tuple[torch.Tensor, ...]:
    """The Newton step of :func:`fit_predict_kernel` at ``(α, c)`` (logits ``z``, ``u = Kα``):
    ``(gn2, v, δα, δu, δc, slope)`` with ``gn2`` the squared gradient norm in the metric of
    ``K``, ``v`` the change of logits, ``δu = Kδα`` and ``slope`` the directional derivative."""
    p = torch.sigmoid(z)
    g = w * (p - y)
    Kg = (Ka @ g.unsqueeze(-1)).squeeze(-1)
    r = g + a / C
    gsum = g.sum(-1)
    gn2 = (r * (Kg + u / C)).sum(-1).clamp_min(0) + gsum**2
    D = w * p * (1 - p)
    A = torch.mul(Ka, (C * D)[:, None, :])
    A.diagonal(dim1=-2, dim2=-1).add_(1.0)
    rhs = torch.stack([-(C * Kg + u), torch.ones_like(Kg)], -1)
    V = torch.linalg.solve(A, rhs)  # (b, n, 2)
    v0, v1 = V[..., 0], V[..., 1]
    den = (D * v1).sum(-1)
    dc = torch.where(
        den.abs() > 0, -(gsum + (D * v0).sum(-1)) / den.clamp_min(1e-300), torch.zeros_like(den)
    )
    v = v0 + v1 * dc[:, None]
    dalpha = -C * g - a - C * D * v
    du = v - dc[:, None]  # K δα
    slope = (r * du).sum(-1) + gsum * dc
    return gn2, v, dalpha, du, dc, slope


def fit_predict_kernel(
    K: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    Kte: torch.Tensor,
    *,
    C: float = 1.0,
    max_newton: int = 50,
    tol: float = 1e-6,
) -> torch.Tensor:
    """Binary L2 logistic regression in the kernel form, exact Newton steps; test logits.

    The same objective as :func:`fit_predict` with two classes. With ``W = X̃ᵀα`` (the
    optimum lies in the span of the centred training rows) the logits are ``z = Kα + c`` and
    ``‖W‖² = αᵀKα``, ``K = X̃X̃ᵀ``. The Newton system ``[KDK + K/C, KD1; 1ᵀDK, 1ᵀD1]`` is
    solved through the change of logits ``v = Kδα + δc``:

        (I + C·K·D) v = −K(C·g + α) + 1·δc,     Dᵀv = −1ᵀg,     δα = −C·g − α − C·D·v

    (``g = w(p − y)``, ``D = diag(w·p(1 − p))``): one ``n × n`` LU solve with two right-hand
    sides per problem and step, no Hessian-vector iterations. A batched line search over
    steps 16 … 1e-3 takes the lowest objective with sufficient decrease (far from the optimum
    of nearly separable data the Newton step is too short). Convergence: the (quadratically
    convergent) Newton step changes no training logit by more than ``tol``, or a full step
    of at most ``√tol`` was just taken (the next would be ~``tol``) — an absolute
    accuracy of the logits whatever the scale of the data, unlike a gradient norm relative to
    its start, which stopped fits of unscaled firing rates with logits still off by units.

    ``K`` ``(B, n, n)``, ``y`` ``(B, n)`` 0/1, ``w`` ``(B, n)`` weights (0 = padding; ``K``
    zero on those rows/columns), ``Kte`` ``(B, m, n)``. Returns ``(B, m)`` test logits.
    """
    B, n, _ = K.shape
    alpha = K.new_zeros(B, n)
    u = K.new_zeros(B, n)  # K α
    c = K.new_zeros(B)
    steps = K.new_tensor(LINE_SEARCH_STEPS)
    g0 = None
    z = u + c[:, None]
    f = _kernel_objective(z, alpha, u, y, w, C)
    idx = torch.arange(B, device=K.device)
    for _ in range(max_newton):
        # everything below is restricted to the problems still moving (rows ``idx``)
        Ka = K if idx.numel() == B else K[idx]
        z_i, a_i, u_i, f_i, y_i, w_i = z[idx], alpha[idx], u[idx], f[idx], y[idx], w[idx]
        gn2, v, dalpha, du, dc, slope = _kernel_newton(Ka, z_i, a_i, u_i, y_i, w_i, C)
        if g0 is None:
            g0 = gn2.clamp_min(1e-300)
        moving = gn2 > 1e-24 * g0[idx]  # not yet at the optimum to round-off
        vmax = v.abs().amax(-1)
        small = vmax <= tol  # the full step moves no training logit by > tol
        best_t, best_f = _grid_line_search(
            f_i, slope, steps, _kernel_objective, (z_i, a_i, u_i), (v, dalpha, du), y_i, w_i, C
        )
        t = (best_t * moving)[:, None]
        alpha[idx] = a_i + t * dalpha
        u[idx] = u_i + t * du
        c[idx] = c[idx] + t[:, 0] * dc
        z[idx] = z_i + t * v
        f[idx] = torch.where(moving, best_f, f_i)
        # quadratic phase: after a full step of size s the next one is ~κ·s² (κ ≈ 0.05–0.2
        # measured here), so a full step with s² ≤ tol leaves the logits within ~tol
        small = small | ((best_t == 1.0) & (vmax * vmax <= tol))
        idx = idx[(best_t > 0) & ~small & moving]  # a step was taken, not yet converged
        if idx.numel() == 0:
            break
    return (Kte @ alpha.unsqueeze(-1)).squeeze(-1) + c[:, None]
