"""Local profile reports: a board's picture of exploitation in HTML, PDF and Excel.

A consumer stage like ``web`` and ``export``: every figure comes through
``joinedup.views`` for the report's tier. ``joinedup report DIR --board children
--tier strategic --format pdf`` is the command; see ``docs/reports.md``.
"""

from __future__ import annotations

from joinedup.present.pdf import PdfError, html_to_pdf
from joinedup.report.narrative import Narrative, read_narrative, render_markdown
from joinedup.report.render import REPORT_FORMATS, render_html, write_report
from joinedup.report.sections import (
    BOARD_QUESTIONS,
    BOARDS,
    Report,
    ReportError,
    Section,
    gather_report,
)

__all__ = [
    "BOARDS",
    "BOARD_QUESTIONS",
    "REPORT_FORMATS",
    "Narrative",
    "PdfError",
    "Report",
    "ReportError",
    "Section",
    "gather_report",
    "html_to_pdf",
    "read_narrative",
    "render_html",
    "render_markdown",
    "write_report",
]
