"""Panels, meetings, agenda items, decisions and actions in app state (issue 18).

The store only keeps and finds records; who may do what (panel membership, the chair)
is ``joinedup.access``'s job and what a pack shows is ``joinedup.views``'. Every method
takes keyword arguments and validates before writing, with messages that name the field
and say how to fix it (never a person's details: there are none here).

    panels = Panels(state.session)
    p = panels.create_panel(name="North MACE", agencies=["police", "csc"], cadence_days=28,
                            agreement="isa", retention_days=2190, created_by="ann",
                            chair=("ann", "police"))
    m = panels.create_meeting(panel_id=p.id, held_on=date(2026, 12, 10), created_by="ann")
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, delete, insert, select, update
from sqlalchemy.orm import Session

from joinedup.state.panel_records import (
    ACTION_STATUSES,
    ITEM_KINDS,
    MSET_STAGES,
    ActionRecord,
    AgendaItemRecord,
    DecisionRecord,
    MeetingRecord,
    PanelError,
    PanelRecord,
    action_record,
    date_value,
    decision_record,
    item_record,
    meeting_record,
    now_utc,
    panel_record,
    text_value,
)
from joinedup.state.panel_tables import (
    panel,
    panel_action,
    panel_agenda_item,
    panel_decision,
    panel_meeting,
    panel_member,
)

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
    "Panels",
]


R = TypeVar("R")


class Panels:
    """The panels of a partnership and everything their meetings record."""

    def __init__(self, session: Callable[[], AbstractContextManager[Session]]) -> None:
        self._session = session

    # --- panels ---------------------------------------------------------------------
    def create_panel(
        self,
        *,
        name: str,
        agencies: Sequence[str],
        cadence_days: int,
        agreement: str,
        retention_days: int,
        created_by: str,
        chair: tuple[str, str],
        tier: str = "operational",
        now: dt.datetime | None = None,
    ) -> PanelRecord:
        """A new panel with its chair (username, agency) as its first member."""
        name = text_value(name, "panel's name", limit=200)
        if not agencies:
            raise PanelError("Give the agencies that sit on the panel (at least one).")
        if not 1 <= int(cadence_days) <= 366:
            raise PanelError("cadence_days must be between 1 and 366 (days between meetings).")
        if int(retention_days) < 1:
            raise PanelError("retention_days must be at least 1 (days a meeting is kept).")
        if tier != "operational":
            raise PanelError("A panel works at the operational tier (person-level data).")
        agreement = text_value(agreement, "sharing agreement the panel works under", limit=64)
        with self._session() as s:
            if s.execute(select(panel.c.id).where(panel.c.name == name)).first():
                raise PanelError(f"There is already a panel called '{name}'; choose another name.")
            pid = s.execute(
                insert(panel)
                .values(
                    name=name,
                    agencies=";".join(sorted(set(agencies))),
                    cadence_days=int(cadence_days),
                    tier=tier,
                    agreement=agreement,
                    retention_days=int(retention_days),
                    created_by=created_by,
                    created_at=now or now_utc(),
                )
                .returning(panel.c.id)
            ).scalar_one()
            s.execute(
                insert(panel_member).values(
                    panel_id=pid, username=chair[0], agency=chair[1], member_role="chair"
                )
            )
        found = self.get_panel(int(pid))
        assert found is not None
        return found

    def add_member(
        self, *, panel_id: int, username: str, agency: str, member_role: str = "member"
    ) -> None:
        """Add (or change the role of) a member: ``member`` or ``chair``."""
        if member_role not in ("member", "chair"):
            raise PanelError("member_role must be 'member' or 'chair'.")
        with self._session() as s:
            s.execute(
                delete(panel_member).where(
                    panel_member.c.panel_id == panel_id, panel_member.c.username == username
                )
            )
            s.execute(
                insert(panel_member).values(
                    panel_id=panel_id, username=username, agency=agency, member_role=member_role
                )
            )

    def get_panel(self, panel_id: int) -> PanelRecord | None:
        with self._session() as s:
            row = s.execute(select(panel).where(panel.c.id == panel_id)).first()
            if row is None:
                return None
            members = {
                str(m.username): (str(m.agency), str(m.member_role))
                for m in s.execute(select(panel_member).where(panel_member.c.panel_id == panel_id))
            }
        return panel_record(row, members)

    def all_panels(self) -> list[PanelRecord]:
        with self._session() as s:
            ids = [int(i) for i in s.execute(select(panel.c.id).order_by(panel.c.name)).scalars()]
        return [p for p in (self.get_panel(i) for i in ids) if p is not None]

    def panels_of(self, username: str) -> list[PanelRecord]:
        """The panels ``username`` sits on."""
        return [p for p in self.all_panels() if username in p.members]

    # --- meetings -------------------------------------------------------------------
    def create_meeting(
        self,
        *,
        panel_id: int,
        held_on: dt.date | str,
        created_by: str,
        release_id: str | None = None,
        now: dt.datetime | None = None,
    ) -> MeetingRecord:
        """A meeting on ``held_on``; "new since" starts at the panel's previous meeting
        (else ``held_on`` minus the panel's cadence)."""
        day = date_value(held_on, "held_on")
        found = self.get_panel(panel_id)
        if found is None:
            raise PanelError(
                f"There is no panel {panel_id}; list them with `joinedup panels list`."
            )
        before = [m for m in self.meetings(panel_id) if m.held_on < day]
        since = before[-1].held_on if before else day - dt.timedelta(days=found.cadence_days)
        with self._session() as s:
            mid = s.execute(
                insert(panel_meeting)
                .values(
                    panel_id=panel_id,
                    held_on=day.isoformat(),
                    since=since.isoformat(),
                    release_id=release_id,
                    created_by=created_by,
                    created_at=now or now_utc(),
                )
                .returning(panel_meeting.c.id)
            ).scalar_one()
        meeting = self.get_meeting(int(mid))
        assert meeting is not None
        return meeting

    def set_release(self, *, meeting_id: int, release_id: str) -> None:
        """Remember the release a meeting's agenda was prepared from."""
        with self._session() as s:
            s.execute(
                update(panel_meeting)
                .where(panel_meeting.c.id == meeting_id)
                .values(release_id=release_id)
            )

    def meetings(self, panel_id: int) -> list[MeetingRecord]:
        """The panel's meetings, earliest first."""
        q = (
            select(panel_meeting)
            .where(panel_meeting.c.panel_id == panel_id)
            .order_by(panel_meeting.c.held_on, panel_meeting.c.id)
        )
        with self._session() as s:
            return [meeting_record(r) for r in s.execute(q)]

    def get_meeting(self, meeting_id: int) -> MeetingRecord | None:
        with self._session() as s:
            row = s.execute(select(panel_meeting).where(panel_meeting.c.id == meeting_id)).first()
        return None if row is None else meeting_record(row)

    def previous_meeting(self, meeting: MeetingRecord) -> MeetingRecord | None:
        earlier = [
            m
            for m in self.meetings(meeting.panel_id)
            if (m.held_on, m.id) < (meeting.held_on, meeting.id)
        ]
        return earlier[-1] if earlier else None

    # --- agenda ---------------------------------------------------------------------
    def add_item(
        self,
        *,
        meeting_id: int,
        kind: str,
        subject: str,
        label: str,
        reason: str,
        added_by: str,
        rules: Iterable[str] = (),
        facts: list[dict[str, Any]] | None = None,
        now: dt.datetime | None = None,
    ) -> AgendaItemRecord:
        """Put a child, person of concern, place or group on a meeting's agenda, with the
        reason the panel gives (and the facts that suggested it, if it was suggested)."""
        if kind not in ITEM_KINDS:
            raise PanelError(f"kind must be one of: {', '.join(ITEM_KINDS)}.")
        subject = text_value(subject, "item's subject (a person, place or group id)", limit=256)
        reason = text_value(reason, "reason for discussing it")
        if self.get_meeting(meeting_id) is None:
            raise PanelError(f"There is no meeting {meeting_id}.")
        with self._session() as s:
            dup = s.execute(
                select(panel_agenda_item.c.id).where(
                    panel_agenda_item.c.meeting_id == meeting_id,
                    panel_agenda_item.c.kind == kind,
                    panel_agenda_item.c.subject == subject,
                )
            ).first()
            if dup is not None:
                raise PanelError("This is already on the meeting's agenda.")
            iid = s.execute(
                insert(panel_agenda_item)
                .values(
                    meeting_id=meeting_id,
                    kind=kind,
                    subject=subject,
                    label=text_value(label, "item's label", limit=256),
                    reason=reason,
                    rules=";".join(rules),
                    facts=json.dumps(facts or [], default=str),
                    added_by=added_by,
                    added_at=now or now_utc(),
                )
                .returning(panel_agenda_item.c.id)
            ).scalar_one()
        found = self.get_item(int(iid))
        assert found is not None
        return found

    def get_item(self, item_id: int) -> AgendaItemRecord | None:
        with self._session() as s:
            row = s.execute(
                select(panel_agenda_item).where(panel_agenda_item.c.id == item_id)
            ).first()
        return None if row is None else item_record(row)

    def items(self, meeting_id: int) -> list[AgendaItemRecord]:
        q = (
            select(panel_agenda_item)
            .where(panel_agenda_item.c.meeting_id == meeting_id)
            .order_by(panel_agenda_item.c.id)
        )
        with self._session() as s:
            return [item_record(r) for r in s.execute(q)]

    # --- decisions and actions --------------------------------------------------------
    def record_decision(
        self,
        *,
        item_id: int,
        stage: str,
        concern_level: str,
        decided_by: str,
        disruption: str = "",
        summary: str = "",
        now: dt.datetime | None = None,
    ) -> DecisionRecord:
        """The panel's outcome for one item: MSET stage, the level of concern in the
        panel's words, disruption activity agreed, and a summary."""
        if stage not in MSET_STAGES:
            raise PanelError(f"stage must be one of: {', '.join(MSET_STAGES)}.")
        level = text_value(concern_level, "level of concern as the panel recorded it", limit=64)
        if self.get_item(item_id) is None:
            raise PanelError(f"There is no agenda item {item_id}.")
        with self._session() as s:
            did = s.execute(
                insert(panel_decision)
                .values(
                    item_id=item_id,
                    stage=stage,
                    concern_level=level,
                    disruption=text_value(disruption, "disruption activity", required=False),
                    summary=text_value(summary, "summary", required=False),
                    decided_by=decided_by,
                    decided_at=now or now_utc(),
                )
                .returning(panel_decision.c.id)
            ).scalar_one()
            row = s.execute(select(panel_decision).where(panel_decision.c.id == did)).one()
        return decision_record(row)

    def add_action(
        self,
        *,
        item_id: int,
        description: str,
        owner_agency: str,
        due_on: dt.date | str,
        created_by: str,
        now: dt.datetime | None = None,
    ) -> ActionRecord:
        """An action agreed on an item, owned by one agency, due on a day."""
        text = text_value(description, "action")
        owner = text_value(owner_agency, "owner agency", limit=64)
        due = date_value(due_on, "due_on")
        if self.get_item(item_id) is None:
            raise PanelError(f"There is no agenda item {item_id}.")
        with self._session() as s:
            aid = s.execute(
                insert(panel_action)
                .values(
                    item_id=item_id,
                    description=text,
                    owner_agency=owner,
                    due_on=due.isoformat(),
                    status="open",
                    created_by=created_by,
                    created_at=now or now_utc(),
                )
                .returning(panel_action.c.id)
            ).scalar_one()
            row = s.execute(select(panel_action).where(panel_action.c.id == aid)).one()
        return action_record(row)

    def set_action_status(
        self, *, action_id: int, status: str, updated_by: str, now: dt.datetime | None = None
    ) -> ActionRecord:
        if status not in ACTION_STATUSES:
            raise PanelError(f"status must be one of: {', '.join(ACTION_STATUSES)}.")
        with self._session() as s:
            done = cast(
                Any,
                s.execute(
                    update(panel_action)
                    .where(panel_action.c.id == action_id)
                    .values(status=status, updated_by=updated_by, updated_at=now or now_utc())
                ),
            )
            if not done.rowcount:
                raise PanelError(f"There is no action {action_id}.")
            row = s.execute(select(panel_action).where(panel_action.c.id == action_id)).one()
        return action_record(row)

    def get_action(self, action_id: int) -> ActionRecord | None:
        with self._session() as s:
            row = s.execute(select(panel_action).where(panel_action.c.id == action_id)).first()
        return None if row is None else action_record(row)

    def decisions(self, item_ids: Iterable[int]) -> dict[int, list[DecisionRecord]]:
        return self._by_item(item_ids, panel_decision, decision_record, panel_decision.c.decided_at)

    def actions(self, item_ids: Iterable[int]) -> dict[int, list[ActionRecord]]:
        return self._by_item(item_ids, panel_action, action_record, panel_action.c.due_on)

    def _by_item(
        self, item_ids: Iterable[int], table: Any, record: Callable[[Any], R], order: Any
    ) -> dict[int, list[R]]:
        """Rows of ``table`` for each of ``item_ids`` (each id present, maybe with none),
        in ``order`` then by id."""
        ids = list(item_ids)
        out: dict[int, list[R]] = {i: [] for i in ids}
        if not ids:
            return out
        q = select(table).where(table.c.item_id.in_(ids)).order_by(order, table.c.id)
        with self._session() as s:
            for r in s.execute(q):
                out[int(r.item_id)].append(record(r))
        return out

    def earlier_items(self, meeting: MeetingRecord) -> list[tuple[MeetingRecord, AgendaItemRecord]]:
        """Items of the panel's meetings before ``meeting``, latest meeting first."""
        earlier = [
            m
            for m in self.meetings(meeting.panel_id)
            if (m.held_on, m.id) < (meeting.held_on, meeting.id)
        ]
        out: list[tuple[MeetingRecord, AgendaItemRecord]] = []
        for m in reversed(earlier):
            out.extend((m, item) for item in self.items(m.id))
        return out

    # --- retention ------------------------------------------------------------------
    def due_for_deletion(self, today: dt.date) -> list[tuple[PanelRecord, MeetingRecord]]:
        """Meetings older than their panel's retention period on ``today``."""
        out: list[tuple[PanelRecord, MeetingRecord]] = []
        for p in self.all_panels():
            limit = today - dt.timedelta(days=p.retention_days)
            out.extend((p, m) for m in self.meetings(p.id) if m.held_on < limit)
        return out

    def delete_meeting(self, meeting_id: int) -> dict[str, int]:
        """Delete a meeting with its agenda, decisions and actions: how many of each."""
        with self._session() as s:
            items = [
                int(i)
                for i in s.execute(
                    select(panel_agenda_item.c.id).where(
                        panel_agenda_item.c.meeting_id == meeting_id
                    )
                ).scalars()
            ]

            def run(stmt: Any) -> int:
                return int(cast(CursorResult[Any], s.execute(stmt)).rowcount)

            counts = {
                "actions": run(delete(panel_action).where(panel_action.c.item_id.in_(items))),
                "decisions": run(delete(panel_decision).where(panel_decision.c.item_id.in_(items))),
                "items": run(
                    delete(panel_agenda_item).where(panel_agenda_item.c.meeting_id == meeting_id)
                ),
                "meetings": run(delete(panel_meeting).where(panel_meeting.c.id == meeting_id)),
            }
        return {k: int(v) for k, v in counts.items()}
