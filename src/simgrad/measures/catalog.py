"""The measure catalogue as a Markdown document, generated from the cards in the registry.

``python -m simgrad.measures.catalog > docs/measures.md`` regenerates ``docs/measures.md``;
a test checks that the committed file equals :func:`render`.

>>> text = render()
>>> text.startswith("# Measure catalogue") and "| `cka-kernel=linear-hsic=gretton-score` |" in text
True
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict

from .cards import Card
from .registry import aliases, card, family_description, measures

__all__ = ["COLUMNS", "family_text", "render", "row"]

COLUMNS = (
    "name",
    "description",
    "form",
    "range",
    "metric",
    "symmetric",
    "differentiable",
    "invariances",
    "estimator",
    "cost",
    "formula",
    "references",
    "aliases",
)

_INTRO = """\
# Measure catalogue

Generated from the measure cards by `python -m simgrad.measures.catalog > docs/measures.md`;
do not edit by hand (a test checks that this file matches the registry).
`simgrad measures` lists the same names and `simgrad measures --card NAME` prints one card.

Columns: the output **form** (`score` grows with similarity, `distance` is 0 for identical
inputs), its **range**, whether it is a **metric** (its angle or distance obeys the triangle
inequality; pseudo-metrics on representations count), **symmetric** in (X, Y),
**differentiable** (gradients are exact and finite; the others are exact but discrete, e.g.
ranks, neighbour sets, assignments),
the **invariances** to transformations of the candidate Y (`permutation`, `orthogonal`,
`isotropic_scaling`, `translation`, `invertible_linear`; checked by the tests), the
**estimator**, the **cost** in samples n and units d, a one-line **formula**, and the short
**aliases** that resolve to the name. X̃ is X with centred columns.
"""


def _num(v: float) -> str:
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.4g}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def row(c: Card) -> dict[str, str]:
    """The table cells of one card."""
    lo, hi = c.range
    return {
        "name": f"`{c.name}`",
        "description": c.description,
        "form": c.form,
        "range": f"[{_num(lo)}, {_num(hi)}]",
        "metric": "yes" if c.metric else "no",
        "symmetric": "yes" if c.symmetric else "no",
        "differentiable": "yes" if c.differentiable else "no",
        "invariances": ", ".join(c.invariances) or "none",
        "estimator": c.estimator,
        "cost": c.cost,
        "formula": c.formula,
        "references": "; ".join(c.references),
        "aliases": ", ".join(f"`{a}`" for a in c.aliases) or "",
    }


def family_text(family: str, cards: list[Card]) -> str:
    """The family's own paragraph (``registry.describe``); a family that recorded none is
    described by its members' shortest card description."""
    return family_description(family) or min((c.description for c in cards), key=len)


def render() -> str:
    """The whole catalogue: an index of families, then one table per family."""
    by_family: dict[str, list[Card]] = defaultdict(list)
    for name in measures():
        c = card(name)
        by_family[c.family].append(c)
    total = sum(len(v) for v in by_family.values())
    out = [_INTRO]
    out.append(f"{total} canonical names in {len(by_family)} families; {len(aliases())} aliases.\n")
    out.append("| family | names | what | references |")
    out.append("|---|---|---|---|")
    for fam in sorted(by_family):
        cards = by_family[fam]
        refs = sorted({r for c in cards for r in c.references})
        out.append(
            f"| [{fam}](#{fam}) | {len(cards)} | "
            f"{_cell(family_text(fam, cards))} | "
            f"{_cell('; '.join(refs))} |"
        )
    for fam in sorted(by_family):
        out.append(f"\n## {fam}\n")
        out.append(family_text(fam, by_family[fam]) + "\n")
        out.append("| " + " | ".join(COLUMNS) + " |")
        out.append("|" + "---|" * len(COLUMNS))
        for c in by_family[fam]:
            cells = row(c)
            out.append("| " + " | ".join(_cell(cells[k]) for k in COLUMNS) + " |")
    return "\n".join(out) + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
