"""Demo accounts: one per role, for the synthetic demo only.

``joinedup demo`` prints their passwords so a person can try every role. This is only
acceptable because the demo's data is synthetic: never create accounts like this for a
partnership with real data.
"""

from __future__ import annotations

from dataclasses import dataclass

from joinedup.access.passwords import generate_password
from joinedup.access.roles import Role
from joinedup.access.users import create_user, enable_user, get_user, set_password
from joinedup.state import State

__all__ = ["DemoAccount", "ensure_demo_accounts"]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    agency: str
    password: str


def ensure_demo_accounts(state: State, agencies: list[str], *, actor: str) -> list[DemoAccount]:
    """Create (or reset the passwords of) ``demo-<role>`` accounts, one per role."""
    if not agencies:
        raise ValueError("the demo partnership has no agencies")
    out = []
    for role in Role:
        username = f"demo-{role.value.replace('_', '-')}"
        password = generate_password()
        if get_user(state, username) is None:
            create_user(
                state,
                username=username,
                display_name=f"Demo {role.value.replace('_', ' ')}",
                agency=agencies[0],
                roles=[role.value],
                password=password,
                actor=actor,
            )
        else:
            enable_user(state, username=username, actor=actor)
            set_password(state, username=username, password=password, actor=actor)
        out.append(DemoAccount(username, role, agencies[0], password))
    return out
