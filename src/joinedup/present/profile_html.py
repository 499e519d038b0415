"""A local profile report as one self-contained HTML document, ready to read or print.

The HTML carries its styles inline (GOV.UK Frontend's compiled CSS where installed, and
the report's own print stylesheet) and its charts as inline SVG: it links to nothing and
runs no script, so it can be emailed, archived and opened offline. Printed by
:func:`joinedup.present.pdf.html_to_pdf` it becomes the tagged PDF a board hands round:
``lang`` on the document, one ``h1``, a ``h2`` a section, tables with header cells, and
every chart a figure whose alternative text reads its values.
"""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from joinedup.present.assets import govuk_css
from joinedup.present.format import format_count
from joinedup.present.profile import Report

__all__ = ["profile_css", "render_html"]

_HERE = Path(__file__).parent
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_URL = re.compile(r"url\([^)]*\)")

_env = Environment(
    loader=PackageLoader("joinedup.present", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["count"] = format_count


def profile_css() -> str:
    """GOV.UK Frontend's CSS (when installed) and the report's own, with nothing fetched."""
    govuk = govuk_css()
    parts = [govuk.read_text(encoding="utf-8")] if govuk.is_file() else []
    parts.append((_HERE / "templates" / "profile.css").read_text(encoding="utf-8"))
    # Nothing in the file may fetch anything: GOV.UK's font faces go (joinedup uses the
    # system font stack), and so does any other url() (GOV.UK's crest image). The hatch
    # patterns of hidden values are inside each chart's SVG (url(#id) in an attribute).
    css = _FONT_FACE.sub("", "\n".join(parts))
    return _URL.sub("none", css).replace("</style", "<\\/style")


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document."""
    return _env.get_template("profile.html").render(report=report, css=profile_css())
