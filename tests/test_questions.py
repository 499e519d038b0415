"""Every question of the default pack on the hand-made release (tests/conftest.py
``build_insight_release``), against answers worked out by hand from its events."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from joinedup.insight import default_pack_ids, read_answer


@pytest.fixture(scope="module")
def con(insight_release: Path):
    c = duckdb.connect(str(insight_release), read_only=True)
    yield c
    c.close()


def by(con, qid: str, field: str | None = None, split: str | None = None) -> dict:
    a = read_answer(con, qid, by=field)
    return {c: cell.units for (s, c), cell in a.cells.items() if s == split and c is not None}


def total(con, qid: str) -> int:
    return read_answer(con, qid).total.units


def values(con, qid: str, field: str | None = None) -> dict:
    a = read_answer(con, qid, by=field)
    return {c: cell.values for (s, c), cell in a.cells.items() if s is None}


def test_every_default_question_is_answered_and_tested(con) -> None:
    answered = {r[0] for r in con.execute("SELECT question_id FROM question").fetchall()}
    assert answered == set(default_pack_ids())
    tested = {name[5:] for name in globals() if name.startswith("test_") and name[5:] in answered}
    assert tested == answered, f"questions without a test: {sorted(answered - tested)}"


def test_children_with_concern(con) -> None:
    # C1 C2 C3 C4, and Y1 (19 now, a victim at 16 on E10); K0 has none (issue 14: under 18
    # on the event date, in any role but witness)
    assert total(con, "children_with_concern") == 5
    assert by(con, "children_with_concern", "exploitation_type") == {
        "CSE": 3,  # C1 C2 Y1
        "CCE and county lines": 1,  # C3
        "Online": 1,  # C4
    }
    assert by(con, "children_with_concern", "recorded_role") == {
        "Recorded as victim": 4,
        "Both": 1,  # C3: subject of E7 and E15, suspect on E8
    }
    assert by(con, "children_with_concern", "authority") == {"Northtown": 3, "Southtown": 2}
    assert by(con, "children_with_concern", "ward") == {"Ward One": 3, "Ward Two": 2}
    assert by(con, "children_with_concern", "quarter") == {
        "2024 Q1": 1,
        "2026 Q1": 2,
        "2026 Q2": 1,
        "2026 Q3": 1,
    }
    assert by(con, "children_with_concern", "sex") == {"Female": 3, "Male": 2}
    assert by(con, "children_with_concern", "ethnicity") == {
        "White": 2,
        "Asian": 1,
        "Black": 1,
        "Mixed": 1,
    }
    # age on the event date: C1 13; C2 15; C3 15 (E7) and 16 (E8, E15); C4 16; Y1 16
    assert by(con, "children_with_concern", "age_band") == {"10-13": 1, "14-15": 2, "16-17": 3}


def test_children_recorded_as_suspects(con) -> None:
    assert total(con, "children_recorded_as_suspects") == 1  # C3, a suspect at 16 on E8
    assert by(con, "children_recorded_as_suspects", "exploitation_type") == {
        "CCE and county lines": 1
    }
    assert by(con, "children_recorded_as_suspects", "also_victim") == {
        "Also recorded as a victim or subject": 1
    }
    assert by(con, "children_recorded_as_suspects", "childrens_social_care") == {
        "Known to children's social care": 1
    }
    assert by(con, "children_recorded_as_suspects", "age_band") == {"16-17": 1}


def test_young_adults_with_concern(con) -> None:
    assert total(con, "young_adults_with_concern") == 2  # Y1, Y2; POC1 and POC2 are older
    assert by(con, "young_adults_with_concern", "exploitation_type") == {
        "CSE": 1,
        "CCE and county lines": 1,
    }


def test_children_known_to_one_agency(con) -> None:
    assert total(con, "children_known_to_one_agency") == 1  # C4, police only
    assert by(con, "children_known_to_one_agency", "agency") == {"police": 1}
    assert by(con, "children_known_to_one_agency", "exploitation_type") == {"Online": 1}


def test_first_agency_to_record_concern(con) -> None:
    assert by(con, "first_agency_to_record_concern", "first_agency") == {"police": 4, "csc": 1}
    assert by(con, "first_agency_to_record_concern", "second_agency_knew") == {
        "Within 30 days": 1,  # C1: police then CSC 10 days later
        "31 to 90 days": 1,  # C3: CSC then police 31 days later
        "More than a year": 1,  # Y1: police at 16, adult social care 762 days later
        "No second agency yet": 2,  # C2 (the RHI is no concern), C4
    }
    assert values(con, "first_agency_to_record_concern")[None] == {"days_to_second_agency": 31.0}


def test_persons_of_concern(con) -> None:
    # POC1, POC2, and C3: a child suspect is a person of concern and a child with a concern
    assert total(con, "persons_of_concern") == 3
    assert by(con, "persons_of_concern", "linked_children") == {
        "Linked to 2 or more children": 1,  # POC1: C1 and C2 on E1
        "Linked to 1 child": 1,  # POC2: C3 on E8
        "Not linked to a child": 1,  # C3: nobody else under 18 on E8
    }
    assert by(con, "persons_of_concern", "exploitation_type") == {
        "CSE": 1,
        "CCE and county lines": 2,
    }
    assert by(con, "persons_of_concern", "age_when_recorded") == {
        "18 or over": 2,
        "Under 18 (a child with a concern)": 1,
    }


def test_places_of_concern(con) -> None:
    assert total(con, "places_of_concern") == 3  # C1, C2 at the takeaway; C3 at the flat
    assert by(con, "places_of_concern", "place") == {
        "Takeaway in Small One": 2,  # named only with more than 10 children (issue 14)
        "Residential address in Small Two": 1,
    }
    assert by(con, "places_of_concern", "place_type") == {"takeaway": 2, "other residential": 1}


def test_network_members(con) -> None:
    assert total(con, "network_members") == 3  # C1, C2, POC1: one event, one group, a place
    assert by(con, "network_members", "role") == {"child": 2, "person of concern": 1}
    assert by(con, "network_members", "network_group") == {"N001": 3}


def test_network_groups(con) -> None:
    assert total(con, "network_groups") == 1  # C3 + POC2 is a pair, too small for a group
    assert by(con, "network_groups", "recorded_group") == {"Named by a source": 1}
    assert by(con, "network_groups", "exploitation_type") == {"CSE": 1}


def test_missing_children(con) -> None:
    assert total(con, "missing_children") == 2  # C2 and K0, one episode each
    assert by(con, "missing_children", "concern") == {
        "With an exploitation concern": 1,
        "No exploitation concern recorded": 1,
    }
    assert by(con, "missing_children", "repeat_missing") == {"1 episode": 2}


def test_missing_episodes_rhi(con) -> None:
    assert total(con, "missing_episodes_rhi") == 2
    assert by(con, "missing_episodes_rhi", "rhi_offered") == {
        "Offered within 72 hours": 1,  # E5 found 2 April, offered 3 April
        "No interview recorded": 1,  # K0's episode
    }
    assert by(con, "missing_episodes_rhi", "rhi_completed") == {
        "Completed within 72 hours": 1,
        "No interview recorded": 1,
    }


def test_nrm_referrals(con) -> None:
    assert total(con, "nrm_referrals") == 1
    assert by(con, "nrm_referrals", "exploitation_type") == {"Criminal": 1}
    assert by(con, "nrm_referrals", "decision") == {"Reasonable grounds - positive": 1}
    assert by(con, "nrm_referrals", "age_at_referral") == {"Child when referred": 1}


def test_school_outcomes(con) -> None:
    a = read_answer(con, "school_outcomes", by="school_outcome")
    cells = {k: v.units for k, v in a.cells.items()}
    assert cells[("All children", "Suspension")] == 1  # C1
    assert cells[("All children", "Persistent absence")] == 1  # K0
    assert cells[("Children with an exploitation concern", "Suspension")] == 1
    assert ("Children with an exploitation concern", "Persistent absence") not in cells
    den = {k: v.denominator for k, v in a.cells.items()}
    assert den[("All children", "Suspension")] == 5  # C1 C2 C3 C4 K0
    assert den[("Children with an exploitation concern", None)] == 4
    assert den[(None, None)] is None  # no rate across overlapping cohorts


def test_transition_17(con) -> None:
    assert by(con, "transition_17", "adult_services") == {"Not known to adult social care": 1}


def test_transition_18_24(con) -> None:
    assert by(con, "transition_18_24", "known_as_child") == {
        "Concern recorded as a child": 1,  # Y1: victim at 16
        "Not known as a child": 1,  # Y2
    }


def test_disproportionality(con) -> None:
    a = read_answer(con, "disproportionality", by="ethnicity")
    got = {c: (v.units, v.denominator) for (s, c), v in a.cells.items()}
    assert got["White"] == (2, 350)
    assert got["Asian"] == (1, 100)
    assert got["Black"] == (1, 50)
    assert got[None] == (4, 500)


def test_themes(con) -> None:
    assert by(con, "themes", "theme") == {"online": 2, "older_friends": 1}


def test_journey_paths(con) -> None:
    assert by(con, "journey_paths", "path") == {
        "A&E -> Education -> Police": 1,
        "Police -> Children's social care": 1,
        "Children's social care -> Police -> Other agency": 1,
        "Police": 1,
        "Police -> Adult social care": 1,  # Y1, a child with a concern at 16
    }
    v = values(con, "journey_paths", "path")
    assert v["A&E -> Education -> Police"] == {"days_step_1_to_2": 27.0, "days_step_2_to_3": 37.0}


def test_concern_events(con) -> None:
    assert total(con, "concern_events") == 9
    assert by(con, "concern_events", "agency") == {"police": 4, "csc": 2, "asc": 2, "nrm": 1}


def test_panel_follow_up(con) -> None:
    # no panel has met in the hand-made release: no child counted (tests/test_panels_events.py
    # counts one discussed at a panel, and what was recorded after)
    assert total(con, "panel_follow_up") == 0


def test_docs_questions_page_is_current() -> None:
    from joinedup.insight.docs import questions_markdown

    doc = (Path(__file__).parent.parent / "docs" / "questions.md").read_text(encoding="utf-8")
    assert doc == questions_markdown(), "regenerate: python -m joinedup.insight.docs"


def test_default_pack_is_valid_and_read_only() -> None:
    from joinedup.insight import validate_questions

    assert validate_questions(None) == []


def test_validation_reports_every_problem(tmp_path: Path) -> None:
    from joinedup.insight import validate_questions

    folder = tmp_path / "questions"
    folder.mkdir()
    (folder / "drop_it.yaml").write_text(
        "id: drop_it\nquestion: Drop a table?\ndefinition: Not allowed.\nunit: children\n"
        "sql: DROP TABLE person\n",
        encoding="utf-8",
    )
    (folder / "children_with_concern.yaml").write_text(
        "id: children_with_concern\nquestion: Same id?\ndefinition: Clashes.\nunit: children\n"
        "sql: SELECT person_id AS unit_id FROM person\n",
        encoding="utf-8",
    )
    (folder / "typo.yaml").write_text(
        "id: typo\nquestion: A typo\ndefinition: A key that does not exist.\nunit: kittens\n"
        "sql: SELECT person_id AS unit_id FROM person\nbreakdown: {}\n",
        encoding="utf-8",
    )
    where = sorted(p.where for p in validate_questions(tmp_path))
    assert where == [
        "questions/children_with_concern.yaml: id",
        "questions/drop_it.yaml: sql",
        "questions/typo.yaml: breakdown",
        "questions/typo.yaml: unit",
    ]


def test_intervention_outcomes(con) -> None:
    # issue 21: the hand-made release records no intervention, so nothing is counted
    assert total(con, "intervention_outcomes") == 0
    # tests/test_interventions.py checks planted interventions against synthetic truth


def test_violence_overlap(con) -> None:
    # issue 21: no crime carries an offence code here, so everyone is exploitation only:
    # each person under 25 with a concern in any role but witness
    concern = con.execute(
        "SELECT count(DISTINCT person_id) FROM person_concern "
        "WHERE age_at_event < 25 AND role IS DISTINCT FROM 'witness'"
    ).fetchone()[0]
    assert concern > 0
    assert by(con, "violence_overlap", "overlap") == {"Exploitation only": concern}
    types = by(con, "violence_overlap", "violence_type")
    assert types == {"No violent offence recorded": concern}
