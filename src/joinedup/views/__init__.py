"""Views: the protected model of every page and output, the only way figures leave the
release store.

Each ``current_*`` function opens the partnership's current release, reads raw figures
(``joinedup.insight`` or the release's tables) and returns exactly what the given tier may
see, built only through ``joinedup.disclosure``'s rules (tiers, policies, suppression,
sharing agreements). Web pages, reports and exports take their figures from here and
never query a release; the tier names, the "c" symbol and the errors they need are
re-exported here.
"""

from __future__ import annotations

from joinedup.disclosure import (
    SUPPRESSED,
    Cell,
    DisclosurePolicy,
    PersonLevelError,
    Tier,
    policy_for,
)
from joinedup.insight import QuestionError
from joinedup.views.answers import TOTAL, answer_csv, answer_rows, protect_answer
from joinedup.views.cohorts import cohort_members, current_cohorts
from joinedup.views.linkage import current_linkage_report
from joinedup.views.networks import (
    NetworkNotFound,
    NetworkNotShown,
    current_network,
    current_networks,
)
from joinedup.views.overview import current_overview, protect_overview
from joinedup.views.person import (
    DOSSIER_SECTIONS,
    person_dossier,
    persons_by_agency_identifier,
)
from joinedup.views.places import PlacesError, current_area_shapes, current_places
from joinedup.views.quality import UnknownAgency, current_quality
from joinedup.views.questions import (
    QuestionNotFound,
    QuestionRefused,
    current_answer,
    current_changes,
    current_question,
    current_questions,
    current_units,
    headline_change,
)
from joinedup.views.release import (
    ReleaseLike,
    agency_names,
    open_current_release,
    partnership_config,
)
from joinedup.views.releases import compare_releases, default_pair, release_listing
from joinedup.views.review import (
    PairNotFound,
    ReviewPairView,
    current_review_pair,
    current_review_queue,
)
from joinedup.views.timeline import person_timeline, reidentification_view

__all__ = [
    "DOSSIER_SECTIONS",
    "SUPPRESSED",
    "TOTAL",
    "Cell",
    "DisclosurePolicy",
    "NetworkNotFound",
    "NetworkNotShown",
    "PairNotFound",
    "PersonLevelError",
    "PlacesError",
    "QuestionError",
    "QuestionNotFound",
    "QuestionRefused",
    "ReleaseLike",
    "ReviewPairView",
    "Tier",
    "UnknownAgency",
    "answer_csv",
    "answer_rows",
    "cohort_members",
    "compare_releases",
    "current_answer",
    "current_area_shapes",
    "current_changes",
    "current_cohorts",
    "current_linkage_report",
    "current_network",
    "current_networks",
    "current_overview",
    "current_places",
    "current_question",
    "current_questions",
    "current_quality",
    "current_review_pair",
    "current_review_queue",
    "current_units",
    "default_pair",
    "headline_change",
    "open_current_release",
    "partnership_config",
    "agency_names",
    "person_dossier",
    "person_timeline",
    "persons_by_agency_identifier",
    "policy_for",
    "protect_answer",
    "protect_overview",
    "reidentification_view",
    "release_listing",
]
