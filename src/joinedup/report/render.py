"""A report to a file: self-contained HTML, PDF (printed by headless Chromium) or Excel.

The HTML carries its styles inline (GOV.UK Frontend's compiled CSS where installed, and
the report's own print stylesheet) and its charts as inline SVG: it has no link to
anything outside itself and no script, so it can be emailed, archived and opened
offline. The PDF is that HTML printed on A4. The Excel workbook has a sheet per table
of every section (a sheet per question) and a Notes sheet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from joinedup.present.assets import govuk_css
from joinedup.present.format import format_count
from joinedup.present.writers import to_xlsx
from joinedup.report.sections import Report, ReportError, gather_report
from joinedup.views import ReleaseLike, Tier

__all__ = ["REPORT_FORMATS", "render_html", "write_report"]

REPORT_FORMATS = ("html", "pdf", "xlsx")
_HERE = Path(__file__).parent
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_URL = re.compile(r"url\([^)]*\)")

_env = Environment(
    loader=PackageLoader("joinedup.report", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["count"] = format_count


def _css() -> str:
    govuk = govuk_css()
    parts = [govuk.read_text(encoding="utf-8")] if govuk.is_file() else []
    parts.append((_HERE / "templates" / "report.css").read_text(encoding="utf-8"))
    # Nothing in the file may fetch anything: GOV.UK's font faces go (joinedup uses the
    # system font stack), and so does any other url() (GOV.UK's crest image).
    css = _FONT_FACE.sub("", "\n".join(parts))
    return _URL.sub("none", css).replace("</style", "<\\/style")


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document."""
    return _env.get_template("report.html").render(report=report, css=_css())


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

    ``out`` defaults to ``DIR/reports/<board>-<tier>-<release>.<fmt>``.
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
    from joinedup.report.pdf import html_to_pdf

    return html_to_pdf(html, out)
