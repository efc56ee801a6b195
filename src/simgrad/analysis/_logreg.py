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

Solver. Damped Newton with a Jacobi-preconditioned conjugate-gradient inner solve
(Hessian-vector products only) and a batched backtracking line search; problems that have
converged stop moving. Padded samples (folds of unequal size) carry weight 0.
"""

from __future__ import annotations

import torch

__all__ = ["fit_predict", "orthogonal_features"]


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


def _objective(
    F1: torch.Tensor, theta: torch.Tensor, Y: torch.Tensor, w: torch.Tensor, pen: torch.Tensor,
    binary: bool,
) -> torch.Tensor:
    logits = F1 @ theta  # (B, n, K)
    if binary:
        nll = torch.nn.functional.softplus(logits) - Y * logits
        nll = nll.squeeze(-1)
    else:
        nll = torch.logsumexp(logits, -1) - (Y * logits).sum(-1)
    return (w * nll).sum(-1) + 0.5 * (pen * theta.pow(2)).sum((-1, -2))


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
    (0 = padding), ``Fte`` ``(B, m, r)``. Convergence: relative gradient norm below ``tol``.
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
    steps = F.new_tensor([1.0, 0.5, 0.25, 0.1, 0.03, 0.01])
    f_cur = _objective(F1, theta, Y, w, pen, binary)
    for _ in range(max_newton):
        P = _probs(F1 @ theta, binary)
        grad = F1.transpose(-1, -2) @ (wq * (P - Y)) + pen * theta
        gnorm = grad.flatten(1).norm(dim=-1)
        if g0 is None:
            g0 = gnorm.clamp_min(1e-30)
        active = active & (gnorm > tol * g0)
        if not bool(active.any()):
            break
        # Hessian-vector product H v and its diagonal (Jacobi preconditioner).
        if binary:
            curv = wq * P * (1 - P)

            def hvp(v: torch.Tensor, curv: torch.Tensor = curv) -> torch.Tensor:
                return F1.transpose(-1, -2) @ (curv * (F1 @ v)) + pen * v

            diag = F1sq.transpose(-1, -2) @ curv + pen
        else:
            WP = wq * P

            def hvp(v: torch.Tensor, WP: torch.Tensor = WP, P: torch.Tensor = P) -> torch.Tensor:
                A = F1 @ v
                R = WP * A - WP * (P * A).sum(-1, keepdim=True)
                return F1.transpose(-1, -2) @ R + pen * v

            diag = F1sq.transpose(-1, -2) @ (WP * (1 - P)) + pen
        minv = 1.0 / diag.clamp_min(1e-12)
        # Preconditioned CG for H d = -grad.
        x = torch.zeros_like(theta)
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
        x = x * active[:, None, None]
        # Batched backtracking: the largest candidate step that gives sufficient decrease.
        slope = (grad * x).sum((-1, -2))  # negative
        cand = theta.unsqueeze(0) + steps[:, None, None, None] * x.unsqueeze(0)
        f_c = torch.stack([_objective(F1, c, Y, w, pen, binary) for c in cand])  # (S, B)
        ok = f_c <= f_cur.unsqueeze(0) + 1e-4 * steps[:, None] * slope.unsqueeze(0)
        first = torch.where(ok.any(0), ok.float().argmax(0), torch.full_like(f_cur, -1).long())
        take = first >= 0
        idx = first.clamp_min(0)
        theta = torch.where(take[:, None, None], cand[idx, torch.arange(B)], theta)
        f_cur = torch.where(take, f_c[idx, torch.arange(B)], f_cur)
        active = active & take
    return torch.cat([Fte, torch.ones_like(Fte[..., :1])], -1) @ theta
