"""Signing in with a password: limits by address and by account, lockout, audit.

- A client (network address) with ``auth.rate_limit_attempts`` failed sign-ins in the
  last ``auth.rate_limit_window_minutes`` is refused before any password is checked: one
  address cannot spray passwords at many accounts.
- A lockout is by account AND address together: a username with
  ``auth.max_failed_logins`` failures from one address since its last success there,
  within the last ``auth.lockout_minutes``, is locked *at that address* for that long.
  Wrong passwords typed elsewhere do not lock the person out of their own browser.
- A guess spread over many addresses is stopped by ``auth.account_max_failed_logins``
  failures to one username from all addresses together (within ``lockout_minutes``):
  the username is then refused from every address it has not signed in from in the last
  ``auth.known_address_days``; where the person usually signs in, they still can.
- An administrator's unlock (``joinedup users unlock``) clears all of these for the
  username. Failures count the same whether or not the username exists, so a lockout
  tells an attacker nothing about which accounts are real.
- Attempts are kept by a hash of the username typed, never the text (people type
  passwords into the username box); unknown usernames are audited without it.
- The audit records a summary, not one entry per attempt: per username (or unknown
  username) and address and kind (failed or refused), the first attempt of each
  ``auth.audit_summary_minutes`` window is written at once, and the rest are counted and
  written as one ``sign_in_summary`` entry when the window ends (at the next sign-in
  attempt after it, a successful sign-in of that username there, or
  :func:`flush_sign_in_audit`, which the web app calls when it stops). Each failure is
  also a row of the ``login_attempt`` table, which the limits count.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from joinedup.access.errors import SignInError
from joinedup.access.passwords import hash_password, needs_rehash, verify_password
from joinedup.access.users import User, get_user, username_key
from joinedup.config.model import AuthConfig
from joinedup.state import State
from joinedup.state.tables import login_attempt, user_account

__all__ = ["authenticate", "flush_sign_in_audit", "username_key"]

WRONG = "The username or password is not right. Check them and try again."
#: ``login_attempt.client`` of an administrator's unlock marker (``unlock_user``).
UNLOCK_CLIENT = "unlock"


# --- counting -----------------------------------------------------------------------


def _last_success(state: State, key: str, clients: list[str] | None) -> dt.datetime | None:
    t = login_attempt
    where = [t.c.username == key, t.c.success.is_(True)]
    if clients is not None:
        where.append(or_(*(t.c.client == c for c in clients)))
    with state.session() as s:
        value = s.execute(select(func.max(t.c.at)).where(*where)).scalar()
    return value if isinstance(value, dt.datetime) else None


def _failures(state: State, key: str, since: dt.datetime, client: str | None = None) -> int:
    """Failures for ``key`` (from ``client`` only, when given) after ``since`` and after
    the last success that resets them: there (and an unlock) for one address, an unlock
    for all addresses."""
    t = login_attempt
    resets = [UNLOCK_CLIENT] if client is None else [client, UNLOCK_CLIENT]
    last_ok = _last_success(state, key, resets)
    start = max(since, last_ok) if last_ok is not None else since
    where = [t.c.username == key, t.c.success.is_(False), t.c.at > start]
    if client is not None:
        where.append(t.c.client == client[:64])
    with state.session() as s:
        return int(s.execute(select(func.count()).where(*where)).scalar_one())


def _client_failures(state: State, client: str, since: dt.datetime) -> int:
    t = login_attempt
    with state.session() as s:
        return int(
            s.execute(
                select(func.count()).where(
                    t.c.client == client[:64], t.c.success.is_(False), t.c.at > since
                )
            ).scalar_one()
        )


def _known_address(state: State, key: str, client: str, since: dt.datetime) -> bool:
    last = _last_success(state, key, [client[:64]])
    return last is not None and last > since


def _record(state: State, key: str, client: str, success: bool) -> None:
    with state.session() as s:
        s.execute(
            insert(login_attempt).values(
                at=dt.datetime.now(dt.UTC), username=key, client=client[:64], success=success
            )
        )


# --- the audit summary --------------------------------------------------------------


@dataclass
class _Window:
    started: dt.datetime
    last: dt.datetime
    minutes: int
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def attempts(self) -> int:
        return sum(self.reasons.values())


_Key = tuple[str | None, str, str]  # (target username or None, client, action)


class _Ledger:
    """The open audit windows of one app state (in this process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.windows: dict[_Key, _Window] = {}

    def note(
        self,
        state: State,
        auth: AuthConfig,
        now: dt.datetime,
        *,
        action: str,
        target: str | None,
        client: str,
        reason: str,
    ) -> None:
        key = (target, client, action)
        with self.lock:
            window = self.windows.get(key)
            if window is not None and now < window.started + dt.timedelta(minutes=window.minutes):
                window.reasons[reason] += 1
                window.last = now
                return
            closed = self.windows.pop(key, None)
            self.windows[key] = _Window(now, now, auth.audit_summary_minutes, Counter([reason]))
        if closed is not None:
            _write_summary(state, key, closed)
        state.audit.append(
            actor=target or "anonymous",
            action=action,
            target=target,
            detail={"reason": reason, "client": client, "method": "password"},
        )

    def ended(self, now: dt.datetime) -> list[tuple[_Key, _Window]]:
        """Remove and return the windows that have ended by ``now``."""
        return self._take(lambda k, w: now >= w.started + dt.timedelta(minutes=w.minutes))

    def every(self, target: str | None = None) -> list[tuple[_Key, _Window]]:
        """Remove and return every open window (only ``target``'s when given)."""
        return self._take(lambda k, w: target is None or k[0] == target)

    def _take(self, chosen: Callable[[_Key, _Window], bool]) -> list[tuple[_Key, _Window]]:
        with self.lock:
            keys = [k for k, w in self.windows.items() if chosen(k, w)]
            return [(k, self.windows.pop(k)) for k in keys]


_LEDGERS: weakref.WeakKeyDictionary[State, _Ledger] = weakref.WeakKeyDictionary()
_LEDGERS_LOCK = threading.Lock()


def _ledger(state: State) -> _Ledger:
    with _LEDGERS_LOCK:
        found = _LEDGERS.get(state)
        if found is None:
            found = _LEDGERS[state] = _Ledger()
        return found


def _write_summary(state: State, key: _Key, window: _Window) -> int:
    if window.attempts <= 1:
        return 0  # the window's first entry says it all
    target, client, action = key
    detail: dict[str, Any] = {
        "of": action,
        "client": client,
        "attempts": window.attempts,
        "reasons": dict(sorted(window.reasons.items())),
        "first": window.started.strftime("%Y-%m-%d %H:%M:%S"),
        "last": window.last.strftime("%Y-%m-%d %H:%M:%S"),
        "window_minutes": window.minutes,
    }
    state.audit.append(
        actor=target or "anonymous", action="sign_in_summary", target=target, detail=detail
    )
    return 1


def flush_sign_in_audit(state: State, *, target: str | None = None) -> int:
    """Write the summaries of every open window of ``state`` (only ``target``'s when
    given) now; the number of summary entries written."""
    written = 0
    for key, window in _ledger(state).every(target):
        written += _write_summary(state, key, window)
    return written


def _sweep(state: State, now: dt.datetime) -> None:
    for key, window in _ledger(state).ended(now):
        _write_summary(state, key, window)


# --- signing in ---------------------------------------------------------------------


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
    _sweep(state, now)
    ledger = _ledger(state)

    def refuse(reason: str, message: str, *, who: str | None) -> SignInError:
        ledger.note(
            state, auth, now, action="sign_in_refused", target=who, client=client, reason=reason
        )
        return SignInError(message, "rate_limited" if reason == "rate_limited" else "locked")

    window = now - dt.timedelta(minutes=auth.rate_limit_window_minutes)
    if _client_failures(state, client, window) >= auth.rate_limit_attempts:
        raise refuse(
            "rate_limited",
            "There have been too many failed sign-ins from your network. Wait "
            f"{auth.rate_limit_window_minutes} minutes and try again.",
            who=None,  # refused for the address, whoever it names
        )
    lock_window = now - dt.timedelta(minutes=auth.lockout_minutes)
    if _failures(state, key, lock_window, client) >= auth.max_failed_logins:
        raise refuse(
            "locked",
            f"This account is locked after {auth.max_failed_logins} failed sign-ins from "
            f"your address. Try again in {auth.lockout_minutes} minutes, or ask an "
            "administrator to unlock it.",
            who=target,
        )
    if _failures(state, key, lock_window) >= auth.account_max_failed_logins and not (
        _known_address(state, key, client, now - dt.timedelta(days=auth.known_address_days))
    ):
        raise refuse(
            "locked_elsewhere",
            "There have been many failed sign-ins to this account from other addresses, so "
            "it is refused from addresses it has not signed in from lately. Sign in from "
            f"where you usually do, try again in {auth.lockout_minutes} minutes, or ask an "
            "administrator to unlock it.",
            who=target,
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
        ledger.note(
            state, auth, now, action="sign_in_failed", target=target, client=client, reason=reason
        )
        raise SignInError(WRONG, reason)
    assert user is not None and stored is not None
    _record(state, key, client, success=True)
    flush_sign_in_audit(state, target=user.username)
    if needs_rehash(stored):
        with state.session() as s:
            s.execute(
                update(user_account)
                .where(user_account.c.id == user.id)
                .values(password_hash=hash_password(password))
            )
    return user
