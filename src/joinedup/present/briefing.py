"""A one-page "what to look for" briefing (issue 20) as a self-contained HTML document for
Chromium's PDF printer: the page's own styles inline, nothing fetched, so it prints the
same anywhere. The web app serves the result as a tagged PDF."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

__all__ = ["briefing_html"]

_env = Environment(
    loader=PackageLoader("joinedup.present", "templates"),
    autoescape=select_autoescape(["html"]),
)


def briefing_html(data: dict[str, Any]) -> str:
    """The briefing of ``data`` (:func:`joinedup.views.guidance.look_for_section`)."""
    return _env.get_template("briefing.html").render(data=data)
