"""Residents and visitors (issue 14, item 4), on the hand-made release: figures by home
authority count a child where they live, and a child living outside the partnership's
authorities under "Lives outside the partnership", never dropped from the total."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from conftest import INSIGHT_AGENCIES, build_insight_release
from joinedup.insight import compute_insight, load_questions, read_answer
from joinedup.insight.answers import ALL
from joinedup.insight.derived import LIVES_OUTSIDE

OWN = {"A1": "Northtown", "A2": "Southtown"}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    """The hand-made release where C3 lives in a neighbouring authority the postcode
    directory knows (E09), C4's only postcode is in a district the partnership's geography
    does not hold (QY1), C2's is in a district it does hold but no authority is known, and
    C1 (Northtown) is a resident."""
    path = build_insight_release(
        tmp_path_factory.mktemp("residence") / "release.duckdb", with_insight=False
    )
    db = duckdb.connect(str(path))
    db.execute("INSERT INTO area VALUES ('E09', 'Neighbourton', 'authority', NULL, NULL)")
    db.execute("INSERT INTO postcode_lookup VALUES ('WX1 1AA', 'S1', 'W1', 'A1', NULL, NULL)")
    db.execute("UPDATE person SET home_authority = 'E09' WHERE person_id = 'C3'")
    db.execute(
        "UPDATE person SET home_authority = NULL, home_postcode_district = 'QY1' "
        "WHERE person_id = 'C4'"
    )
    db.execute(
        "UPDATE person SET home_authority = NULL, home_postcode_district = 'WX1' "
        "WHERE person_id = 'C2'"
    )
    by_type: dict[str, list[str]] = {}
    for agency, kind in INSIGHT_AGENCIES.items():
        by_type.setdefault(kind, []).append(agency)
    compute_insight(
        db,
        questions=load_questions(None),
        agency_types=INSIGHT_AGENCIES,
        sources_by_type=by_type,
        reference=dt.date(2026, 10, 31),
        authorities=OWN,
    )
    yield db
    db.close()


def test_person_home(con) -> None:
    rows = {
        p: (a, r)
        for p, a, r in con.execute(
            "SELECT person_id, authority, resident FROM person_home "
            "WHERE person_id IN ('C1', 'C2', 'C3', 'C4')"
        ).fetchall()
    }
    assert rows == {
        "C1": ("Northtown", True),
        # a neighbour's authority in the directory (and in `area`): not the partnership's
        "C3": (LIVES_OUTSIDE, False),
        # a district the partnership's geography does not hold
        "C4": (LIVES_OUTSIDE, False),
        # a district it does hold, with no authority: not known, never "outside"
        "C2": (None, None),
    }


def test_children_by_home_authority(con) -> None:
    a = read_answer(con, "children_with_concern", by="authority", period=ALL)
    cells = {c: cell.units for (s, c), cell in a.cells.items() if s is None and c is not None}
    # C1, Y1 in Northtown; C3 and C4 live outside; C2's authority is not known
    assert cells == {"Northtown": 2, LIVES_OUTSIDE: 2, "Not known": 1}
    assert a.total.units == 5  # visitors are in the total, counted once


def test_without_the_partnerships_list_every_area_authority_is_its_own(tmp_path: Path) -> None:
    # a release answered without `authorities` takes every authority in `area` as the
    # partnership's: a hand-made release keeps working
    path = build_insight_release(tmp_path / "r.duckdb")
    db = duckdb.connect(str(path), read_only=True)
    got = db.execute("SELECT authority, count(*) FROM person_home GROUP BY 1 ORDER BY 1").fetchall()
    db.close()
    assert got == [("Northtown", 4), ("Southtown", 5)]  # S1: C1 C2 K0 Y1; S2: the rest
