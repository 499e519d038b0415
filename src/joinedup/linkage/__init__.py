"""Person linkage: which records are about the same person (see docs/linkage.md)."""

from __future__ import annotations

from joinedup.linkage.exact import IDENTIFIER_RULES, exact_record_person, person_id_for
from joinedup.linkage.link import link_persons, link_stage, model_signature
from joinedup.linkage.names import NicknameTable, load_nicknames, normalise_name
from joinedup.linkage.report import LinkOutcome, truth_metrics
from joinedup.linkage.review import ReviewPair, load_decisions, review_queue

__all__ = [
    "IDENTIFIER_RULES",
    "LinkOutcome",
    "NicknameTable",
    "ReviewPair",
    "exact_record_person",
    "link_persons",
    "link_stage",
    "load_decisions",
    "load_nicknames",
    "model_signature",
    "normalise_name",
    "person_id_for",
    "review_queue",
    "truth_metrics",
]
