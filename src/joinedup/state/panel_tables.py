"""The app-state tables of multi-agency exploitation panels (issue 18), migration 0003.

A panel (MACE, MSET) has members (users of joinedup, one of them its chair) and meetings;
a meeting has an agenda of children, places, groups and persons of concern, each added
with a reason and the recorded facts that suggested it; each item can carry the panel's
decision and its actions. People are named by their pseudonymous person id only, places
by their place id and groups by the release's group or network id: never a name, date
of birth or identifier. Dates the panel sets (meeting day, due dates) are ISO text.

They sit on ``joinedup.state.tables.metadata``, so the test that compares a migrated
database with the model covers them.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from joinedup.state.tables import UTCDateTime, metadata

__all__ = [
    "panel",
    "panel_action",
    "panel_agenda_item",
    "panel_decision",
    "panel_meeting",
    "panel_member",
]

panel = Table(
    "panel",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    # agency ids of partnership.yaml, separated by ';'
    Column("agencies", String(1024), nullable=False),
    Column("cadence_days", Integer, nullable=False),
    Column("tier", String(16), nullable=False),
    # the sharing agreement (key in partnership.yaml) the panel works under
    Column("agreement", String(64), nullable=False),
    # how long a meeting's records are kept after the meeting, from the agreement
    Column("retention_days", Integer, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

panel_member = Table(
    "panel_member",
    metadata,
    Column(
        "panel_id",
        Integer,
        ForeignKey("panel.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("username", String(128), primary_key=True),
    Column("agency", String(64), nullable=False),
    # chair or member
    Column("member_role", String(16), nullable=False),
)

panel_meeting = Table(
    "panel_meeting",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("panel_id", Integer, ForeignKey("panel.id", ondelete="CASCADE"), nullable=False),
    Column("held_on", String(10), nullable=False),
    # "new since" starts here: the previous meeting's day, or held_on minus the cadence
    Column("since", String(10), nullable=False),
    # the release the agenda was suggested from
    Column("release_id", String(64), nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_panel_meeting_panel", "panel_id", "held_on"),
)

panel_agenda_item = Table(
    "panel_agenda_item",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "meeting_id",
        Integer,
        ForeignKey("panel_meeting.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # child, person_of_concern, place or group
    Column("kind", String(24), nullable=False),
    # person id, place id, or group / network id in the meeting's release
    Column("subject", String(256), nullable=False),
    Column("label", String(256), nullable=False),
    Column("reason", Text, nullable=False),
    # the suggested-agenda rules that put it there, ';' (empty when added by hand)
    Column("rules", String(256), nullable=False),
    # the recorded facts behind the suggestion, JSON
    Column("facts", Text, nullable=False),
    Column("added_by", String(128), nullable=False),
    Column("added_at", UTCDateTime(), nullable=False),
    Index("ix_panel_agenda_item_meeting", "meeting_id"),
    Index("ix_panel_agenda_item_subject", "kind", "subject"),
)

panel_decision = Table(
    "panel_decision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "item_id",
        Integer,
        ForeignKey("panel_agenda_item.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # screening, assessment, safeguarding, disruption or review (MSET stage)
    Column("stage", String(24), nullable=False),
    # the level of concern as the panel recorded it, in its own words
    Column("concern_level", String(64), nullable=False),
    Column("disruption", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("decided_by", String(128), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=False),
    Index("ix_panel_decision_item", "item_id"),
)

panel_action = Table(
    "panel_action",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "item_id",
        Integer,
        ForeignKey("panel_agenda_item.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("description", Text, nullable=False),
    Column("owner_agency", String(64), nullable=False),
    Column("due_on", String(10), nullable=False),
    # open, done or cancelled
    Column("status", String(16), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(128), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=True),
    Index("ix_panel_action_item", "item_id"),
)
