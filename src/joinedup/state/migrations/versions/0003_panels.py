"""Multi-agency exploitation panels: panels, members, meetings, agenda, decisions and
actions (issue 18).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "panel",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("agencies", sa.String(1024), nullable=False),
        sa.Column("cadence_days", sa.Integer, nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("agreement", sa.String(64), nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_panel"),
        sa.UniqueConstraint("name", name="uq_panel_name"),
    )
    op.create_table(
        "panel_member",
        sa.Column("panel_id", sa.Integer, nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("member_role", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("panel_id", "username", name="pk_panel_member"),
        _fk("panel_member", "panel_id", "panel"),
    )
    op.create_table(
        "panel_meeting",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("panel_id", sa.Integer, nullable=False),
        sa.Column("held_on", sa.String(10), nullable=False),
        sa.Column("since", sa.String(10), nullable=False),
        sa.Column("release_id", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_panel_meeting"),
        _fk("panel_meeting", "panel_id", "panel"),
    )
    op.create_index("ix_panel_meeting_panel", "panel_meeting", ["panel_id", "held_on"])
    op.create_table(
        "panel_agenda_item",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("label", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("rules", sa.String(256), nullable=False),
        sa.Column("facts", sa.Text, nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_panel_agenda_item"),
        _fk("panel_agenda_item", "meeting_id", "panel_meeting"),
    )
    op.create_index("ix_panel_agenda_item_meeting", "panel_agenda_item", ["meeting_id"])
    op.create_index("ix_panel_agenda_item_subject", "panel_agenda_item", ["kind", "subject"])
    op.create_table(
        "panel_decision",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("stage", sa.String(24), nullable=False),
        sa.Column("concern_level", sa.String(64), nullable=False),
        sa.Column("disruption", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.Column("decided_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_panel_decision"),
        _fk("panel_decision", "item_id", "panel_agenda_item"),
    )
    op.create_index("ix_panel_decision_item", "panel_decision", ["item_id"])
    op.create_table(
        "panel_action",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("owner_agency", sa.String(64), nullable=False),
        sa.Column("due_on", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=True),
        sa.Column("updated_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_panel_action"),
        _fk("panel_action", "item_id", "panel_agenda_item"),
    )
    op.create_index("ix_panel_action_item", "panel_action", ["item_id"])


def downgrade() -> None:
    for name in (
        "panel_action",
        "panel_decision",
        "panel_agenda_item",
        "panel_meeting",
        "panel_member",
        "panel",
    ):
        op.drop_table(name)
