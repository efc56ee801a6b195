"""Measure names → callables and cards.

Names follow the standardized grammar of the similarity-repository project::

    family-param=value-...-form         e.g.  cka-kernel=linear-hsic=gretton-score

Tokens are separated by ``-``; a value that itself holds dashes is wrapped in parentheses
(``kernel=(rbf-sigma=1)``). Parameter values are *parsed*, not matched as text: numbers are
written canonically (``alpha=1.0`` → ``alpha=1``, ``lambda=1e2`` → ``lambda=100``; see
:func:`format_number`) and parameters may be given in any order. A family registers one
:class:`Template` per output form; the canonical name is ``family``, then the parameters in
the template's order, then the form tokens.
"""

from __future__ import annotations

import difflib
import fnmatch
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._array import Pair, check_pair
from .call_path import Measure, MeasureFn
from .cards import Card
from .grammar import format_number, parse_number, split_name

__all__ = [
    "Card",
    "Hooks",
    "Measure",
    "Param",
    "Template",
    "alias",
    "card",
    "describe",
    "family_description",
    "family_hooks",
    "format_number",
    "lookup",
    "measure",
    "measures",
    "parse_number",
    "register",
    "register_hooks",
    "score",
    "short_name",
    "split_name",
]

INVARIANCES = (
    "permutation",
    "orthogonal",
    "isotropic_scaling",
    "translation",
    "invertible_linear",
)


# ----------------------------------------------------------------------------- params
@dataclass(frozen=True)
class Param:
    """A named parameter of a measure family.

    ``kind`` is ``"float"``, ``"int"`` or ``"choice"`` (a string among ``choices``), or
    ``"custom"`` with ``parse``/``fmt`` supplied. ``grid`` are the values listed in the
    catalogue (any valid value is accepted by name). ``check`` validates a parsed value.
    """

    name: str
    kind: str = "float"
    grid: tuple = ()
    choices: tuple = ()
    check: Callable[[Any], bool] | None = None
    check_msg: str = ""
    parse_fn: Callable[[str], Any] | None = None
    fmt_fn: Callable[[Any], str] | None = None

    def parse(self, text: str) -> Any:
        try:
            if self.kind == "float":
                value: Any = parse_number(text)
            elif self.kind == "int":
                f = parse_number(text)
                if f != int(f):
                    raise ValueError
                value = int(f)
            elif self.kind == "choice":
                if text not in self.choices:
                    raise ValueError
                value = text
            else:
                assert self.parse_fn is not None
                value = self.parse_fn(text)
        except (ValueError, TypeError):
            allowed = f"one of {list(self.choices)}" if self.choices else f"a {self.kind}"
            raise ValueError(
                f"Invalid value {text!r} for parameter {self.name!r}: expected {allowed}."
            ) from None
        if self.check is not None and not self.check(value):
            raise ValueError(
                f"Invalid value {text!r} for parameter {self.name!r}: {self.check_msg}"
            )
        return value

    def fmt(self, value: Any) -> str:
        if self.kind in ("float", "int"):
            return format_number(value)
        if self.kind == "choice":
            return str(value)
        assert self.fmt_fn is not None
        return self.fmt_fn(value)


# ----------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Hooks:
    """The optional hooks a family offers to the generic drivers, next to its measure.

    Each is ``None`` when the family has no such structure (the driver then falls back to its
    generic path, or refuses with a clear error). The drivers (``simgrad.allpairs``,
    ``simgrad.streaming``, ``simgrad.analysis.theory``) look a measure up, take its template
    and parsed parameters, and ask the family's hook:

    - ``pairwise(A, B, values, ctx) -> Tensor | None``: all pairs (``sg.pairwise``) from work
      done once per representation and the driver's blocks in ``ctx`` (``simgrad.allpairs``).
    - ``streaming(template, values) -> Stream | None``: how to accumulate the measure over
      minibatches of samples (:class:`simgrad.measures.moments.Stream`: a statistic factory,
      by default :class:`~simgrad.measures.moments.PairMoments`, the centred second moments
      and row-norm sums, and ``finish(statistic) -> 0-dim tensor``, the measure's value in
      its output form). ``None``: these parameters need individual samples (kernels, folds).
      :func:`~simgrad.measures.moments.surrogate_stream` is the hook of every measure that
      depends on the data only through centred second moments. Driver: ``simgrad.streaming``.
    - ``theory(template, values) -> PCTheory | None``: the closed form of the similarity of
      ``X̃`` and ``X̃`` with one principal component scaled
      (:class:`simgrad.measures.pc_theory.PCTheory`: the perturbed cosine, the top-k
      weights, the leading order near ``a = 1``). ``None``: no closed form for these
      parameters. Driver: ``sg.theory`` (``simgrad.analysis.theory``), which applies the
      output form (``score`` or ``angular_score``).
    - ``resample(template, values) -> prepare | None``: many row re-indexings of one pair
      (``sg.stats`` permutations and bootstrap resamples). ``prepare(x, y, n_conditions)``
      does the per-representation work once and returns ``evaluate(rows_x, rows_y,
      n_conditions) -> Tensor (B,)``, the measure of ``(x[rows_x], y[rows_y])`` for each of
      B rows of the ``(B, m)`` index tensors (``rows_x=None``: X unchanged). ``None``: the
      generic batched path. Driver: ``simgrad.stats``.
    """

    pairwise: Callable[..., Any] | None = None
    streaming: Callable[..., Any] | None = None
    theory: Callable[..., Any] | None = None
    resample: Callable[..., Any] | None = None


@dataclass(frozen=True)
class Template:
    """One family × one output form.

    ``build(**params)`` returns the pure function ``fn(X, Y, n_conditions=None)`` acting on
    centred-or-not ``(..., n, d)`` tensors; ``make_card(params)`` returns the card fields
    (everything but ``name``/``aliases``/``params``) as a dict.
    """

    family: str
    form: str
    params: tuple[Param, ...]
    build: Callable[..., MeasureFn]
    make_card: Callable[[dict], dict]
    suffix_params: tuple[str, ...] = ()
    tail: str = ""

    @property
    def form_tokens(self) -> tuple[str, ...]:
        toks = tuple(split_name(self.form)) if self.form else ()
        return toks + (tuple(split_name(self.tail)) if self.tail else ())

    def canonical(self, values: dict) -> str:
        def tok(p: Param) -> str:
            return f"{p.name}={p.fmt(values[p.name])}"

        parts = [self.family] + [tok(p) for p in self.params if p.name not in self.suffix_params]
        if self.form:
            parts.append(self.form)
        parts += [tok(p) for p in self.params if p.name in self.suffix_params]
        if self.tail:
            parts.append(self.tail)
        return "-".join(parts)

    def grid_values(self) -> Iterable[dict]:
        names = [p.name for p in self.params]
        for combo in itertools.product(*[p.grid for p in self.params]):
            yield dict(zip(names, combo))


_TEMPLATES: dict[str, list[Template]] = {}
_HOOKS: dict[str, Hooks] = {}
_ALIASES: dict[str, str] = {}
_DISPLAY: dict[str, str] = {}  # canonical name -> its display alias (figures, tables)
_DESCRIPTIONS: dict[str, str] = {}  # family -> one paragraph on what the family measures
_CACHE: dict[str, Measure] = {}


def register(template: Template) -> Template:
    """Add a template to the registry (families register themselves on import)."""
    _TEMPLATES.setdefault(template.family, []).append(template)
    _CACHE.clear()
    return template


def register_hooks(family: str, **hooks: Callable[..., Any]) -> Hooks:
    """Attach driver hooks (``pairwise=``, ``streaming=``, ``theory=``, ``resample=``).

    Called by the family's module, next to its measure; hooks given earlier are kept unless
    given again.
    """
    unknown = set(hooks) - set(Hooks.__dataclass_fields__)
    if unknown:
        raise TypeError(
            f"unknown hook(s) {sorted(unknown)}; known: {list(Hooks.__dataclass_fields__)}"
        )
    current = _HOOKS.get(family, Hooks())
    _HOOKS[family] = Hooks(**{**current.__dict__, **hooks})
    return _HOOKS[family]


def family_hooks(family: str) -> Hooks:
    """The hooks a family registered (all ``None`` when it registered none)."""
    return _HOOKS.get(family, Hooks())


def alias(short: str, canonical: str, *, display: bool = False) -> None:
    """Make ``short`` resolve to ``canonical``; ``display=True`` also makes it the name
    :func:`short_name` shows for ``canonical`` (the paper's names of its panel)."""
    _ALIASES[short] = canonical
    if display:
        _DISPLAY[canonical] = short
    _CACHE.clear()


def describe(family: str, text: str | None) -> None:
    """Record what ``family`` measures: the first paragraph of ``text`` (so a family module
    may pass its ``__doc__``), shown in the catalogue's family index."""
    _DESCRIPTIONS[family] = " ".join((text or "").strip().split("\n\n")[0].split())


def family_description(family: str) -> str | None:
    """The paragraph a family recorded with :func:`describe`, else ``None``."""
    return _DESCRIPTIONS.get(family) or None


# ----------------------------------------------------------------------------- lookup
def _parse(name: str) -> tuple[Template, dict]:
    tokens = split_name(name)
    family, rest = tokens[0], tokens[1:]
    if family not in _TEMPLATES:
        raise KeyError(name)
    errors: list[str] = []
    for tpl in _TEMPLATES[family]:
        pnames = {p.name: p for p in tpl.params}
        raw: dict[str, str] = {}
        remainder: list[str] = []
        for tok in rest:
            key, eq, val = tok.partition("=")
            if eq and key in pnames and key not in raw:
                raw[key] = val
            else:
                remainder.append(tok)
        if tuple(remainder) != tpl.form_tokens or set(raw) != set(pnames):
            continue
        try:
            values = {k: pnames[k].parse(v) for k, v in raw.items()}
        except ValueError as exc:
            errors.append(str(exc))
            continue
        return tpl, values
    if errors:
        raise ValueError(f"Measure {_shown(name)}: {errors[0]}")
    raise KeyError(name)


MAX_NAME = 1000  # longer "names" are refused before parsing (and never echoed whole)


def _shown(name: str, limit: int = 80) -> str:
    """``name`` for an error message: cut to ``limit`` characters (a pasted file is not echoed)."""
    return repr(name) if len(name) <= limit else f"{name[:limit]!r}… ({len(name)} characters)"


def _suggest(name: str) -> str:
    """'Unknown measure' with up to five close names (case-insensitive; aliases included)."""
    close: list[str] = []
    if len(name) <= 200:
        by_lower: dict[str, str] = {}
        for p in list(_ALIASES) + measures():
            by_lower.setdefault(p.lower(), p)
        low = name.lower()
        exact = [by_lower[low]] if low in by_lower else []
        fuzzy = difflib.get_close_matches(low, list(by_lower), n=5, cutoff=0.5)
        close = list(dict.fromkeys(exact + [by_lower[c] for c in fuzzy]))[:5]
        if not close:
            fam = low.split("-")[0]
            close = [m for m in measures() if m.startswith(fam + "-") or m == fam][:5]
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return (
        f"Unknown measure {_shown(name)}.{hint} "
        "Run `simgrad measures` or sg.measures('*') for the full list."
    )


def _check_name(name: Any) -> None:
    if not isinstance(name, str):
        hint = " (for several measures use sg.score(list, X, Y))" if isinstance(name, list) else ""
        raise TypeError(f"A measure name must be a string, got {type(name).__name__}{hint}.")


def lookup(name: str) -> tuple[Template, dict, str]:
    """Resolve a name or alias to ``(template, parameter values, canonical name)``."""
    _check_name(name)
    if len(name) > MAX_NAME:
        raise ValueError(
            f"Unknown measure {_shown(name)}: names are at most {MAX_NAME} characters."
        )
    target = _ALIASES.get(name, name)
    try:
        tpl, values = _parse(target)
    except KeyError:
        # similarity-repository writes a score without its form (``cknna-topk=10``)
        try:
            tpl, values = _parse(target + "-score")
        except (KeyError, ValueError):
            raise ValueError(_suggest(name)) from None
    return tpl, values, tpl.canonical(values)


def _aliases_of(canonical: str) -> tuple[str, ...]:
    return tuple(sorted(a for a, c in _ALIASES.items() if c == canonical))


def measure(name: str) -> Measure:
    """Return the :class:`Measure` for a canonical name or alias.

    Raises ``ValueError`` listing close matches for an unknown name.

    >>> measure("cka").name
    'cka-kernel=linear-hsic=gretton-score'
    """
    try:
        return _CACHE[name]
    except (KeyError, TypeError):
        _check_name(name)
    tpl, values, canon = lookup(name)
    if canon in _CACHE:
        m = _CACHE[canon]
    else:
        fields = tpl.make_card(values)
        c = Card(name=canon, aliases=_aliases_of(canon), params=dict(values), **fields)
        m = Measure(canon, tpl.build(**values), c)
        _CACHE[canon] = m
    _CACHE[name] = m
    return m


def short_name(name: str) -> str:
    """The short display name of a measure (the display alias its family declared with
    ``alias(..., display=True)``), else the canonical name; unknown names are returned
    unchanged.

    >>> short_name("cka-kernel=linear-hsic=gretton-score"), short_name("nbs-angular_score")
    ('cka', 'nbs-angular_score')
    """
    try:
        canon = measure(name).name
    except ValueError:
        return name
    return _DISPLAY.get(canon, canon)


def card(name: str) -> Card:
    """The :class:`Card` of a measure (name or alias)."""
    return measure(name).card


def measures(pattern: str = "*") -> list[str]:
    """Sorted canonical names matching a shell-style glob (parameters at their listed grid).

    >>> "nbs-score" in measures("nbs-*")
    True
    """
    names = set()
    for tpls in _TEMPLATES.values():
        for tpl in tpls:
            for values in tpl.grid_values():
                names.add(tpl.canonical(values))
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def aliases() -> dict[str, str]:
    """A copy of the alias table (short name → canonical name)."""
    return dict(_ALIASES)


def score(
    name: str | Iterable[str], X: Any, Y: Any, **kwargs: Any
) -> float | np.ndarray | dict[str, float | np.ndarray]:
    """Compute a measure without gradients and return a plain float (array if batched).

    ``name`` may also be a list (or tuple) of names: the result is then a ``dict`` from each
    name *as given* to its score, in the given order; the inputs are validated and converted
    once. Keyword arguments are those of :meth:`Measure.__call__` (``batch_ndim``, ``dtype``,
    ``device``).

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 5))
    >>> round(score("procrustes-angular_score", X, X), 6)
    1.0
    >>> {k: round(v, 6) for k, v in score(["cka", "nbs"], X, X).items()}
    {'cka': 1.0, 'nbs': 1.0}
    """
    if isinstance(name, str):
        return _score_one(measure(name), check_pair(X, Y, **kwargs))
    if not isinstance(name, (list, tuple)) or not all(isinstance(n, str) for n in name):
        what = " of non-strings" if isinstance(name, (list, tuple)) else ""
        raise TypeError(
            f"sg.score takes a measure name or a list of names, got {type(name).__name__}{what}."
        )
    ms = [measure(n) for n in name]  # every name resolved before any work
    pair = check_pair(X, Y, **kwargs)
    return {n: _score_one(m, pair) for n, m in zip(name, ms)}


def _score_one(m: Measure, pair: Pair) -> float | np.ndarray:
    with torch.no_grad():
        out = m.checked(pair)
    arr = out.detach().cpu().numpy()
    return float(arr) if arr.ndim == 0 else arr
