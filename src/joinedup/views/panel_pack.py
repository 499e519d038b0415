"""The meeting pack and the panel's own page, as one model for the web page, its JSON
twin, the PDF and the i2 export (issue 18).

Per agenda item: why it is there (the reason and the recorded facts), what the current
release holds about it (:func:`joinedup.views.panels.pack_item`), what this meeting
decided and agreed, and what earlier meetings of the panel decided and agreed about the
same child, place or group (carried forward). Actions still open from earlier meetings
are listed too, overdue ones marked. Marked OFFICIAL-SENSITIVE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joinedup.state.panels import (
    ActionRecord,
    DecisionRecord,
    MeetingRecord,
    PanelRecord,
    Panels,
)
from joinedup.views.panels import agency_names, fact_text, pack_item
from joinedup.views.release import ReleaseLike

__all__ = ["MARKING", "action_dict", "decision_dict", "meeting_pack", "panel_page"]

#: The Government Security Classification marking of every pack, page and file.
MARKING = "OFFICIAL-SENSITIVE"


def decision_dict(d: DecisionRecord) -> dict[str, Any]:
    return {
        "id": d.id,
        "stage": d.stage,
        "concern_level": d.concern_level,
        "disruption": d.disruption,
        "summary": d.summary,
        "decided_by": d.decided_by,
        "decided_at": d.decided_at.strftime("%Y-%m-%d %H:%M"),
    }


def action_dict(a: ActionRecord, today: dt.date, agencies: dict[str, str]) -> dict[str, Any]:
    return {
        "id": a.id,
        "description": a.description,
        "owner_agency": a.owner_agency,
        "owner_name": agencies.get(a.owner_agency, a.owner_agency),
        "due_on": a.due_on.isoformat(),
        "status": a.status,
        "overdue": a.overdue(today),
        "href": f"/actions/{a.id}",
    }


def _meeting_dict(m: MeetingRecord) -> dict[str, Any]:
    return {
        "id": m.id,
        "held_on": m.held_on.isoformat(),
        "since": m.since.isoformat(),
        "release_id": m.release_id,
        "href": f"/meetings/{m.id}",
    }


def _panel_dict(p: PanelRecord, agencies: dict[str, str]) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "agencies": [{"id": a, "name": agencies.get(a, a)} for a in p.agencies],
        "cadence_days": p.cadence_days,
        "tier": p.tier,
        "agreement": p.agreement,
        "retention_days": p.retention_days,
        "chairs": p.chairs,
        "members": [
            {"username": u, "agency": agencies.get(a, a), "role": r}
            for u, (a, r) in sorted(p.members.items())
        ],
        "href": f"/panels/{p.id}",
    }


def _open_earlier_actions(
    store: Panels, panel: PanelRecord, before: MeetingRecord | None
) -> list[tuple[MeetingRecord, Any, ActionRecord]]:
    meetings = store.meetings(panel.id)
    if before is not None:
        meetings = [m for m in meetings if (m.held_on, m.id) < (before.held_on, before.id)]
    out: list[tuple[MeetingRecord, Any, ActionRecord]] = []
    for m in meetings:
        items = store.items(m.id)
        acts = store.actions(i.id for i in items)
        for item in items:
            out.extend((m, item, a) for a in acts[item.id] if a.status == "open")
    return out


def panel_page(
    partnership_dir: Path, *, store: Panels, panel: PanelRecord, viewer: str, today: dt.date
) -> dict[str, Any]:
    """A panel: members, meetings, and its open actions (overdue ones for the chair)."""
    agencies = agency_names(partnership_dir)
    chair = viewer in panel.chairs
    open_actions = [
        {
            **action_dict(a, today, agencies),
            "meeting": m.held_on.isoformat(),
            "item": item.label,
        }
        for m, item, a in _open_earlier_actions(store, panel, None)
    ]
    return {
        "tier": "operational",
        "marking": MARKING,
        "panel": _panel_dict(panel, agencies),
        "is_chair": chair,
        "meetings": [_meeting_dict(m) for m in reversed(store.meetings(panel.id))],
        "open_actions": open_actions,
        "overdue": [a for a in open_actions if a["overdue"]] if chair else [],
        "today": today.isoformat(),
    }


def meeting_pack(
    partnership_dir: Path,
    *,
    store: Panels,
    panel: PanelRecord,
    meeting: MeetingRecord,
    viewer: str,
    viewer_agency: str,
    today: dt.date,
    with_release: bool = True,
    open_release_fn: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """The pack of one meeting (``with_release`` False leaves out what the release
    holds: the agenda, decisions and actions only)."""
    agencies = agency_names(partnership_dir)
    items = store.items(meeting.id)
    decisions = store.decisions(i.id for i in items)
    actions = store.actions(i.id for i in items)
    earlier = store.earlier_items(meeting)
    e_dec = store.decisions(i.id for _, i in earlier)
    e_act = store.actions(i.id for _, i in earlier)
    out_items = []
    persons: list[str] = []
    release_id = None
    for item in items:
        pack: dict[str, Any] = (
            pack_item(
                partnership_dir,
                kind=item.kind,
                subject=item.subject,
                viewer_agency=viewer_agency,
                tier=panel.tier,
                open_release_fn=open_release_fn,
            )
            if with_release
            else {"found": False}
        )
        if pack.get("timeline"):
            release_id = pack["timeline"]["release_id"]
        if item.kind in ("child", "person_of_concern"):
            persons.append(item.subject)
        history = [
            {
                "meeting": m.held_on.isoformat(),
                "meeting_href": f"/meetings/{m.id}",
                "decisions": [decision_dict(d) for d in e_dec[i.id]],
                "actions": [action_dict(a, today, agencies) for a in e_act[i.id]],
            }
            for m, i in earlier
            if (i.kind, i.subject) == (item.kind, item.subject)
        ]
        out_items.append(
            {
                "id": item.id,
                "kind": item.kind,
                "subject": item.subject,
                "label": item.label,
                "reason": item.reason,
                "rules": list(item.rules),
                "facts": [{**f, "text": fact_text(f, agencies)} for f in item.facts],
                "added_by": item.added_by,
                "date": meeting.held_on.isoformat(),
                "pack": pack,
                "decisions": [decision_dict(d) for d in decisions[item.id]],
                "actions": [action_dict(a, today, agencies) for a in actions[item.id]],
                "earlier": history,
            }
        )
    carried = [
        {**action_dict(a, today, agencies), "meeting": m.held_on.isoformat(), "item": i.label}
        for m, i, a in _open_earlier_actions(store, panel, meeting)
    ]
    previous = store.previous_meeting(meeting)
    return {
        "tier": "operational",
        "marking": MARKING,
        "panel": _panel_dict(panel, agencies),
        "meeting": _meeting_dict(meeting),
        "previous_meeting": _meeting_dict(previous) if previous is not None else None,
        "is_chair": viewer in panel.chairs,
        "viewer_agency": agencies.get(viewer_agency, viewer_agency),
        "items": out_items,
        "carried_actions": carried,
        "overdue": [a for a in carried if a["overdue"]],
        "persons": sorted(set(persons)),
        "release_id": release_id or meeting.release_id,
        "today": today.isoformat(),
        "agencies": [{"id": k, "name": v} for k, v in sorted(agencies.items())],
    }
