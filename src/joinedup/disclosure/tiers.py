"""The three audiences of joinedup and the rule for person-level output.

Strategic and community tiers see aggregates only; person-level rows (pseudonymous ids,
timelines, cohorts' members) are for the operational tier alone
(:func:`require_operational`). See ``docs/disclosure.md``.
"""

from __future__ import annotations

from enum import StrEnum

from joinedup.errors import JoinedupError

__all__ = ["PersonLevelError", "Tier", "require_operational"]


class Tier(StrEnum):
    """The three audiences of joinedup (DESIGN.md, "Tiers and governance")."""

    OPERATIONAL = "operational"
    STRATEGIC = "strategic"
    COMMUNITY = "community"


class PersonLevelError(JoinedupError):
    """Person-level output was asked for at a tier other than operational."""


def require_operational(tier: Tier) -> Tier:
    """``tier`` as a Tier, or a PersonLevelError unless it is the operational tier."""
    tier = Tier(tier)
    if tier is not Tier.OPERATIONAL:
        raise PersonLevelError(
            f"Person-level views are for the operational tier only, not {tier.value}."
        )
    return tier
