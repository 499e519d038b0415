"""Data maturity self-assessments of agencies, with their history (issue 21).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "maturity_assessment",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("submitted_by", sa.String(128), nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_maturity_assessment"),
    )
    op.create_index(
        "ix_maturity_assessment_agency", "maturity_assessment", ["agency", "submitted_at"]
    )
    op.create_table(
        "maturity_answer",
        sa.Column("assessment_id", sa.Integer, nullable=False),
        sa.Column("dimension", sa.String(32), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("evidence", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("assessment_id", "dimension", name="pk_maturity_answer"),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["maturity_assessment.id"],
            name="fk_maturity_answer_assessment_id_maturity_assessment",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("maturity_answer")
    op.drop_index("ix_maturity_assessment_agency", table_name="maturity_assessment")
    op.drop_table("maturity_assessment")
