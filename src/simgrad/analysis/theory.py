"""Closed forms: how CKA, NBS and their angular scores respond to one principal component.

Notation (Cloos et al., ICLR 2025). Flatten ``X`` to ``(n, p)``, centre its columns,
``X̃ = Σ_k s_k u_k v_kᵀ`` with ``λ_k = s_k²`` (proportional to PC ``k``'s variance),
``S₁ = Σ λ_k``, ``S₂ = Σ λ_k²``.
Scaling PC ``i`` by ``a`` (``Y = X̃ + (a − 1) s_i u_i v_iᵀ``) gives ``X̃ᵀY`` the singular values
``λ_k`` (k ≠ i) and ``|a| λ_i``, hence

    CKA(a) = (S₂ − λ_i² + a² λ_i²) / sqrt(S₂ (S₂ − λ_i² + a⁴ λ_i²))
    NBS(a) = (S₁ − λ_i + |a| λ_i) / sqrt(S₁ (S₁ − λ_i + a² λ_i))

and the angular scores ``1 − (2/π) arccos(·)`` of these. Removing the PC (``a = 0``) gives
``CKA = sqrt(1 − λ_i²/S₂)`` (quadratic in the PC variance) and ``NBS = sqrt(1 − λ_i/S₁)``
(linear). Around ``a = 1 + ε``, with ``p = λ_i²/S₂`` and ``q = λ_i/S₁``:

    1 − CKA ≈ 2 p (1 − p) ε²            1 − angular CKA ≈ (4/π) sqrt(p (1 − p)) |ε|
    1 − NBS ≈ ½ q (1 − q) ε²            1 − angular Procrustes ≈ (2/π) sqrt(q (1 − q)) |ε|

Top-k model (``Y`` = the rank-k reconstruction of ``X̃``): ``CKA_k = sqrt(Σ_{i<k} λ_i² / S₂)``,
``NBS_k = sqrt(Σ_{i<k} λ_i / S₁)``.

PC indices are 0-based (``pc=0`` is the highest-variance component).

This module is a generic driver: the closed forms of each family live in the family's module
(its ``theory`` hook returns a :class:`~simgrad.measures.pc_theory.PCTheory`: the perturbed
cosine ``num/den``, the top-k weights ``w`` with ``s_k = sqrt(Σ_{j<k} w_j / Σ w)``, and the
leading order ``δ`` of ``1 − s``); the driver checks the arguments and applies the output
form, ``score`` or ``angular_score`` (``1 − (2/π)·arccos(s)``, whose leading order is
``(2/π)·sqrt(2δ)``). A measure whose family has no hook, or returns ``None`` for its
parameters, raises ``ValueError``; :func:`theory_measures` lists those that have one.

>>> import numpy as np, simgrad as sg
>>> X = np.random.default_rng(0).normal(size=(50, 8))
>>> Y = pc_perturbed_data(X, pc=0, scale=0.5)
>>> bool(abs(predict_pc_perturbation(X, "cka", 0, 0.5) - sg.score("cka", X, Y)) < 1e-12)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..measures.pc_theory import PCTheory
from ..measures.registry import family_hooks, lookup, measures

__all__ = [
    "Bounds",
    "capture_scores_topk",
    "matched_spectrum",
    "nbs_cka_bounds",
    "pc_perturbed_data",
    "predict_pc_perturbation",
    "small_perturbation",
    "spectrum",
    "theory_measures",
    "topk_scores",
]

_FORMS = ("score", "angular_score")  # output forms with a closed form here


def _closed_form_of(template: Any, values: dict) -> PCTheory | None:
    hook = family_hooks(template.family).theory
    if hook is None or template.form not in _FORMS:
        return None
    return hook(template, values)


def theory_measures(pattern: str = "*") -> list[str]:
    """Canonical names (at their listed parameter grid) that have a closed form here.

    >>> theory_measures("cka-*")
    ['cka-kernel=linear-hsic=gretton-angular_score', 'cka-kernel=linear-hsic=gretton-score']
    """
    out = []
    for name in measures(pattern):
        tpl, values, _ = lookup(name)
        if _closed_form_of(tpl, values) is not None:
            out.append(name)
    return out


def _closed_forms(measure: str) -> tuple[PCTheory, bool]:
    """The measure's closed forms (its family's ``theory`` hook) and whether it is angular."""
    if not isinstance(measure, str):
        raise TypeError(f"measure must be a name (str), got {type(measure).__name__}.")
    tpl, values, canonical = lookup(measure)
    theory = _closed_form_of(tpl, values)
    if theory is None:
        raise ValueError(
            f"measure {measure!r} ({canonical}) has no closed form here; supported: "
            f"{', '.join(theory_measures())}."
        )
    return theory, tpl.form == "angular_score"


def _flat_centered(X: Any) -> np.ndarray:
    if hasattr(X, "data") and hasattr(X, "labels"):  # a Dataset
        X = X.data
    arr = np.asarray(X)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"X must be a real numeric array, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if arr.ndim == 3:
        arr = arr.reshape(-1, arr.shape[-1])
    if arr.ndim != 2:
        raise ValueError(
            f"X must be (samples, units) or (time, conditions, units), got shape {arr.shape}."
        )
    if arr.shape[0] < 2:
        raise ValueError(f"X needs at least 2 samples, got {arr.shape[0]}.")
    if not np.isfinite(arr).all():
        raise ValueError("X contains NaN or infinite values.")
    return arr - arr.mean(0)


def spectrum(X: Any) -> np.ndarray:
    """PC variances ``λ_k = s_k²`` of the centred, flattened ``X`` (descending, zeros dropped).

    Explained-variance ratios are ``spectrum(X) / spectrum(X).sum()``.
    """
    s = np.linalg.svd(_flat_centered(X), compute_uv=False)
    lam = s**2
    tol = lam[0] * max(lam.shape) * np.finfo(float).eps if lam.size and lam[0] > 0 else 0.0
    lam = lam[lam > tol]
    if lam.size == 0:
        raise ValueError("X is constant after centring; it has no principal components.")
    return lam


def _check_pc(pc: Any, r: int) -> int:
    if isinstance(pc, bool) or not isinstance(pc, (int, np.integer)):
        raise TypeError(f"pc must be an integer PC index (0-based), got {pc!r}.")
    if not 0 <= int(pc) < r:
        raise ValueError(f"pc must be in [0, {r - 1}] (X has {r} non-zero PCs), got {pc}.")
    return int(pc)


def _check_scale(scale: Any) -> float:
    try:
        a = float(scale)
    except (TypeError, ValueError):
        raise TypeError(f"scale must be a real number, got {scale!r}.") from None
    if not math.isfinite(a):
        raise ValueError(f"scale must be finite, got {scale!r}.")
    return a


def _to_score(sim: float, angular: bool) -> float:
    sim = min(1.0, max(-1.0, sim))
    return 1.0 - (2.0 / math.pi) * math.acos(sim) if angular else sim


def pc_perturbed_data(X: Any, pc: int, scale: float) -> np.ndarray:
    """``X̃`` (centred, flattened ``(n, p)``) with principal component ``pc`` scaled by ``scale``.

    ``scale=0`` removes the component, ``scale=1`` returns ``X̃``.
    """
    Xc = _flat_centered(X)
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    lam = spectrum(X)
    pc = _check_pc(pc, lam.size)
    a = _check_scale(scale)
    return Xc + (a - 1.0) * s[pc] * np.outer(U[:, pc], Vt[pc])


def _closed_form(
    lam: np.ndarray, theory: PCTheory, angular: bool, i: np.ndarray, a: float
) -> np.ndarray:
    num, den = theory.perturbed(lam, i, a)
    if np.any(den <= 0):
        raise ValueError("the perturbed data is all zero (its only PC removed); score undefined.")
    sim = np.clip(num / den, -1.0, 1.0)
    return 1.0 - (2.0 / math.pi) * np.arccos(sim) if angular else sim


def predict_pc_perturbation(X: Any, measure: str, pc: Any, scale: float) -> Any:
    """Closed-form score of ``X`` against ``X`` with PC ``pc`` scaled by ``scale``.

    ``measure`` is a name or alias with a closed form (:func:`theory_measures`: linear
    Gretton CKA, NBS and Procrustes, as ``score`` or ``angular_score``). ``pc`` is a 0-based index
    (float returned) or a 1-D sequence of indices (array returned). See the module docstring.

    >>> import numpy as np
    >>> X = np.diag([3.0, 2.0, 1.0]); X = np.vstack([X, -X])
    >>> round(predict_pc_perturbation(X, "nbs", 0, 0.0), 6)   # sqrt(1 - 9/14)
    0.597614
    """
    theory, angular = _closed_forms(measure)
    lam = spectrum(X)
    a = _check_scale(scale)
    if np.ndim(pc) == 1:
        idx = np.array([_check_pc(p, lam.size) for p in np.asarray(pc)], dtype=int)
        return _closed_form(lam, theory, angular, idx, a)
    i = _check_pc(pc, lam.size)
    return float(_closed_form(lam, theory, angular, np.array([i]), a)[0])


def small_perturbation(X: Any, measure: str, pc: int, eps: float) -> float:
    """Leading-order score for scaling PC ``pc`` by ``1 + eps`` (small ``eps``).

    CKA and NBS move at second order in ``eps``; their angular scores at first order::

        CKA ≈ 1 − 2p(1−p)ε²,  angular CKA ≈ 1 − (4/π)√(p(1−p))|ε|,       p = λ_i²/S₂
        NBS ≈ 1 − ½q(1−q)ε²,  angular Procrustes ≈ 1 − (2/π)√(q(1−q))|ε|,  q = λ_i/S₁
    """
    theory, angular = _closed_forms(measure)
    lam = spectrum(X)
    i = _check_pc(pc, lam.size)
    e = _check_scale(eps)
    delta = float(theory.leading(lam, i, e))  # 1 − s to second order in e
    # angular: arccos(1 − δ) ≈ √(2δ), so the score moves at first order
    return 1.0 - (2.0 / math.pi) * math.sqrt(2.0 * delta) if angular else 1.0 - delta


def topk_scores(X: Any, measure: str, k: int | None = None) -> np.ndarray:
    """Scores of the rank-``j`` reconstructions of ``X`` for ``j = 1 … k`` (``k`` = all PCs
    when ``None``): ``CKA_j = sqrt(Σ_{i<j} λ_i²/S₂)``, ``NBS_j = sqrt(Σ_{i<j} λ_i/S₁)``, and
    their angular scores. Entry ``j − 1`` is the top-``j`` model.
    """
    theory, angular = _closed_forms(measure)
    lam = spectrum(X)
    if k is None:
        k = lam.size
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    k = min(int(k), lam.size)
    w = theory.weights(lam)
    sims = np.sqrt(np.cumsum(w)[:k] / w.sum())
    return np.array([_to_score(float(s), angular) for s in sims])


def capture_scores_topk(X: Any, measure: str, k: int | None = None) -> np.ndarray:
    """Predicted score at which PC ``i`` gets captured, from the spectrum alone.

    Model: the optimization captures PCs one at a time in order of variance (the first PC is
    captured first under every measure). Under unregularized regression a PC's R² jumps from
    ~0 to 1 as soon as it is present in ``Y`` at any amplitude, so it crosses the half-way
    threshold exactly when the top-``(i+1)`` reconstruction is reached; the predicted capture
    score of PC ``i`` is therefore ``topk_scores(X, measure)[i]``. It ignores the residual
    noise of a real trajectory (which lowers every score), so read it as the *shape* of the
    capture curve — steep for CKA, flat for angular Procrustes — rather than absolute values.
    """
    return topk_scores(X, measure, k)


@dataclass(frozen=True)
class Bounds:
    """``lower ≤ nbs2 ≤ upper``: ``lower = CKA/sqrt(r_X r_Y)``, ``upper = min(r_X, r_Y)·CKA``."""

    lower: float
    nbs2: float
    upper: float
    ok: bool

    def __iter__(self):  # allows ``lower, nbs2, upper, ok = nbs_cka_bounds(X, Y)``
        return iter((self.lower, self.nbs2, self.upper, self.ok))


def _rank(Xc: np.ndarray) -> int:
    s = np.linalg.svd(Xc, compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.sum(s > s[0] * max(Xc.shape) * np.finfo(float).eps))


def nbs_cka_bounds(X: Any, Y: Any, rtol: float = 1e-9) -> Bounds:
    """Rank bounds between NBS² and CKA (Cloos et al., ICLR 2025; checked in the paper's
    allowed regions):

        CKA / sqrt(r_X r_Y)  ≤  NBS²  ≤  min(r_X, r_Y) · CKA

    with ``r`` the rank of the centred data (= rank of the centred kernel). Proof sketch: with
    ``σ`` the singular values of ``X̃ᵀỸ``, ``Σσ² ≤ (Σσ)² ≤ rank·Σσ²`` and, for the kernels'
    eigenvalues, ``‖K‖_F ≤ tr K ≤ sqrt(r)‖K‖_F``. ``ok`` says both hold (to ``rtol``).
    3-D inputs are flattened time-major like the measures do.

    >>> import numpy as np
    >>> r = np.random.default_rng(0)
    >>> nbs_cka_bounds(r.normal(size=(30, 5)), r.normal(size=(30, 4))).ok
    True
    """
    Xc, Yc = _flat_centered(X), _flat_centered(Y)
    if Xc.shape[0] != Yc.shape[0]:
        raise ValueError(f"X and Y must have the same samples, got {Xc.shape} and {Yc.shape}.")
    rx, ry = _rank(Xc), _rank(Yc)
    if rx == 0 or ry == 0:
        raise ValueError("X and Y must not be constant (rank 0 after centring).")
    M = Xc.T @ Yc
    sig = np.linalg.svd(M, compute_uv=False)
    nx, ny = np.sum(Xc**2), np.sum(Yc**2)
    cka = float(np.sum(sig**2) / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc)))
    nbs2 = float(np.sum(sig) ** 2 / (nx * ny))
    lower = cka / math.sqrt(rx * ry)
    upper = min(rx, ry) * cka
    ok = bool(lower <= nbs2 * (1 + rtol) + rtol and nbs2 <= upper * (1 + rtol) + rtol)
    return Bounds(lower, nbs2, upper, ok)


def matched_spectrum(X: Any, seed: int = 0) -> np.ndarray:
    """Gaussian surrogate with ``X``'s spectrum and random singular vectors (Cloos et al.,
    ICLR 2025).

    ``X̃ = U S Vᵀ`` (centred, flattened); ``G ~ N(0, 1)`` of the same shape, centred, with thin SVD
    ``U_G S_G V_Gᵀ``; the surrogate is ``U_G S V_Gᵀ``, reshaped to ``X``'s shape. Uses
    ``sg.datasets.matched_spectrum`` when the datasets layer provides it.
    """
    shape = np.shape(X.data if hasattr(X, "data") and hasattr(X, "labels") else X)
    Xc = _flat_centered(X)
    s = np.linalg.svd(Xc, compute_uv=False)
    G = np.random.default_rng(seed).normal(size=Xc.shape)
    G -= G.mean(0)  # centred, so the surrogate's centred spectrum is exactly X's
    Ug, _, Vgt = np.linalg.svd(G, full_matrices=False)
    return ((Ug * s) @ Vgt).reshape(shape)
