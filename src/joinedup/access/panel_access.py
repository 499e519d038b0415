"""Who may open a panel, its meetings, packs and actions, and the audit of each (issue 18).

A panel's records are for its own members: a user needs the ``panels`` permission (the
panel member role) AND to sit on that panel. Everyone else is refused, whatever their
role (a board member, an analyst, a community viewer, an administrator), and so is a
member of another panel. Every view or download of a meeting pack is written to the
audit log first, with the meeting as its purpose; so is each decision, action and
deletion. Person-level detail in a pack comes from ``joinedup.views`` (pseudonymous ids,
the viewer's own agency's references only); re-identifying a person discussed is the
person page's ``reidentify``, with its typed purpose, as anywhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from joinedup.access.errors import Forbidden
from joinedup.access.roles import Permission
from joinedup.access.users import User
from joinedup.state import State
from joinedup.state.panels import (
    ActionRecord,
    AgendaItemRecord,
    MeetingRecord,
    PanelError,
    PanelRecord,
    Panels,
)

__all__ = [
    "PANELS_ONLY",
    "SETUP_ONLY",
    "add_member_as",
    "audit_pack",
    "create_panel_as",
    "managed_panels",
    "may_set_up_panels",
    "audit_panel_change",
    "meeting_purpose",
    "member_panel",
    "panel_store",
    "purge_due_meetings",
    "user_action",
    "user_item",
    "user_meeting",
    "user_panels",
]

#: The refusal anyone but the panel's own members gets.
PANELS_ONLY = (
    "Panels, meeting packs and actions are for the members of the panel only. If you sit "
    "on this panel, ask its chair to add you and your partnership's joinedup administrator "
    "for the panel member role."
)


#: The refusal for setting panels up (creating one, adding members).
SETUP_ONLY = (
    "Only an administrator, or a panel member for a panel they chair, can create a panel "
    "or add its members."
)


def panel_store(state: State) -> Panels:
    return Panels(state.session)


def _check_role(user: User) -> None:
    if not user.can(Permission.PANELS):
        raise Forbidden(PANELS_ONLY)


def user_panels(state: State, user: User) -> list[PanelRecord]:
    """The panels ``user`` sits on (refused without the panel member role)."""
    _check_role(user)
    return panel_store(state).panels_of(user.username)


def member_panel(state: State, user: User, panel_id: int) -> PanelRecord:
    """The panel, if ``user`` sits on it; Forbidden otherwise (an unknown id too, so an
    id tells nothing to someone who may not see it)."""
    _check_role(user)
    found = panel_store(state).get_panel(panel_id)
    if found is None or user.username not in found.members:
        raise Forbidden(PANELS_ONLY)
    return found


def user_meeting(state: State, user: User, meeting_id: int) -> tuple[PanelRecord, MeetingRecord]:
    _check_role(user)
    meeting = panel_store(state).get_meeting(meeting_id)
    if meeting is None:
        raise Forbidden(PANELS_ONLY)
    return member_panel(state, user, meeting.panel_id), meeting


def user_item(
    state: State, user: User, meeting_id: int, item_id: int
) -> tuple[PanelRecord, MeetingRecord, AgendaItemRecord]:
    panel, meeting = user_meeting(state, user, meeting_id)
    item = panel_store(state).get_item(item_id)
    if item is None or item.meeting_id != meeting.id:
        raise Forbidden(PANELS_ONLY)
    return panel, meeting, item


def user_action(
    state: State, user: User, action_id: int
) -> tuple[PanelRecord, MeetingRecord, AgendaItemRecord, ActionRecord]:
    _check_role(user)
    store = panel_store(state)
    action = store.get_action(action_id)
    item = store.get_item(action.item_id) if action is not None else None
    if action is None or item is None:
        raise Forbidden(PANELS_ONLY)
    panel, meeting = user_meeting(state, user, item.meeting_id)
    return panel, meeting, item, action


def meeting_purpose(panel: PanelRecord, meeting: MeetingRecord) -> str:
    """The purpose every audit entry about a meeting carries."""
    return f"Panel meeting: {panel.name}, {meeting.held_on.isoformat()} (meeting {meeting.id})"


def audit_pack(
    state: State,
    *,
    user: User,
    panel: PanelRecord,
    meeting: MeetingRecord,
    form: str,
    persons: Iterable[str],
    release_id: str | None,
) -> None:
    """Record a view (``form`` page or json) or download (pdf, i2) of a meeting pack."""
    people = sorted(set(persons))
    state.audit.append(
        actor=user.username,
        action="view_panel_pack" if form in ("page", "json") else "download_panel_pack",
        target=f"meeting:{meeting.id}",
        purpose=meeting_purpose(panel, meeting),
        detail={
            "form": form,
            "panel_id": panel.id,
            "persons": people,
            "release_id": release_id,
            "user_agency": user.agency,
        },
        agencies=list(panel.agencies),
    )


def audit_panel_change(
    state: State,
    *,
    actor: str,
    panel: PanelRecord,
    meeting: MeetingRecord | None,
    action: str,
    detail: dict[str, Any],
) -> None:
    """Record a change to a panel's records (a meeting, an item, a decision, an action)."""
    state.audit.append(
        actor=actor,
        action=action,
        target=f"meeting:{meeting.id}" if meeting is not None else f"panel:{panel.id}",
        purpose=meeting_purpose(panel, meeting) if meeting is not None else panel.name,
        detail={"panel_id": panel.id, **detail},
        agencies=list(panel.agencies),
    )


def purge_due_meetings(state: State, *, today: dt.date, actor: str) -> list[dict[str, Any]]:
    """Delete every meeting older than its panel's retention period, each deletion
    written to the audit log (``delete_panel_meeting``) with what was deleted."""
    store = panel_store(state)
    done = []
    for panel, meeting in store.due_for_deletion(today):
        counts = store.delete_meeting(meeting.id)
        entry = {
            "panel_id": panel.id,
            "meeting_id": meeting.id,
            "held_on": meeting.held_on.isoformat(),
            "retention_days": panel.retention_days,
            **counts,
        }
        state.audit.append(
            actor=actor,
            action="delete_panel_meeting",
            target=f"meeting:{meeting.id}",
            purpose=f"Retention under sharing agreement {panel.agreement}",
            detail=entry,
            agencies=list(panel.agencies),
        )
        done.append(entry)
    return done


# --- setting panels up: an administrator, or the chair (issue 18 follow-up) -------------
def may_set_up_panels(user: User) -> bool:
    """An administrator, or a user with the panel member role (who chairs what they make)."""
    return user.can(Permission.MANAGE_USERS) or user.can(Permission.PANELS)


def managed_panels(state: State, user: User) -> list[PanelRecord]:
    """The panels ``user`` may add members to: all for an administrator, else those they
    chair. Their names and members only: never a meeting, a pack or an action."""
    if not may_set_up_panels(user):
        raise Forbidden(SETUP_ONLY)
    store = panel_store(state)
    if user.can(Permission.MANAGE_USERS):
        return store.all_panels()
    return [p for p in store.panels_of(user.username) if user.username in p.chairs]


def _panel_member_user(state: State, username: str) -> User:
    from joinedup.access.users import get_user

    found = get_user(state, username)
    if found is None or found.disabled or not found.can(Permission.PANELS):
        raise PanelError(
            f"'{username.strip()[:60]}' is not a user with the panel member role; an "
            "administrator gives it on the Users page or with `joinedup users set-roles`."
        )
    return found


def create_panel_as(
    state: State,
    user: User,
    *,
    name: str,
    agencies: Iterable[str],
    known_agencies: Iterable[str],
    agreement: str,
    retention_days: int,
    cadence_days: int,
    chair: str,
) -> PanelRecord:
    """Create a panel (audited ``panel_create``). An administrator names any panel member
    as its chair; a panel member creating one chairs it themselves."""
    if not may_set_up_panels(user):
        raise Forbidden(SETUP_ONLY)
    chosen = sorted(set(agencies))
    unknown = sorted(set(chosen) - set(known_agencies))
    if unknown:
        raise PanelError("Choose the panel's agencies from the list of the partnership's.")
    if not user.can(Permission.MANAGE_USERS):
        chair = user.username
    chair_user = _panel_member_user(state, chair)
    panel = panel_store(state).create_panel(
        name=name,
        agencies=chosen,
        cadence_days=cadence_days,
        agreement=agreement,
        retention_days=retention_days,
        created_by=user.username,
        chair=(chair_user.username, chair_user.agency),
    )
    audit_panel_change(
        state,
        actor=user.username,
        panel=panel,
        meeting=None,
        action="panel_create",
        detail={"chair": chair_user.username, "via": "web"},
    )
    return panel


def add_member_as(
    state: State, user: User, *, panel_id: int, username: str, as_chair: bool = False
) -> PanelRecord:
    """Add a panel member (audited ``panel_member``): an administrator, or the panel's chair."""
    if not any(p.id == panel_id for p in managed_panels(state, user)):
        raise Forbidden(SETUP_ONLY)
    member = _panel_member_user(state, username)
    role = "chair" if as_chair else "member"
    store = panel_store(state)
    store.add_member(
        panel_id=panel_id, username=member.username, agency=member.agency, member_role=role
    )
    panel = store.get_panel(panel_id)
    assert panel is not None
    audit_panel_change(
        state,
        actor=user.username,
        panel=panel,
        meeting=None,
        action="panel_member",
        detail={"username": member.username, "member_role": role, "via": "web"},
    )
    return panel
