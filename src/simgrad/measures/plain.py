"""Registration of a measure that has one output form and no name suffix.

Most measures wrapped by similarity-repository from ReSi, platonic-rep, netrep's neighbours
and the other single-purpose repositories are named by their family alone
(``gulp``, ``magnitude_difference``, ``cycle_knn-topk=10``): the value is what the named
implementation returns, a similarity or a dissimilarity, and the card's ``form`` says which
(``score``: larger is more similar; ``distance``: smaller is more similar).

>>> import torch
>>> from simgrad.measures.plain import card_fields
>>> card_fields(form="score", what="w", formula="f", rng=(0, 1), refs=("r",))["range"]
(0.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .registry import Param, Template, register

__all__ = ["card_fields", "register_plain"]


def card_fields(
    *,
    form: str,
    what: str,
    formula: str,
    rng: tuple[float, float],
    refs: Sequence[str],
    metric: bool = False,
    symmetric: bool = True,
    differentiable: bool = True,
    invariances: Sequence[str] = (),
    estimator: str = "plug-in (in-sample)",
    cost: str = "O(n²·d)",
    family: str = "",
) -> dict:
    """The card fields of a plain measure (everything but name, aliases, params)."""
    return dict(
        family=family,
        form=form,
        description=what,
        formula=formula,
        range=(float(rng[0]), float(rng[1])),
        metric=metric,
        symmetric=symmetric,
        differentiable=differentiable,
        invariances=tuple(invariances),
        estimator=estimator,
        cost=cost,
        references=tuple(refs),
    )


def register_plain(
    family: str,
    fn: Callable[..., torch.Tensor],
    card: Callable[[dict], dict],
    params: Sequence[Param] = (),
    *,
    conditions: bool = False,
) -> Template:
    """Register ``family[-param=value...]`` computing ``fn(x, y, **params)``.

    ``card(values)`` returns :func:`card_fields` output; the family name is filled in.
    ``conditions=True`` passes ``n_conditions`` on to ``fn`` (measures with folds).
    """

    def build(**values):
        if conditions:
            return lambda x, y, n_conditions=None: fn(x, y, n_conditions=n_conditions, **values)
        return lambda x, y, n_conditions=None: fn(x, y, **values)

    def make_card(values):
        fields = card(values)
        fields["family"] = family
        return fields

    return register(Template(family, "", tuple(params), build, make_card))
