"""Disclosure control: the only way figures leave the release store.

Web pages, reports and exports call the functions here and never query a release: each
returns exactly what the given tier may see, with small counts suppressed. The rules are
explained for information governance leads in ``docs/disclosure.md``.
"""

from __future__ import annotations

from joinedup.disclosure.overview import (
    ReleaseLike,
    current_overview,
    open_current_release,
    partnership_config,
    protect_overview,
)
from joinedup.disclosure.person import (
    DOSSIER_SECTIONS,
    person_dossier,
    persons_by_agency_identifier,
)
from joinedup.disclosure.policy import (
    SUPPRESSED,
    Cell,
    DisclosurePolicy,
    Tier,
    policy_for,
    suppression_footnote,
)
from joinedup.disclosure.sharing import (
    ExcludedSource,
    SourceScope,
    scope_release,
    scope_views_sql,
    source_scope,
)
from joinedup.disclosure.suppression import (
    Relation,
    TwoWayTable,
    determined_cells,
    protect_cells,
    protect_one_way,
    protect_two_way,
)

__all__ = [
    "DOSSIER_SECTIONS",
    "SUPPRESSED",
    "Cell",
    "DisclosurePolicy",
    "ExcludedSource",
    "ReleaseLike",
    "Relation",
    "SourceScope",
    "Tier",
    "TwoWayTable",
    "current_overview",
    "determined_cells",
    "open_current_release",
    "partnership_config",
    "person_dossier",
    "persons_by_agency_identifier",
    "policy_for",
    "protect_cells",
    "protect_one_way",
    "protect_overview",
    "protect_two_way",
    "scope_release",
    "scope_views_sql",
    "source_scope",
    "suppression_footnote",
]
