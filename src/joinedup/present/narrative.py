"""The partnership's own words: Markdown files in ``DIR/narrative/``, rendered safely.

Raw HTML in the Markdown is shown as text, never run, and links may only go to
``http``, ``https`` or ``mailto`` addresses (markdown-it-py's CommonMark with HTML off).
A file's first ``# heading`` is its title; the rest is the body. Files are UTF-8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup

from joinedup.errors import JoinedupError

__all__ = ["NARRATIVE_DIR", "Narrative", "read_narrative", "render_markdown"]

NARRATIVE_DIR = "narrative"
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable("table")
_SAFE_LINK = re.compile(r"^(https?:|mailto:|#)", re.I)
_md.validateLink = lambda url: bool(_SAFE_LINK.match(url.strip()))  # type: ignore[method-assign]
_HEADING = re.compile(r"^\s*#\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Narrative:
    title: str
    html: Markup
    file: str


def render_markdown(text: str) -> Markup:
    """Markdown to HTML with raw HTML escaped and only safe links."""
    return Markup(_md.render(text))


def read_narrative(partnership_dir: Path) -> dict[str, Narrative]:
    """Each ``DIR/narrative/<id>.md`` by ``<id>`` (sorted), title and rendered body."""
    folder = Path(partnership_dir) / NARRATIVE_DIR
    out: dict[str, Narrative] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.md")):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise JoinedupError(
                f"{NARRATIVE_DIR}/{path.name} is not UTF-8 text; save it as UTF-8 and try again."
            ) from None
        lines = text.splitlines()
        title = ""
        if lines and (m := _HEADING.match(lines[0])):
            title, lines = m.group(1), lines[1:]
        key = re.sub(r"[^a-z0-9_]+", "_", path.stem.lower().replace("-", "_")).strip("_")
        out[key] = Narrative(title, render_markdown("\n".join(lines)), path.name)
    return out
