"""HTML to PDF: moved to :mod:`joinedup.present.pdf` so the web app can print too.

The names stay importable from here (``joinedup.report.pdf``) for scripts that used them.
"""

from __future__ import annotations

from joinedup.present.pdf import (
    CHROMIUM_ARGS,
    PdfError,
    chromium_executable,
    html_to_pdf,
    launch_chromium,
)

__all__ = ["CHROMIUM_ARGS", "PdfError", "chromium_executable", "html_to_pdf", "launch_chromium"]
