"""Panel meetings at the operational tier (issue 18): the suggested agenda in words, and
the meeting pack, per agenda item, from the current release.

A pack item about a person holds their timeline (:func:`person_timeline`: no name, date
of birth or other agency's identifier; the viewer's own agency's references for its
records), the network groups and recorded groups they are in, the places of their
events (a residential address never named), and their notes scrubbed of names, dates
and identifiers (``note_scrubbed``; only notes whose tier the panel's tier may see). A
place item holds the place's label, type, area and the children seen there; a group item
its members. Callers (``joinedup.access.panel_access``) check membership and audit
every view before showing any of it.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from joinedup.disclosure.tiers import Tier
from joinedup.insight.agenda import AGENDA_RULES, Suggestion, suggest_agenda
from joinedup.release import list_releases, open_release
from joinedup.taxonomy import load_taxonomy
from joinedup.views.memo import file_key
from joinedup.views.release import (
    ReleaseLike,
    agency_names,
    operational_release,
)
from joinedup.views.timeline import person_timeline

__all__ = [
    "AGENDA_RULES",
    "agency_names",
    "agenda_links",
    "fact_text",
    "pack_item",
    "suggested_agenda",
]

_TIERS_SEEN = {"operational": ("operational", "strategic", "community")}


def _label(list_name: str, code: object) -> str:
    entry = load_taxonomy().lists.get(list_name, {}).get(str(code))
    return entry.label if entry is not None else str(code)


def fact_text(fact: dict[str, Any], agencies: dict[str, str]) -> str:
    """One recorded fact behind a suggestion, in words (no score, no judgement)."""
    rule = fact.get("rule")
    agency = agencies.get(str(fact.get("agency")), str(fact.get("agency")))
    if rule == "new_concern":
        types = ", ".join(_label("exploitation_type", t) for t in fact["exploitation_types"])
        role = _label("role", fact["role"]) if fact.get("role") else "role not recorded"
        return (
            f"{fact['date']}: {agency} recorded {_label('event_type', fact['event_type']).lower()}"
            f" ({types}); recorded role: {role.lower()}"
        )
    if rule == "three_agencies":
        return f"Known to {agency} since {fact['date']}"
    if rule == "repeat_missing":
        back = f", back {fact['end_date']}" if fact.get("end_date") else ", return not recorded"
        rhi = f"; return home interview: {fact['rhi']}" if fact.get("rhi") else ""
        return f"Missing episode from {fact['date']}{back}{rhi}"
    if rule == "new_group_member":
        return f"{fact['person_id']} is in {fact['group']} and was not at the last meeting"
    if rule == "top_place":
        return (
            f"Ranked {fact['rank']} by distinct children with a concern there in the year to "
            f"{fact['date']} ({fact['children']} children); not in the top at the last meeting"
        )
    if rule == "turning_18":
        types = ", ".join(_label("exploitation_type", t) for t in fact["exploitation_types"])
        return (
            f"Turns 18 in {fact['month']}; concerns recorded: {types} (latest "
            f"{fact['last_concern']}); no adult social care record"
        )
    return str(fact)


def _baseline(partnership_dir: Path, release_id: str | None, current: str) -> Any:
    """The release to compare group membership with: ``release_id`` when it is still
    kept, else the release before the current one; None if there is none."""
    try:
        if release_id and release_id != current:
            return open_release(partnership_dir, release_id)
        earlier = [h for h in list_releases(partnership_dir) if h.release_id < current]
        return earlier[-1] if earlier else None
    except Exception:  # a removed or unreadable release: the rule says so instead
        return None


# Suggestions are worked out from releases, which never change once built: remembered
# per (release file, baseline release file, since, as_of), the most recent first to go.
# The routes audit every view; remembering the rules' results skips none.
_AGENDA: OrderedDict[tuple[Any, ...], list[Suggestion]] = OrderedDict()
_AGENDA_LOCK = threading.Lock()
_AGENDA_CAPACITY = 32


def _file_key(handle: ReleaseLike | None) -> tuple[Any, ...] | None:
    if handle is None:
        return None
    return file_key(Path(getattr(handle, "db_path", ""))) or ("unreadable", None)  # noqa: B009


def _agenda_key(
    handle: ReleaseLike, base: ReleaseLike | None, since: dt.date, as_of: dt.date
) -> tuple[Any, ...]:
    return (_file_key(handle), _file_key(base), since, as_of)


def _remembered(key: tuple[Any, ...]) -> list[Suggestion] | None:
    if key[0] is None or key[0][1] is None:
        return None
    with _AGENDA_LOCK:
        if key in _AGENDA:
            _AGENDA.move_to_end(key)
            return copy.deepcopy(_AGENDA[key])
    return None


def _remember(key: tuple[Any, ...], found: list[Suggestion]) -> None:
    if key[0] is None or key[0][1] is None:
        return
    with _AGENDA_LOCK:
        _AGENDA[key] = copy.deepcopy(found)
        while len(_AGENDA) > _AGENDA_CAPACITY:
            _AGENDA.popitem(last=False)


def suggested_agenda(
    partnership_dir: Path,
    *,
    since: dt.date,
    as_of: dt.date,
    baseline_release: str | None = None,
    open_release_fn: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """The suggested agenda for a meeting on ``as_of`` (previous meeting ``since``),
    each entry with its rules and facts in words, from the current release at the
    operational tier. ``baseline_release`` is the release the previous meeting used."""
    names = agency_names(partnership_dir)
    with operational_release(partnership_dir, open_release=open_release_fn) as (handle, con, _):
        base = _baseline(partnership_dir, baseline_release, handle.release_id)
        key = _agenda_key(handle, base, since, as_of)
        found = _remembered(key)
        if found is None:
            base_con = base.connect() if base is not None else None
            try:
                found = suggest_agenda(con, since=since, as_of=as_of, baseline=base_con)
            finally:
                if base_con is not None:
                    base_con.close()
            _remember(key, found)
        release_id = handle.release_id
    return {
        "tier": Tier.OPERATIONAL.value,
        "release_id": release_id,
        "baseline_release": base.release_id if base is not None else None,
        "since": since.isoformat(),
        "as_of": as_of.isoformat(),
        "rules": AGENDA_RULES,
        "entries": [
            {
                "kind": s.kind,
                "subject": s.subject,
                "label": s.label,
                "rules": [{"rule": r, "label": AGENDA_RULES[r]} for r in s.rules],
                "facts": [{**f, "text": fact_text(f, names)} for f in s.facts],
            }
            for s in found
        ],
    }


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[Any]:
    try:
        return con.execute(sql, params).fetchall()
    except duckdb.CatalogException:
        return []


_PLACE_LABEL = (
    "coalesce(h.label, CASE WHEN pl.place_type IN ('home', 'other_residential') "
    "THEN 'Residential address' ELSE coalesce(pl.place_type, 'Place') END || ' in ' || "
    "coalesce(pl.small_area, 'unknown area'))"
)
_LABELS = "(SELECT DISTINCT place_id, label FROM place_hotspot WHERE time_window = 'all') h"


def _has_tables(con: duckdb.DuckDBPyConnection, *names: str) -> bool:
    found = con.execute(
        "SELECT count(DISTINCT table_name) FROM duckdb_tables() WHERE table_name IN "
        f"({', '.join('?' for _ in names)})",
        list(names),
    ).fetchall()[0][0]
    return int(found) == len(names)


def _person_sections(con: duckdb.DuckDBPyConnection, person_id: str, tier: str) -> dict[str, Any]:
    p = {"person": person_id}
    # the person-ordered tables (insight.person_index) where the release has them
    indexed = _has_tables(con, "person_record", "person_event")
    records = "person_record" if indexed else "record_person"
    events = (
        "SELECT DISTINCT event_id FROM person_event WHERE person_id = $person"
        if indexed
        else "SELECT DISTINCT ep.event_id FROM event_person ep JOIN record_person rp "
        "ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id "
        "WHERE rp.person_id = $person"
    )
    networks = [
        {
            "network_id": str(n),
            "role": str(r),
            "members": int(m),
            "children": int(c),
            "persons_of_concern": int(poc),
        }
        for n, r, m, c, poc in _rows(
            con,
            "SELECT nm.network_id, nm.role, g.members, g.children, g.persons_of_concern "
            "FROM network_member nm JOIN network_group g USING (network_id) "
            "WHERE nm.person_id = $person ORDER BY 1",
            p,
        )
    ]
    groups = [
        {"group_id": str(g), "name": str(n), "group_type": str(t), "role": r}
        for g, n, t, r in _rows(
            con,
            "SELECT DISTINCT g.group_id, coalesce(g.name, g.group_id), g.group_type, gm.role "
            f"FROM group_member gm JOIN groups g USING (group_id) JOIN {records} rp "
            "ON rp.source = gm.source AND rp.source_record_id = gm.source_record_id "
            "WHERE rp.person_id = $person ORDER BY 2",
            p,
        )
    ]
    places = [
        {"place_id": str(i), "label": str(lbl), "events": int(n), "first": str(a), "last": str(b)}
        for i, lbl, n, a, b in _rows(
            con,
            f"SELECT e.place_id, {_PLACE_LABEL}, count(DISTINCT e.event_id), min(e.event_date), "
            f"max(e.event_date) FROM ({events}) pe JOIN event e USING (event_id) "
            f"JOIN place pl ON pl.place_id = e.place_id LEFT JOIN {_LABELS} "
            "ON h.place_id = e.place_id GROUP BY 1, 2 ORDER BY 4",
            p,
        )
    ]
    seen = _TIERS_SEEN.get(tier, (tier,))
    notes = [
        {"month": str(m), "themes": [t for t in str(th or "").split(";") if t], "text": str(x)}
        for m, th, x, nt in _rows(
            con,
            "SELECT note_month, theme, text, tier FROM note_scrubbed "
            "WHERE person_id = $person ORDER BY note_month, note_id",
            p,
        )
        if str(nt) in seen
    ]
    return {"networks": networks, "groups": groups, "places": places, "notes": notes}


def _place_section(con: duckdb.DuckDBPyConnection, place_id: str) -> dict[str, Any] | None:
    p = {"place": place_id}
    row = _rows(
        con,
        f"SELECT {_PLACE_LABEL}, pl.place_type, pl.small_area FROM place pl LEFT JOIN {_LABELS} "
        "ON h.place_id = pl.place_id WHERE pl.place_id = $place",
        p,
    )
    if not row:
        return None
    label, ptype, area = row[0]
    children = [
        {"person_id": str(pid), "events": int(n), "last": str(d)}
        for pid, n, d in _rows(
            con,
            "SELECT person_id, count(DISTINCT event_id), max(event_date) FROM person_concern "
            "WHERE place_id = $place AND age_at_event < 18 AND role IS DISTINCT FROM 'witness' "
            "GROUP BY 1 ORDER BY 3 DESC, 1",
            p,
        )
    ]
    return {
        "label": str(label),
        "place_type": _label("place_type", ptype) if ptype else None,
        "small_area": area,
        "children": children,
    }


def _group_section(con: duckdb.DuckDBPyConnection, subject: str) -> dict[str, Any] | None:
    kind, _, key = subject.partition(":")
    if kind == "network":
        members = _rows(
            con,
            "SELECT person_id, role FROM network_member WHERE network_id = $g ORDER BY 2, 1",
            {"g": key},
        )
    else:
        members = _rows(
            con,
            "SELECT DISTINCT rp.person_id, gm.role FROM group_member gm JOIN record_person rp "
            "ON rp.source = gm.source AND rp.source_record_id = gm.source_record_id "
            "WHERE gm.group_id = $g ORDER BY 2, 1",
            {"g": key},
        )
    if not members:
        return None
    return {"members": [{"person_id": str(p), "role": str(r)} for p, r in members]}


def pack_item(
    partnership_dir: Path,
    *,
    kind: str,
    subject: str,
    viewer_agency: str,
    tier: str = "operational",
    open_release_fn: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """What the current release holds about one agenda item, for the pack: ``found``
    False when the person, place or group is not in it (ids can change between
    releases; the pack says so)."""
    out: dict[str, Any] = {"found": False}
    if kind in ("child", "person_of_concern"):
        timeline = person_timeline(
            partnership_dir,
            subject,
            tier=Tier.OPERATIONAL,
            viewer_agency=viewer_agency,
            open_release=open_release_fn,
        )
        if timeline is None:
            return out
        with operational_release(partnership_dir, open_release=open_release_fn) as (_, con, _s):
            sections = _person_sections(con, subject, tier)
        return {"found": True, "timeline": timeline, **sections}
    with operational_release(partnership_dir, open_release=open_release_fn) as (_, con, _s):
        section = _place_section(con, subject) if kind == "place" else _group_section(con, subject)
    return out if section is None else {"found": True, **section}


def agenda_links(
    meeting_label: str, items: Sequence[dict[str, Any]]
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str, str]]]:
    """The agenda and its network as i2 nodes (id, type, label) and edges (from, to,
    link type, date): the meeting to each item, and each person item to their network
    groups, recorded groups and places; a group item to its members."""
    nodes: dict[str, tuple[str, str, str]] = {}
    edges: list[tuple[str, str, str, str]] = []

    def node(nid: str, ntype: str, label: str) -> str:
        nodes.setdefault(nid, (nid, ntype, label))
        return nid

    meeting = node("meeting", "Meeting", meeting_label)
    for item in items:
        kind, subject = str(item["kind"]), str(item["subject"])
        ntype = {"child": "Person", "person_of_concern": "Person", "place": "Place"}.get(
            kind, "Group"
        )
        me = node(f"{ntype.lower()}:{subject}", ntype, str(item["label"]))
        edges.append((meeting, me, "On agenda", str(item.get("date") or "")))
        pack = item.get("pack") or {}
        for n in pack.get("networks", []):
            g = node(f"group:network:{n['network_id']}", "Group", f"Network {n['network_id']}")
            edges.append((me, g, f"Member ({n['role']})", ""))
        for g in pack.get("groups", []):
            gid = node(f"group:group:{g['group_id']}", "Group", str(g["name"]))
            edges.append((me, gid, "Member of recorded group", ""))
        for pl in pack.get("places", []):
            pid = node(f"place:{pl['place_id']}", "Place", str(pl["label"]))
            edges.append((me, pid, f"Events there ({pl['events']})", str(pl["last"])))
        for m in pack.get("members", []):
            pid = node(f"person:{m['person_id']}", "Person", str(m["person_id"]))
            edges.append((pid, me, f"Member ({m['role']})", ""))
        for c in pack.get("children", []):
            pid = node(f"person:{c['person_id']}", "Person", str(c["person_id"]))
            edges.append((pid, me, f"Concern events there ({c['events']})", str(c["last"])))
    return list(nodes.values()), edges
