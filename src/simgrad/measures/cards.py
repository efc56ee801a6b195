"""The card of a measure: what it computes, in a form both people and tests can read.

>>> import simgrad as sg
>>> c = sg.card("nbs")
>>> c.family, c.form, c.range
('nbs', 'score', (0.0, 1.0))
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Card"]


@dataclass(frozen=True)
class Card:
    """What a measure computes, in a form both people and tests can read.

    ``invariances`` lists the transformations of Y (or of both inputs) that leave the value
    unchanged, drawn from ``INVARIANCES``; the test-suite checks each claim and each absence.
    """

    name: str
    family: str
    form: str  # "score" or "distance"
    description: str
    formula: str
    range: tuple[float, float]
    metric: bool
    symmetric: bool
    differentiable: bool
    invariances: tuple[str, ...]
    estimator: str
    cost: str
    references: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["range"] = list(self.range)
        d["invariances"] = list(self.invariances)
        d["references"] = list(self.references)
        d["aliases"] = list(self.aliases)
        return d

    def __str__(self) -> str:
        lo, hi = self.range
        rows = [
            ("name", self.name),
            ("family", self.family),
            ("form", self.form),
            ("what", self.description),
            ("formula", self.formula),
            ("range", f"[{lo:g}, {hi:g}]"),
            ("metric", "yes" if self.metric else "no"),
            ("symmetric", "yes" if self.symmetric else "no"),
            ("differentiable", "yes" if self.differentiable else "no"),
            ("invariant to", ", ".join(self.invariances) or "none"),
            ("estimator", self.estimator),
            ("cost", self.cost),
            ("references", "; ".join(self.references)),
            ("aliases", ", ".join(self.aliases) or "none"),
        ]
        w = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)
