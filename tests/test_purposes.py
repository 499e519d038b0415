"""Purposes that bind (issue 19): outputs declare a purpose; a source contributes only where
its agreement permits it, and the output says what was left out and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from joinedup.config import load_config
from joinedup.config.model import SharingAgreement
from joinedup.config.purposes import (
    EXPORT_PURPOSES,
    PAGE_PURPOSES,
    purpose_codes,
    question_purpose,
)
from joinedup.disclosure import Tier, source_scope
from joinedup.insight.questions import validate_questions
from joinedup.views import current_questions


def _limit(cfg, key: str, purposes: list[str]):
    agreements = [
        a.model_copy(update={"permitted_purposes": purposes}) if a.key == key else a
        for a in cfg.sharing_agreements
    ]
    return cfg.model_copy(update={"sharing_agreements": agreements})


def test_purpose_list_is_taxonomy_data_and_checked() -> None:
    assert purpose_codes() == (
        "strategic_needs_assessment",
        "operational_safeguarding",
        "disruption",
        "commissioning",
        "statutory_return",
    )
    assert set(PAGE_PURPOSES.values()) | set(EXPORT_PURPOSES.values()) <= set(purpose_codes())
    with pytest.raises(ValidationError, match="unknown purpose"):
        SharingAgreement(key="a", title="A", permitted_purposes=["marketing"])
    assert question_purpose(None, "persons of concern", ["strategic"]) == "disruption"
    assert question_purpose(None, "children", ["operational"]) == "operational_safeguarding"
    assert question_purpose(None, "children", ["strategic"]) == "strategic_needs_assessment"
    assert question_purpose("commissioning", "children", ["strategic"]) == "commissioning"


def test_question_purpose_key_is_validated(tmp_path: Path) -> None:
    (tmp_path / "questions").mkdir()
    (tmp_path / "questions" / "mine.yaml").write_text(
        "id: mine\nquestion: How many children?\ndefinition: Children on record.\n"
        "unit: children\nsql: SELECT person_id AS unit_id FROM person\npurpose: marketing\n",
        encoding="utf-8",
    )
    problems = [str(p) for p in validate_questions(tmp_path)]
    assert any("mine.yaml: purpose" in p and "strategic_needs_assessment" in p for p in problems)


def test_no_permitted_purposes_permits_all(synth_small: Path) -> None:
    cfg = load_config(synth_small, check_files=False)
    for tier in Tier:
        for purpose in purpose_codes():
            scope = source_scope(cfg, tier, purpose)
            assert all(e.reason == "tier" for e in scope.excluded)


def test_scope_per_tier_and_purpose(synth_small: Path) -> None:
    cfg = _limit(
        load_config(synth_small, check_files=False), "brightpath_consent_2026", ["disruption"]
    )
    voluntary = {s.id for s in cfg.sources if s.sharing_agreement == "brightpath_consent_2026"}
    assert voluntary
    scope = source_scope(cfg, Tier.STRATEGIC)  # the tier's purpose: needs assessment
    assert scope.purpose == "strategic_needs_assessment"
    assert {e.source for e in scope.excluded if e.reason == "purpose"} == voluntary
    assert "Figures for strategic needs assessment exclude voluntary sector data" in scope.note
    assert "do not permit its use for strategic needs assessment" in scope.note
    assert scope.for_purpose("disruption").excluded == ()
    # the community tier excludes brightpath by tier first: never twice
    community = source_scope(cfg, Tier.COMMUNITY, "strategic_needs_assessment")
    assert [e.reason for e in community.excluded if e.source in voluntary] == ["tier"] * len(
        voluntary
    )


def test_questions_bind_to_their_purpose(synth_built: Path) -> None:
    cfg = load_config(synth_built, check_files=False)
    open_all = current_questions(synth_built, Tier.STRATEGIC, config=cfg)["questions"]
    limited = _limit(cfg, "brightpath_consent_2026", ["operational_safeguarding"])
    bound = current_questions(synth_built, Tier.STRATEGIC, config=limited)["questions"]
    was = {q["id"]: q["available"] for q in open_all}
    now = {q["id"]: q["available"] for q in bound}
    lost = sorted(k for k in was if was[k] and not now[k])
    assert lost, "some strategic questions draw on the voluntary service's data"
    assert all(now[k] == was[k] for k in was if k not in lost)


def test_refusal_says_why(synth_built: Path) -> None:
    from joinedup.views import QuestionRefused, current_question

    cfg = _limit(
        load_config(synth_built, check_files=False),
        "brightpath_consent_2026",
        ["operational_safeguarding"],
    )
    listed = current_questions(synth_built, Tier.STRATEGIC, config=cfg)["questions"]
    refused = next(q["id"] for q in listed if not q["available"])
    with pytest.raises(QuestionRefused, match="do not permit for strategic needs assessment"):
        current_question(synth_built, refused, tier=Tier.STRATEGIC, config=cfg)
