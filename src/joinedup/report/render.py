"""A report to a file: self-contained HTML, PDF (printed by headless Chromium) or Excel.

The report itself is built in ``present/`` (:mod:`joinedup.present.profile` gathers it,
:mod:`joinedup.present.profile_html` renders it, :mod:`joinedup.present.pdf` prints it),
so the web app can serve the same PDF; this module is the command line's end of it: the
formats, the default file name, and the Excel workbook (a sheet per table of every
section, and a Notes sheet).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from joinedup.present.profile import ReportError, gather_report
from joinedup.present.profile_html import render_html
from joinedup.present.writers import to_xlsx
from joinedup.views import ReleaseLike, Tier

__all__ = ["REPORT_FORMATS", "render_html", "write_report"]

REPORT_FORMATS = ("html", "pdf", "xlsx")


def write_report(
    partnership_dir: Path,
    *,
    board: str = "children",
    tier: Tier = Tier.STRATEGIC,
    fmt: str = "html",
    out: Path | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> Path:
    """Gather the report for ``board`` at ``tier`` and write it as ``fmt``.

    ``out`` defaults to ``DIR/reports/<board>-<tier>-<release>.<fmt>``. The PDF is tagged
    (headings, tables, figures with alternative text, the document's language).
    """
    if fmt not in REPORT_FORMATS:
        raise ReportError(f"Unknown format '{fmt}'; choose one of {', '.join(REPORT_FORMATS)}.")
    report = gather_report(partnership_dir, board=board, tier=Tier(tier), open_release=open_release)
    if out is None:
        rid = str(report.release.get("release_id") or "release")
        out = Path(partnership_dir) / "reports" / f"{board}-{report.tier}-{rid}.{fmt}"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        tables = [t for s in report.sections for t in s.tables]
        return to_xlsx(tables, out)
    html = render_html(report)
    if fmt == "html":
        out.write_text(html, encoding="utf-8")
        return out
    from joinedup.present.pdf import html_to_pdf

    return html_to_pdf(html, out)
