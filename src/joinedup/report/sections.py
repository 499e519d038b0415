"""The sections of a local profile report: moved to :mod:`joinedup.present.profile` so
the web app can make the report too. The names stay importable from here."""

from __future__ import annotations

from joinedup.present.profile import (
    BOARD_QUESTIONS,
    BOARDS,
    Report,
    ReportError,
    Section,
    gather_report,
)

__all__ = ["BOARDS", "BOARD_QUESTIONS", "Report", "ReportError", "Section", "gather_report"]
