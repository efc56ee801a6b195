"""Griffe extension for the API reference: read simgrad's docstrings as numpy style.

The package's docstrings use numpy sections in a compact form the numpy parser reads
differently:

* items are written ``name : description`` (types come from the annotations), which the parser
  would read as ``name : type``;
* Sphinx roles (``:func:``, ``:class:``, ...) are not Markdown;
* a doctest (``>>>`` lines) without an ``Examples`` header, often right after a
  ``Parameters`` section, which the parser would read as more parameters (and Markdown as
  prose: ``[...][:2]`` becomes a reference link);
* a closing paragraph after the items of ``Parameters`` (numpy sections end only at the next
  header), which the parser would read as parameters named after its first words.

Before rendering, this extension moves an item's text to the indented description line,
turns roles into code spans (see the example below), and inserts the missing header:
``Examples`` before a doctest outside an examples section, ``Notes`` before a non-indented line
that is not an item inside a parameter section. Nothing in the package changes; only the text
the docs are built from. Loaded by mkdocs.yml (``extensions`` of the mkdocstrings python handler).

>>> fix_docstring("Sum.\\n\\nParameters\\n----------\\nx : the value\\n\\nNote.").splitlines()[4:]
['x', '    the value', '', 'Notes', '-----', 'Note.']
>>> fix_docstring("See :func:`~simgrad.optim.optimize` and :class:`Dataset`.")
'See `optimize` and `Dataset`.'

"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ITEM_SECTIONS = {"parameters", "other parameters", "attributes"}
# "name", "name : ...", "a, b : ...", "*args", "**kwargs : ..."
_ITEM = re.compile(r"^\*{0,2}\w+(\s*,\s*\*{0,2}\w+)*\s*(:.*)?$")
_UNDERLINE = re.compile(r"^-{3,}$")
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|obj|exc):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


def _header(out: list[str], title: str) -> None:
    if out and out[-1].strip():
        out.append("")
    out += [title, "-" * len(title)]


def fix_docstring(text: str) -> str:
    """``text`` with ``Examples``/``Notes`` headers inserted where numpy style needs them."""
    lines = _ROLE.sub(_role, text).splitlines()
    out: list[str] = []
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() and i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1].strip()):
            section = line.strip().lower()
            out += [line, lines[i + 1]]
            i += 2
            continue
        if line.startswith(">>>") and section != "examples":
            _header(out, "Examples")
            section = "examples"
        elif section in _ITEM_SECTIONS and line[:1].strip():
            item = _ITEM.match(line.rstrip())
            if item is None:
                _header(out, "Notes")
                section = "notes"
            elif item.group(2):  # "name : text" -> "name" + indented "text"
                out += [line[: item.start(2)].rstrip(), "    " + item.group(2)[1:].strip()]
                i += 1
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


class NumpyDocstrings(griffe.Extension):
    """Apply :func:`fix_docstring` to every docstring of a loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._fix(pkg, set())

    def _fix(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = fix_docstring(obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._fix(member, seen)
