"""Person-level output: what is held about one person, for subject access and for
re-identification by panel members.

Every caller must be entitled to it and must audit it (``joinedup.access`` does both):
this module only reads. Section queries take the person id as a parameter; functions
named ``*_sql`` return SQL and never run it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb

__all__ = [
    "DOSSIER_SECTIONS",
    "dossier_sql",
    "person_dossier",
    "persons_by_agency_identifier",
    "persons_by_agency_identifier_sql",
]

# Section -> SQL selecting its rows for one person (parameter $person).
DOSSIER_SECTIONS: dict[str, str] = {
    "person": "SELECT * FROM person WHERE person_id = $person",
    "records": (
        "SELECT r.*, rp.match_probability, rp.rule FROM record AS r "
        "JOIN record_person AS rp USING (source, source_record_id) "
        "WHERE rp.person_id = $person ORDER BY r.source, r.source_record_id"
    ),
    "identity": (
        "SELECT i.* FROM identity AS i JOIN record_person AS rp USING (source, source_record_id) "
        "WHERE rp.person_id = $person ORDER BY i.source, i.source_record_id"
    ),
    "events": (
        "SELECT e.*, ep.source_record_id, ep.role, "
        "  (SELECT string_agg(exploitation_type, ';' ORDER BY exploitation_type) "
        "   FROM event_exploitation AS x WHERE x.event_id = e.event_id) AS exploitation "
        "FROM event AS e JOIN event_person AS ep ON ep.event_id = e.event_id "
        "JOIN record_person AS rp "
        "  ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id "
        "WHERE rp.person_id = $person ORDER BY e.event_date, e.event_id"
    ),
    "places": (
        "SELECT DISTINCT pl.* FROM place AS pl JOIN event AS e ON e.place_id = pl.place_id "
        "JOIN event_person AS ep ON ep.event_id = e.event_id "
        "JOIN record_person AS rp "
        "  ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id "
        "WHERE rp.person_id = $person ORDER BY pl.place_id"
    ),
    "groups": (
        "SELECT g.group_id, g.source, g.group_type, g.name, gm.source_record_id, gm.role "
        "FROM group_member AS gm JOIN groups AS g "
        "  ON g.group_id = gm.group_id AND g.source = gm.source "
        "JOIN record_person AS rp "
        "  ON rp.source = gm.source AND rp.source_record_id = gm.source_record_id "
        "WHERE rp.person_id = $person ORDER BY g.group_id"
    ),
    "notes": (
        "SELECT n.* FROM note AS n JOIN record_person AS rp USING (source, source_record_id) "
        "WHERE rp.person_id = $person ORDER BY n.note_date, n.note_id"
    ),
}


def dossier_sql(section: str) -> str:
    return DOSSIER_SECTIONS[section]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def person_dossier(
    con: duckdb.DuckDBPyConnection,
    person_id: str,
    *,
    sources: Iterable[str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Every row held about ``person_id``, by section; ``sources`` limits the rows with a
    ``source`` column to those sources (the person section is kept whole)."""
    allowed = set(sources) if sources is not None else None
    out: dict[str, list[dict[str, Any]]] = {}
    for section, sql in DOSSIER_SECTIONS.items():
        try:
            cur = con.execute(sql, {"person": person_id})
        except duckdb.CatalogException:
            out[section] = []  # an older release without this table
            continue
        names = [d[0] for d in cur.description or []]
        rows = [dict(zip(names, map(_jsonable, r), strict=True)) for r in cur.fetchall()]
        if allowed is not None:
            rows = [r for r in rows if r.get("source") is None or r["source"] in allowed]
        out[section] = rows
    return out


def persons_by_agency_identifier_sql() -> str:
    """Persons with a record of agency $agency whose local id or record id is $value."""
    return (
        "SELECT DISTINCT rp.person_id FROM record AS r "
        "JOIN record_person AS rp USING (source, source_record_id) "
        "LEFT JOIN identity AS i USING (source, source_record_id) "
        "WHERE r.agency = $agency AND (r.source_record_id = $value OR i.local_id = $value) "
        "ORDER BY rp.person_id"
    )


def persons_by_agency_identifier(
    con: duckdb.DuckDBPyConnection, agency: str, value: str
) -> list[str]:
    rows = con.execute(persons_by_agency_identifier_sql(), {"agency": agency, "value": value})
    return [str(r[0]) for r in rows.fetchall()]
