"""The suggested agenda of a panel meeting: who and what to discuss, with the recorded
facts that put each entry there (issue 18). Raw facts, no score: professional judgement
decides; ``joinedup.views.panels`` words them for the pack.

Every rule looks at what is recorded in a release between ``since`` (the panel's previous
meeting) and ``as_of`` (this meeting's day), "after since" meaning strictly later:

- ``new_concern``: a child (under 18 on the event's date) on an event with an
  exploitation type, in any role but witness, dated after ``since``;
- ``three_agencies``: a child (under 18 at the release's reference date) with a concern
  on record who became known to a third agency after ``since`` (the third agency's first
  record is dated after ``since``);
- ``repeat_missing``: a child with :data:`REPEAT_MISSING_EPISODES` or more missing
  episodes starting in the :data:`REPEAT_MISSING_DAYS` days up to ``as_of``, at least one
  of them after ``since``;
- ``new_group_member``: a person in a network group (or a group a source records) who was
  not in it in the ``baseline`` release (the release the previous meeting was prepared
  from): for a network group, a member who shared no network with any of its other
  members in the baseline;
- ``top_place``: a place in the top :data:`TOP_PLACES` places of concern (distinct
  children, the ranking of ``joinedup.insight.places``) for the year up to ``as_of`` that
  was not in the top for the year up to ``since``;
- ``turning_18``: a child with a concern whose 18th birthday (from the date of birth most
  often recorded) falls within :data:`TURNING_18_DAYS` days after ``as_of`` and whom no
  adult social care source records.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb

from joinedup.insight.places import hotspot_sql

__all__ = [
    "AGENDA_RULES",
    "REPEAT_MISSING_DAYS",
    "REPEAT_MISSING_EPISODES",
    "TOP_PLACES",
    "TURNING_18_DAYS",
    "Suggestion",
    "suggest_agenda",
]

REPEAT_MISSING_EPISODES = 3
REPEAT_MISSING_DAYS = 90
TOP_PLACES = 10
TURNING_18_DAYS = 183  # six months

#: Rule code -> what it finds, in words (the pack and docs/panels.md use these).
AGENDA_RULES: dict[str, str] = {
    "new_concern": "A new exploitation concern since the last meeting",
    "three_agencies": "Known to three or more agencies for the first time",
    "repeat_missing": (
        f"{REPEAT_MISSING_EPISODES} or more missing episodes in {REPEAT_MISSING_DAYS} days"
    ),
    "new_group_member": "A new member of a network group",
    "top_place": f"A place that entered the top {TOP_PLACES} places of concern",
    "turning_18": "Turns 18 within six months with a concern and no adult services record",
}

_CHILD = "age_at_event < 18 AND role IS DISTINCT FROM 'witness'"


@dataclass
class Suggestion:
    """One entry of the suggested agenda: a child, place or group, the rules that put it
    there and the recorded facts behind each (raw: dates, agencies, codes, counts)."""

    kind: str  # child, person_of_concern, place, group
    subject: str
    label: str
    rules: list[str] = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)

    def add(self, rule: str, fact: dict[str, Any]) -> None:
        if rule not in self.rules:
            self.rules.append(rule)
        self.facts.append({"rule": rule, **fact})


def _iso(value: object) -> str | None:
    return None if value is None else str(value)


def _new_concern(con: duckdb.DuckDBPyConnection, p: dict[str, Any]) -> list[tuple[Any, ...]]:
    return con.execute(
        "SELECT person_id, event_id, event_date, agency, event_type, role, "
        "string_agg(DISTINCT exploitation_type, ';' ORDER BY exploitation_type) "
        f"FROM person_concern WHERE {_CHILD} AND event_date > $since AND event_date <= $as_of "
        "GROUP BY ALL ORDER BY person_id, event_date, event_id",
        p,
    ).fetchall()


def _three_agencies(con: duckdb.DuckDBPyConnection, p: dict[str, Any]) -> list[tuple[Any, ...]]:
    return con.execute(
        "WITH firsts AS (SELECT pa.person_id, pa.agency, pa.first_date, row_number() OVER "
        "  (PARTITION BY pa.person_id ORDER BY pa.first_date, pa.agency) AS k "
        "  FROM person_agency pa JOIN person pe USING (person_id) "
        "  WHERE pe.age < 18 AND pa.first_date IS NOT NULL "
        f"  AND pa.person_id IN (SELECT person_id FROM person_concern WHERE {_CHILD})), "
        "third AS (SELECT person_id FROM firsts WHERE k = 3 "
        "  AND first_date > $since AND first_date <= $as_of) "
        "SELECT f.person_id, f.agency, f.first_date FROM firsts f JOIN third USING (person_id) "
        "WHERE f.first_date <= $as_of ORDER BY f.person_id, f.k",
        p,
    ).fetchall()


def _repeat_missing(con: duckdb.DuckDBPyConnection, p: dict[str, Any]) -> list[tuple[Any, ...]]:
    return con.execute(
        "WITH w AS (SELECT * FROM missing_episode WHERE age_at_event < 18 "
        f"  AND start_date > $as_of - INTERVAL {REPEAT_MISSING_DAYS} DAY "
        "  AND start_date <= $as_of), "
        "who AS (SELECT person_id FROM w GROUP BY 1 "
        f"  HAVING count(*) >= {REPEAT_MISSING_EPISODES} AND max(start_date) > $since) "
        "SELECT w.person_id, w.event_id, w.start_date, w.end_date, w.rhi_outcome "
        "FROM w JOIN who USING (person_id) ORDER BY w.person_id, w.start_date, w.event_id",
        p,
    ).fetchall()


def _turning_18(con: duckdb.DuckDBPyConnection, p: dict[str, Any]) -> list[tuple[Any, ...]]:
    return con.execute(
        "WITH dobs AS (SELECT rp.person_id, i.dob, count(*) AS n FROM identity i "
        "  JOIN record_person rp USING (source, source_record_id) WHERE i.dob IS NOT NULL "
        "  GROUP BY 1, 2), "
        "best AS (SELECT person_id, dob, row_number() OVER "
        "  (PARTITION BY person_id ORDER BY n DESC, dob) AS k FROM dobs), "
        "turning AS (SELECT person_id, CAST(dob + INTERVAL 18 YEAR AS DATE) AS eighteen "
        "  FROM best WHERE k = 1), "
        "adult AS (SELECT DISTINCT person_id FROM person_agency "
        "  WHERE agency_type = 'adult_social_care') "
        "SELECT t.person_id, strftime(t.eighteen, '%Y-%m'), "
        "  string_agg(DISTINCT c.exploitation_type, ';' ORDER BY c.exploitation_type), "
        "  max(c.event_date) "
        "FROM turning t JOIN person_concern c USING (person_id) "
        "WHERE c.age_at_event < 18 AND c.role IS DISTINCT FROM 'witness' AND t.eighteen > $as_of "
        f"AND t.eighteen <= $as_of + INTERVAL {TURNING_18_DAYS} DAY "
        "AND t.person_id NOT IN (SELECT person_id FROM adult) "
        "GROUP BY 1, 2 ORDER BY 1",
        {"as_of": p["as_of"]},
    ).fetchall()


def _top_places(con: duckdb.DuckDBPyConnection, end: dt.date) -> dict[str, tuple[int, str, int]]:
    start = end - dt.timedelta(days=364)
    rows = con.execute(
        f"SELECT place_rank, place_id, label, children FROM ({hotspot_sql('agenda', start, end)}) "
        "h(w, ranking, place_rank, place_id, label, area_label, named, place_type, residential, "
        "small_area, ward, authority, children, poc, events, first_date, last_date) "
        f"WHERE ranking = 'concern' AND place_rank <= {TOP_PLACES}"
    ).fetchall()
    return {str(pid): (int(rank), str(label), int(kids)) for rank, pid, label, kids in rows}


def _networks(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """network id -> {person id: role}."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for nid, pid, role in con.execute(
        "SELECT network_id, person_id, role FROM network_member"
    ).fetchall():
        out[str(nid)][str(pid)] = str(role)
    return out


def _recorded_groups(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], set[str]]:
    """(group id, name) -> person ids."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for gid, name, pid in con.execute(
        "SELECT g.group_id, coalesce(g.name, g.group_id), rp.person_id FROM group_member gm "
        "JOIN groups g USING (group_id) JOIN record_person rp "
        "ON rp.source = gm.source AND rp.source_record_id = gm.source_record_id"
    ).fetchall():
        out[(str(gid), str(name))].add(str(pid))
    return out


def _new_members(
    current: dict[str, dict[str, str]], baseline: dict[str, dict[str, str]]
) -> dict[str, list[str]]:
    """Per current network, members who shared no baseline network with any other
    current member of it."""
    together: dict[str, set[str]] = defaultdict(set)
    for members in baseline.values():
        for pid in members:
            together[pid] |= set(members) - {pid}
    out: dict[str, list[str]] = {}
    for nid, members in current.items():
        new = sorted(p for p in members if not (together.get(p, set()) & (set(members) - {p})))
        if new:
            out[nid] = new
    return out


def suggest_agenda(
    con: duckdb.DuckDBPyConnection,
    *,
    since: dt.date,
    as_of: dt.date,
    baseline: duckdb.DuckDBPyConnection | None = None,
) -> list[Suggestion]:
    """Every entry the rules suggest for a meeting on ``as_of`` whose previous meeting
    was on ``since``, children first, then groups and places; each with its facts."""
    if since >= as_of:
        raise ValueError("since must be before as_of")
    p = {"since": since, "as_of": as_of}
    found: dict[tuple[str, str], Suggestion] = {}

    def entry(kind: str, subject: str, label: str | None = None) -> Suggestion:
        key = (kind, subject)
        if key not in found:
            found[key] = Suggestion(kind, subject, label or subject)
        return found[key]

    for pid, eid, date, agency, etype, role, types in _new_concern(con, p):
        entry("child", str(pid)).add(
            "new_concern",
            {
                "event_id": str(eid),
                "date": _iso(date),
                "agency": str(agency),
                "event_type": str(etype),
                "role": _iso(role),
                "exploitation_types": [t for t in str(types or "").split(";") if t],
            },
        )
    for pid, agency, first in _three_agencies(con, p):
        entry("child", str(pid)).add("three_agencies", {"agency": str(agency), "date": _iso(first)})
    for pid, eid, start, end, rhi in _repeat_missing(con, p):
        entry("child", str(pid)).add(
            "repeat_missing",
            {"event_id": str(eid), "date": _iso(start), "end_date": _iso(end), "rhi": _iso(rhi)},
        )
    for pid, month, types, last in _turning_18(con, p):
        entry("child", str(pid)).add(
            "turning_18",
            {
                "month": str(month),
                "exploitation_types": [t for t in str(types or "").split(";") if t],
                "last_concern": _iso(last),
            },
        )
    if baseline is not None:
        for nid, new in sorted(_new_members(_networks(con), _networks(baseline)).items()):
            group = entry("group", f"network:{nid}", f"Network group {nid}")
            for pid in new:
                group.add("new_group_member", {"person_id": pid, "group": nid})
        before = _recorded_groups(baseline)
        for (gid, name), members in sorted(_recorded_groups(con).items()):
            for pid in sorted(members - before.get((gid, name), set())):
                entry("group", f"group:{gid}", name).add(
                    "new_group_member", {"person_id": pid, "group": name}
                )
    then = _top_places(con, since)
    for pid, (rank, label, kids) in sorted(_top_places(con, as_of).items(), key=lambda x: x[1]):
        if pid not in then:
            entry("place", pid, label).add(
                "top_place", {"rank": rank, "children": kids, "date": as_of.isoformat()}
            )
    order = {"child": 0, "person_of_concern": 1, "group": 2, "place": 3}
    return sorted(found.values(), key=lambda s: (order[s.kind], s.subject))
