"""Signing in with a password: rate limiting by client, lockout by account, audit.

- A client (network address) with ``auth.rate_limit_attempts`` failed sign-ins in the
  last ``auth.rate_limit_window_minutes`` is refused before any password is checked.
- A username with ``auth.max_failed_logins`` failures since its last success, within the
  last ``auth.lockout_minutes``, is locked for that long (an administrator can unlock it).
  Failures count the same whether or not the username exists, so a lockout tells an
  attacker nothing about which accounts are real.
- Attempts are kept by a hash of the username typed, never the text (people type
  passwords into the username box); unknown usernames are audited without it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, insert, select, update

from joinedup.access.errors import SignInError
from joinedup.access.passwords import hash_password, needs_rehash, verify_password
from joinedup.access.users import User, get_user, username_key
from joinedup.config.model import AuthConfig
from joinedup.state import State
from joinedup.state.tables import login_attempt, user_account

__all__ = ["authenticate", "username_key"]

WRONG = "The username or password is not right. Check them and try again."


def _failures_since(state: State, key: str, since: dt.datetime) -> int:
    t = login_attempt
    with state.session() as s:
        last_ok = s.execute(
            select(func.max(t.c.at)).where(t.c.username == key, t.c.success.is_(True))
        ).scalar()
        start = max(since, last_ok) if last_ok is not None else since
        return int(
            s.execute(
                select(func.count()).where(
                    t.c.username == key,
                    t.c.success.is_(False),
                    t.c.at > start,
                )
            ).scalar_one()
        )


def _client_failures(state: State, client: str, since: dt.datetime) -> int:
    t = login_attempt
    with state.session() as s:
        return int(
            s.execute(
                select(func.count()).where(
                    t.c.client == client, t.c.success.is_(False), t.c.at > since
                )
            ).scalar_one()
        )


def _record(state: State, key: str, client: str, success: bool) -> None:
    with state.session() as s:
        s.execute(
            insert(login_attempt).values(
                at=dt.datetime.now(dt.UTC), username=key, client=client[:64], success=success
            )
        )


def authenticate(
    state: State, auth: AuthConfig, *, username: str, password: str, client: str
) -> User:
    """The user whose username and password these are; SignInError otherwise."""
    now = dt.datetime.now(dt.UTC)
    key = username_key(username)
    user = get_user(state, username) if username.strip() else None
    target = user.username if user is not None else None
    if not auth.local_accounts:
        raise SignInError(
            "Signing in with a password is turned off here; use your organisation account.",
            "local_disabled",
        )
    window = now - dt.timedelta(minutes=auth.rate_limit_window_minutes)
    if _client_failures(state, client, window) >= auth.rate_limit_attempts:
        state.audit.append(
            actor=target or "anonymous",
            action="sign_in_refused",
            target=target,
            detail={"reason": "rate_limited", "client": client},
        )
        raise SignInError(
            "There have been too many failed sign-ins from your network. Wait "
            f"{auth.rate_limit_window_minutes} minutes and try again.",
            "rate_limited",
        )
    lock_window = now - dt.timedelta(minutes=auth.lockout_minutes)
    if _failures_since(state, key, lock_window) >= (auth.max_failed_logins):
        state.audit.append(
            actor=target or "anonymous",
            action="sign_in_refused",
            target=target,
            detail={"reason": "locked", "client": client},
        )
        raise SignInError(
            f"This account is locked after {auth.max_failed_logins} failed sign-ins. Try "
            f"again in {auth.lockout_minutes} minutes, or ask an administrator to unlock it.",
            "locked",
        )
    stored = None
    if user is not None:
        with state.session() as s:
            stored = s.execute(
                select(user_account.c.password_hash).where(user_account.c.id == user.id)
            ).scalar()
    ok = verify_password(stored, password)
    reason = None
    if user is None:
        reason = "unknown_user"
    elif not ok:
        reason = "wrong_password" if stored is not None else "no_password"
    elif user.disabled:
        reason = "disabled"
    if reason is not None:
        _record(state, key, client, success=False)
        state.audit.append(
            actor=target or "anonymous",
            action="sign_in_failed",
            target=target,
            detail={"reason": reason, "client": client, "method": "password"},
        )
        raise SignInError(WRONG, reason)
    assert user is not None and stored is not None
    _record(state, key, client, success=True)
    if needs_rehash(stored):
        with state.session() as s:
            s.execute(
                update(user_account)
                .where(user_account.c.id == user.id)
                .values(password_hash=hash_password(password))
            )
    return user
