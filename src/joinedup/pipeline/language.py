"""The language guide applied to the partnership's own words (issue 20, item 5).

:func:`check_language` reads every question's text, definition and caveats (the default
pack and ``DIR/questions/``) and the narrative files (``DIR/narrative/*.md``) and lists
each use of words that the taxonomy's language guide advises against, with the file,
line, the words and what to say instead. ``joinedup check`` prints them as warnings: the
words are the partnership's to change, and a build does not stop for them.

:func:`free_text_language` counts such words in agencies' free text (notes) per source,
for the quality report: a training signal for recording practice. It returns counts of
notes per source and term only, never a note, a person or the words around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from joinedup.insight import load_questions
from joinedup.taxonomy.guidance import LanguageGuide, load_language_guide

__all__ = ["LanguageFinding", "check_language", "free_text_language"]

NARRATIVE_DIR = "narrative"  # as joinedup.present.narrative reads it


@dataclass(frozen=True)
class LanguageFinding:
    """One use of advised-against words in the partnership's text."""

    file: str
    line: int
    where: str  # "question children_with_concern, definition" or "narrative"
    words: str
    say_instead: str
    why: str

    def message(self) -> str:
        return (
            f'warning: {self.file} line {self.line} ({self.where}): "{self.words}" blames '
            f"the child or hides the harm. Say instead: {self.say_instead}. {self.why}"
        )


def _text_findings(
    guide: LanguageGuide, file: str, source: str, text: str, where: str
) -> list[LanguageFinding]:
    out = []
    for match in guide.find(text):
        at = source.find(text[:40]) if source else -1
        line = source.count("\n", 0, at) + 1 if at >= 0 else 1
        line += text.count("\n", 0, match.start)
        out.append(
            LanguageFinding(file, line, where, match.words, match.term.say_instead, match.term.why)
        )
    return out


def check_language(partnership_dir: Path | None) -> list[LanguageFinding]:
    """Every use of advised-against words in the questions and the narrative files."""
    guide = load_language_guide()
    found: list[LanguageFinding] = []
    base = Path(partnership_dir) if partnership_dir is not None else None
    for q in load_questions(base):
        source = ""
        if q.origin == "partnership" and base is not None:
            path = base / q.file if not Path(q.file).is_absolute() else Path(q.file)
            try:
                source = path.read_text(encoding="utf-8")
            except OSError:
                source = ""
        fields = [("question", q.spec.question), ("definition", q.spec.definition)]
        fields += [("caveat", c) for c in q.spec.caveats]
        for name, text in fields:
            found += _text_findings(guide, q.file, source, text, f"question {q.id}, {name}")
    if base is not None:
        for path in sorted((base / NARRATIVE_DIR).glob("*.md")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # the report's own reading says what is wrong with the file
            rel = f"{NARRATIVE_DIR}/{path.name}"
            found += _text_findings(guide, rel, text, text, "narrative")
    return found


def free_text_language(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Notes per source using each advised-against term (source -> term id -> notes),
    from the release's ``note`` table; sources with none are left out."""
    guide = load_language_guide()
    texts: dict[str, list[str]] = {}
    try:
        rows = con.execute("SELECT source, text FROM note WHERE text IS NOT NULL").fetchall()
    except duckdb.CatalogException:
        return {}
    for source, text in rows:
        texts.setdefault(str(source), []).append(str(text))
    out = {}
    for source, notes in sorted(texts.items()):
        counts = {k: v for k, v in guide.counts(notes).items() if v}
        if counts:
            out[source] = counts
    return out
