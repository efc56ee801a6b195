"""Derived output forms of a similarity ``s`` (similarity-repository's conversions).

- ``score``                       s itself
- ``distance=angular``            arccos(s)                       (clamped, finite gradient)
- ``angular_score``               1 − (2/π)·arccos(s)              (the paper's angular score)
- ``distance=one_minus_score``    1 − s                            (Ding et al. 2021)
- ``score-negative_log``          −log s                           (the ``fsd`` CKA loss)
- ``distance=euclidean``          √(‖X̃‖² + ‖Ỹ‖² − 2‖X̃‖‖Ỹ‖·s)      (law of cosines)
- ``distance=squared_euclidean``  its square

The Euclidean forms are similarity-repository's ``angular_to_euclidean_shape_metric``
conversion, applied by that project to every ``-distance=angular`` name: the angle arccos(s)
between the centred inputs (Frobenius norms ‖X̃‖, ‖Ỹ‖, columns centred) turned into the length
of the third side. For Procrustes/NBS it is exactly min_Q ‖X̃ − ỸQ‖; for other families it is
that project's formal conversion (not a metric in general), kept for name compatibility.

:func:`register_similarity` registers the angular forms (and, on request, the others) for a
family from one similarity builder.

>>> import torch
>>> s = torch.tensor(0.5, dtype=torch.float64)
>>> float(transform("distance=one_minus_score", s))
0.5
>>> round(float(transform("score-negative_log", s)), 6)
0.693147
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .linalg import angular_score, center, fro2, max_abs, safe_arccos, safe_sqrt, tiny
from .registry import MeasureFn, Param, Template, register

__all__ = [
    "ANGULAR_FORMS",
    "EUCLIDEAN_FORMS",
    "EXTRA_FORMS",
    "euclidean_from_similarity",
    "needs_inputs",
    "register_similarity",
    "transform",
]

ANGULAR_FORMS = ("score", "distance=angular", "angular_score")
EUCLIDEAN_FORMS = ("distance=euclidean", "distance=squared_euclidean")
EXTRA_FORMS = ("distance=one_minus_score", "score-negative_log") + EUCLIDEAN_FORMS


def needs_inputs(form: str) -> bool:
    """Whether ``form`` needs the inputs' norms besides the similarity (the Euclidean forms):
    hooks that only see ``s`` return ``None`` for them (the drivers then loop)."""
    return form in EUCLIDEAN_FORMS


def transform(form: str, s: torch.Tensor) -> torch.Tensor:
    """Map a similarity to the named output form (forms of ``s`` alone)."""
    if form == "score":
        return s
    if form == "distance=angular":
        return safe_arccos(s)
    if form == "angular_score":
        return angular_score(s)
    if form == "distance=one_minus_score":
        return 1 - s
    if form == "score-negative_log":
        if bool((s.detach() <= 0).any()):
            raise ValueError(
                "score-negative_log is undefined for a score ≤ 0 (an unbiased or Lange CKA "
                "can be negative): use the score or another form."
            )
        return -torch.log(s.clamp_min(tiny(s)))
    raise ValueError(f"Unknown similarity form {form!r}.")


def euclidean_from_similarity(
    x: torch.Tensor, y: torch.Tensor, s: torch.Tensor, squared: bool = False
) -> torch.Tensor:
    """‖X̃‖² + ‖Ỹ‖² − 2‖X̃‖‖Ỹ‖·s (clamped at 0), or its square root (zero slope at 0).

    Computed as c²·((a − b)² + 2ab(1 − s)) with a = ‖X̃‖/c, b = ‖Ỹ‖/c and c the detached
    largest |entry| of X̃ and Ỹ: the same value, but no ‖X̃‖²‖Ỹ‖² that overflows (float32 data
    at 1e9) or underflows, and no cancellation of two large squares when s → 1. The form is
    homogeneous of degree 2 in the data (s is scale-invariant), so the detached c leaves the
    gradient exact.

    >>> x = torch.tensor([[1.0, 1], [-1, -1]], dtype=torch.float64)  # ‖X̃‖ = 2, ‖2X̃‖ = 4
    >>> float(euclidean_from_similarity(x, 2 * x, torch.tensor(1.0, dtype=x.dtype)))
    2.0
    """
    xc, yc = center(x), center(y)
    c = torch.maximum(max_abs(xc), max_abs(yc))[..., 0, 0]
    c = torch.where(c > 0, c, torch.ones_like(c))
    a = safe_sqrt(fro2(xc / c[..., None, None]))
    b = safe_sqrt(fro2(yc / c[..., None, None]))
    d2 = ((a - b) ** 2 + 2 * a * b * (1 - s)).clamp_min(0)
    return d2 * (c * c) if squared else safe_sqrt(d2) * c


def _card_for_form(base: dict, form: str, *, angular_metric: bool) -> dict:
    card = dict(base)
    lo, hi = base["range"]
    f = base["formula"]
    if form == "distance=angular":
        card.update(
            form="distance",
            range=(math.acos(min(hi, 1.0)), math.acos(max(lo, -1.0))),
            metric=angular_metric,
            description="angle arccos(s) for " + base["description"],
            formula="arccos(" + f + ")",
        )
    elif form == "angular_score":
        card.update(
            range=(1 - 2 / math.pi * math.acos(max(lo, -1.0)), 1.0),
            metric=False,
            description="angular score 1 − (2/π)·arccos(s) of " + base["description"],
            formula="1 − (2/π)·arccos(" + f + ")",
        )
    elif form == "distance=one_minus_score":
        card.update(
            form="distance",
            range=(1.0 - hi, 1.0 - lo),
            metric=False,
            description="1 − s (Ding et al. 2021's distance) for " + base["description"],
            formula="1 − " + f,
        )
    elif form == "score-negative_log":
        # a loss: 0 for identical inputs, growing as s falls (the fsd repository's CKA loss)
        card.update(
            form="distance",
            range=(0.0, math.inf),
            metric=False,
            description="−log s (a loss, 0 at s = 1; s clamped at tiny) for " + base["description"],
            formula="−log(" + f + ")",
        )
    elif form in EUCLIDEAN_FORMS:
        sq = form == "distance=squared_euclidean"
        card.update(
            form="distance",
            range=(0.0, math.inf),
            metric=False,
            description=(
                ("squared " if sq else "")
                + "Euclidean form (law of cosines with the centred norms, similarity-"
                "repository's angular→euclidean conversion) of " + base["description"]
            ),
            formula=("" if sq else "√(")
            + "‖X̃‖² + ‖Ỹ‖² − 2‖X̃‖‖Ỹ‖·s"
            + ("" if sq else ")")
            + ", s = "
            + f,
            invariances=tuple(
                i
                for i in base["invariances"]
                if i not in ("isotropic_scaling", "invertible_linear")
            ),
        )
    return card


def _build_form(form: str, build_similarity: Callable[..., MeasureFn], values: dict) -> MeasureFn:
    sim = build_similarity(**values)
    if form in EUCLIDEAN_FORMS:
        squared = form == "distance=squared_euclidean"

        def fn(x: torch.Tensor, y: torch.Tensor, n_conditions: int | None = None):
            return euclidean_from_similarity(x, y, sim(x, y, n_conditions=n_conditions), squared)

        return fn

    def fn2(x: torch.Tensor, y: torch.Tensor, n_conditions: int | None = None):
        return transform(form, sim(x, y, n_conditions=n_conditions))

    return fn2


def register_similarity(
    family: str,
    params: Sequence[Param],
    build_similarity: Callable[..., MeasureFn],
    make_card: Callable[[dict], dict],
    *,
    angular_metric: bool = False,
    extra_forms: Sequence[str] = (),
) -> None:
    """Register ``family-...-{score, distance=angular, angular_score}`` and ``extra_forms``
    (any of :data:`EXTRA_FORMS`).

    ``build_similarity(**params)`` returns ``fn(x, y, n_conditions=None) → s``; ``make_card``
    gives the card fields of the ``score`` form, from which the others are derived.
    """
    unknown = set(extra_forms) - set(EXTRA_FORMS)
    if unknown:
        raise ValueError(f"unknown extra forms {sorted(unknown)}; known: {list(EXTRA_FORMS)}")
    for form in ANGULAR_FORMS + tuple(extra_forms):

        def build(_form: str = form, **values) -> MeasureFn:
            return _build_form(_form, build_similarity, values)

        def card(values: dict, _form: str = form) -> dict:
            return _card_for_form(make_card(values), _form, angular_metric=angular_metric)

        register(Template(family, form, tuple(params), build, card))
