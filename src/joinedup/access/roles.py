"""Roles, the tiers each may see, and what else each may do.

- admin (strategic tier): manage users; read the whole audit log.
- data_lead (strategic): read the audit of its agency's data; subject access exports
  for its agency; review links; export.
- analyst (strategic): review links; export.
- panel_member (operational and strategic): person-level pages; re-identify a person
  with a typed purpose; export; panels (meetings, packs, decisions and actions of the
  panels they sit on).
- board_member (strategic): figures only.
- community_viewer (community): themes and areas only.

A user with several roles has everything each of them has. ``docs/governance.md`` has
this table for information governance leads; a test keeps the two the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from joinedup.disclosure import Tier

__all__ = [
    "ROLE_PERMISSIONS",
    "ROLE_TIERS",
    "TIER_ORDER",
    "Permission",
    "Role",
    "permissions_of",
    "tiers_of",
]


class Role(StrEnum):
    ADMIN = "admin"
    DATA_LEAD = "data_lead"
    ANALYST = "analyst"
    PANEL_MEMBER = "panel_member"
    BOARD_MEMBER = "board_member"
    COMMUNITY_VIEWER = "community_viewer"


class Permission(StrEnum):
    MANAGE_USERS = "manage_users"
    AUDIT_ALL = "audit_all"
    AUDIT_OWN_AGENCY = "audit_own_agency"
    SUBJECT_ACCESS = "subject_access"
    REVIEW_LINKS = "review_links"
    EXPORT = "export"
    PERSON_LEVEL = "person_level"
    REIDENTIFY = "reidentify"
    # issue 18: sit on exploitation panels (a panel's own members only; see access/panel_access)
    PANELS = "panels"
    MANAGE_RELEASES = "manage_releases"
    # issue 16: download the board report as a PDF (its audience and who prepares it)
    BOARD_REPORT = "board_report"


ROLE_TIERS: dict[Role, frozenset[Tier]] = {
    Role.ADMIN: frozenset({Tier.STRATEGIC}),
    Role.DATA_LEAD: frozenset({Tier.STRATEGIC}),
    Role.ANALYST: frozenset({Tier.STRATEGIC}),
    Role.PANEL_MEMBER: frozenset({Tier.OPERATIONAL, Tier.STRATEGIC}),
    Role.BOARD_MEMBER: frozenset({Tier.STRATEGIC}),
    Role.COMMUNITY_VIEWER: frozenset({Tier.COMMUNITY}),
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        {Permission.MANAGE_USERS, Permission.AUDIT_ALL, Permission.MANAGE_RELEASES}
    ),
    Role.DATA_LEAD: frozenset(
        {
            Permission.AUDIT_OWN_AGENCY,
            Permission.MANAGE_RELEASES,
            Permission.SUBJECT_ACCESS,
            Permission.REVIEW_LINKS,
            Permission.EXPORT,
            Permission.BOARD_REPORT,
        }
    ),
    Role.ANALYST: frozenset({Permission.REVIEW_LINKS, Permission.EXPORT, Permission.BOARD_REPORT}),
    Role.PANEL_MEMBER: frozenset(
        {Permission.PERSON_LEVEL, Permission.REIDENTIFY, Permission.EXPORT, Permission.PANELS}
    ),
    Role.BOARD_MEMBER: frozenset({Permission.BOARD_REPORT}),
    Role.COMMUNITY_VIEWER: frozenset(),
}

#: Most detailed first: a user's default tier is the first of theirs in this order.
TIER_ORDER: tuple[Tier, ...] = (Tier.OPERATIONAL, Tier.STRATEGIC, Tier.COMMUNITY)


def tiers_of(roles: Iterable[Role]) -> tuple[Tier, ...]:
    """The tiers a set of roles may see, most detailed first."""
    held = set().union(*(ROLE_TIERS[Role(r)] for r in roles))
    return tuple(t for t in TIER_ORDER if t in held)


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    return frozenset().union(*(ROLE_PERMISSIONS[Role(r)] for r in roles))
