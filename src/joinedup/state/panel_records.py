"""The records of panels, meetings, agenda items, decisions and actions (issue 18), as
``joinedup.state.panels.Panels`` returns them, and the values their fields take."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from joinedup.errors import JoinedupError

__all__ = [
    "ACTION_STATUSES",
    "ITEM_KINDS",
    "MSET_STAGES",
    "ActionRecord",
    "AgendaItemRecord",
    "DecisionRecord",
    "MeetingRecord",
    "PanelError",
    "PanelRecord",
    "action_record",
    "date_value",
    "decision_record",
    "item_record",
    "meeting_record",
    "now_utc",
    "panel_record",
    "text_value",
]

#: What an agenda item can be about.
ITEM_KINDS = ("child", "person_of_concern", "place", "group")
#: The stages of the MSET process a decision records.
MSET_STAGES = ("screening", "assessment", "safeguarding", "disruption", "review")
ACTION_STATUSES = ("open", "done", "cancelled")


class PanelError(JoinedupError):
    """A panel record could not be kept: the message names the field and the fix."""


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def date_value(value: dt.date | str, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise PanelError(f"{name} must be a date written YYYY-MM-DD.") from None


def text_value(value: str | None, name: str, *, limit: int = 4000, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise PanelError(f"Give the {name}.")
    if len(text) > limit:
        raise PanelError(f"The {name} is longer than {limit} characters; shorten it.")
    return text


@dataclass(frozen=True)
class PanelRecord:
    id: int
    name: str
    agencies: tuple[str, ...]
    cadence_days: int
    tier: str
    agreement: str
    retention_days: int
    created_by: str
    members: dict[str, tuple[str, str]] = field(default_factory=dict)  # user -> (agency, role)

    @property
    def chairs(self) -> list[str]:
        return sorted(u for u, (_, role) in self.members.items() if role == "chair")


@dataclass(frozen=True)
class MeetingRecord:
    id: int
    panel_id: int
    held_on: dt.date
    since: dt.date
    release_id: str | None
    created_by: str


@dataclass(frozen=True)
class DecisionRecord:
    id: int
    item_id: int
    stage: str
    concern_level: str
    disruption: str
    summary: str
    decided_by: str
    decided_at: dt.datetime


@dataclass(frozen=True)
class ActionRecord:
    id: int
    item_id: int
    description: str
    owner_agency: str
    due_on: dt.date
    status: str
    created_by: str
    created_at: dt.datetime
    updated_by: str | None
    updated_at: dt.datetime | None

    def overdue(self, today: dt.date) -> bool:
        return self.status == "open" and self.due_on < today


@dataclass(frozen=True)
class AgendaItemRecord:
    id: int
    meeting_id: int
    kind: str
    subject: str
    label: str
    reason: str
    rules: tuple[str, ...]
    facts: list[dict[str, Any]]
    added_by: str
    added_at: dt.datetime


def panel_record(row: Any, members: dict[str, tuple[str, str]]) -> PanelRecord:
    return PanelRecord(
        id=int(row.id),
        name=str(row.name),
        agencies=tuple(a for a in str(row.agencies).split(";") if a),
        cadence_days=int(row.cadence_days),
        tier=str(row.tier),
        agreement=str(row.agreement),
        retention_days=int(row.retention_days),
        created_by=str(row.created_by),
        members=members,
    )


def meeting_record(row: Any) -> MeetingRecord:
    return MeetingRecord(
        id=int(row.id),
        panel_id=int(row.panel_id),
        held_on=dt.date.fromisoformat(row.held_on),
        since=dt.date.fromisoformat(row.since),
        release_id=row.release_id,
        created_by=str(row.created_by),
    )


def item_record(row: Any) -> AgendaItemRecord:
    return AgendaItemRecord(
        id=int(row.id),
        meeting_id=int(row.meeting_id),
        kind=str(row.kind),
        subject=str(row.subject),
        label=str(row.label),
        reason=str(row.reason),
        rules=tuple(r for r in str(row.rules).split(";") if r),
        facts=json.loads(row.facts),
        added_by=str(row.added_by),
        added_at=row.added_at,
    )


def decision_record(row: Any) -> DecisionRecord:
    return DecisionRecord(
        id=int(row.id),
        item_id=int(row.item_id),
        stage=str(row.stage),
        concern_level=str(row.concern_level),
        disruption=str(row.disruption),
        summary=str(row.summary),
        decided_by=str(row.decided_by),
        decided_at=row.decided_at,
    )


def action_record(row: Any) -> ActionRecord:
    return ActionRecord(
        id=int(row.id),
        item_id=int(row.item_id),
        description=str(row.description),
        owner_agency=str(row.owner_agency),
        due_on=dt.date.fromisoformat(row.due_on),
        status=str(row.status),
        created_by=str(row.created_by),
        created_at=row.created_at,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )
