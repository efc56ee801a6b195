"""The README's quick-start runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_two_setup_commands():
    text = README.read_text()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", setup, flags=re.S)
    assert len(commands) == 2
    assert "pytest" in commands[1]


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = _python_blocks()
    assert blocks, "README has no python example"
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})


def test_readme_files_exist():
    """Every repository file the README names (`docs/x.md`, `LICENSE`, ...) is there."""
    root = README.parent
    named = set(
        re.findall(
            r"`((?:docs|benchmarks)/[\w./-]+\.md|[A-Z]+(?:\.md|\.cff)?)`", README.read_text()
        )
    )
    assert {"docs/index.md", "LICENSE", "CITATION.cff", "CHANGELOG.md"} <= named
    assert not [p for p in named if not (root / p).is_file()]
