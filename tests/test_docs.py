"""The documentation site: it builds strictly, documents every public name, cites no file users
do not have, and the claims of the pages written for users hold."""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
from types import ModuleType

import pytest

import simgrad as sg
from helpers import ROOT
from simgrad.cli import build_parser

DOCS = ROOT / "docs"
API = DOCS / "api.md"
# Paths of a private specification beside the repository; users have none of them.
PRIVATE = ("shared/spec", "paper.md", "design.md", "peers.md")
# Pages whose python blocks run as written (the others are references, not tutorials).
TUTORIALS = ("index.md", "choosing-a-measure.md")
# The public subpackages, each rendered whole in docs/api.md.
PUBLIC_MODULES = [
    f"simgrad.{m}"
    for m in (
        "measures", "datasets", "optim", "analysis", "analysis.theory", "allpairs", "streaming",
        "pipeline", "report", "sweeps",
    )
]  # fmt: skip
_INVARIANCE_CODES = {
    "P": "permutation",
    "O": "orthogonal",
    "S": "isotropic_scaling",
    "T": "translation",
    "L": "invertible_linear",
}


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.skipif(
    not all(_has(m) for m in ("mkdocs", "material", "mkdocstrings_handlers.python")),
    reason="mkdocs, mkdocs-material or mkdocstrings[python] not installed (dev extras)",
)
def test_site_builds_strictly(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q"]
        + ["-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "simgrad.optim.optimize" in api and "allowed_region" in api
    # a cross-reference that did not resolve stays as literal "[target][]" in the page
    unresolved = {
        page.relative_to(tmp_path / "site").as_posix()
        for page in (tmp_path / "site").rglob("*.html")
        if "][]" in page.read_text(encoding="utf-8")
    }
    assert not unresolved, f"unresolved [target][] links in {sorted(unresolved)}"


def _resolve(path: str) -> object:
    """The object a dotted path names: attribute access first, then submodules (both
    ``simgrad.measures.score`` — ``sg.measures`` is also a function — and
    ``simgrad.optim.optimize.optimize`` — ``simgrad.optim.optimize`` is the function)."""

    def walk(obj: object, done: str, rest: list[str]) -> object:
        if not rest:
            return obj
        options = [getattr(obj, rest[0])] if hasattr(obj, rest[0]) else []
        if isinstance(obj, ModuleType):
            try:
                options.append(importlib.import_module(f"{done}.{rest[0]}"))
            except ModuleNotFoundError:
                pass
        for option in options:
            try:
                return walk(option, f"{done}.{rest[0]}", rest[1:])
            except LookupError:
                continue
        raise LookupError(f"{path}: nothing named {rest[0]!r} in {done}")

    first, *rest = path.split(".")
    return walk(importlib.import_module(first), first, rest)


def _blocks() -> list[str]:
    """The identifiers of the ``::: identifier`` blocks of docs/api.md."""
    return re.findall(r"^::: *([\w.]+) *$", API.read_text(), flags=re.M)


def _top_level_rows() -> dict[str, str]:
    """``name -> link target`` of the table of ``sg.*`` names (``""`` when it links nothing);
    links are autorefs, ``[target][]`` or ``[text][target]``."""
    rows = re.findall(r"^\| `sg\.(\w+)` \|(.*)\|$", API.read_text(), flags=re.M)
    links = {name: re.search(r"\[([\w.]+)\]\[([\w.]*)\]", rest) for name, rest in rows}
    return {name: (m.group(2) or m.group(1)) if m else "" for name, m in links.items()}


def test_api_blocks_resolve():
    blocks = _blocks()
    assert {"simgrad", *PUBLIC_MODULES} <= set(blocks)
    for ident in blocks:
        _resolve(ident)  # raises on a stale name


def test_api_table_lists_only_public_names():
    assert set(_top_level_rows()) <= set(sg.__all__)


@pytest.mark.parametrize("name", sg.__all__)
def test_api_reference_names_every_public_name(name):
    rows = _top_level_rows()
    assert name in rows, f"docs/api.md: add a row for sg.{name} to the table of top-level names"
    obj, target = getattr(sg, name), rows[name]
    if isinstance(obj, str):  # e.g. __version__: described, nothing to link
        return
    assert target, f"docs/api.md: the row of sg.{name} links nothing ([text][target])"
    if isinstance(obj, ModuleType):
        assert target == obj.__name__, (name, target)
    else:
        assert _resolve(target) is obj, f"docs/api.md: {target} is not sg.{name}"
    # rendered: a block of its own, or a member of a module rendered whole
    assert any(target == b or target.startswith(b + ".") for b in _blocks() if b != "simgrad")


def _help_texts() -> dict[str, str]:
    parser = build_parser()
    texts = {"simgrad --help": parser.format_help()}
    for action in parser._subparsers._group_actions:  # the sub-command parsers
        for cmd, sub in action.choices.items():
            texts[f"simgrad {cmd} --help"] = sub.format_help()
    return texts


def _user_texts() -> dict[str, str]:
    pages = {str(p.relative_to(ROOT)): p.read_text() for p in sorted(DOCS.glob("*.md"))}
    return {**pages, "README.md": (ROOT / "README.md").read_text(), **_help_texts()}


def test_help_texts_cover_every_command():
    assert {"simgrad run --help", "simgrad region --help"} <= set(_help_texts())


@pytest.mark.parametrize("needle", PRIVATE)
def test_no_reference_to_files_outside_the_repository(needle):
    hits = [
        f"{where}:{n}: {line.strip()}"
        for where, text in _user_texts().items()
        for n, line in enumerate(text.splitlines(), 1)
        if needle in line
    ]
    assert not hits, (
        "cite the paper (Cloos et al., ICLR 2025) or a docs page instead:\n" + "\n".join(hits)
    )


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text().split("\nnav:", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"([\w-]+\.md)", nav))
    assert listed == {p.name for p in DOCS.glob("*.md")}


@pytest.mark.parametrize("page", TUTORIALS)
def test_tutorial_code_runs(page, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)
    assert blocks, f"{page} has no python example"
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, str(DOCS / page), "exec"), {"__name__": "__docs__"})


def test_invariance_table_matches_the_cards():
    page = (DOCS / "choosing-a-measure.md").read_text()
    rows = re.findall(
        r"^\| `([^`]+)` \| [^|]+ \| (\w+), [^|]+ \| ([A-Z ]+) \| (yes|no) \|$", page, re.M
    )
    assert len(rows) >= 10
    for name, form, codes, symmetric in rows:
        card = sg.card(name)
        assert card.form == form, name
        assert set(card.invariances) == {_INVARIANCE_CODES[c] for c in codes.split()}, name
        assert card.symmetric == (symmetric == "yes"), name


def _griffe_extension():
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location(
        "griffe_docstrings", DOCS / "_ext" / "griffe_docstrings.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_docstring_extension_adds_the_numpy_headers():
    fix = _griffe_extension().fix_docstring
    text = (
        "Run it.\n\nParameters\n----------\nx, y : the inputs, see\n    :func:`~simgrad.score`.\n"
        "n : a count.\n\nEvery run is seeded.\n\n>>> run(1)\n2\n"
    )
    assert fix(text).splitlines() == [
        "Run it.", "", "Parameters", "----------",
        "x, y", "    the inputs, see", "    `score`.",
        "n", "    a count.", "",
        "Notes", "-----", "Every run is seeded.", "",
        "Examples", "--------", ">>> run(1)", "2",
    ]  # fmt: skip
    already = "Sum.\n\nExamples\n--------\n>>> 1 + 1\n2"
    assert fix(already) == already
