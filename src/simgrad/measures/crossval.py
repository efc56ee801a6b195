"""Cross-validated alignment metrics ``...-distance=angular-cv=Kfolds`` (netrep style).

For each of K folds (the fold rules of :func:`simgrad.measures.regression.cv_folds`: whole
conditions for ``(time, conditions, units)`` input, seeded shuffled samples otherwise) the
alignment is fitted on the training rows only and the angle is measured on the held-out rows:

1. centre both inputs with the *training* means;
2. (``svcca``) project on the training principal subspace (``var=V`` / ``dim=K``);
3. partially whiten with the *training* covariance (netrep's α: 1 = Procrustes/NBS,
   0 = CCA/SVCCA, any α for ``shape_metric``; the narrower input zero-padded);
4. the rotation Q = argmax tr(X_wᵀY_wQ) of the training data, computed as the polar factor
   Q = (MᵀM)^(−½)Mᵀ of M = X_wᵀY_w (pseudo-inverse root with a Daleckii–Krein backward, so
   gradients stay finite at repeated or zero singular values);
5. the held-out angle arccos(⟨X_te, Y_te Q⟩ / (‖X_te‖‖Y_te Q‖)),

averaged over folds: netrep's ``LinearMetric.fit(train).score(test)`` with the angular
distance, and neuroaimetrics' cross-validated ``LinearShapeMetric``. Everything is computed
from d×d products: the test folds' products together cost one full X̃ᵀỸ, X̃ᵀX̃, ỸᵀỸ, and
each training fold's are the totals minus its test products, recentred with the training
means. Not symmetric (Q is fitted in one direction); Q absorbs any orthogonal map of Y, so
orthogonal invariance holds.

>>> import torch
>>> X = torch.randn(80, 4, dtype=torch.float64)
>>> Q = torch.linalg.qr(torch.randn(4, 4, dtype=X.dtype))[0]
>>> round(float(cv_angular(X, X @ Q, alpha=1.0)), 6)
0.0
"""

from __future__ import annotations

import math

import torch

from .linalg import inv_sqrt_psd, outer, require_positive, safe_arccos, tiny
from .registry import Param, Template, family_hooks, register, register_hooks
from .regression import CV, cv_folds
from .shape import ALPHA, partial_whitener
from .svcca import DIM, VAR, pca_projector

__all__ = ["cv_angular"]


def _t(a: torch.Tensor) -> torch.Tensor:
    return a.transpose(-1, -2)


def _fit_map(c: torch.Tensor, alpha: float, n_pad: int, reduce) -> torch.Tensor | None:
    """The training fold's linear map of the centred data (``None``: the identity):
    SVCCA's PCA projector (``reduce``), then netrep's partial whitening (α < 1)."""
    proj = None
    if reduce is not None:
        proj, _ = pca_projector(c, *reduce)
        c = proj @ c @ proj
    if alpha > 1 - 1e-7:
        return proj
    z = partial_whitener(c, alpha, n_pad)
    return z if proj is None else proj @ z


def _sandwich(a: torch.Tensor | None, g: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """aᵀ g b with ``None`` standing for the identity."""
    g = g if a is None else _t(a) @ g
    return g if b is None else g @ b


def _fold_angle(stats, test: torch.Tensor, n: int, alpha: float, reduce, widths):
    """Held-out angle of one fold from d×d products only: the training products are the
    totals minus the test fold's, centred with the training means."""
    x, y, sx, sy, gxx, gxy, gyy = stats
    xt, yt = x[..., test, :], y[..., test, :]
    nt, nr = len(test), n - len(test)
    tx, ty = xt.sum(-2), yt.sum(-2)
    txx, txy, tyy = _t(xt) @ xt, _t(xt) @ yt, _t(yt) @ yt
    mx, my = (sx - tx) / nr, (sy - ty) / nr  # training means
    # training products centred with the training means
    cxx = gxx - txx - nr * outer(mx, mx)
    cxy = gxy - txy - nr * outer(mx, my)
    cyy = gyy - tyy - nr * outer(my, my)
    # test products centred with the training means
    hxx = txx - outer(tx, mx) - outer(mx, tx) + nt * outer(mx, mx)
    hxy = txy - outer(tx, my) - outer(mx, ty) + nt * outer(mx, my)
    hyy = tyy - outer(ty, my) - outer(my, ty) + nt * outer(my, my)
    d = max(widths)
    zx = _fit_map(cxx, alpha, d - widths[0], reduce)
    zy = _fit_map(cyy, alpha, d - widths[1], reduce)
    m = _sandwich(zx, cxy, zy)
    q = inv_sqrt_psd(_t(m) @ m) @ _t(m)  # polar factor (Y → X), zero-padding implied
    num = (_sandwich(zx, hxy, zy) * _t(q)).sum((-2, -1))
    nx2 = _trace(_sandwich(zx, hxx, zx))
    ny2 = _trace(_t(q) @ _sandwich(zy, hyy, zy) @ q)
    # the held-out norms' sizes before centring: ‖X_te Z‖² + n_te‖μ Z‖² bounds ‖(X_te − μ)Z‖²
    refx = _trace(_sandwich(zx, txx + nt * outer(mx, mx), zx))
    refy = _trace(_t(q) @ _sandwich(zy, tyy + nt * outer(my, my), zy) @ q)
    for term, ref, what in ((nx2, refx, "X"), (ny2, refy, "Y Q")):
        require_positive(term, ref, _UNDEFINED.format(what=what))
    den = (nx2.clamp_min(0) * ny2.clamp_min(0)).sqrt()
    return safe_arccos(num / den.clamp_min(tiny(den)))


_UNDEFINED = (
    "cross-validated angle undefined: a held-out fold's {what} (centred with the training "
    "means, mapped by the training alignment) is 0 up to rounding (held-out rows at the "
    "training mean, or outside the span the training rows give the alignment); use fewer "
    "folds, whole-condition folds or less degenerate data."
)


def _trace(a: torch.Tensor) -> torch.Tensor:
    return a.diagonal(dim1=-2, dim2=-1).sum(-1)


def cv_angular(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float,
    folds: int = 5,
    scheme: str = "conditions",
    n_conditions: int | None = None,
    reduce: tuple[str, float] | None = None,
) -> torch.Tensor:
    """Mean held-out angle of the alignment fitted on the training folds (module docstring).
    ``reduce=("var", V)`` or ``("dim", K)`` adds SVCCA's PCA step (fitted on training rows)."""
    n = x.shape[-2]
    folds_ = cv_folds(n, folds, scheme, n_conditions)
    stats = (x, y, x.sum(-2), y.sum(-2), _t(x) @ x, _t(x) @ y, _t(y) @ y)
    widths = (x.shape[-1], y.shape[-1])
    angles = [_fold_angle(stats, test, n, alpha, reduce, widths) for test in folds_]
    return torch.stack(angles, -1).mean(-1)


_INV_ALIGN = ("permutation", "orthogonal", "translation", "isotropic_scaling")
_SPEC = {  # family -> (fixed α, extra params, what)
    "procrustes": (1.0, (), "Procrustes (orthogonal alignment)"),
    "nbs": (1.0, (), "Procrustes / NBS angle (Harvey et al. 2023: arccos NBS = Procrustes angle)"),
    "cca": (0.0, (), "CCA (full whitening, netrep α = 0)"),
    "shape_metric": (None, (ALPHA,), "generalized shape metric (netrep partial whitening α)"),
    "svcca": (0.0, (VAR,), "SVCCA (training PCA, then netrep α = 0)"),
    "svcca#dim": (0.0, (DIM,), "SVCCA (training PCA, then netrep α = 0)"),
}


def _card(family: str, what: str, values: dict) -> dict:
    k = values["cv"][0]
    alpha = values.get("alpha", _SPEC[family][0])
    inv = list(_INV_ALIGN)
    if alpha == 0.0 and "var" not in values and "dim" not in values:
        inv.append("invertible_linear")
    if alpha not in (0.0, 1.0):
        inv.remove("isotropic_scaling")
    fam = family.split("#")[0]
    return dict(
        family=fam,
        form="distance",
        description=f"{k}-fold cross-validated angular distance of the {what}: alignment "
        "fitted on training rows, angle measured on the held-out rows (netrep), averaged",
        formula="mean over folds of arccos(⟨X_te Z_X, Y_te Z_Y Q⟩ / (‖·‖‖·‖)), Z, Q fitted "
        "on the training rows, Q = (MᵀM)^(−½)Mᵀ",
        range=(0.0, math.pi),
        metric=False,
        symmetric=False,
        differentiable=True,
        invariances=tuple(inv),
        estimator="cross-validated (held-out conditions / samples)",
        cost=f"{k} folds × O(n·d² + d³)",
        references=(
            "Williams et al. 2021, Generalized shape metrics on neural representations (netrep)",
        ),
    )


def _register(key: str) -> None:
    alpha, extra, what = _SPEC[key]
    family = key.split("#")[0]

    def build(**values):
        k, scheme = values["cv"]
        a = float(values.get("alpha", alpha))
        red = ("var", values["var"]) if "var" in values else None
        red = ("dim", values["dim"]) if "dim" in values else red

        def fn(x, y, n_conditions=None):
            return cv_angular(
                x, y, alpha=a, folds=k, scheme=scheme, n_conditions=n_conditions, reduce=red
            )

        return fn

    params: tuple[Param, ...] = tuple(extra) + (CV,)
    register(
        Template(
            family,
            "distance=angular",
            params,
            build,
            lambda v: _card(key, what, v),
            suffix_params=("cv",),
        )
    )


for _key in _SPEC:
    _register(_key)


def _without_cv(hook):
    """The family's hook, refusing (``None``) the cross-validated forms: they need the rows."""
    if hook is None:
        return None

    def wrapped(*args):
        values = args[1] if len(args) == 2 else args[2]
        return None if "cv" in values else hook(*args)

    return wrapped


for _family in ("procrustes", "nbs", "cca", "shape_metric", "svcca"):
    _h = family_hooks(_family)
    _hooks = {
        k: _without_cv(getattr(_h, k))
        for k in ("pairwise", "streaming", "theory", "resample")
        if getattr(_h, k) is not None
    }
    if _hooks:
        register_hooks(_family, **_hooks)
