"""Purposes given in a web session (issue 11: linkage review is re-identification).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "session_purpose",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("given_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", "kind", name="pk_session_purpose"),
        sa.ForeignKeyConstraint(
            ["token_hash"],
            ["web_session.token_hash"],
            name="fk_session_purpose_token_hash_web_session",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("session_purpose")
