"""Server-side sessions: a random token in a cookie, its SHA-256 in the state database.

A session ends when its user signs out, after ``auth.session_idle_minutes`` without a
request, ``auth.session_absolute_hours`` after sign-in whatever happens, and at once when
the user is disabled or their password is changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from joinedup.access.users import User, get_user_by_id, load_user_by_id
from joinedup.config.model import AuthConfig
from joinedup.state import State
from joinedup.state.tables import web_session

__all__ = ["SESSION_COOKIE", "SessionInfo", "end_session", "resolve_session", "start_session"]

SESSION_COOKIE = "joinedup_session"
_TOUCH_EVERY = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class SessionInfo:
    token: str
    user: User
    csrf_token: str
    method: str
    created_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(state: State, user: User, *, method: str, client: str) -> SessionInfo:
    """A new session for a user who has just signed in; the sign-in is audited here."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = dt.datetime.now(dt.UTC)
    with state.session() as s:
        s.execute(
            insert(web_session).values(
                token_hash=_digest(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                revoked_at=None,
                csrf_token=csrf,
                method=method,
            )
        )
    state.audit.append(
        actor=user.username,
        action="sign_in",
        target=user.username,
        detail={"method": method, "client": client},
    )
    return SessionInfo(token, user, csrf, method, now)


def resolve_session(
    state: State, token: str | None, auth: AuthConfig, *, now: dt.datetime | None = None
) -> SessionInfo | None:
    """The live session of a cookie's token, or None (and the session ended) when it has
    expired, been revoked, or its user is disabled."""
    if not token:
        return None
    now = now or dt.datetime.now(dt.UTC)
    key = _digest(token)
    with state.read() as s:  # every request: never queued behind the log's writes
        row = s.execute(select(web_session).where(web_session.c.token_hash == key)).first()
        if row is None:
            return None
        m = row._mapping
        if m["revoked_at"] is not None:
            return None
        user = load_user_by_id(s, m["user_id"])  # the same read, one connection
    idle = now - m["last_seen_at"] > dt.timedelta(minutes=auth.session_idle_minutes)
    absolute = now - m["created_at"] > dt.timedelta(hours=auth.session_absolute_hours)
    if user is None or user.disabled or idle or absolute:
        with state.session() as s:
            s.execute(
                update(web_session).where(web_session.c.token_hash == key).values(revoked_at=now)
            )
        return None
    if now - m["last_seen_at"] > _TOUCH_EVERY:
        with state.session() as s:
            s.execute(
                update(web_session).where(web_session.c.token_hash == key).values(last_seen_at=now)
            )
    return SessionInfo(token, user, m["csrf_token"], m["method"], m["created_at"])


def end_session(state: State, token: str | None) -> None:
    """Sign out: the session's token stops working at once."""
    if not token:
        return
    now = dt.datetime.now(dt.UTC)
    with state.session() as s:
        row = s.execute(
            update(web_session)
            .where(web_session.c.token_hash == _digest(token), web_session.c.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(web_session.c.user_id)
        ).first()
    if row is not None:
        user = get_user_by_id(state, row[0])
        if user is not None:
            state.audit.append(actor=user.username, action="sign_out", target=user.username)
