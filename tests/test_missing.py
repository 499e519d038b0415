"""What is missing, per figure (issue 21): an agency type nobody supplies, data held but not
sent, and sources that cover part of the period, carried in every output."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from joinedup.cli import cli
from joinedup.config import load_config
from joinedup.disclosure import Tier
from joinedup.insight.questions import load_questions
from joinedup.views.missing import missing_statements, with_missing
from joinedup.views.questions import current_answer


def test_every_question_needing_housing_says_nobody_supplies_it(synth_built: Path) -> None:
    needing = [q.id for q in load_questions(synth_built) if "housing" in q.spec.depends_on]
    assert needing  # places_of_concern: housing holds cuckooing cases
    for q in load_questions(synth_built):
        try:
            answer = current_answer(synth_built, q.id, tier=Tier.OPERATIONAL)
        except Exception:  # a question the tier may not see is not shown anywhere
            continue
        kinds = [m["agency_type"] for m in answer["missing"] if "agency_type" in m]
        assert ("housing" in kinds) == (q.id in needing), q.id
        if q.id in needing:
            text = answer["question"]["caveats"][0]
            assert text.startswith("No housing agency supplies data to joinedup")
            assert "suspected cuckooing (Wexbury Homes (housing association))" in text


def test_held_but_not_sent_is_named_beside_figures_resting_on_the_agency(synth_built) -> None:
    answer = current_answer(synth_built, "school_outcomes", tier=Tier.STRATEGIC)
    texts = [m["text"] for m in answer["missing"]]
    assert any(t.startswith("Figures exclude exclusions from academies held by") for t in texts)
    assert texts[0] in answer["question"]["caveats"]
    nrm = current_answer(synth_built, "nrm_referrals", tier=Tier.STRATEGIC)
    assert not any("academies" in m["text"] for m in nrm["missing"])  # no education there


def test_the_statement_reaches_the_command_line(synth_built: Path) -> None:
    out = CliRunner().invoke(cli, ["ask", str(synth_built), "places_of_concern"])
    assert out.exit_code == 0, out.output
    assert "Caveat: No housing agency supplies data to joinedup" in out.output


def _answer(period: dict, history: list[dict], depends_on=("police",)) -> dict:
    return {
        "period": period,
        "history": history,
        "question": {"depends_on": list(depends_on), "caveats": ["Old caveat."]},
    }


def test_a_source_covering_part_of_the_period_is_named() -> None:
    period = {"from": "2025-11-01", "to": "2026-10-31"}
    spans = [("a", "Crimes", "2023-01-02", "2026-10-30"),
             ("b", "Missing", "2026-03-05", "2026-10-01"),
             ("c", "Old", "2019-01-01", "2020-01-01")]  # fmt: skip
    history = [
        {"source": s, "dataset": d, "first_event": f, "last_event": la} for s, d, f, la in spans
    ]
    found = missing_statements(_answer(period, history), None)
    assert [m["kind"] for m in found] == ["source_covers_part_of_period", "source_outside_period"]
    assert found[0]["text"] == (
        "Missing data cover only March 2026 to October 2026 of this period "
        "(November 2025 to October 2026)."
    )
    assert missing_statements(_answer({"from": None, "to": None}, history), None) == []
    shown = with_missing(_answer(period, history), None)
    assert shown["question"]["caveats"][-1] == "Old caveat."
    assert shown["question"]["caveats"][0].startswith("Missing data cover only")


def test_a_type_with_no_agency_at_all_and_other_is_never_missing(synth_built: Path) -> None:
    cfg = load_config(synth_built, check_files=False)
    found = missing_statements(_answer({}, [], depends_on=("other", "police", "housing")), cfg)
    assert [m.get("agency_type") for m in found if m["kind"].startswith("agency")] == ["housing"]


def test_question_page_shows_what_the_figure_is_for_and_what_is_missing(synth_built) -> None:
    from fastapi.testclient import TestClient

    from conftest import sign_in
    from joinedup.web import create_app

    app = create_app(synth_built)
    client = TestClient(app)
    sign_in(client, "board_member", username="board-missing")
    page = client.get("/questions/intervention_outcomes").text
    assert 'id="aim"' in page and "Commissioning of support" in page
    page = client.get("/questions/places_of_concern").text
    assert "No housing agency supplies data to joinedup" in page
    app.state.governance.close()
