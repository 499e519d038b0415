"""People who use joinedup: each belongs to one agency and holds one or more roles.

Every change is written to the audit log with who made it. Disabling a user ends their
sessions at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from joinedup.access.errors import UserError
from joinedup.access.passwords import check_password_rules, hash_password
from joinedup.access.roles import Permission, Role, permissions_of, tiers_of
from joinedup.disclosure import Tier
from joinedup.state import State
from joinedup.state.tables import login_attempt, user_account, user_role, web_session

__all__ = [
    "User",
    "create_user",
    "disable_user",
    "enable_user",
    "get_user",
    "get_user_by_id",
    "list_users",
    "load_user_by_id",
    "set_password",
    "set_roles",
    "unlock_user",
    "username_key",
]

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,127}$")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    agency: str
    roles: frozenset[Role]
    disabled: bool
    has_password: bool
    oidc_bound: bool
    created_at: dt.datetime

    @property
    def tiers(self) -> tuple[Tier, ...]:
        """Tiers this user may see, most detailed first."""
        return tiers_of(self.roles)

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def username_key(username: str) -> str:
    """How sign-in attempts name a username: its SHA-256 (people type passwords there)."""
    return hashlib.sha256(username.strip().lower().encode("utf-8")).hexdigest()


def _roles(values: Iterable[str]) -> frozenset[Role]:
    out = set()
    for v in values:
        try:
            out.add(Role(v))
        except ValueError:
            raise UserError(
                f"'{v}' is not a role; use one or more of: {', '.join(r.value for r in Role)}"
            ) from None
    if not out:
        raise UserError("a user needs at least one role")
    return frozenset(out)


def _load(s: Session, where: object) -> User | None:
    row = s.execute(select(user_account).where(where)).first()  # type: ignore[arg-type]
    if row is None:
        return None
    m = row._mapping
    roles = s.execute(select(user_role.c.role).where(user_role.c.user_id == m["id"])).scalars()
    return _user(m, roles)


def _user(m: Any, roles: Iterable[str]) -> User:
    return User(
        id=m["id"],
        username=m["username"],
        display_name=m["display_name"],
        agency=m["agency"],
        roles=frozenset(Role(r) for r in roles),
        disabled=bool(m["disabled"]),
        has_password=m["password_hash"] is not None,
        oidc_bound=m["oidc_subject"] is not None,
        created_at=m["created_at"],
    )


def get_user(state: State, username: str) -> User | None:
    with state.read() as s:
        return _load(s, user_account.c.username == username.strip().lower())


def get_user_by_id(state: State, user_id: int) -> User | None:
    with state.read() as s:
        return load_user_by_id(s, user_id)


def load_user_by_id(s: Session, user_id: int) -> User | None:
    """The user ``user_id`` read in the caller's open session (``State.read()``), in one
    query (every request of a signed-in visitor asks)."""
    rows = s.execute(
        select(user_account, user_role.c.role)
        .outerjoin(user_role, user_role.c.user_id == user_account.c.id)
        .where(user_account.c.id == user_id)
    ).all()
    if not rows:
        return None
    return _user(rows[0]._mapping, [r._mapping["role"] for r in rows if r._mapping["role"]])


def list_users(state: State) -> list[User]:
    """Every user, by username (two queries, whatever the number of users)."""
    with state.read() as s:
        rows = s.execute(select(user_account).order_by(user_account.c.username)).all()
        roles: dict[int, list[str]] = {}
        for user_id, role in s.execute(select(user_role.c.user_id, user_role.c.role)):
            roles.setdefault(user_id, []).append(role)
    return [_user(r._mapping, roles.get(r._mapping["id"], [])) for r in rows]


def _require(state: State, username: str) -> User:
    user = get_user(state, username)
    if user is None:
        raise UserError(f"There is no user '{username}'; `joinedup users list DIR` shows them.")
    return user


def create_user(
    state: State,
    *,
    username: str,
    display_name: str,
    agency: str,
    roles: Iterable[str],
    password: str | None = None,
    actor: str,
    agencies: Iterable[str] | None = None,
) -> User:
    """Add a user. Without a password, they can sign in only through OpenID Connect.

    ``agencies``, when given, are the partnership's agency ids; ``agency`` must be one.
    """
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise UserError(
            "A username is 2 to 128 characters: lower-case letters, digits and . _ @ -, "
            "starting with a letter or digit (an email address works)."
        )
    known = set(agencies) if agencies is not None else None
    if known is not None and agency not in known:
        raise UserError(
            f"'{agency}' is not an agency of this partnership; use one of: "
            f"{', '.join(sorted(known))}"
        )
    role_set = _roles(roles)
    digest = None
    if password is not None:
        problems = check_password_rules(password)
        if problems:
            raise UserError("The password is not strong enough: " + "; ".join(problems) + ".")
        digest = hash_password(password)
    try:
        with state.session() as s:
            uid = s.execute(
                insert(user_account)
                .values(
                    username=username,
                    display_name=display_name.strip() or username,
                    agency=agency,
                    password_hash=digest,
                    disabled=False,
                    created_at=dt.datetime.now(dt.UTC),
                )
                .returning(user_account.c.id)
            ).scalar_one()
            s.execute(insert(user_role), [{"user_id": uid, "role": r.value} for r in role_set])
    except IntegrityError:
        raise UserError(f"There is already a user '{username}'.") from None
    state.audit.append(
        actor=actor,
        action="user_created",
        target=username,
        detail={"agency": agency, "roles": sorted(role_set)},
    )
    return _require(state, username)


def set_roles(state: State, *, username: str, roles: Iterable[str], actor: str) -> User:
    user = _require(state, username)
    role_set = _roles(roles)
    with state.session() as s:
        s.execute(delete(user_role).where(user_role.c.user_id == user.id))
        s.execute(insert(user_role), [{"user_id": user.id, "role": r.value} for r in role_set])
    state.audit.append(
        actor=actor,
        action="roles_changed",
        target=user.username,
        detail={"from": sorted(user.roles), "to": sorted(role_set)},
    )
    return _require(state, username)


def _revoke_sessions(s: Session, user_id: int) -> None:
    s.execute(
        update(web_session)
        .where(web_session.c.user_id == user_id, web_session.c.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )


def disable_user(state: State, *, username: str, actor: str) -> User:
    """Stop a user signing in, and end every session they have."""
    user = _require(state, username)
    with state.session() as s:
        s.execute(update(user_account).where(user_account.c.id == user.id).values(disabled=True))
        _revoke_sessions(s, user.id)
    state.audit.append(actor=actor, action="user_disabled", target=user.username)
    return _require(state, username)


def enable_user(state: State, *, username: str, actor: str) -> User:
    user = _require(state, username)
    with state.session() as s:
        s.execute(update(user_account).where(user_account.c.id == user.id).values(disabled=False))
    state.audit.append(actor=actor, action="user_enabled", target=user.username)
    return _require(state, username)


def set_password(state: State, *, username: str, password: str, actor: str) -> User:
    """Set a new password; the user's sessions end (they sign in again with it)."""
    user = _require(state, username)
    problems = check_password_rules(password)
    if problems:
        raise UserError("The password is not strong enough: " + "; ".join(problems) + ".")
    with state.session() as s:
        s.execute(
            update(user_account)
            .where(user_account.c.id == user.id)
            .values(password_hash=hash_password(password))
        )
        _revoke_sessions(s, user.id)
    state.audit.append(actor=actor, action="password_set", target=user.username)
    return _require(state, username)


def unlock_user(state: State, *, username: str, actor: str) -> User:
    """Clear a lockout after failed sign-ins (a marker that counts as a fresh start)."""
    user = _require(state, username)
    with state.session() as s:
        s.execute(
            insert(login_attempt).values(
                at=dt.datetime.now(dt.UTC),
                username=username_key(user.username),
                client="unlock",
                success=True,
            )
        )
    state.audit.append(actor=actor, action="user_unlocked", target=user.username)
    return user
