"""Panel decisions and actions as events of the next release (issue 18, item 4).

A panel discusses children and persons of concern and agrees actions (app state,
``joinedup.state.panels``). So that figures can show how many children were discussed,
what was done and what was recorded afterwards, every build takes an extract of those
outcomes from the app state and adds them to the release as events:

- ``panel_discussion``: one per agenda item about a person, of a meeting held on or
  before the build's day; dated the meeting's day; ``outcome`` the MSET stage of the
  item's latest recorded decision (empty when none was recorded); ``detail``
  ``disruption`` when a decision recorded disruption activity; the person's role
  ``subject`` for a child on the agenda, ``person_of_concern`` for a person of concern.
- ``panel_action``: one per action agreed on such an item; dated the meeting's day;
  ``outcome`` its status (open, done, cancelled); ``detail`` the owner agency.

Events carry source ``panel_outcomes`` and agency ``panel``, and never the panel's free
text (summaries, disruption activity, the level of concern in the panel's words, action
descriptions): those stay in the panel's own records.

**Joined to the person by a recorded reference.** An agenda item names a person by
their pseudonymous id *in the release the meeting used*. The extract carries that
release's record references for the person (``source``, ``source_record_id``: the
agency records the panel saw), and the event's ``event_person`` row points at the first
of them still in the new release, so the event follows the person's records through
relinking exactly as the agencies' own events do. No new ``record`` is made: a panel is
not an agency, so a child discussed is not "known to one more agency". When the meeting's
release is gone (deleted under retention), the previous release lends the references;
when none of the person's records is left (retention, an objection), the outcome is not
added, and the count of such outcomes is in ``lineage`` (kind ``input``, name
``app state: panel outcomes``) beside the extract's SHA-256: never silently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from joinedup.errors import JoinedupError
from joinedup.pipeline.context import BuildContext, previous_release
from joinedup.release.store import open_release

__all__ = [
    "PANEL_AGENCY",
    "PANEL_SOURCE",
    "LINEAGE_NAME",
    "PanelOutcome",
    "add_panel_events",
    "panel_outcomes",
]

PANEL_SOURCE = "panel_outcomes"
PANEL_AGENCY = "panel"
LINEAGE_NAME = "app state: panel outcomes"
_PERSON_KINDS = ("child", "person_of_concern")


@dataclass(frozen=True)
class PanelOutcome:
    """One row of the extract: an event about one person, from the panel's records."""

    row_id: str  # i<item id> for a discussion, a<action id> for an action
    event_type: str
    event_date: dt.date
    outcome: str | None
    detail: str | None
    person_id: str  # in the meeting's release
    release_id: str | None  # the release the meeting's agenda was prepared from
    role: str = "subject"  # subject (a child on the agenda) or person_of_concern

    def as_dict(self) -> dict[str, Any]:
        return {
            "row_id": self.row_id,
            "event_type": self.event_type,
            "event_date": self.event_date.isoformat(),
            "outcome": self.outcome,
            "detail": self.detail,
            "person_id": self.person_id,
            "release_id": self.release_id,
            "role": self.role,
        }


def _state_exists(partnership_dir: Path) -> bool:
    from joinedup.state import STATE_DIR, STATE_FILE, state_url

    url = state_url(partnership_dir)
    return not url.startswith("sqlite") or (partnership_dir / STATE_DIR / STATE_FILE).exists()


def panel_outcomes(partnership_dir: Path, *, day: dt.date) -> list[PanelOutcome]:
    """The extract: every discussion and action about a person at meetings held on or
    before ``day``. A build never creates the app state: none, no outcomes."""
    from joinedup.state import open_state
    from joinedup.state.panels import Panels

    base = Path(partnership_dir)
    if not _state_exists(base):
        return []
    out: list[PanelOutcome] = []
    with open_state(base) as state:
        store = Panels(state.session)
        for panel in store.all_panels():
            for meeting in store.meetings(panel.id):
                if meeting.held_on > day:
                    continue
                items = [i for i in store.items(meeting.id) if i.kind in _PERSON_KINDS]
                decisions = store.decisions(i.id for i in items)
                actions = store.actions(i.id for i in items)
                for item in items:
                    made = decisions.get(item.id, [])
                    role = "subject" if item.kind == "child" else "person_of_concern"
                    out.append(
                        PanelOutcome(
                            f"i{item.id}",
                            "panel_discussion",
                            meeting.held_on,
                            made[-1].stage if made else None,
                            "disruption" if any(d.disruption for d in made) else None,
                            item.subject,
                            meeting.release_id,
                            role,
                        )
                    )
                    out.extend(
                        PanelOutcome(
                            f"a{a.id}",
                            "panel_action",
                            meeting.held_on,
                            a.status,
                            a.owner_agency,
                            item.subject,
                            meeting.release_id,
                            role,
                        )
                        for a in actions.get(item.id, [])
                    )
    return out


def _release_path(partnership_dir: Path, release_id: str | None) -> Path | None:
    if not release_id:
        return None
    try:
        path = open_release(partnership_dir, release_id).db_path
    except (JoinedupError, OSError):  # deleted under retention: the fallback lends
        return None
    return path if path.is_file() else None


def _references(
    con: duckdb.DuckDBPyConnection, db: Path, persons: list[str]
) -> dict[str, list[tuple[str, str]]]:
    """Each person's records (source, source_record_id) in the release at ``db``."""
    path = str(db).replace("'", "''")
    con.execute(f"ATTACH '{path}' AS _ju_panel_ref (READ_ONLY)")
    try:
        rows = con.execute(
            "SELECT person_id, source, source_record_id FROM _ju_panel_ref.record_person "
            "WHERE person_id IN (SELECT unnest(?::VARCHAR[])) "
            "ORDER BY person_id, source, source_record_id",
            [persons],
        ).fetchall()
    finally:
        con.execute("DETACH _ju_panel_ref")
    refs: dict[str, list[tuple[str, str]]] = {}
    for pid, source, rid in rows:
        refs.setdefault(str(pid), []).append((str(source), str(rid)))
    return refs


def add_panel_events(ctx: BuildContext) -> None:
    """The build's ``panels`` stage: outcomes from the app state become events (above)."""
    con = ctx.con
    outcomes = panel_outcomes(ctx.partnership_dir, day=ctx.now.date())
    digest = hashlib.sha256(
        json.dumps([o.as_dict() for o in outcomes], sort_keys=True).encode("utf-8")
    ).hexdigest()
    placed = _place(ctx, outcomes)
    for o, ref in placed:
        event_id = f"{PANEL_SOURCE}:{o.row_id}"
        con.execute(
            "INSERT INTO event (event_id, source, agency, event_type, event_date, outcome, "
            "county_lines, detail) VALUES (?, ?, ?, ?, ?, ?, false, ?)",
            [event_id, PANEL_SOURCE, PANEL_AGENCY, o.event_type, o.event_date, o.outcome, o.detail],
        )
        con.execute(
            "INSERT INTO event_person (event_id, source, source_record_id, role) "
            "VALUES (?, ?, ?, ?)",
            [event_id, ref[0], ref[1], o.role],
        )
    missing = len(outcomes) - len(placed)
    con.execute(
        "INSERT INTO lineage (kind, name, sha256, rows, detail) VALUES ('input', ?, ?, ?, ?)",
        [
            LINEAGE_NAME,
            digest,
            len(outcomes),
            f"{len(placed)} added as events; {missing} not added: none of the person's "
            "records is in this release",
        ],
    )


def _place(
    ctx: BuildContext, outcomes: list[PanelOutcome]
) -> list[tuple[PanelOutcome, tuple[str, str]]]:
    """Each outcome with the record its event hangs on: the first of the person's
    records (in the meeting's release, else the previous one) still in this release."""
    if not outcomes:
        return []
    con = ctx.con
    present = {
        (str(s), str(r))
        for s, r in con.execute("SELECT source, source_record_id FROM record_person").fetchall()
    }
    previous = previous_release(ctx.partnership_dir)
    fallback = previous[1] if previous is not None else None
    paths = {
        rid: _release_path(ctx.partnership_dir, rid) or fallback
        for rid in {o.release_id for o in outcomes}
    }
    by_release: dict[Path | None, set[str]] = {}
    for o in outcomes:
        by_release.setdefault(paths[o.release_id], set()).add(o.person_id)
    refs: dict[tuple[Path | None, str], list[tuple[str, str]]] = {}
    for path, persons in by_release.items():
        if path is None:
            continue
        for pid, found in _references(con, path, sorted(persons)).items():
            refs[(path, pid)] = found
    # a person id the new release kept (ids are stable across releases) as a last resort
    own = {
        str(pid): (str(source), str(rid))
        for pid, source, rid in con.execute(
            "SELECT person_id, arg_min(source, (source, source_record_id)), "
            "arg_min(source_record_id, (source, source_record_id)) FROM record_person "
            "WHERE person_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY person_id",
            [sorted({o.person_id for o in outcomes})],
        ).fetchall()
    }
    out = []
    for o in outcomes:
        found = refs.get((paths[o.release_id], o.person_id), [])
        ref = next((r for r in found if r in present), None)
        if ref is None:
            ref = own.get(o.person_id)
        if ref is not None:
            out.append((o, ref))
    return out
