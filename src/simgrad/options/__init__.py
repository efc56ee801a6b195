"""The options of the main job: one frozen, validated :class:`RunOptions`.

Every option of ``sg.run`` / ``simgrad run`` / a ``--config`` TOML file is a field of
:class:`RunOptions`, with its default, type, allowed range, help line and command-line flag in
the field's metadata. That is the one source of truth: the ``simgrad run`` parser, ``sg.run``'s
signature, the keys a config file may hold and the options table of ``docs/report.md``
(:func:`markdown_table`) are all generated from it.

Constructing a ``RunOptions`` validates and normalizes every field (``seeds=3`` becomes
``(0, 1, 2)``, a comma-separated ``measures`` string a tuple of names, …) and raises
``ValueError``/``TypeError`` naming the option. Nothing is written and no dataset is loaded;
whether ``out`` can be written is checked by :func:`simgrad.pipeline.compute` before any work.
Instances are immutable and picklable (a sweep ships one per unit to its workers).

>>> o = RunOptions.create(measures="cka,nbs", seeds=2, max_iter=50)
>>> o.measures, o.seeds, o.dataset, o.canonical_measures[1]
(('cka', 'nbs'), (0, 1), 'context', 'nbs-score')
>>> RunOptions.create(max_iter=0)
Traceback (most recent call last):
ValueError: max_iter must be a positive integer, got 0.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from . import checks as C

__all__ = [
    "PANEL",
    "OptionSpec",
    "RunOptions",
    "load_config",
    "markdown_table",
    "spec",
    "write_docs",
]

#: the paper's panel of measures (Fig. 3)
PANEL = (
    "cka",
    "cka-angular_score",
    "nbs",
    "procrustes-angular_score",
    "linreg",
    "ridge-lambda=100-r2-cv=5folds",
)


@dataclass(frozen=True)
class OptionSpec:
    """One option as listed by :func:`spec`: field name, CLI flag, type and default as text,
    allowed values, help line, metavar and the function turning CLI text into a value."""

    name: str
    flag: str
    type: str
    default: str
    range: str
    help: str
    metavar: str | None
    parse: Callable[[str], Any]


def _opt(
    default: Any,
    check: Callable[[Any], Any],
    *,
    type: str,
    range: str,
    help: str,
    metavar: str | None = None,
    parse: Callable[[str], Any] = str,
    shown: str | None = None,
) -> Any:
    """A dataclass field of :class:`RunOptions` with what :func:`spec` lists about it."""
    meta = {
        "check": check,
        "type": type,
        "range": range,
        "help": help,
        "metavar": metavar,
        "parse": parse,
        "shown": shown if shown is not None else str(default),
    }
    return field(default=default, metadata=meta)


# ----------------------------------------------------------------------------- options
@dataclass(frozen=True)
class RunOptions:
    """Every option of the main job, validated and normalized (see the module docstring).

    Build one with ``RunOptions(**fields)``, :meth:`create` (a config file under explicit
    options) or :meth:`from_mapping` (keys checked, e.g. a row of a sweep grid);
    :meth:`updated` changes some fields (``dataset``/``data`` replace each other).
    """

    dataset: Any = _opt(
        None,
        C.check_dataset,
        type="str | Dataset",
        range="a name from sg.datasets.available(), or a Dataset (Python)",
        help="the reference dataset",
        metavar="NAME",
        shown="context",
    )
    data: Path | None = _opt(
        None,
        C.check_data,
        type="path",
        range="an existing file: .npz ('data', 'label_<name>'), .mat, NWB, netCDF",
        help="read the reference from a file instead of --dataset",
        metavar="FILE",
        shown="—",
    )
    measures: tuple[str, ...] = _opt(
        PANEL,
        C.check_measures,
        type="list[str]",
        range="measure names or aliases (score forms), each once; comma-separated on the CLI",
        help="the measures to optimize",
        metavar="A,B,...",
        shown="the paper's panel: " + ", ".join(PANEL),
    )
    seeds: tuple[int, ...] = _opt(
        (0,),
        C.check_seeds,
        type="int | list[int]",
        range="a count N ≥ 1 (seeds 0 … N−1) or distinct seeds ≥ 0",
        help="the seeds of the runs (initial data, folds)",
        metavar="N|A,B",
        parse=C.seeds_text,
        shown="1",
    )
    target: float = _opt(
        0.99,
        lambda v: C.number("target", v),
        type="float",
        range="finite",
        help="stop each run once its score reaches this",
        metavar="S",
        parse=float,
    )
    max_iter: int = _opt(
        300,
        C.check_max_iter,
        type="int",
        range="≥ 1",
        help="at most this many Adam steps per run",
        metavar="N",
        parse=int,
    )
    lr: float = _opt(
        0.1,
        lambda v: C.number("lr", v, positive=True),
        type="float",
        range="> 0, finite",
        help="Adam step size",
        metavar="LR",
        parse=float,
    )
    out: Path = _opt(
        Path("simgrad-out"),
        C.check_out,
        type="path",
        range="a folder that can be created and written",
        help="output folder",
        metavar="DIR",
    )
    device: str = _opt(
        "cpu",
        C.check_device,
        type="str",
        range="cpu, cuda, cuda:N (a CUDA GPU must be present)",
        help="where to compute",
        metavar="DEV",
    )
    labels: tuple[str, ...] | None = _opt(
        None,
        C.check_labels,
        type="list[str]",
        range="labels of the dataset; comma-separated on the CLI",
        help="the labels to decode",
        metavar="A,B",
        shown="every categorical label",
    )
    cutoff: float = _opt(
        0.9,
        lambda v: C.number("cutoff", v),
        type="float",
        range="finite",
        help='the score for "PCs captured before" in the summary',
        metavar="S",
        parse=float,
    )
    decode_iterates: int = _opt(
        10,
        C.check_decode_iterates,
        type="int",
        range="0 or 'all' (every recorded iterate), or ≥ 4",
        help="decode each label at most at this many iterates per run: all but 3 spread over "
        "the score range, up to 3 more where its accuracy crosses the threshold",
        metavar="N",
        parse=C.decode_text,
    )

    def __post_init__(self) -> None:
        if self.data is not None and self.dataset is not None:
            raise ValueError("give either dataset (a name) or data (a file), not both.")
        for f in fields(self):
            object.__setattr__(self, f.name, f.metadata["check"](getattr(self, f.name)))
        if self.data is None and self.dataset is None:
            object.__setattr__(self, "dataset", "context")
        C.check_target_in_range(self.target, self.measures)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, where: str | None = None) -> RunOptions:
        """Options from a mapping of field names (a config file, a sweep's grid row).

        ``None`` values mean "the default". Unknown keys raise ``ValueError`` with close
        matches suggested; every message starts with ``where`` when given.
        """
        if not isinstance(mapping, Mapping):
            raise TypeError(f"{_at(where)}options must be a mapping, got {mapping!r}.")
        _check_keys(mapping, where, ValueError)
        given = {k: v for k, v in mapping.items() if v is not None}
        try:
            return cls(**given)
        except (ValueError, TypeError) as exc:
            if where is None:
                raise
            raise type(exc)(f"{where}: {exc}") from None

    @classmethod
    def create(cls, config: str | os.PathLike | None = None, **given: Any) -> RunOptions:
        """Explicit options over a TOML config file (:func:`load_config`) over the defaults.

        Options given as ``None`` take the config's value, then the default. An explicit
        ``dataset`` or ``data`` replaces the config's source of the reference. Unknown
        keyword options raise ``TypeError``.
        """
        _check_keys(given, None, TypeError)
        cfg = load_config(config) if config is not None else {}
        cfg = {k: v for k, v in cfg.items() if v is not None}
        given = {k: v for k, v in given.items() if v is not None}
        source = {"dataset", "data"}
        if given.keys() & source:
            cfg = {k: v for k, v in cfg.items() if k not in source}
        elif source <= cfg.keys():
            raise ValueError("config: give either 'dataset' or 'data', not both.")
        return cls(**{**cfg, **given})

    def updated(self, **changes: Any) -> RunOptions:
        """A copy with some fields changed (validated); ``dataset``/``data`` replace each
        other."""
        _check_keys(changes, None, TypeError)
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        if changes.keys() & {"dataset", "data"}:
            current["dataset"] = current["data"] = None
        current.update({k: v for k, v in changes.items() if v is not None})
        return type(self)(**current)

    # ------------------------------------------------------------------ views
    @property
    def canonical_measures(self) -> tuple[str, ...]:
        """The canonical names of :attr:`measures`, in the same order."""
        from ..measures import measure

        return tuple(measure(m).name for m in self.measures)

    @property
    def decode_budget(self) -> int | None:
        """The decoding budget per label and run: ``None`` = every recorded iterate
        (``decode_iterates`` 0), else ``decode_iterates``."""
        return self.decode_iterates or None

    @property
    def source_text(self) -> str:
        """Where the reference comes from, as text (the file, or the dataset's name)."""
        if self.data is not None:
            return str(self.data)
        return self.dataset if isinstance(self.dataset, str) else "<Dataset>"

    def to_mapping(self) -> dict[str, Any]:
        """The options as JSON/TOML values (paths as text, tuples as lists, a ``Dataset``
        as ``"<Dataset>"``), in field order; :meth:`from_mapping` reads it back."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "dataset" and v is not None and not isinstance(v, str):
                v = "<Dataset>"
            elif isinstance(v, Path):
                v = str(v)
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out


# ----------------------------------------------------------------------------- helpers
def _at(where: str | None) -> str:
    return f"{where}: " if where else ""


def _check_keys(mapping: Mapping[str, Any], where: str | None, error: type[Exception]) -> None:
    names = [f.name for f in fields(RunOptions)]
    unknown = sorted(str(k) for k in mapping if k not in names)
    if not unknown:
        return
    hints = []
    for k in unknown:
        close = difflib.get_close_matches(k, names, n=1)
        hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    what = "key(s)" if error is ValueError else "option(s)"
    raise error(f"{_at(where)}unknown {what} {', '.join(hints)}; known: {', '.join(names)}.")


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """The options in a TOML file (keys = :class:`RunOptions` field names; a single ``[run]``
    table is accepted too), keys checked but values not yet validated.

    Raises ``ValueError`` for a missing or malformed file, an unknown key (close matches
    suggested) or a ``config`` key.
    """
    from .._toml import load_toml

    cfg = load_toml(path, "config")
    if "run" in cfg and isinstance(cfg["run"], dict) and len(cfg) == 1:
        cfg = cfg["run"]
    if "config" in cfg:
        raise ValueError(f"config: {str(path)!r} may not name another config file.")
    _check_keys(cfg, f"config {str(path)!r}", ValueError)
    return cfg


def spec() -> list[OptionSpec]:
    """Every option of :class:`RunOptions`, in field order.

    >>> [s.flag for s in spec()][:3]
    ['--dataset', '--data', '--measures']
    """
    out = []
    for f in fields(RunOptions):
        m = f.metadata
        flag = "--" + f.name.replace("_", "-")
        out.append(
            OptionSpec(
                f.name, flag, m["type"], m["shown"], m["range"], m["help"], m["metavar"], m["parse"]
            )
        )
    return out


def markdown_table() -> str:
    """The options as a markdown table (``docs/report.md`` holds it between markers)."""
    rows = [
        "| option (`sg.run` / TOML key) | flag | type | default | allowed | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for s in spec():
        cells = [f"`{s.name}`", f"`{s.flag}`", s.type, s.default, s.range, s.help]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"


_MARKS = ("<!-- options-table:start -->\n", "<!-- options-table:end -->")


def write_docs(path: str | os.PathLike) -> bool:
    """Replace the table between the ``options-table`` markers of ``path`` by
    :func:`markdown_table`; returns whether the file changed."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if _MARKS[0] not in text or _MARKS[1] not in text:
        raise ValueError(f"{str(p)!r} lacks the markers {_MARKS[0].strip()} / {_MARKS[1]}.")
    head, rest = text.split(_MARKS[0], 1)
    new = head + _MARKS[0] + markdown_table() + _MARKS[1] + rest.split(_MARKS[1], 1)[1]
    if new != text:
        p.write_text(new, encoding="utf-8")
    return new != text
