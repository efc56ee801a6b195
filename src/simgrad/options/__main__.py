"""``python -m simgrad.options [--write-docs FILE]``: print the options table, or rewrite it
between the ``options-table`` markers of FILE (e.g. ``docs/report.md``)."""

import sys

from . import markdown_table, write_docs

if sys.argv[1:2] == ["--write-docs"] and len(sys.argv) == 3:
    print("updated" if write_docs(sys.argv[2]) else "up to date:", sys.argv[2])
else:
    print(markdown_table(), end="")
