"""Derived output forms of a similarity ``s ∈ [−1, 1]``.

- ``score``               s itself
- ``distance=angular``    arccos(s)                       (clamped, finite gradient)
- ``angular_score``       1 − (2/π)·arccos(s)              (the paper's angular score)

:func:`register_similarity` registers all three for a family from one similarity builder.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .linalg import angular_score, safe_arccos
from .registry import MeasureFn, Param, Template, register

__all__ = ["ANGULAR_FORMS", "register_similarity", "transform"]

ANGULAR_FORMS = ("score", "distance=angular", "angular_score")


def transform(form: str, s: torch.Tensor) -> torch.Tensor:
    """Map a similarity to the named output form."""
    if form == "score":
        return s
    if form == "distance=angular":
        return safe_arccos(s)
    if form == "angular_score":
        return angular_score(s)
    raise ValueError(f"Unknown similarity form {form!r}.")


def _card_for_form(base: dict, form: str, *, angular_metric: bool) -> dict:
    card = dict(base)
    lo, hi = base["range"]
    if form == "distance=angular":
        card.update(
            form="distance",
            range=(math.acos(min(hi, 1.0)), math.acos(max(lo, -1.0))),
            metric=angular_metric,
            description="angle arccos(s) for " + base["description"],
            formula="arccos(" + base["formula"] + ")",
        )
    elif form == "angular_score":
        card.update(
            range=(1 - 2 / math.pi * math.acos(max(lo, -1.0)), 1.0),
            metric=False,
            description="angular score 1 − (2/π)·arccos(s) of " + base["description"],
            formula="1 − (2/π)·arccos(" + base["formula"] + ")",
        )
    return card


def register_similarity(
    family: str,
    params: Sequence[Param],
    build_similarity: Callable[..., MeasureFn],
    make_card: Callable[[dict], dict],
    *,
    angular_metric: bool = False,
) -> None:
    """Register ``family-...-{score, distance=angular, angular_score}``.

    ``build_similarity(**params)`` returns ``fn(x, y, n_conditions=None) → s``; ``make_card``
    gives the card fields of the ``score`` form, from which the others are derived.
    """
    for form in ANGULAR_FORMS:

        def build(_form: str = form, **values) -> MeasureFn:
            sim = build_similarity(**values)

            def fn(x: torch.Tensor, y: torch.Tensor, n_conditions: int | None = None):
                return transform(_form, sim(x, y, n_conditions=n_conditions))

            return fn

        def card(values: dict, _form: str = form) -> dict:
            return _card_for_form(make_card(values), _form, angular_metric=angular_metric)

        register(Template(family, form, tuple(params), build, card))
