"""The shape of the source tree, read with ``ast`` (nothing is imported or run):

a) layers: a module never imports a module of a higher layer, at module level or inside a
   function (a lazy import is still a dependency), ``if TYPE_CHECKING`` blocks included;
b) no source file is longer than ``MAX_FILE_LINES``;
c) no function (nested ones included) is longer than ``MAX_FUNCTION_LINES`` (``def`` line to
   last line) unless the comment right above its ``def`` (or its decorators) says
   ``long because: <why>``.

Layers, lowest first (the map below is the one place that says so)::

    0 arrays    simgrad._array, simgrad._io, any other private leaf module simgrad._<name>
    1 measures  simgrad.measures, simgrad.allpairs, simgrad.streaming
    1 datasets  simgrad.datasets: it imports nothing of simgrad outside itself (no measures,
                no optim), so it sits beside the measures, below everything that loads data
    2 optim     simgrad.optim, simgrad.models (activations of PyTorch models, compare_model)
    3 analysis  simgrad.analysis
    4 pipeline  simgrad.pipeline, simgrad.options, simgrad.comparison (sg.compare)
    5 report    simgrad.report
    6 top       simgrad.cli, simgrad.__main__, simgrad.commands, simgrad.sweeps, and the
                package root simgrad (its ``__init__`` lazily exposes everything)

Modules of the same layer may import each other. ``from simgrad import name`` (or ``from ..
import name``) of a submodule is an import of that submodule; of anything else it is an
import of the package root (top layer), allowed below the top only for ``__version__``. A
module missing from the map is a failure too: place it when adding it.

Every failure is printed as ``path:line: what`` (paths relative to the repository).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "simgrad"

#: module (or package, covering its submodules) → layer; lowest first. ``simgrad`` itself
#: matches only the package root.
LAYERS: dict[str, int] = {
    "simgrad._array": 0,
    "simgrad._io": 0,
    "simgrad.measures": 1,
    "simgrad.allpairs": 1,
    "simgrad.streaming": 1,
    "simgrad.datasets": 1,
    "simgrad.optim": 2,
    "simgrad.models": 2,
    "simgrad.analysis": 3,
    "simgrad.stats": 3,
    "simgrad.pipeline": 4,
    "simgrad.options": 4,
    "simgrad.comparison": 4,
    "simgrad.report": 5,
    "simgrad.cli": 6,
    "simgrad.__main__": 6,
    "simgrad.commands": 6,
    "simgrad.sweeps": 6,
    "simgrad": 6,
}
LAYER_NAMES = dict(
    enumerate(["arrays", "measures", "optim", "analysis", "pipeline", "report", "top"])
)
PRIVATE_LEAF_LAYER = 0  # simgrad._<name> not in LAYERS (e.g. a _toml helper)
ROOT_NAMES_ALLOWED_BELOW_TOP = {"__version__"}
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80
LONG_MARK = "long because:"


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. simgrad.optim.loop
    path: Path
    is_package: bool  # an __init__.py


def modules(src: Path = SRC, package: str = PACKAGE) -> list[Module]:
    """Every ``.py`` file of the package under ``src`` as a :class:`Module`."""
    out = []
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out.append(Module(".".join(parts), path, is_package))
    return out


def layer_of(name: str, layers: dict[str, int] = LAYERS, package: str = PACKAGE) -> int | None:
    """The layer of a dotted module name (longest matching key), or None when unmapped."""
    if name == package:
        return layers.get(package)
    best = None
    for key in layers:
        if key != package and (name == key or name.startswith(key + ".")):
            if best is None or len(key) > len(best):
                best = key
    if best is not None:
        return layers[best]
    leaf = name[len(package) + 1 :]
    if name.startswith(package + "._") and "." not in leaf and not leaf.startswith("__"):
        return PRIVATE_LEAF_LAYER
    return None


def imports(mod: Module, known: set[str], package: str = PACKAGE) -> list[tuple[int, str, str]]:
    """``(line, target module, text)`` of every import of ``package`` in ``mod`` (anywhere in
    the file). ``from A import b`` targets ``A.b`` when that is a module of ``known``, else
    ``A``; a name taken from the package root itself gives the target ``package:name``."""
    tree = ast.parse(mod.path.read_text(encoding="utf-8"), filename=str(mod.path))
    here = mod.name.split(".") if mod.is_package else mod.name.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    out.append((node.lineno, alias.name, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if not (source == package or source.startswith(package + ".")):
                continue
            text = f"from {'.' * node.level}{node.module or ''} import "
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in known:
                    target = sub
                elif source == package:
                    target = f"{package}:{alias.name}"
                else:
                    target = source
                out.append((node.lineno, target, text + alias.name))
    return sorted(out)


def layer_violations(
    src: Path = SRC, layers: dict[str, int] = LAYERS, package: str = PACKAGE
) -> list[str]:
    """``path:line: ...`` for every import of a higher layer and every unmapped module."""
    mods = modules(src, package)
    known = {m.name for m in mods}
    out = []
    for mod in mods:
        rel = _rel(mod.path)
        own = layer_of(mod.name, layers, package)
        if own is None:
            out.append(f"{rel}:1: module {mod.name} is not in the layer map (LAYERS)")
            continue
        for line, target, text in imports(mod, known, package):
            if target.startswith(package + ":"):
                name = target.split(":", 1)[1]
                if own < layers[package] and name not in ROOT_NAMES_ALLOWED_BELOW_TOP:
                    out.append(
                        f"{rel}:{line}: {mod.name} ({LAYER_NAMES[own]}) takes {name!r} from "
                        f"the package root ({text}); only __version__ may be"
                    )
                continue
            theirs = layer_of(target, layers, package)
            if theirs is None:
                out.append(f"{rel}:{line}: {mod.name} imports {target}, not in the layer map")
            elif theirs > own:
                out.append(
                    f"{rel}:{line}: {mod.name} ({LAYER_NAMES[own]}) imports {target} "
                    f"({LAYER_NAMES[theirs]}): {text}"
                )
    return out


def long_files(src: Path = SRC, package: str = PACKAGE) -> list[str]:
    """``path:lines: ...`` for every source file over ``MAX_FILE_LINES`` lines."""
    out = []
    for mod in modules(src, package):
        n = len(mod.path.read_text(encoding="utf-8").splitlines())
        if n > MAX_FILE_LINES:
            out.append(f"{_rel(mod.path)}:{n}: {n} lines (max {MAX_FILE_LINES})")
    return out


def _justified(lines: list[str], first: int) -> bool:
    """Whether the comment block right above line ``first`` (1-based) says ``long because:``."""
    i = first - 2
    while i >= 0 and lines[i].strip().startswith("#"):
        if LONG_MARK in lines[i]:
            return True
        i -= 1
    return False


def long_functions(src: Path = SRC, package: str = PACKAGE) -> list[str]:
    """``path:line: ...`` for every function over ``MAX_FUNCTION_LINES`` lines without a
    ``# long because: ...`` comment right above it (above its decorators, if any)."""
    out = []
    for mod in modules(src, package):
        text = mod.path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text, filename=str(mod.path))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            n = node.end_lineno - node.lineno + 1
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if n > MAX_FUNCTION_LINES and not _justified(lines, first):
                out.append(
                    f"{_rel(mod.path)}:{node.lineno}: {node.name} has {n} lines "
                    f"(max {MAX_FUNCTION_LINES} without a '# {LONG_MARK} ...' comment above)"
                )
    return out


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _report(problems: list[str], what: str) -> None:
    for p in problems:
        print(p)
    if problems:
        pytest.fail(f"{len(problems)} {what}:\n" + "\n".join(problems), pytrace=False)


# ----------------------------------------------------------------------------- the tree


def test_no_module_imports_a_higher_layer():
    _report(layer_violations(), "imports of a higher layer")


def test_no_source_file_over_500_lines():
    _report(long_files(), "source files too long")


def test_no_function_over_80_lines_without_a_reason():
    _report(long_functions(), "functions too long")


# ----------------------------------------------------------------------------- the checker


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, body in files.items():
        p = tmp_path / "simgrad" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body)
    return tmp_path


def test_checker_finds_upward_and_lazy_imports(tmp_path):
    src = _tree(
        tmp_path,
        {
            "__init__.py": "__version__ = '0'\n",
            "_array.py": "",
            "measures/__init__.py": "from .. import _array\n",
            "optim/__init__.py": "from ..measures import x\n",
            "analysis/__init__.py": "def f():\n    from ..pipeline import run\n",
            "pipeline.py": "from . import __version__, analysis\nimport simgrad.report\n",
            "report/__init__.py": "from simgrad import pipeline\n",
        },
    )
    found = layer_violations(src)
    assert len(found) == 2, found
    assert (
        "analysis/__init__.py:2: simgrad.analysis (analysis) imports simgrad.pipeline" in (found[0])
    )
    assert "pipeline.py:2: simgrad.pipeline (pipeline) imports simgrad.report" in found[1]


@pytest.mark.parametrize(
    ("body", "n"),
    [
        ("from simgrad import __version__\n", 0),
        ("from .. import __version__\n", 0),
        ("from .. import measures\n", 0),
        ("from simgrad import optimize\n", 1),
        ("import simgrad\n", 1),
    ],
)
def test_checker_package_root_only_for_version(tmp_path, body, n):
    src = _tree(
        tmp_path,
        {"__init__.py": "", "measures/__init__.py": "", "optim/__init__.py": body},
    )
    assert len(layer_violations(src)) == n


def test_checker_unmapped_module_and_private_leaf(tmp_path):
    src = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "_toml.py": "",
            "newthing.py": "",
            "__main__.py": "from .cli import main\n",
            "cli.py": "",
            "_array.py": "from . import __main__\n",
        },
    )
    found = layer_violations(src)
    assert len(found) == 2, found
    assert "simgrad._array (arrays) imports simgrad.__main__ (top)" in found[0]
    assert "simgrad.newthing is not in the layer map" in found[1]


def test_checker_long_function_needs_a_reason(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    src = _tree(
        tmp_path,
        {
            "a.py": f"def long():\n{body}\n\n\ndef short():\n    pass\n",
            "b.py": f"# long because: a solver\n@staticmethod\ndef ok():\n{body}\n",
            "c.py": f"# long because: x\n\ndef gap():\n{body}\n",
        },
    )
    found = long_functions(src)
    assert [f.split(": ")[1].split()[0] for f in found] == ["long", "gap"], found


def test_checker_long_file(tmp_path):
    src = _tree(tmp_path, {"a.py": "x = 1\n" * (MAX_FILE_LINES + 1), "b.py": "x = 1\n" * 500})
    found = long_files(src)
    assert len(found) == 1 and f"a.py:{MAX_FILE_LINES + 1}:" in found[0]
