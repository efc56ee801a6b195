"""The main job's files: tables, figures, ``run.json`` and the self-contained report.

:func:`write_run` writes a :class:`~simgrad.pipeline.RunResult`'s files;
:mod:`~simgrad.report.figures` draws each figure from DataFrames with the CSV columns,
:mod:`~simgrad.report.html` assembles ``report.html`` (stylesheet and figures embedded) and
:mod:`~simgrad.report.summary` prints the summary for the terminal. ``sg.run``
(:mod:`~simgrad.report.main_job`) computes and writes in one call.
"""

from .figures import measure_colors, png_bytes
from .html import render_report, table_html
from .summary import format_summary
from .write import write_run

__all__ = [
    "format_summary",
    "measure_colors",
    "png_bytes",
    "render_report",
    "table_html",
    "write_run",
]
