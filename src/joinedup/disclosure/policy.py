"""Disclosure policies: how small counts are hidden, tier by tier.

See ``docs/disclosure.md`` for the rules in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from joinedup.config.model import DisclosureConfig
from joinedup.disclosure.tiers import Tier

__all__ = [
    "SUPPRESSED",
    "Cell",
    "DisclosurePolicy",
    "policy_for",
    "suppression_footnote",
]

#: The symbol published in place of a suppressed count (DfE's "c", for confidential).
SUPPRESSED: Final = "c"

#: A published count: a whole number, or "c" where it is suppressed.
Cell = int | Literal["c"]


@dataclass(frozen=True)
class DisclosurePolicy:
    """How counts of people are protected before they are published.

    - ``threshold``: a count from 1 up to and including ``threshold`` is suppressed
      (published as "c"). Zero is published as 0: it says nothing about any one person.
    - ``rounding_base``: when set, every published count is then rounded to the nearest
      multiple of it (halves round up); zero stays zero.
    """

    threshold: int = 5
    rounding_base: int | None = None
    method: str = "suppression"  # or "cell_key": disclosure.method (issue 19)

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ValueError("threshold must be 0 or more (0 turns suppression off)")
        if self.rounding_base is not None and self.rounding_base < 1:
            raise ValueError("rounding_base must be a whole number of 1 or more, or None")

    def is_small(self, count: int) -> bool:
        """True for a count that primary suppression hides (1 to threshold)."""
        return 1 <= count <= self.threshold

    def rounded(self, count: int) -> int:
        """The count as published when it is not suppressed."""
        base = self.rounding_base
        if base is None or base == 1 or count == 0:
            return count
        return ((count + base // 2) // base) * base


_DEFAULTS: dict[Tier, DisclosurePolicy] = {
    Tier.OPERATIONAL: DisclosurePolicy(threshold=5),
    Tier.STRATEGIC: DisclosurePolicy(threshold=5),
    Tier.COMMUNITY: DisclosurePolicy(threshold=10),
}


def policy_for(tier: Tier, config: DisclosureConfig | None = None) -> DisclosurePolicy:
    """The policy of a tier: threshold 5 (DfE practice), 10 for community, unless
    partnership.yaml's ``disclosure:`` section makes it stricter."""
    default = _DEFAULTS[Tier(tier)]
    if config is None:
        return default
    override = getattr(config, Tier(tier).value)
    threshold = default.threshold if override.threshold is None else override.threshold
    rounding = default.rounding_base if override.rounding_base is None else override.rounding_base
    t = max(threshold, default.threshold)
    return DisclosurePolicy(threshold=t, rounding_base=rounding, method=config.method)


def suppression_footnote(policy: DisclosurePolicy) -> str:
    """The footnote that explains "c" wherever a protected table is shown."""
    text = (
        f"“{SUPPRESSED}” means the number is hidden to protect the children and young people "
        f"it counts: either it is between 1 and {policy.threshold}, or it has been hidden so "
        "that a small number cannot be worked out from the totals. Zero is shown as 0."
    )
    if policy.rounding_base and policy.rounding_base > 1:
        text += f" Other numbers are rounded to the nearest {policy.rounding_base}."
    return text
