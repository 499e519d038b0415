"""The suggested agenda (issue 18): each rule on a hand-made release with known answers.

The release is ``conftest.build_insight_release`` plus a few rows per rule; each test
checks who a rule puts on the agenda, with which facts, and who it leaves off (the
boundary day, a child without a concern, a child known to adult social care).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import build_insight_release, compute_insight_on
from joinedup.insight.agenda import AGENDA_RULES, suggest_agenda

D = dt.date
REFERENCE = D(2026, 10, 31)


def _person(con, pid: str, dob: str, rid: str, source: str = "police") -> None:
    y = int(dob[:4])
    con.execute(
        "INSERT INTO person VALUES (?, 'M', NULL, 'White', ?, ?, '16-17', NULL, 'S1', 'W1', "
        "'A1', NULL, NULL, 1, 1, ?)",
        [pid, y, 2026 - y - 1, source],
    )
    con.execute("INSERT INTO record VALUES (?, ?, ?, 2, '2026-09-01')", [source, rid, source])
    con.execute("INSERT INTO record_person VALUES (?, ?, ?, 1.0, 'local_id')", [source, rid, pid])
    con.execute(
        "INSERT INTO identity (source, source_record_id, forename, surname, dob, sex) "
        "VALUES (?, ?, 'TEST', 'TESTER', ?, 'M')",
        [source, rid, dob],
    )


def _event(con, eid, source, etype, date, rid, role="subject", types=()) -> None:
    con.execute(
        "INSERT INTO event VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL, false, NULL)",
        [eid, source, source, etype, date],
    )
    con.execute("INSERT INTO event_person VALUES (?, ?, ?, ?)", [eid, source, rid, role])
    for t in types:
        con.execute("INSERT INTO event_exploitation VALUES (?, ?, 'X')", [eid, t])


@pytest.fixture(scope="module")
def releases(tmp_path_factory) -> tuple[Path, Path]:
    """(baseline, current): the current release adds missing episodes, two children
    turning 18 and a new member of the recorded group Op Test."""
    root = tmp_path_factory.mktemp("agenda")
    base = build_insight_release(root / "base.duckdb", with_insight=False)
    cur = root / "current.duckdb"
    shutil.copy(base, cur)
    con = duckdb.connect(str(base))
    compute_insight_on(con)
    con.close()
    con = duckdb.connect(str(cur))
    # repeat missing: C4 (police record P4) three times in 90 days; K0 once (E17)
    for i, day in enumerate(["2026-08-10", "2026-09-01", "2026-10-01"]):
        _event(con, f"M{i}", "police", "missing_episode", day, "P4")
    # turning 18 on 2027-01-15 with a concern; T2 the same but known to adult social care
    _person(con, "T1", "2009-01-15", "PT1")
    _event(con, "ET1", "police", "crime", "2026-02-01", "PT1", "victim", ["cse"])
    _person(con, "T2", "2009-01-20", "PT2")
    _event(con, "ET2", "police", "crime", "2026-02-01", "PT2", "victim", ["cse"])
    con.execute("INSERT INTO record VALUES ('asc', 'AT2', 'asc', 2, '2026-09-01')")
    con.execute("INSERT INTO record_person VALUES ('asc', 'AT2', 'T2', 1.0, 'local_id')")
    # a new member of the recorded group Op Test: C4
    con.execute("INSERT INTO group_member VALUES ('police:Op Test', 'police', 'P4', 'associate')")
    compute_insight_on(con)
    con.close()
    return base, cur


def _suggest(path: Path, since: dt.date, as_of: dt.date = REFERENCE, baseline=None):
    con = duckdb.connect(str(path), read_only=True)
    base = duckdb.connect(str(baseline), read_only=True) if baseline else None
    try:
        return {
            (s.kind, s.subject): s
            for s in suggest_agenda(con, since=since, as_of=as_of, baseline=base)
        }
    finally:
        con.close()
        if base is not None:
            base.close()


def _with(found, rule):
    return {k: s for k, s in found.items() if rule in s.rules}


def test_new_concern_since_the_last_meeting(releases) -> None:
    found = _with(_suggest(releases[1], D(2026, 6, 1)), "new_concern")
    # C3's crime on 2026-06-01 is ON the day of the last meeting: not new; the NRM
    # referral of 2026-06-15 is. C4's online crime of 2026-07-01 is new. C1, C2: earlier.
    assert set(found) == {("child", "C3"), ("child", "C4")}
    c3 = [f for f in found[("child", "C3")].facts if f["rule"] == "new_concern"]
    assert [(f["event_id"], f["agency"], f["exploitation_types"]) for f in c3] == [
        ("E15", "nrm", ["cce"])
    ]


def test_known_to_three_agencies_for_the_first_time(releases) -> None:
    found = _with(_suggest(releases[1], D(2026, 6, 1)), "three_agencies")
    # C3: csc 05-01, police 06-01, nrm 06-15 (the third, after the meeting). C1's third
    # agency came in March; K0 has three agencies but no exploitation concern.
    assert set(found) == {("child", "C3")}
    facts = [f for f in found[("child", "C3")].facts if f["rule"] == "three_agencies"]
    assert [(f["agency"], f["date"]) for f in facts] == [
        ("csc", "2026-05-01"),
        ("police", "2026-06-01"),
        ("nrm", "2026-06-15"),
    ]
    assert ("child", "C1") in _with(_suggest(releases[1], D(2026, 3, 1)), "three_agencies")


def test_repeat_missing_episodes(releases) -> None:
    found = _with(_suggest(releases[1], D(2026, 9, 15)), "repeat_missing")
    assert set(found) == {("child", "C4")}  # K0 went missing once
    assert [f["date"] for f in found[("child", "C4")].facts] == [
        "2026-08-10",
        "2026-09-01",
        "2026-10-01",
    ]
    # none of the three after the last meeting: not suggested again
    assert not _with(_suggest(releases[1], D(2026, 10, 2)), "repeat_missing")
    # a window that leaves the first episode out: two in 90 days is not a repeat
    assert not _with(_suggest(releases[1], D(2026, 9, 15), D(2026, 11, 10)), "repeat_missing")


def test_turning_18_with_a_concern_and_no_adult_services(releases) -> None:
    found = _with(_suggest(releases[1], D(2026, 10, 1)), "turning_18")
    assert set(found) == {("child", "T1")}  # T2 is known to adult social care
    (fact,) = found[("child", "T1")].facts
    assert fact["month"] == "2027-01" and fact["exploitation_types"] == ["cse"]
    # more than six months before the birthday: not yet
    assert not _with(_suggest(releases[1], D(2026, 5, 1), D(2026, 6, 1)), "turning_18")


def test_place_that_entered_the_top_places(releases) -> None:
    found = _with(_suggest(releases[1], D(2026, 4, 1)), "top_place")
    # Golden Grill (T1) was already a place of concern in the year to 2026-04-01; the
    # flat (R1, June) entered since. Its label never names the residential address.
    assert set(found) == {("place", "R1")}
    assert found[("place", "R1")].label == "Residential address in Small Two"
    assert found[("place", "R1")].facts[0]["children"] == 1


def test_new_member_of_a_group(releases) -> None:
    base, cur = releases
    found = _with(_suggest(cur, D(2026, 10, 1), baseline=base), "new_group_member")
    recorded = found[("group", "group:police:Op Test")]
    assert [f["person_id"] for f in recorded.facts] == ["C4"]
    # every suggested network member is new against the baseline, and none is without one
    assert all(f["rule"] == "new_group_member" for s in found.values() for f in s.facts)
    assert not _with(_suggest(cur, D(2026, 10, 1), baseline=cur), "new_group_member")
    assert not _with(_suggest(cur, D(2026, 10, 1)), "new_group_member")


def test_every_rule_is_tested_and_there_is_no_score(releases) -> None:
    assert set(AGENDA_RULES) == {
        "new_concern",
        "three_agencies",
        "repeat_missing",
        "new_group_member",
        "top_place",
        "turning_18",
    }
    for s in _suggest(releases[1], D(2026, 1, 1), baseline=releases[0]).values():
        assert s.rules and s.facts
        assert not any("score" in k for f in s.facts for k in f)
    with pytest.raises(ValueError):
        _suggest(releases[1], D(2026, 11, 1))
