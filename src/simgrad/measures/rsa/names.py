"""RSA's registered names and cards.

``rsa-rdm=R-compare=C-{score, distance=angular, angular_score}`` for the similarity
comparisons; ``rsa-rdm=R-compare=C`` without a form means the score (similarity-repository's
spelling); the distance comparisons ``euclidean`` and ``bures_metric`` have no form token:
``rsa-rdm=R-compare=euclidean``. ``compare=tau_b`` is ``compare=kendall`` and
``compare=soft_spearman-strength=S`` is ``compare=(soft_spearman-strength=S)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..forms import register_similarity
from ..grammar import parse_number
from ..registry import Param, Template, alias, format_number, register
from .compare import COMPARISONS, DISTANCES, EXACT_COMPARISONS, RANK_BASED
from .rdms import RDMS
from .score import rsa_score

__all__ = ["Comparison"]


@dataclass(frozen=True)
class Comparison:
    """A parsed ``compare=`` value: the method and, for soft Spearman, its strength."""

    method: str
    strength: float | None = None


_SYNONYMS = {"tau_b": "kendall"}


def _parse_compare(text: str) -> Comparison:
    text = _SYNONYMS.get(text, text)
    if text in EXACT_COMPARISONS or text in DISTANCES:
        return Comparison(text)
    prefix = "(soft_spearman-strength="
    if text.startswith(prefix) and text.endswith(")"):
        s = parse_number(text[len(prefix) : -1])
        if not (math.isfinite(s) and s > 0):
            raise ValueError
        return Comparison("soft_spearman", s)
    raise ValueError


def _fmt_compare(c: Comparison) -> str:
    if c.method == "soft_spearman":
        return f"(soft_spearman-strength={format_number(c.strength)})"
    return c.method


# poisson needs non-negative data: named, but not in the catalogue's grid (whose suites run
# on Gaussian data); its own tests use counts
RDM = Param("rdm", kind="choice", choices=RDMS, grid=tuple(r for r in RDMS if r != "poisson"))
# τ_a and ρ_a are not normalized by the norms of the vectors they compare, so their angles
# are not metrics; every other comparison is the cosine of two vectors built from one input
# each (centred ranks, sign vectors for τ_b, double-centred RDMs, Bures fidelity), whose
# arccos is a (pseudo-)metric.
_UNNORMALIZED = ("tau_a", "rho_a")


def _compare_param(methods: tuple[str, ...], soft: bool) -> Param:
    def parse(text: str) -> Comparison:
        c = _parse_compare(text)
        if c.method not in methods:
            raise ValueError
        return c

    grid = tuple(Comparison(c) for c in methods if c != "soft_spearman")
    if soft:
        grid += (Comparison("soft_spearman", 10.0), Comparison("soft_spearman", 100.0))
    return Param("compare", kind="custom", grid=grid, parse_fn=parse, fmt_fn=_fmt_compare)


COMPARE = _compare_param(tuple(c for c in COMPARISONS if c not in _UNNORMALIZED), soft=True)
COMPARE_UNNORMALIZED = _compare_param(_UNNORMALIZED, soft=False)
COMPARE_DISTANCE = _compare_param(DISTANCES, soft=False)

_RDM_TEXT = {
    "squared_euclidean": ("squared Euclidean", "‖x_i − x_j‖² / d"),
    "euclidean": ("Euclidean", "‖x_i − x_j‖"),
    "correlation": ("correlation-distance", "1 − r(x_i, x_j)"),
    "cosine": ("cosine-distance", "1 − cos(x_i, x_j)"),
    "mahalanobis": (
        "squared Mahalanobis (noise precision Λ = I by name; any Λ through rsa_score)",
        "(x_i − x_j)ᵀΛ(x_i − x_j) / d",
    ),
    "poisson": (
        "Poisson symmetrised-KL (rsatoolbox; needs x ≥ 0)",
        "Σ_k (m_ik − m_jk)(log m_ik − log m_jk) / d, m = (x + 0.1) / 1.1",
    ),
    "gaussian": ("Gaussian-kernel (thingsvision)", "1 − exp(−‖x_i − x_j‖² / mean ‖x_k − x_l‖²)"),
}
_CMP_TEXT = {
    "cosine": ("cosine", "cos(v_X, v_Y)"),
    "pearson": ("Pearson correlation", "r(v_X, v_Y)"),
    "spearman": ("Spearman rank correlation", "r(rank v_X, rank v_Y)"),
    "kendall": ("Kendall τ_b", "τ_b(v_X, v_Y)"),
    "tau_a": ("Kendall τ_a", "τ_a(v_X, v_Y)"),
    "rho_a": ("Spearman ρ_a (no tie correction)", "12 Σ r̃_X r̃_Y / (M³ − M)"),
    "cosine_cov": ("RDM-covariance-whitened cosine", "cos(H D_X H, H D_Y H)"),
    "corr_cov": ("RDM-covariance-whitened correlation", "cos(H(D_X − m_X)H, H(D_Y − m_Y)H)"),
    "bures": ("Bures similarity of −½HDH", "tr(G_X^½ G_Y G_X^½)^½ / √(tr G_X tr G_Y)"),
    "bures_metric": (
        "squared Bures metric of −½HDH (rsatoolbox bures_metric)",
        "tr G_X + tr G_Y − 2 tr(G_X^½ G_Y G_X^½)^½",
    ),
    "euclidean": ("Euclidean distance (ReSi)", "‖v_X − v_Y‖"),
    "soft_spearman": ("soft-rank Spearman correlation", "r(softrank v_X, softrank v_Y)"),
}
_REFS = (
    "Kriegeskorte et al. 2008, Representational similarity analysis",
    "Schütt et al. 2023, Statistical inference on representational geometries (rsatoolbox)",
)
_SCALE_FREE_RDMS = ("correlation", "cosine", "gaussian")


def _invariances(kind: str, method: str) -> tuple[str, ...]:
    inv = ["permutation"]
    if method not in DISTANCES or kind in _SCALE_FREE_RDMS:
        if kind != "poisson":
            inv.append("isotropic_scaling")
    if kind in ("squared_euclidean", "euclidean", "cosine", "mahalanobis", "gaussian"):
        inv.append("orthogonal")
    if kind in ("squared_euclidean", "euclidean", "mahalanobis", "gaussian"):
        inv.append("translation")
    return tuple(inv)


def _cost(method: str, kind: str) -> str:
    cost = "O(n²·d)"
    gram = kind in ("squared_euclidean", "mahalanobis", "correlation", "cosine")
    if method in ("bures", "bures_metric") and gram:
        return (
            "O(n·pq + pq·min(p, q)): nuclear norm of a p×q factor product when p·q ≤ n² and "
            "no pattern is zero, else O(n²·d) + O(n³) (eigendecompositions)"
        )
    if method in ("spearman", "rho_a"):
        return cost + " + O(n² log n) (sort)"
    if method in ("kendall", "tau_a"):
        return cost + " + O(n² log n) (sort + inversion count)"
    if method in ("bures", "bures_metric"):
        return cost + " + O(n³) (eigendecompositions)"
    if method == "soft_spearman":
        return cost + " + O(n² log n) (sort + isotonic regression, on CPU)"
    if method in ("cosine", "pearson", "cosine_cov", "corr_cov"):
        return (
            "O(n·(p² + q² + pq)) in feature space (squared_euclidean, correlation, cosine, "
            "mahalanobis RDMs, when cheaper), else O(n²·d)"
        )
    return cost + " + O(n²)"


def _card(values: dict) -> dict:
    kind: str = values["rdm"]
    cmp: Comparison = values["compare"]
    method = cmp.method
    rname, rform = _RDM_TEXT[kind]
    cname, cform = _CMP_TEXT[method]
    if method == "soft_spearman":
        cname += f", strength {format_number(cmp.strength)}"
    refs = _REFS
    if method == "soft_spearman":
        refs = refs + ("Blondel et al. 2020, Fast differentiable sorting and ranking",)
    if method in ("bures", "bures_metric"):
        refs = refs + ("Harvey et al. 2023, Duality of Bures and shape distances",)
    if method == "euclidean":
        refs = refs + ("Klabunde et al. 2025, ReSi: a comprehensive benchmark",)
    if kind == "gaussian":
        refs = refs + ("Muttenthaler & Hebart 2021, THINGSvision",)
    rank = method in RANK_BASED
    distance = method in DISTANCES
    return dict(
        family="rsa",
        form="distance" if distance else "score",
        description=f"RSA: {cname} of {rname} RDMs"
        + (" (exact ranks; not differentiable)" if rank else ""),
        formula=f"{cform}, v = upper triangle of D, D_ij = {rform}",
        range=(0.0, math.inf) if distance else (0.0, 1.0) if method == "bures" else (-1.0, 1.0),
        metric=method == "euclidean",
        symmetric=True,
        differentiable=not rank,
        invariances=_invariances(kind, method),
        estimator="plug-in (in-sample RDMs, no cross-validation)",
        cost=_cost(method, kind),
        references=refs,
    )


def _build(rdm: str, compare: Comparison):
    def fn(x, y, n_conditions=None):
        return rsa_score(x, y, rdm, compare.method, compare.strength)

    return fn


register_similarity("rsa", (RDM, COMPARE), _build, _card, angular_metric=True)
register_similarity("rsa", (RDM, COMPARE_UNNORMALIZED), _build, _card, angular_metric=False)
register(Template("rsa", "", (RDM, COMPARE_DISTANCE), _build, _card))


class _Spelling(Template):
    """Another spelling of a registered measure: formless (the score) or soft Spearman
    without parentheses. Its canonical name is the main template's; its grid is empty, so
    the catalogue lists each measure once."""

    main: Template | None = None

    def canonical(self, values: dict) -> str:
        return self.main.canonical(_main_values(values))  # type: ignore[union-attr]

    def grid_values(self):
        return iter(())


def _main_values(values: dict) -> dict:
    if "strength" in values:
        return {"rdm": values["rdm"], "compare": Comparison("soft_spearman", values["strength"])}
    return values


def _spelling(form: str, params: tuple, main: Template) -> None:
    def build(**values):
        return main.build(**_main_values(values))

    def card(values):
        return main.make_card(_main_values(values))

    tpl = _Spelling("rsa", form, params, build, card)
    object.__setattr__(tpl, "main", main)
    register(tpl)


def _register_spellings() -> None:
    from ..registry import _TEMPLATES

    mains = {(tpl.form, tpl.params[1].name, id(tpl.params[1])): tpl for tpl in _TEMPLATES["rsa"]}
    soft = Param("compare", kind="choice", choices=("soft_spearman",), grid=())
    strength = Param(
        "strength",
        kind="float",
        grid=(),
        check=lambda s: s > 0,
        check_msg="the soft-rank strength must be positive.",
    )
    for form in ("score", "distance=angular", "angular_score"):
        main = mains[(form, "compare", id(COMPARE))]
        _spelling(form, (RDM, soft, strength), main)
    # no form: the score
    for cmp in (COMPARE, COMPARE_UNNORMALIZED):
        _spelling("", (RDM, cmp), mains[("score", "compare", id(cmp))])
    _spelling("", (RDM, soft, strength), mains[("score", "compare", id(COMPARE))])


_register_spellings()

alias("rsa", "rsa-rdm=correlation-compare=pearson-score")
alias("rsa-correlation-pearson", "rsa-rdm=correlation-compare=pearson-score")
alias("rsa-correlation-spearman", "rsa-rdm=correlation-compare=spearman-score")
alias("rsa-euclidean-pearson", "rsa-rdm=euclidean-compare=pearson-score")
