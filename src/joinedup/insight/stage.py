"""What the build's insight stage computes: person tables, places, networks, notes, answers.

``joinedup.pipeline.insight`` runs :func:`compute_insight` on the build's connection after
persons and places are derived and before the release is published, so every answer is
part of the immutable release and reading one is instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

import duckdb

from joinedup.insight.answers import ALL
from joinedup.insight.derived import derive_person_tables
from joinedup.insight.groups import report_groups_for
from joinedup.insight.networks import build_networks
from joinedup.insight.notes import scrub_notes
from joinedup.insight.periods import ALL_TIME, default_period
from joinedup.insight.places import hotspot_sql
from joinedup.insight.questions import Question
from joinedup.insight.results import compute_answers

__all__ = ["PREVIOUS", "SOURCE_SPAN_SQL", "compute_insight"]

#: Schema alias of the previous release while the stage runs.
PREVIOUS = "_ju_previous"

#: The history each extract covers, for "police data from October 2023" (issue 14).
SOURCE_SPAN_SQL = """INSERT INTO source_span
SELECT coalesce(s.source, e.source), coalesce(s.agency, e.agency), s.dataset, e.first_event,
  e.last_event, coalesce(e.events, 0)
FROM source s FULL JOIN (
  SELECT source, any_value(agency) AS agency, min(event_date) AS first_event,
    max(event_date) AS last_event, count(event_date) AS events
  FROM event GROUP BY source
) e ON e.source = s.source"""


def compute_insight(
    con: duckdb.DuckDBPyConnection,
    *,
    questions: Sequence[Question],
    agency_types: Mapping[str, str],
    sources_by_type: Mapping[str, list[str]],
    reference: dt.date,
    previous: tuple[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    period: str = ALL_TIME,
    authorities: Mapping[str, str] | None = None,
    secret: bytes | None = None,
) -> None:
    """Fill every insight table of the release open on ``con`` and answer ``questions``.

    ``agency_types`` maps agency id to its type (partnership.yaml); ``previous`` is
    (schema alias, release id) of an attached previous release, for change figures;
    ``period`` is the partnership's default period (``insight.default_period``), stored
    with all time; ``authorities`` maps the partnership's own authority codes to their
    names (None: every authority in ``area``), so that a child living elsewhere is counted
    as living outside the partnership; ``secret`` (the partnership's) keys the record
    keys stored with every answer for cell key perturbation (issue 19).
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
    derive_person_tables(
        con,
        agency_types=agency_types,
        report_groups=report_groups_for(codes),
        authorities=authorities,
    )
    report(1, steps)
    default = default_period(period, reference)
    # issue 14: both rankings of places for all time and the default period
    con.execute(f"INSERT INTO place_hotspot {hotspot_sql('all')}")
    if not default.all_time:
        sql = hotspot_sql("default", default.start, default.end)
        con.execute(f"INSERT INTO place_hotspot {sql}")
    report(2, steps)
    build_networks(con)
    report(3, steps)
    scrub_notes(con)
    report(4, steps)
    con.execute(
        "INSERT INTO question_period VALUES ('all', ?, NULL, NULL, ?, ?)",
        [ALL_TIME, ALL.label, default.all_time],
    )
    if not default.all_time:
        con.execute(
            "INSERT INTO question_period VALUES ('default', ?, ?, ?, ?, true)",
            [period, default.start, default.end, default.label],
        )
    con.execute(SOURCE_SPAN_SQL)
    compute_answers(
        con, questions, sources_by_type={k: list(v) for k, v in sources_by_type.items()},
        previous=previous, periods=[default], secret=secret,
    )  # fmt: skip
    report(steps, steps)
