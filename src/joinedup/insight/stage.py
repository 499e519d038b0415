"""The insight stage of a build: person tables, places, networks, notes, then the questions.

Registered in ``joinedup.pipeline.extra_stages()``; runs on the build's connection after
persons and places are derived and before the release is published, so every answer is
part of the immutable release and reading one is instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

import duckdb

from joinedup.errors import ReleaseError
from joinedup.insight.answers import compute_answers
from joinedup.insight.derived import derive_person_tables
from joinedup.insight.groups import report_groups_for
from joinedup.insight.networks import build_networks
from joinedup.insight.notes import scrub_notes
from joinedup.insight.places import hotspot_sql
from joinedup.insight.questions import Question, load_questions
from joinedup.release.build import BuildContext
from joinedup.release.store import open_current

__all__ = ["PREVIOUS", "compute_insight", "insight_stage"]

#: Schema alias of the previous release while the stage runs.
PREVIOUS = "_ju_previous"


def _attach_previous(ctx: BuildContext) -> tuple[str, str] | None:
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


def compute_insight(
    con: duckdb.DuckDBPyConnection,
    *,
    questions: Sequence[Question],
    agency_types: Mapping[str, str],
    sources_by_type: Mapping[str, list[str]],
    reference: dt.date,
    previous: tuple[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Fill every insight table of the release open on ``con`` and answer ``questions``.

    ``agency_types`` maps agency id to its type (partnership.yaml); ``previous`` is
    (schema alias, release id) of an attached previous release, for change figures.
    """
    report = progress or (lambda done, total: None)
    codes = [
        str(r[0])
        for r in con.execute(
            "SELECT DISTINCT exploitation_type FROM event_exploitation "
            "WHERE nullif(trim(exploitation_type), '') IS NOT NULL"
        ).fetchall()
    ]
    steps = 5
    report(0, steps)
    derive_person_tables(con, agency_types=agency_types, report_groups=report_groups_for(codes))
    report(1, steps)
    con.execute(f"INSERT INTO place_hotspot {hotspot_sql(reference)}")
    report(2, steps)
    build_networks(con)
    report(3, steps)
    scrub_notes(con)
    report(4, steps)
    compute_answers(
        con, questions, sources_by_type={k: list(v) for k, v in sources_by_type.items()},
        previous=previous,
    )  # fmt: skip
    report(steps, steps)


def insight_stage(ctx: BuildContext) -> None:
    """The build stage: load and validate the questions, then :func:`compute_insight`."""
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
        )
    finally:
        if previous is not None:
            ctx.con.execute(f"DETACH {PREVIOUS}")
