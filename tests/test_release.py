"""Release hygiene: licence, citation, changelog, one version, the CI command, Python 3.10.

Python 3.10 has no ``tomllib`` (the ``tomli`` backport is a dependency there), so every module
must import with ``tomllib`` hidden, and no ``import tomllib`` may sit outside a
``try: ... except ModuleNotFoundError`` fallback, not even inside a function.
"""

from __future__ import annotations

import ast
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import simgrad
from helpers import ROOT
from simgrad.cli import main

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 with the tomli backport
    import tomli as tomllib

SRC = Path(simgrad.__file__).resolve().parent


def _cff_scalars() -> dict[str, str]:
    """The top-level ``key: value`` scalars of CITATION.cff, read without a YAML parser."""
    text = (ROOT / "CITATION.cff").read_text()
    pairs = re.findall(r'^([\w-]+): *"?([^"\n#]+?)"? *$', text, flags=re.M)
    return {k: v for k, v in pairs if v[0] not in ">|"}  # not block scalars


def test_license_is_mit():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 simgrad developers" in text
    assert "WITHOUT WARRANTY OF ANY KIND" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "MIT"}


def test_citation_names_the_software():
    cff = _cff_scalars()
    assert cff["cff-version"] == "1.2.0"
    assert cff["type"] == "software"
    assert cff["version"] == simgrad.__version__
    assert cff["license"] == "MIT"
    assert cff["title"].startswith("simgrad")


def test_citation_parses_and_cites_the_paper():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert {k: str(v) for k, v in cff.items() if k in _cff_scalars()} == _cff_scalars()
    paper = cff["preferred-citation"]
    assert paper["type"] == "conference-paper"
    assert paper["title"] == (
        "Differentiable Optimization of Similarity Scores Between Models and Brains"
    )
    assert paper["year"] == 2025 and "ICLR 2025" in paper["collection-title"]
    assert [a["family-names"] for a in paper["authors"]] == [
        "Cloos", "Li", "Siegel", "Brincat", "Miller", "Yang", "Cueva"
    ]  # fmt: skip
    assert "arXiv:2407.07059" in [i["value"] for i in paper["identifiers"]]
    assert cff["references"] == [paper]


def test_changelog_has_unreleased_and_current_version():
    headings = re.findall(r"^## (.+)$", (ROOT / "CHANGELOG.md").read_text(), flags=re.M)
    assert headings[0] == "Unreleased"
    assert any(h.split(" - ")[0] == simgrad.__version__ for h in headings[1:]), headings


def test_version_has_one_source_of_truth():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "simgrad.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)*", simgrad.__version__)


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"simgrad {simgrad.__version__}\n"


def test_version_flag_from_python_dash_m():
    out = subprocess.run(
        [sys.executable, "-m", "simgrad", "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout == f"simgrad {simgrad.__version__}\n"


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    after = readme.split("Install the development extras", 1)[1]
    block = re.search(r"```bash\n(.*?)```", after, flags=re.S)
    assert block, "README: no ```bash block after 'Install the development extras'"
    return block.group(1).strip()


def test_ci_runs_the_readme_test_command_literally():
    command = _readme_test_command()
    assert command == 'pip install -e ".[dev]" && pytest'
    ci_lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    for part in command.split("&&"):
        assert part.strip() in ci_lines, f".ci/run does not run {part.strip()!r} as written"


_IMPORT_ALL = """
import importlib, pkgutil, sys
try:
    import tomli  # the backport Python 3.10 installs
except ModuleNotFoundError:
    import tomllib as tomli  # stand-in with the same API
sys.modules["tomli"] = tomli
sys.modules["tomllib"] = None  # `import tomllib` now raises ModuleNotFoundError, as on 3.10
import simgrad
for info in pkgutil.walk_packages(simgrad.__path__, "simgrad."):
    importlib.import_module(info.name)
    print(info.name)
"""


def test_every_module_imports_without_tomllib():
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    imported = set(out.stdout.split())
    expected = set()
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if parts:
            expected.add(".".join(("simgrad", *parts)))
    assert "simgrad.pipeline" in expected
    assert expected <= imported, sorted(expected - imported)


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Is ``node`` in the body of a ``try`` that catches ModuleNotFoundError (or ImportError)?"""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Try) and child in parent.body:
            for handler in parent.handlers:
                names = {
                    n.id for n in ast.walk(handler.type or ast.Name("")) if isinstance(n, ast.Name)
                }
                if handler.type is None or names & {"ModuleNotFoundError", "ImportError"}:
                    return True
        child, parent = parent, parents.get(parent)
    return False


def bare_tomllib_imports(path: Path) -> list[int]:
    """Line numbers of ``import tomllib`` / ``from tomllib import ...`` without a fallback."""
    tree = ast.parse(path.read_text(), str(path))
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mods = [node.module or ""]
        else:
            continue
        if "tomllib" in mods and not _guarded(node, parents):
            lines.append(node.lineno)
    return lines


def test_bare_tomllib_import_detector(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        "try:\n    import tomllib\nexcept ModuleNotFoundError:\n    import tomli as tomllib\n"
        "def f():\n    import tomllib\n    from tomllib import loads\n"
    )
    assert bare_tomllib_imports(src) == [6, 7]


def test_no_bare_tomllib_import():
    bare = {
        str(p.relative_to(SRC)): lines
        for p in sorted(SRC.rglob("*.py"))
        if (lines := bare_tomllib_imports(p))
    }
    assert not bare, f"`import tomllib` without a tomli fallback (fails on Python 3.10): {bare}"


def _python310() -> str | None:
    """A working Python 3.10 interpreter, if this machine has one."""
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [
        shutil.which("python3.10"),
        *sorted(glob.glob(f"{pyenv}/versions/3.10*/bin/python3")),
    ]
    for exe in filter(None, candidates):
        try:
            out = subprocess.run(
                [exe, "-c", "import sys; print(sys.version_info[:2])"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip() == "(3, 10)":
            return exe
    return None


def test_sources_compile_on_python_3_10():
    exe = _python310()
    if exe is None:
        pytest.skip("no Python 3.10 interpreter on this machine")
    files = [str(p) for p in sorted(SRC.rglob("*.py"))]
    code = (
        "import sys\n"
        "for f in sys.argv[1:]:\n"
        "    compile(open(f, encoding='utf-8').read(), f, 'exec')"
    )
    out = subprocess.run([exe, "-c", code, *files], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
