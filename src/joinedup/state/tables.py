"""The application-state tables: one SQLAlchemy metadata, migrated by Alembic.

The tables here are the model the migrations in ``migrations/versions`` build; a test
checks that a database migrated to head matches this metadata exactly, so the two never
drift apart. Nothing here holds a child's name, date of birth or identifier: review
decisions name records by (source, source record id), and the audit log names people by
their pseudonymous person id only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UTCDateTime",
    "audit_head",
    "audit_log",
    "link_decision",
    "login_attempt",
    "metadata",
    "oidc_flow",
    "session_purpose",
    "user_account",
    "user_role",
    "web_session",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps in app state must be timezone-aware (UTC)")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


link_decision = Table(
    "link_decision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("left_source", String(64), nullable=False),
    Column("left_record", String(256), nullable=False),
    Column("right_source", String(64), nullable=False),
    Column("right_record", String(256), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("decided_by", String(128), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=False),
    Column("reason", Text, nullable=True),
    Index("ix_link_decision_pair", "left_source", "left_record", "right_source", "right_record"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), nullable=True),
    Column("purpose", Text, nullable=True),
    Column("detail", Text, nullable=False),
    # The agencies whose data the action touched, as ",police,health," so that a data
    # owner's view of the log is one LIKE; empty when it touched no agency's data.
    Column("agencies", String(1024), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_action", "action"),
    Index("ix_audit_log_target", "target"),
)

# One row (id 1): the last entry's number and hash. Appends lock it, so entries are
# numbered without gaps however many processes write.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

user_account = Table(
    "user_account",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("display_name", String(256), nullable=False),
    Column("agency", String(64), nullable=False),
    Column("password_hash", String(512), nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("oidc_issuer", String(512), nullable=True),
    Column("oidc_subject", String(256), nullable=True),
    UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_user_account_oidc"),
)

user_role = Table(
    "user_role",
    metadata,
    Column(
        "user_id",
        Integer,
        ForeignKey("user_account.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role", String(32), primary_key=True),
)

web_session = Table(
    "web_session",
    metadata,
    # SHA-256 of the session token: the cookie's value never rests in the database.
    Column("token_hash", String(64), primary_key=True),
    Column(
        "user_id",
        Integer,
        ForeignKey("user_account.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("csrf_token", String(64), nullable=False),
    Column("method", String(16), nullable=False),
)

# The purpose a signed-in user gave for opening identifying data of one kind (``kind``,
# e.g. ``linkage_review``), remembered for that session only (issue 11): asked once a
# session, logged with every view. Goes with its session.
session_purpose = Table(
    "session_purpose",
    metadata,
    Column(
        "token_hash",
        String(64),
        ForeignKey("web_session.token_hash", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("kind", String(32), primary_key=True),
    Column("purpose", Text, nullable=False),
    Column("given_at", UTCDateTime(), nullable=False),
)

login_attempt = Table(
    "login_attempt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("username", String(128), nullable=False),
    Column("client", String(64), nullable=False),
    Column("success", Boolean, nullable=False),
    Index("ix_login_attempt_username_at", "username", "at"),
    Index("ix_login_attempt_client_at", "client", "at"),
)

# A sign-in through OpenID Connect in progress: the state sent to the provider, with the
# nonce and PKCE verifier to check its answer against. Used once, then deleted.
oidc_flow = Table(
    "oidc_flow",
    metadata,
    Column("state", String(128), primary_key=True),
    Column("nonce", String(128), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("next_path", String(512), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
