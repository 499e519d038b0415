"""Disclosure control: the only way figures leave the release store.

Web pages, reports and exports call the functions here and never query a release: each
returns exactly what the given tier may see, with small counts suppressed. The rules are
explained for information governance leads in ``docs/disclosure.md``.
"""

from __future__ import annotations

from joinedup.disclosure.cohorts import (
    PersonLevelError,
    cohort_members,
    current_cohorts,
)
from joinedup.disclosure.linkage import (
    PairNotFound,
    ReviewPairView,
    current_linkage_report,
    current_review_pair,
    current_review_queue,
)
from joinedup.disclosure.networks import (
    NetworkNotFound,
    NetworkNotShown,
    current_network,
    current_networks,
)
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
from joinedup.disclosure.places import PlacesError, current_area_shapes, current_places
from joinedup.disclosure.policy import (
    SUPPRESSED,
    Cell,
    DisclosurePolicy,
    Tier,
    policy_for,
    suppression_footnote,
)
from joinedup.disclosure.quality import UnknownAgency, current_quality
from joinedup.disclosure.releases import compare_releases, release_listing
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
from joinedup.disclosure.timeline import person_timeline, reidentification_view

__all__ = [
    "DOSSIER_SECTIONS",
    "SUPPRESSED",
    "Cell",
    "DisclosurePolicy",
    "ExcludedSource",
    "NetworkNotFound",
    "NetworkNotShown",
    "PairNotFound",
    "PersonLevelError",
    "PlacesError",
    "Relation",
    "ReleaseLike",
    "ReviewPairView",
    "SourceScope",
    "Tier",
    "TwoWayTable",
    "UnknownAgency",
    "cohort_members",
    "compare_releases",
    "current_area_shapes",
    "current_cohorts",
    "current_linkage_report",
    "current_network",
    "current_networks",
    "current_overview",
    "current_places",
    "current_quality",
    "current_review_pair",
    "current_review_queue",
    "determined_cells",
    "open_current_release",
    "partnership_config",
    "person_dossier",
    "person_timeline",
    "persons_by_agency_identifier",
    "policy_for",
    "protect_cells",
    "protect_one_way",
    "protect_overview",
    "protect_two_way",
    "reidentification_view",
    "release_listing",
    "scope_release",
    "scope_views_sql",
    "source_scope",
    "suppression_footnote",
]
