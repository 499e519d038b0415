"""Report groups: the five headings that exploitation types are counted under.

The mapping belongs to the taxonomy (``Taxonomy.report_group``); this module only fixes the
order the groups are shown in and makes sure no person drops out of a total: a code the
taxonomy does not know (for example a local extension from another partnership) is
counted under "Other".
"""

from __future__ import annotations

from collections.abc import Iterable

from joinedup.errors import JoinedupError
from joinedup.taxonomy import load_taxonomy

__all__ = ["OTHER", "REPORT_GROUPS", "report_group_of", "report_groups_for"]

OTHER = "Other"

#: The report groups, in the order every table and chart shows them.
REPORT_GROUPS: tuple[str, ...] = (
    "CSE",
    "CCE and county lines",
    "Online",
    "Trafficking and modern slavery",
    OTHER,
)


def report_group_of(code: str) -> str:
    """The report group of an exploitation type code; "Other" when it has none we show."""
    try:
        group = load_taxonomy().report_group(code)
    except JoinedupError:
        return OTHER
    return group if group in REPORT_GROUPS else OTHER


def report_groups_for(codes: Iterable[str]) -> dict[str, str]:
    """Report group of each code given, keyed by code in sorted order (stable SQL)."""
    return {code: report_group_of(code) for code in sorted(set(codes))}
