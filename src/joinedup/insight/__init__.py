"""Insight: questions asked of a release, answered as raw figures.

Nothing here is fit to show as it is: every figure leaves the store through
``joinedup.disclosure``, which applies the tier's disclosure control.

The questions are data (``insight/questions/*.yaml`` and a partnership's
``DIR/questions/``), answered at build by :func:`insight_stage` into the release; places,
networks, journeys, missing episodes and scrubbed notes are release tables too. See
``docs/insight.md``.
"""

from __future__ import annotations

from joinedup.insight.answers import (
    Answer,
    AnswerCell,
    QuestionInfo,
    compute_answers,
    list_questions,
    read_answer,
)
from joinedup.insight.derived import STEP_LABELS, derive_person_tables
from joinedup.insight.groups import OTHER, REPORT_GROUPS, report_group_of, report_groups_for
from joinedup.insight.networks import Network, build_networks
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
from joinedup.insight.places import Hotspot, hotspots
from joinedup.insight.questions import (
    QUESTIONS_DIR,
    Question,
    QuestionError,
    QuestionSpec,
    default_pack_ids,
    load_questions,
    validate_questions,
)
from joinedup.insight.scrubber import Scrubbed, Scrubber, scrub
from joinedup.insight.stage import compute_insight, insight_stage

__all__ = [
    "NOT_KNOWN",
    "OTHER",
    "QUESTIONS_DIR",
    "REPORT_GROUPS",
    "STEP_LABELS",
    "Answer",
    "AnswerCell",
    "Authority",
    "ConcernTable",
    "Hotspot",
    "Network",
    "Overview",
    "Question",
    "QuestionError",
    "QuestionInfo",
    "QuestionSpec",
    "ReleaseFacts",
    "Scrubbed",
    "Scrubber",
    "SourceSummary",
    "authorities_sql",
    "build_networks",
    "compute_answers",
    "compute_insight",
    "concerns_sql",
    "default_pack_ids",
    "derive_person_tables",
    "exploitation_codes_sql",
    "hotspots",
    "insight_stage",
    "list_questions",
    "load_questions",
    "overview_figures",
    "person_counts_sql",
    "read_answer",
    "release_info_sql",
    "report_group_of",
    "report_groups_for",
    "scrub",
    "sources_sql",
    "validate_questions",
]
