"""One person's records across agencies on one timeline, for panels at the operational
tier; and the shape of a re-identification result.

:func:`person_timeline` returns what a panel member may see about one pseudonymous
person: their events from every agency in date order (date, agency, dataset, event type,
exploitation types, role, place type and area), which agencies know them, the flags on
their records and hints about the quality of what is joined up. No name, date of birth,
postcode or identifier from any agency, except the viewer's OWN agency's references for
its records (``docs/governance.md``). No score of any kind.

The caller must record the view with ``joinedup.access.audit_person_view`` before
showing it. Sources whose sharing agreements leave out the operational tier are removed
first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure.sharing import source_scope
from joinedup.disclosure.tiers import Tier, require_operational
from joinedup.taxonomy import Taxonomy, load_taxonomy
from joinedup.views.evidence import EVIDENCE_COLUMNS, evidence_sql
from joinedup.views.release import ReleaseLike, operational_release, partnership_config
from joinedup.views.voices import person_notes

__all__ = [
    "FLAG_MEANINGS",
    "IDENTIFYING_FIELDS",
    "person_timeline",
    "reidentification_view",
]

#: What each linkage flag means for the panel.
FLAG_MEANINGS: dict[str, str] = {
    "several_dates_of_birth": "The linked records give different dates of birth.",
    "too_large": "More records are linked to this person than one person usually has.",
    "two_nhs_numbers": "The linked records hold two different NHS numbers.",
    "two_upns": "The linked records hold two different unique pupil numbers.",
    "two_pnc_ids": "The linked records hold two different Police National Computer ids.",
    "reviewed_non_match_joined": (
        "A reviewer decided two of these records are different people, yet other links join them."
    ),
}
FLAG_ADVICE = "Records may belong to more than one person: check before acting."

#: Identifying fields shown on re-identification, in this order, with their labels.
IDENTIFYING_FIELDS: tuple[tuple[str, str], ...] = (
    ("forename", "Forename"),
    ("surname", "Surname"),
    ("preferred_name", "Preferred name"),
    ("dob", "Date of birth"),
    ("dob_estimated", "Date of birth estimated"),
    ("sex", "Sex"),
    ("postcode", "Postcode"),
    ("nhs_number", "NHS number"),
    ("upn", "Unique pupil number"),
    ("pnc_id", "PNC id"),
    ("local_id", "Agency's person id"),
    ("ethnicity", "Ethnicity"),
)

_EVENTS_SQL = """
SELECT e.event_id, e.event_date, e.end_date, e.source, e.agency, e.event_type, e.outcome,
       string_agg(DISTINCT ep.role, ';' ORDER BY ep.role) AS roles,
       (SELECT string_agg(DISTINCT x.exploitation_type, ';' ORDER BY x.exploitation_type)
        FROM event_exploitation AS x WHERE x.event_id = e.event_id) AS exploitation,
       pl.place_type, pl.small_area, pl.ward, pl.authority
FROM event AS e
JOIN event_person AS ep ON ep.event_id = e.event_id
JOIN record_person AS rp ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id
LEFT JOIN place AS pl ON pl.place_id = e.place_id
WHERE rp.person_id = $person
GROUP BY ALL
ORDER BY e.event_date NULLS LAST, e.source, e.event_type, e.event_id
"""

_AGENCIES_SQL = """
SELECT r.agency, count(*) AS records, min(r.record_date) AS first_date,
       max(r.record_date) AS last_date, count(*) FILTER (WHERE r.record_date IS NULL),
       count(*) FILTER (WHERE rp.rule = 'probabilistic'), min(rp.match_probability)
FROM record AS r JOIN record_person AS rp USING (source, source_record_id)
WHERE rp.person_id = $person GROUP BY r.agency ORDER BY min(r.record_date) NULLS LAST, r.agency
"""

_CONCERN_SQL = """
SELECT agency, min(event_date) FROM person_concern WHERE person_id = $person GROUP BY agency
"""

_OWN_SQL = """
SELECT r.source, r.source_record_id, i.local_id FROM record AS r
JOIN record_person AS rp USING (source, source_record_id)
LEFT JOIN identity AS i USING (source, source_record_id)
WHERE rp.person_id = $person AND r.agency = $agency ORDER BY r.source, r.source_record_id
"""


# The same from person_event and person_record (issue 16): stored in person order, so one
# person's rows are read without scanning every event and record. Releases built before
# those tables use the queries above.
_EVENTS_BY_PERSON_SQL = """
SELECT pe.event_id, pe.event_date, pe.end_date, pe.source, pe.agency, pe.event_type, pe.outcome,
       string_agg(DISTINCT pe.role, ';' ORDER BY pe.role) AS roles,
       (SELECT string_agg(DISTINCT x.exploitation_type, ';' ORDER BY x.exploitation_type)
        FROM event_exploitation AS x WHERE x.event_id = pe.event_id) AS exploitation,
       pl.place_type, pl.small_area, pl.ward, pl.authority
FROM person_event AS pe
LEFT JOIN place AS pl ON pl.place_id = pe.place_id
WHERE pe.person_id = $person
GROUP BY ALL
ORDER BY pe.event_date NULLS LAST, pe.source, pe.event_type, pe.event_id
"""

_AGENCIES_BY_PERSON_SQL = """
SELECT agency, count(*) AS records, min(record_date) AS first_date,
       max(record_date) AS last_date, count(*) FILTER (WHERE record_date IS NULL),
       count(*) FILTER (WHERE rule = 'probabilistic'), min(match_probability)
FROM person_record WHERE person_id = $person
GROUP BY agency ORDER BY min(record_date) NULLS LAST, agency
"""

_OWN_BY_PERSON_SQL = """
SELECT source, source_record_id FROM person_record
WHERE person_id = $person AND agency = $agency ORDER BY source, source_record_id
"""


def _by_person(
    con: duckdb.DuckDBPyConnection, fast: str, slow: str, params: dict[str, Any]
) -> list[Any]:
    """``fast`` (over person_event or person_record), or ``slow`` on an older release."""
    try:
        return con.execute(fast, params).fetchall()
    except duckdb.CatalogException:
        return con.execute(slow, params).fetchall()


def _own(
    con: duckdb.DuckDBPyConnection, person: dict[str, Any], agency: str
) -> list[tuple[Any, Any, Any]]:
    """The viewer agency's records of the person with the agency's own person id: found
    in person order, then their local ids looked up for those records alone."""
    params = {**person, "agency": agency}
    try:
        keys = con.execute(_OWN_BY_PERSON_SQL, params).fetchall()
    except duckdb.CatalogException:
        return con.execute(_OWN_SQL, params).fetchall()
    if not keys:
        return []
    sources = sorted({str(s) for s, _ in keys})
    ids = sorted({str(r) for _, r in keys})
    local = {
        (s, r): lid
        for s, r, lid in con.execute(
            "SELECT source, source_record_id, local_id FROM identity WHERE "
            f"source IN ({', '.join('?' * len(sources))}) AND "
            f"source_record_id IN ({', '.join('?' * len(ids))})",
            [*sources, *ids],
        ).fetchall()
    }
    return [(s, r, local.get((s, r))) for s, r in keys]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _label(list_name: str, code: object, taxonomy: Taxonomy | None = None) -> str | None:
    if code is None:
        return None
    entries = (taxonomy or load_taxonomy()).lists.get(list_name, {})
    entry = entries.get(str(code))
    return entry.label if entry is not None else str(code)


def _optional(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[Any]:
    try:
        return con.execute(sql, params).fetchall()
    except duckdb.CatalogException:
        return []  # a table of a later version, not in this (older) release


def _evidence_rows(
    rows: Iterable[Any],
    name: Callable[[object], str],
    datasets: dict[str, str],
    tax: Taxonomy,
) -> list[dict[str, Any]]:
    """Why the person counts (issue 14): each exploitation code behind their concern
    events, with the agency, dataset, field and column it came from, in words. Event ids
    stay out: they carry agencies' own record references."""
    out = []
    for row in rows:
        r = dict(zip(EVIDENCE_COLUMNS, row, strict=True))
        out.append(
            {
                "date": _text(r["event_date"]),
                "age_at_event": r["age_at_event"],
                "role": _text(r["role"]),
                "role_label": _label("role", r["role"], tax) or _text(r["role"]),
                "agency_name": name(r["agency"]),
                "dataset": datasets.get(str(r["source"]), str(r["source"])),
                "event_label": _label("event_type", r["event_type"], tax),
                "field": _text(r["field"]),
                "column_name": _text(r["column_name"]),
                "local_code": _text(r["local_code"]),
                "exploitation_type": _text(r["exploitation_type"]),
                "type_label": _label("exploitation_type", r["exploitation_type"], tax),
                "report_group": _text(r["report_group"]),
                "counted": bool(r["counted"]),
            }
        )
    return out


def _names(con: duckdb.DuckDBPyConnection, table: str, key: str, value: str) -> dict[str, str]:
    rows = _optional(con, f"SELECT {key}, {value} FROM {table}", {})
    return {str(k): str(v) for k, v in rows if k is not None and v is not None}


def person_timeline(
    partnership_dir: Path,
    person_id: str,
    *,
    tier: Tier,
    viewer_agency: str | None = None,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any] | None:
    """One person's timeline across agencies, or None when the current release (as the
    operational tier sees it) has no such person. ``viewer_agency``'s own references for
    its records are included; no other agency's identifiers are."""
    tier = require_operational(tier)
    config = config if config is not None else partnership_config(partnership_dir)
    agency_names = {a.id: a.name for a in config.agencies} if config is not None else {}
    p = {"person": person_id}
    with operational_release(partnership_dir, config=config, open_release=open_release) as (
        handle,
        con,
        scope,
    ):
        cur = con.execute(
            "SELECT age, age_band, sex, home_authority, first_seen, last_seen "
            "FROM person WHERE person_id = $person",
            p,
        )
        person = cur.fetchone()
        if person is None:
            return None
        datasets = _names(con, "source", "source", "dataset")
        areas = _names(con, "area", "area_code", "area_name")
        events = _by_person(con, _EVENTS_BY_PERSON_SQL, _EVENTS_SQL, p)
        agencies = _by_person(con, _AGENCIES_BY_PERSON_SQL, _AGENCIES_SQL, p)
        concern_first = {str(a): d for a, d in _optional(con, _CONCERN_SQL, p)}
        flags = _optional(
            con, "SELECT flag, detail FROM person_flag WHERE person_id = $person ORDER BY 1", p
        )
        changes = _optional(
            con,
            "SELECT change, records FROM person_change WHERE person_id = $person "
            "AND change IN ('merged', 'split') ORDER BY 1",
            p,
        )
        evidence = _optional(con, evidence_sql(), p)
        try:
            notes = person_notes(con, person_id)  # issue 20: their notes, scrubbed
        except duckdb.CatalogException:
            notes = []
        own = _own(con, p, viewer_agency) if viewer_agency else []
        release_id = handle.release_id
    age, age_band, sex, home, first_seen, last_seen = person

    def name(agency: object) -> str:
        return agency_names.get(str(agency), str(agency))

    tax = load_taxonomy()
    rows = []
    for eid, date, end, source, agency, etype, outcome, roles, expl, ptype, sa, ward, la in events:
        types = [x for x in str(expl or "").split(";") if x]
        role_codes = [x for x in str(roles or "").split(";") if x]
        mine = viewer_agency is not None and agency == viewer_agency
        rows.append(
            {
                "date": _text(date),
                "end_date": _text(end),
                "agency": str(agency),
                "agency_name": name(agency),
                "source": str(source),
                "dataset": datasets.get(str(source), str(source)),
                "event_type": str(etype),
                "event_label": _label("event_type", etype, tax),
                "exploitation": types,
                "exploitation_labels": [_label("exploitation_type", t, tax) for t in types],
                "concern": bool(types),
                "roles": role_codes,
                "role_labels": [_label("role", r, tax) for r in role_codes],
                "outcome": _text(outcome),
                "place_type": _label("place_type", ptype, tax),
                "small_area": _text(sa),
                "ward": areas.get(str(ward)) if ward else None,
                "authority": areas.get(str(la)) if la else None,
                "own_agency": mine,
                "reference": str(eid).split(":", 1)[-1] if mine else None,
            }
        )
    known = []
    unsure = 0
    lowest: float | None = None
    undated = 0
    for agency, n, first, last, no_date, prob, low in agencies:
        undated += int(no_date)
        unsure += int(prob)
        if prob and low is not None:
            lowest = float(low) if lowest is None else min(lowest, float(low))
        known.append(
            {
                "agency": str(agency),
                "name": name(agency),
                "records": int(n),
                "first_date": _text(first),
                "last_date": _text(last),
                "first_concern_date": _text(concern_first.get(str(agency))),
            }
        )
    records = sum(int(a[1]) for a in agencies)
    hints = _hints(rows, records, unsure, lowest, undated, changes, scope.note)
    return {
        "tier": tier.value,
        "release_id": release_id,
        "person_id": person_id,
        "person": {
            "age": age,
            "age_band": age_band,
            "sex": sex,
            "home_authority": areas.get(str(home)) if home else None,
            "first_seen": _text(first_seen),
            "last_seen": _text(last_seen),
        },
        "events": rows,
        "agencies": known,
        "flags": [
            {
                "flag": str(f),
                "meaning": FLAG_MEANINGS.get(str(f), "The linked records look wrong together."),
                "detail": _text(d),
                "advice": FLAG_ADVICE,
            }
            for f, d in flags
        ],
        "hints": hints,
        "evidence": _evidence_rows(evidence, name, datasets, tax),
        "notes": notes,
        "own_agency": viewer_agency,
        "own_references": [
            {"dataset": datasets.get(str(s), str(s)), "record": str(r), "local_id": _text(lid)}
            for s, r, lid in own
        ],
        "scope": scope.as_dict(),
    }


def _hints(
    rows: list[dict[str, Any]],
    records: int,
    unsure: int,
    lowest: float | None,
    undated: int,
    changes: Iterable[tuple[Any, Any]],
    scope_note: str | None,
) -> list[str]:
    """Plain-words notes on how far to trust what is joined up (counts of records)."""
    hints = []
    if unsure:
        low = f"; the lowest match probability is {lowest:.2f}" if lowest is not None else ""
        hints.append(
            f"{unsure} of {records} records were linked by the linkage model rather than by "
            f"a shared identifier{low}. Check them if a decision rests on them."
        )
    no_place = sum(1 for r in rows if r["place_type"] is None)
    if rows and no_place:
        hints.append(f"{no_place} of {len(rows)} events have no recorded place.")
    no_date = sum(1 for r in rows if r["date"] is None)
    if no_date:
        hints.append(f"{no_date} events have no date: they are listed last and not drawn.")
    if undated:
        hints.append(f"{undated} records have no date.")
    for change, n in changes:
        word = "merged with another person's" if change == "merged" else "split from another"
        hints.append(
            f"Since the previous release this person's records were {word} "
            f"({n} records): ids used before may now point elsewhere."
        )
    if scope_note:
        hints.append(scope_note)
    return hints


def reidentification_view(
    by_agency: dict[str, list[dict[str, Any]]],
    partnership_dir: Path,
    *,
    config: PartnershipConfig | None = None,
) -> list[dict[str, Any]]:
    """The identifying fields of ``joinedup.access.reidentify``'s answer, laid out per
    agency for a page: each different way the agency recorded the person once, with the
    records that hold it. Sources the operational tier may not use are left out."""
    config = config if config is not None else partnership_config(partnership_dir)
    excluded = source_scope(config, Tier.OPERATIONAL).excluded_ids
    names = {a.id: a.name for a in config.agencies} if config is not None else {}
    datasets = {s.id: s.dataset for s in config.sources} if config is not None else {}
    out = []
    for agency in sorted(by_agency):
        versions: dict[tuple[tuple[str, str | None], ...], dict[str, Any]] = {}
        for row in by_agency[agency]:
            source = str(row.get("source"))
            if source in excluded:
                continue
            key = tuple((k, _text(row.get(k))) for k, _ in IDENTIFYING_FIELDS)
            version = versions.setdefault(
                key,
                {
                    "fields": [
                        {"field": k, "label": label, "value": _text(row.get(k))}
                        for k, label in IDENTIFYING_FIELDS
                        if row.get(k) is not None
                    ],
                    "records": [],
                },
            )
            version["records"].append(
                {
                    "source": source,
                    "dataset": datasets.get(source, source),
                    "record": _text(row.get("source_record_id")),
                }
            )
        if versions:
            out.append(
                {
                    "agency": agency,
                    "name": names.get(agency, agency),
                    "versions": list(versions.values()),
                }
            )
    return out
