"""Journeys and missing episodes on the hand-made release."""

from __future__ import annotations

from pathlib import Path

import duckdb


def test_journey_steps_collapse_runs_of_one_service(insight_release: Path) -> None:
    con = duckdb.connect(str(insight_release), read_only=True)
    steps = con.execute(
        "SELECT step, label, CAST(step_date AS VARCHAR), days_since_previous, concern "
        "FROM journey_step WHERE person_id = 'C2' ORDER BY step"
    ).fetchall()
    # the crime and the missing episode are both police: one step
    assert steps == [
        (1, "Police", "2026-03-10", None, True),
        (2, "Children's social care", "2026-04-03", 24, False),
    ]
    c1 = [r[0] for r in con.execute(
        "SELECT label FROM journey_step WHERE person_id = 'C1' ORDER BY step"
    ).fetchall()]  # fmt: skip
    assert c1 == ["A&E", "Education", "Police", "Children's social care"]
    # only persons with a concern have a journey
    assert con.execute("SELECT count(*) FROM journey_step WHERE person_id = 'K0'").fetchone() == (
        0,
    )
    con.close()


def test_missing_episodes_matched_to_interviews(insight_release: Path) -> None:
    con = duckdb.connect(str(insight_release), read_only=True)
    rows = con.execute(
        "SELECT event_id, person_id, age_at_event, episode_number, rhi_event_id, "
        "offered_within_72h, completed_within_72h FROM missing_episode ORDER BY event_id"
    ).fetchall()
    assert rows == [
        ("E17", "K0", 12, 1, None, False, False),
        ("E5", "C2", 15, 1, "E6", True, True),
    ]
    agencies = con.execute(
        "SELECT agency, age_at_first, CAST(first_concern_date AS VARCHAR) FROM person_agency "
        "WHERE person_id = 'C3' ORDER BY agency"
    ).fetchall()
    assert agencies == [
        ("csc", 15, "2026-05-01"),
        ("nrm", 16, "2026-06-15"),
        ("police", 16, "2026-06-01"),
    ]
    con.close()
