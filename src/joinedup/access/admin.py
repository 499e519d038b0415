"""What administrators do to users on the web (issue 16), beside ``access.users``.

- :func:`set_agency`: move a user to another agency of the partnership (their sessions
  end: what they may see depends on it), audited ``agency_changed``;
- :func:`sign_in_failures`: recent failed sign-ins per user, as the lockout counts them
  (since the later of ``auth.lockout_minutes`` ago and their last unlock), so the admin
  page can say who is locked out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select, update

from joinedup.access.errors import UserError
from joinedup.access.signin import UNLOCK_CLIENT
from joinedup.access.users import User, _require, _revoke_sessions, username_key
from joinedup.config.model import AuthConfig
from joinedup.state import State
from joinedup.state.tables import login_attempt, user_account

__all__ = ["set_agency", "sign_in_failures"]


def set_agency(
    state: State, *, username: str, agency: str, actor: str, agencies: Iterable[str]
) -> User:
    """Move ``username`` to ``agency`` (one of ``agencies``); their sessions end."""
    known = set(agencies)
    if agency not in known:
        raise UserError(
            f"'{agency}' is not an agency of this partnership; use one of: "
            f"{', '.join(sorted(known))}"
        )
    user = _require(state, username)
    if user.agency == agency:
        return user
    with state.session() as s:
        s.execute(update(user_account).where(user_account.c.id == user.id).values(agency=agency))
        _revoke_sessions(s, user.id)
    state.audit.append(
        actor=actor,
        action="agency_changed",
        target=user.username,
        detail={"from": user.agency, "to": agency},
    )
    return _require(state, username)


def sign_in_failures(
    state: State, users: Iterable[User], auth: AuthConfig, *, now: dt.datetime | None = None
) -> dict[str, dict[str, int | bool]]:
    """Per username: failed sign-ins counted by the lockout now (all addresses), and
    whether that many lock the account from addresses it has not signed in from
    (``locked_elsewhere``) or would lock it at one address (``may_be_locked``).

    Counted as ``joinedup.access.signin`` counts them for all addresses (failures since
    the later of ``auth.lockout_minutes`` ago and the last unlock), for every user in two
    queries of one read-only transaction (``State.read``)."""
    now = now or dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(minutes=auth.lockout_minutes)
    keys = {user.username: username_key(user.username) for user in users}
    t = login_attempt
    with state.read() as s:
        unlocked = {
            str(key): at
            for key, at in s.execute(
                select(t.c.username, func.max(t.c.at))
                .where(
                    t.c.username.in_(list(keys.values())),
                    t.c.success.is_(True),
                    t.c.client == UNLOCK_CLIENT,
                )
                .group_by(t.c.username)
            )
        }
        failed = s.execute(
            select(t.c.username, t.c.at).where(
                t.c.username.in_(list(keys.values())), t.c.success.is_(False), t.c.at > since
            )
        ).all()
    out: dict[str, dict[str, int | bool]] = {}
    for username, key in keys.items():
        last = unlocked.get(key)
        start = max(since, last) if isinstance(last, dt.datetime) else since
        n = sum(1 for k, at in failed if k == key and at > start)
        out[username] = {
            "failures": n,
            "may_be_locked": n >= auth.max_failed_logins,
            "locked_elsewhere": n >= auth.account_max_failed_logins,
        }
    return out
