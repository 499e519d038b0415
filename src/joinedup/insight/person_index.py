"""``person_record`` and ``person_event``: one person's records and events, read fast
(issue 16).

The person timeline reads one person's records and events. Found through
``record_person`` and ``event_person``, that scans every record and every event of the
release (a million of each at 100,000 people: a third of a second a page). These two
tables hold the same rows joined once at build and stored in person order, so DuckDB's
zone maps skip every row group but the person's own. They add nothing that the release
does not already hold: no identifying field, only what ``record_person``, ``record``,
``event_person`` and ``event`` say.

Each ``*_sql`` function builds SQL and never runs it; :func:`fill_person_index` runs them
inside a build, after ``record_person`` is final.
"""

from __future__ import annotations

import duckdb

__all__ = ["PERSON_INDEX_TABLES", "fill_person_index", "person_event_sql", "person_record_sql"]

#: The tables filled here.
PERSON_INDEX_TABLES = ("person_record", "person_event")


def person_record_sql() -> str:
    """Rows of ``person_record``, in person order."""
    return (
        "SELECT rp.person_id, rp.source, rp.source_record_id, r.agency, r.record_date, "
        "rp.rule, rp.match_probability FROM record_person rp "
        "JOIN record r USING (source, source_record_id) "
        "ORDER BY rp.person_id, rp.source, rp.source_record_id"
    )


def person_event_sql() -> str:
    """Rows of ``person_event``, in person order (then date)."""
    return (
        "SELECT rp.person_id, e.event_id, ep.source, ep.source_record_id, ep.role, "
        "e.event_date, e.end_date, e.agency, e.event_type, e.outcome, e.place_id "
        "FROM event_person ep "
        "JOIN record_person rp "
        "ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id "
        "JOIN event e ON e.event_id = ep.event_id "
        "ORDER BY rp.person_id, e.event_date NULLS LAST, e.event_id, ep.source_record_id, ep.role"
    )


def fill_person_index(con: duckdb.DuckDBPyConnection) -> None:
    """Fill ``person_record`` and ``person_event`` of the release open on ``con``."""
    con.execute(f"INSERT INTO person_record {person_record_sql()}")
    con.execute(f"INSERT INTO person_event {person_event_sql()}")
