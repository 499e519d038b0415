"""Qualitative material: notes scrubbed for the tiers that may see them, and themes.

Every note is scrubbed (:mod:`joinedup.insight.scrubber`) against every name recorded in
the release, its date is cut to the month, and it is stored in ``note_scrubbed`` with its
source's tier. The raw ``note`` table stays restricted to the operational tier; the
scrubbed text may be shown to a tier the note's tier allows (a note of tier "strategic"
to strategic and operational, "community" to all three). Theme counts are a question in
the pack (``themes``), so they go through disclosure control like any other figure.
"""

from __future__ import annotations

import duckdb

from joinedup.insight.rows import insert_rows
from joinedup.insight.scrubber import Scrubber

__all__ = ["known_names_sql", "scrub_notes"]


def known_names_sql() -> str:
    return (
        "SELECT DISTINCT n FROM (SELECT forename AS n FROM identity UNION ALL "
        "SELECT surname FROM identity UNION ALL SELECT preferred_name FROM identity) "
        "WHERE n IS NOT NULL"
    )


def scrub_notes(con: duckdb.DuckDBPyConnection) -> int:
    """Fill ``note_scrubbed`` from ``note``; the number of notes written."""
    scrubber = Scrubber(str(r[0]) for r in con.execute(known_names_sql()).fetchall())
    rows = con.execute(
        "SELECT n.note_id, rp.person_id, n.source, strftime(n.note_date, '%Y-%m'), "
        "lower(replace(coalesce(n.theme, ''), ' ', '')), coalesce(n.text, ''), n.tier "
        "FROM note n LEFT JOIN record_person rp USING (source, source_record_id) "
        "ORDER BY n.note_id"
    ).fetchall()
    out = []
    for note_id, person_id, source, month, theme, text, tier in rows:
        done = scrubber(str(text))
        themes = ";".join(t for t in str(theme).split(";") if t)
        out.append((note_id, person_id, source, month, themes, done.text, done.redactions, tier))
    if out:
        insert_rows(con, "note_scrubbed", out)
    return len(out)
