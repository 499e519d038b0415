"""Panel decisions and actions become events of the next release (issue 18, item 4).

On the hand-made partnership (tests/conftest.py ``mini``): a chair puts Amélie Smith (a
child, police record 1, crime C1 on 1 September 2026 with CSE; A&E A1 on 2 September) and
Dan Jones (a person of concern, police records 2 and 5) on the agenda of a meeting held
on 1 September 2026, records a decision and actions; the next build has them as events,
joined to each person through the agency records the meeting's release held, and the
question ``panel_follow_up`` counts the child.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from joinedup.insight import read_answer
from joinedup.pipeline import build
from joinedup.pipeline.panel_events import LINEAGE_NAME, PANEL_SOURCE
from joinedup.state import Panels, open_state

MEETING_DAY = dt.date(2026, 9, 1)


def _person(db: Path, source: str, rid: str) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return str(
            con.execute(
                "SELECT person_id FROM record_person WHERE source = ? AND source_record_id = ?",
                [source, rid],
            ).fetchall()[0][0]
        )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    from conftest import write_mini

    root = write_mini(tmp_path_factory.mktemp("panel_events") / "mini")
    first = build(root).release
    child = _person(first.db_path, "police_crimes", "1")
    adult = _person(first.db_path, "police_crimes", "2")
    with open_state(root) as state:
        store = Panels(state.session)
        panel = store.create_panel(
            name="Mini MACE",
            agencies=["police", "health"],
            cadence_days=28,
            agreement="isa",
            retention_days=2190,
            created_by="test",
            chair=("ann", "police"),
        )
        m1 = store.create_meeting(
            panel_id=panel.id, held_on=MEETING_DAY, created_by="ann", release_id=first.release_id
        )
        item = store.add_item(
            meeting_id=m1.id,
            kind="child",
            subject=child,
            label="A child",
            reason="CSE",
            added_by="ann",
        )
        poc = store.add_item(
            meeting_id=m1.id,
            kind="person_of_concern",
            subject=adult,
            label="A person",
            reason="Linked to C1",
            added_by="ann",
        )
        store.record_decision(
            item_id=item.id,
            stage="safeguarding",
            concern_level="High",
            decided_by="ann",
            disruption="Takeaway visited by licensing",
        )
        done = store.add_action(
            item_id=item.id,
            description="Strategy meeting",
            owner_agency="police",
            due_on="2026-09-10",
            created_by="ann",
        )
        store.set_action_status(action_id=done.id, status="done", updated_by="ann")
        store.add_action(
            item_id=item.id,
            description="Health follow-up",
            owner_agency="health",
            due_on="2026-09-20",
            created_by="ann",
        )
        # a meeting not yet held adds nothing
        m2 = store.create_meeting(
            panel_id=panel.id, held_on=dt.date.today() + dt.timedelta(days=30), created_by="ann"
        )
        store.add_item(
            meeting_id=m2.id,
            kind="child",
            subject=child,
            label="A child",
            reason="again",
            added_by="ann",
        )
        ids = {"item": item.id, "poc": poc.id, "done": done.id}
    second = build(root).release
    return root, first, second, child, adult, ids


def test_a_decision_at_meeting_1_is_an_event_in_the_next_build(built) -> None:
    root, first, second, child, adult, ids = built
    with duckdb.connect(str(first.db_path), read_only=True) as con:
        assert con.execute(
            "SELECT count(*) FROM event WHERE source = ?", [PANEL_SOURCE]
        ).fetchall() == [(0,)]
    with duckdb.connect(str(second.db_path), read_only=True) as con:
        rows = con.execute(
            "SELECT e.event_id, e.event_type, e.event_date, e.outcome, e.detail, e.agency, "
            "ep.role, rp.person_id FROM event e JOIN event_person ep USING (event_id) "
            "JOIN record_person rp ON rp.source = ep.source "
            "AND rp.source_record_id = ep.source_record_id "
            "WHERE e.source = ? ORDER BY e.event_id",
            [PANEL_SOURCE],
        ).fetchall()
        second_child = _person(second.db_path, "police_crimes", "1")
        second_adult = _person(second.db_path, "police_crimes", "2")
        by_id = {r[0]: r[1:] for r in rows}
        assert len(rows) == 4  # two discussions, two actions; the meeting not held: none
        assert by_id[f"{PANEL_SOURCE}:i{ids['item']}"] == (
            "panel_discussion",
            MEETING_DAY,
            "safeguarding",
            "disruption",
            "panel",
            "subject",
            second_child,
        )
        assert by_id[f"{PANEL_SOURCE}:i{ids['poc']}"] == (
            "panel_discussion",
            MEETING_DAY,
            None,
            None,
            "panel",
            "person_of_concern",
            second_adult,
        )
        actions = sorted(r[3:5] for r in rows if r[1] == "panel_action")
        assert actions == [("done", "police"), ("open", "health")]
        # a panel is not an agency: no record, so the child is known to no more agencies
        assert con.execute(
            "SELECT count(*) FROM record WHERE source = ?", [PANEL_SOURCE]
        ).fetchall() == [(0,)]
        assert con.execute(
            "SELECT agencies FROM person WHERE person_id = ?", [second_child]
        ).fetchall() == [("health;police",)]
        # the panel's free text never enters the release
        text = " ".join(str(v) for r in rows for v in r)
        for words in ("Takeaway visited", "High", "Strategy meeting", "Health follow-up"):
            assert words not in text
        lineage = con.execute(
            "SELECT rows, sha256, detail FROM lineage WHERE kind = 'input' AND name = ?",
            [LINEAGE_NAME],
        ).fetchall()
        assert lineage[0][0] == 4 and len(lineage[0][1]) == 64
        assert lineage[0][2].startswith("4 added as events; 0 not added")


def test_the_question_counts_the_child_discussed_and_what_came_after(built) -> None:
    root, first, second, child, adult, ids = built
    with duckdb.connect(str(second.db_path), read_only=True) as con:
        assert read_answer(con, "panel_follow_up").total.units == 1

        def by(field: str) -> dict:
            a = read_answer(con, "panel_follow_up", by=field)
            return {c: cell.units for (s, c), cell in a.cells.items() if c is not None}

        assert by("stage") == {"Safeguarding": 1}
        assert by("action") == {"Open": 1, "Done": 1}
        # after 1 September: the A&E attendance (2 September), health's first record of
        # her; no new concern and no missing episode
        assert by("after") == {
            "Other agency record": 1,
            "Known to an agency for the first time": 1,
        }
