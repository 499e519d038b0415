"""Insight: questions asked of a release, answered as raw figures.

Nothing here is fit to show as it is: every figure leaves the store through
``joinedup.disclosure``, which applies the tier's disclosure control.

The questions are data (``insight/questions/*.yaml`` and a partnership's
``DIR/questions/``), answered at build by :func:`compute_insight` into the release; places,
networks, journeys, missing episodes and scrubbed notes are release tables too. See
``docs/insight.md``.
"""

from __future__ import annotations

from joinedup.insight.answers import (
    Answer,
    AnswerCell,
    QuestionInfo,
    list_questions,
    read_answer,
)
from joinedup.insight.crosses import Cross, read_cross
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
from joinedup.insight.periods import (
    Period,
    PeriodError,
    SourceSpan,
    custom_period,
    default_period,
)
from joinedup.insight.places import RANKINGS, Hotspot, hotspots, rank_places
from joinedup.insight.questions import (
    QUESTIONS_DIR,
    Question,
    QuestionError,
    QuestionSpec,
    check_questions,
    default_pack_ids,
    load_questions,
    validate_questions,
)
from joinedup.insight.results import compute_answers
from joinedup.insight.scrubber import Scrubbed, Scrubber, scrub
from joinedup.insight.stage import compute_insight

__all__ = [
    "NOT_KNOWN",
    "OTHER",
    "QUESTIONS_DIR",
    "RANKINGS",
    "REPORT_GROUPS",
    "STEP_LABELS",
    "Answer",
    "AnswerCell",
    "Authority",
    "ConcernTable",
    "Cross",
    "Hotspot",
    "Network",
    "Overview",
    "Period",
    "PeriodError",
    "Question",
    "QuestionError",
    "QuestionInfo",
    "QuestionSpec",
    "ReleaseFacts",
    "Scrubbed",
    "Scrubber",
    "SourceSpan",
    "SourceSummary",
    "authorities_sql",
    "build_networks",
    "check_questions",
    "compute_answers",
    "compute_insight",
    "concerns_sql",
    "custom_period",
    "default_pack_ids",
    "default_period",
    "derive_person_tables",
    "exploitation_codes_sql",
    "hotspots",
    "list_questions",
    "load_questions",
    "overview_figures",
    "person_counts_sql",
    "rank_places",
    "read_answer",
    "read_cross",
    "release_info_sql",
    "report_group_of",
    "report_groups_for",
    "scrub",
    "sources_sql",
    "validate_questions",
]
