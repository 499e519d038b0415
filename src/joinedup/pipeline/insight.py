"""The ``insight`` stage: person tables, places, networks, notes, then the questions.

Runs on the build's connection after persons and places are derived and before the
release is published, so every answer is part of the immutable release and reading one
is instant. The previous release, when it has answers, is attached for change figures.
"""

from __future__ import annotations

import duckdb

from joinedup.errors import ReleaseError
from joinedup.insight import compute_insight, load_questions
from joinedup.insight.stage import PREVIOUS
from joinedup.pipeline.context import BuildContext
from joinedup.pipeline.language import free_text_language
from joinedup.release.store import open_current

__all__ = ["answer_questions"]


def answer_questions(ctx: BuildContext) -> None:
    """Load and validate the questions, then fill every insight table of the release."""
    questions = load_questions(ctx.partnership_dir)
    agency_types = {a.id: a.type for a in ctx.config.agencies}
    sources_by_type: dict[str, list[str]] = {}
    for src in ctx.config.sources:
        sources_by_type.setdefault(agency_types.get(src.agency, "other"), []).append(src.id)
    previous = _attach_previous(ctx)
    try:
        compute_insight(
            ctx.con,
            questions=questions,
            agency_types=agency_types,
            sources_by_type=sources_by_type,
            reference=ctx.reference_date,
            previous=previous,
            progress=lambda done, total: ctx.progress("insight", done, total),
            period=ctx.config.insight.default_period,
            authorities={a.code: a.name for a in ctx.config.authorities},
            secret=ctx.secret,  # issue 19: record keys for cell key perturbation
        )
    finally:
        if previous is not None:
            ctx.con.execute(f"DETACH {PREVIOUS}")
    # issue 20: words the language guide advises against, counted per source in notes
    rows = [
        (source, term, n)
        for source, counts in free_text_language(ctx.con).items()
        for term, n in counts.items()
    ]
    if rows:
        ctx.con.executemany("INSERT INTO language_use VALUES (?, ?, ?)", rows)


def _attach_previous(ctx: BuildContext) -> tuple[str, str] | None:
    """(schema alias, release id) of the current release attached, if it has answers."""
    try:
        handle = open_current(ctx.partnership_dir)
    except ReleaseError:
        return None
    try:
        path = str(handle.db_path).replace("'", "''")
        ctx.con.execute(f"ATTACH '{path}' AS {PREVIOUS} (READ_ONLY)")
    except duckdb.Error:
        return None  # an unreadable previous release: no change figures, not a failed build
    tables = {
        str(r[0])
        for r in ctx.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [PREVIOUS]
        ).fetchall()
    }
    if not {"question", "question_result"} <= tables:
        ctx.con.execute(f"DETACH {PREVIOUS}")
        return None
    return PREVIOUS, handle.release_id
