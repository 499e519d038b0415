"""Purposes given in a web session, reached as ``State.session_purposes``.

Opening identifying data on some pages is re-identification (issue 11): the user says
why once a session, and every view after that is logged with what they said. The
purpose is kept server-side against the session (by the SHA-256 of its token, as
``web_session`` keys it) and is read only while that session is live: a new session is
asked again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.orm import Session

from joinedup.state.tables import session_purpose, web_session

__all__ = ["SessionPurposes"]


def _token_hash(token: str) -> str:
    # the same digest web_session is keyed by (joinedup.access.sessions)
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionPurposes:
    """The purposes given in each live web session, one per kind of page."""

    def __init__(self, session: Callable[[], AbstractContextManager[Session]]) -> None:
        self._session = session

    def remember(
        self, *, session_token: str, kind: str, purpose: str, now: dt.datetime | None = None
    ) -> None:
        """Keep ``purpose`` for pages of ``kind`` until the session ends (a later one
        given in the same session replaces it)."""
        text = purpose.strip()
        if not text or not kind:
            raise ValueError("a session purpose needs a kind and a purpose")
        key = _token_hash(session_token)
        with self._session() as s:
            s.execute(
                delete(session_purpose).where(
                    session_purpose.c.token_hash == key, session_purpose.c.kind == kind
                )
            )
            s.execute(
                insert(session_purpose).values(
                    token_hash=key,
                    kind=kind,
                    purpose=text,
                    given_at=now or dt.datetime.now(dt.UTC),
                )
            )

    def get(self, *, session_token: str, kind: str) -> str | None:
        """The purpose given for ``kind`` in this session while it is live, else None."""
        key = _token_hash(session_token)
        q = (
            select(session_purpose.c.purpose)
            .select_from(
                session_purpose.join(
                    web_session,
                    and_(
                        web_session.c.token_hash == session_purpose.c.token_hash,
                        web_session.c.revoked_at.is_(None),
                    ),
                )
            )
            .where(session_purpose.c.token_hash == key, session_purpose.c.kind == kind)
        )
        with self._session() as s:
            found = s.execute(q).scalar_one_or_none()
        return None if found is None else str(found)
