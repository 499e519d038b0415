"""Insight: questions asked of a release, answered as raw figures.

Nothing here is fit to show as it is: every figure leaves the store through
``joinedup.disclosure``, which applies the tier's disclosure control.
"""

from __future__ import annotations

from joinedup.insight.groups import OTHER, REPORT_GROUPS, report_group_of, report_groups_for
from joinedup.insight.overview import (
    NOT_KNOWN,
    Authority,
    ConcernTable,
    Overview,
    ReleaseFacts,
    SourceSummary,
    authorities_sql,
    concerns_sql,
    exploitation_codes_sql,
    overview_figures,
    person_counts_sql,
    release_info_sql,
    sources_sql,
)

__all__ = [
    "NOT_KNOWN",
    "OTHER",
    "REPORT_GROUPS",
    "Authority",
    "ConcernTable",
    "Overview",
    "ReleaseFacts",
    "SourceSummary",
    "authorities_sql",
    "concerns_sql",
    "exploitation_codes_sql",
    "overview_figures",
    "person_counts_sql",
    "release_info_sql",
    "report_group_of",
    "report_groups_for",
    "sources_sql",
]
