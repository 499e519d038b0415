"""Data maturity self-assessment, the catalogue and the performance framework (issue 21)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.config import load_config
from joinedup.config.catalogue import Framework, HeldDataset, check_catalogue
from joinedup.disclosure import Tier
from joinedup.state import MaturityError, SelfAssessments, open_state
from joinedup.taxonomy.maturity import MATURITY_DIMENSIONS, load_maturity
from joinedup.views.maturity import framework_view, maturity_view, measured_level
from joinedup.web import create_app


def seed_assessments(partnership: Path, state) -> None:
    """The synthetic agencies' self-assessments (truth/self_assessments.json) into state."""
    store = SelfAssessments(state.session)
    for row in json.loads((partnership / "truth" / "self_assessments.json").read_text()):
        store.submit(
            agency=row["agency"],
            levels=row["levels"],
            submitted_by=f"lead-{row['agency']}",
            version="2026.1",
            dimensions=MATURITY_DIMENSIONS,
            now=dt.datetime.fromisoformat(row["submitted_on"] + "T10:00:00+00:00"),
        )


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("maturity") / "partnership"
    shutil.copytree(synth_built, root)
    with open_state(root) as st:
        seed_assessments(root, st)
    return root


def test_questionnaire_has_six_dimensions_five_levels_and_what_measures_them() -> None:
    q = load_maturity()
    assert tuple(d.code for d in q.dimensions) == MATURITY_DIMENSIONS
    assert all(sorted(d.statements) == [1, 2, 3, 4, 5] for d in q.dimensions)
    assert q.dimension("recording").measured_by == ("completeness", "validity", "timeliness")
    assert q.dimension("analysis").measured_by == ()
    assert [measured_level(x) for x in (0.99, 0.96, 0.9, 0.75, 0.5)] == [5, 4, 3, 2, 1]


def test_assessments_keep_history_and_refuse_incomplete_answers(state) -> None:
    store = SelfAssessments(state.session)
    levels = dict.fromkeys(MATURITY_DIMENSIONS, 3)
    with pytest.raises(MaturityError) as err:
        store.submit(
            agency="police",
            levels={**levels, "systems": 7, "analysis": None},  # type: ignore[dict-item]
            submitted_by="dl",
            version="2026.1",
            dimensions=MATURITY_DIMENSIONS,
        )
    assert "systems: the level must be 1 to 5" in str(err.value)
    assert "analysis: choose a level" in str(err.value)
    first = store.submit(
        agency="police",
        levels=levels,
        submitted_by="dl",
        version="2026.1",
        dimensions=MATURITY_DIMENSIONS,
        evidence={"recording": "Monthly audit of 50 records"},
        now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    second = store.submit(
        agency="police",
        levels={**levels, "recording": 4},
        submitted_by="dl",
        version="2026.1",
        dimensions=MATURITY_DIMENSIONS,
    )
    assert [a.id for a in store.history("police")] == [first.id, second.id]
    assert store.latest("police").levels["recording"] == 4
    assert first.evidence == {"recording": "Monthly audit of 50 records"}
    assert store.latest("health") is None


def test_board_summary_names_the_agency_whose_self_assessment_disagrees(partnership) -> None:
    with open_state(partnership) as st:
        data = maturity_view(partnership, Tier.STRATEGIC, assessments=SelfAssessments(st.session))
    m = data["maturity"]
    assert m["summary"]["disagreements"] == ["education"]
    assert "Wexbury and Ashdown pupil data" in m["summary"]["headline"]
    edu = next(a for a in m["agencies"] if a["agency"] == "education")
    rows = {r["dimension"]: r for r in edu["dimensions"]}
    assert rows["recording"]["agreement"] == "self_higher"
    assert rows["recording"]["self_level"] - rows["recording"]["measured_level"] >= 2
    assert rows["analysis"]["agreement"] == "not_measured"
    assert rows["recording"]["change"] == 1  # 4 in April, 5 in September
    police = next(a for a in m["agencies"] if a["agency"] == "police")
    assert police["disagrees"] == [] and len(police["history"]) == 2
    housing = next(a for a in m["agencies"] if a["agency"] == "wexbury_homes")
    assert housing["supplies"] is False and housing["assessed_on"] is None
    assert housing["catalogue"][0]["supplied"] is False
    summary = {d["dimension"]: d for d in m["summary"]["dimensions"]}
    assert summary["recording"]["agencies_assessed"] == 3
    assert summary["recording"]["median_level"] == 4
    assert "Wexbury Homes (housing association)" in m["summary"]["not_assessed"]


def test_catalogue_and_framework_load_and_are_checked(partnership) -> None:
    cfg = load_config(partnership, check_files=False)
    assert cfg.catalogue["wexbury_homes"][0].supplied is False
    assert cfg.framework.outcomes[0].questions[1].direction == "at_most"
    assert check_catalogue(
        catalogue=cfg.catalogue,
        framework=cfg.framework,
        agencies=[a.id for a in cfg.agencies],
        sources=[s.id for s in cfg.sources],
        questions=["children_with_concern", "children_known_to_one_agency",
                   "missing_episodes_rhi", "intervention_outcomes"],
    ) == []  # fmt: skip
    bad = check_catalogue(
        catalogue={"nobody": [HeldDataset(name="x data", source="nope", supplied=False)]},
        framework=Framework.model_validate(
            {"outcomes": [{"outcome": "Safer", "questions": [{"question": "unknown_q"}]}]}
        ),
        agencies=["police"],
        sources=["police_crimes"],
        questions=["children_with_concern"],
    )
    text = "\n".join(str(p) for p in bad)
    assert "catalogue.nobody: is not an agency id; use one of: police" in text
    assert "'nope' is not a source id" in text
    assert "says supplied: false" in text
    assert "'unknown_q' is not a question id" in text


def test_framework_shows_targets_beside_protected_headlines(partnership) -> None:
    data = framework_view(partnership, Tier.STRATEGIC)
    outcomes = data["framework"]["outcomes"]
    assert [len(o["questions"]) for o in outcomes] == [2, 1, 1]
    row = outcomes[0]["questions"][1]
    assert row["target"] == 40 and row["direction"] == "at_most" and row["available"]
    assert "never a rating of a child" in data["framework"]["note"]


def test_web_data_lead_fills_in_own_agency_only_and_board_sees_it(partnership) -> None:
    app = create_app(partnership)
    lead, board, analyst = TestClient(app), TestClient(app), TestClient(app)
    sign_in(lead, "data_lead", agency="health", username="dl-health")
    sign_in(board, "board_member", agency="police", username="board-1")
    sign_in(analyst, "analyst", agency="health", username="an-health")
    assert analyst.get("/maturity/assess").status_code == 403
    form = lead.get("/maturity/assess")
    assert form.status_code == 200 and "NHS Foundation Trust" in form.text
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    short = lead.post("/maturity/assess", data={"csrf_token": token, "level_collection": "2"})
    assert short.status_code == 422 and "choose a level" in short.text
    answers = {f"level_{d}": "2" for d in MATURITY_DIMENSIONS}
    # the form cannot name another agency: the answers are the signed-in lead's agency's
    r = lead.post(
        "/maturity/assess",
        data={**answers, "csrf_token": token, "agency": "police"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/maturity?done=1"
    data = board.get("/maturity.json").json()
    health = next(a for a in data["maturity"]["agencies"] if a["agency"] == "health")
    police = next(a for a in data["maturity"]["agencies"] if a["agency"] == "police")
    assert {r["self_level"] for r in health["dimensions"]} == {2}
    assert police["dimensions"][0]["self_level"] == 4  # unchanged
    page = board.get("/maturity")
    assert page.status_code == 200 and 'id="agency-health-table"' in page.text
    assert "Fill in your agency" not in page.text
    assert board.get("/framework.json").json()["framework"]["outcomes"]
    entries = app.state.governance.state.audit.entries(actions=["maturity_self_assessment"])
    assert [(e.actor, e.target) for e in entries] == [("dl-health", "health")]  # one, audited
    app.state.governance.close()
