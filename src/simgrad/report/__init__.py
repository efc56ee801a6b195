"""Figures and the self-contained HTML report, drawn from the results tables.

:mod:`~simgrad.report.figures` draws each figure from DataFrames with the CSV columns,
:mod:`~simgrad.report.summary` condenses the tables into one row per measure and
:mod:`~simgrad.report.html` assembles ``report.html`` (stylesheet and figures embedded).
"""

from .figures import measure_colors, png_bytes, short_name
from .html import render_report, table_html
from .summary import format_summary, summary_table

__all__ = [
    "format_summary",
    "measure_colors",
    "png_bytes",
    "render_report",
    "short_name",
    "summary_table",
    "table_html",
]
