"""Report groups: the headings that exploitation types are counted under.

The mapping belongs to the taxonomy (``Taxonomy.report_group``); this module only fixes the
order the groups are shown in and makes sure no person drops out of a total: a code the
taxonomy does not know (for example a local extension from another partnership) is
counted under "Other".

"Type not stated" (:data:`NOT_STATED`) is its own heading, never "Other": it holds
records that say only that there is an exploitation concern ("exploitation concern: yes")
without saying which. It is kept apart from the five groups every partnership reports
(:data:`REPORT_GROUPS`) and is shown after them, where a release has any.
"""

from __future__ import annotations

from collections.abc import Iterable

from joinedup.errors import JoinedupError
from joinedup.taxonomy import load_taxonomy

__all__ = [
    "NOT_STATED",
    "OTHER",
    "REPORT_GROUPS",
    "SHOWN_GROUPS",
    "report_group_of",
    "report_groups_for",
]

OTHER = "Other"
NOT_STATED = "Type not stated"

#: The report groups, in the order every table and chart shows them.
REPORT_GROUPS: tuple[str, ...] = (
    "CSE",
    "CCE and county lines",
    "Online",
    "Trafficking and modern slavery",
    OTHER,
)

#: Every heading a figure can show, in order: the report groups, then "Type not stated".
SHOWN_GROUPS: tuple[str, ...] = (*REPORT_GROUPS, NOT_STATED)


def report_group_of(code: str) -> str:
    """The report group of an exploitation type code; "Other" when it has none we show.

    A code whose taxonomy group is "Type not stated" keeps that group.
    """
    try:
        group = load_taxonomy().report_group(code)
    except JoinedupError:
        return OTHER
    return group if group in SHOWN_GROUPS else OTHER


def report_groups_for(codes: Iterable[str]) -> dict[str, str]:
    """Report group of each code given, keyed by code in sorted order (stable SQL)."""
    return {code: report_group_of(code) for code in sorted(set(codes))}
