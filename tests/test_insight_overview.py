"""Overview figures against a hand-made release whose answers are worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from joinedup.insight import (
    NOT_KNOWN,
    REPORT_GROUPS,
    concerns_sql,
    overview_figures,
    report_group_of,
    report_groups_for,
)
from joinedup.release import create_schema_sql

# Persons: id -> (age, home authority). p9's age is not known.
PERSONS = {
    "p1": (15, "E1"),
    "p2": (16, "E1"),
    "p3": (17, "E2"),
    "p4": (20, "E2"),
    "p5": (14, "E2"),
    "p6": (30, None),
    "p7": (12, "E1"),
    "p8": (19, "E1"),
    "p9": (None, "E2"),
}
# Records: (source, record id) -> person. p5 has a record in each of two sources.
RECORDS = {
    ("police", "r1"): "p1",
    ("police", "r2"): "p2",
    ("police", "r3"): "p3",
    ("police", "r4"): "p4",
    ("police", "r5"): "p5",
    ("csc", "k5"): "p5",
    ("csc", "k6"): "p6",
    ("csc", "k7"): "p7",
    ("csc", "k8"): "p8",
    ("csc", "k9"): "p9",
}
# Events: id -> (exploitation types, [(source, record id, role)]).
EVENTS = {
    "e1": (["cse"], [("police", "r1", "victim"), ("csc", "k8", "associate")]),
    "e2": (["cse"], [("police", "r1", "victim")]),  # p1 again: still one person
    "e3": (["cse"], [("police", "r2", "victim")]),
    "e4": (["cce"], [("police", "r2", "subject")]),  # p2 in two groups
    "e5": (["county_lines"], [("police", "r3", "victim")]),
    "e6": (["cuckooing"], [("police", "r3", "victim")]),  # same group as e5: once
    "e7": ([], [("police", "r4", "victim")]),  # no exploitation: p4 not counted
    "e8": (["labour"], [("police", "r5", "victim"), ("csc", "k5", "subject")]),
    "e9": (["online"], [("csc", "k6", "person_of_concern")]),  # no home authority
    "e10": (["radicalisation", "local_unknown"], [("csc", "k7", "subject")]),
}
SOURCES = [
    ("police", "police", "Crimes and incidents", 120, 110, 7, "2026-10-01"),
    ("csc", "csc", "Children's social care contacts", 80, 80, 0, None),
]


def make_release(con: duckdb.DuckDBPyConnection) -> None:
    for sql in create_schema_sql():
        con.execute(sql)
    info = {
        "release_id": "20261031T120000Z-abc123",
        "built_at": "2026-10-31T12:00:00Z",
        "partnership": "Test Partnership",
        "reference_date": "2026-10-31",
    }
    con.executemany("INSERT INTO release_info VALUES (?, ?)", list(info.items()))
    con.executemany(
        "INSERT INTO area (area_code, area_name, area_type) VALUES (?, ?, ?)",
        [("E1", "Northby", "authority"), ("E2", "Southam", "authority"), ("W1", "Ward", "ward")],
    )
    con.executemany(
        "INSERT INTO source (source, agency, dataset, rows_read, rows_loaded, rows_quarantined,"
        " extracted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        SOURCES,
    )
    con.executemany(
        "INSERT INTO person (person_id, age, home_authority) VALUES (?, ?, ?)",
        [(pid, age, la) for pid, (age, la) in PERSONS.items()],
    )
    con.executemany(
        "INSERT INTO record_person (source, source_record_id, person_id) VALUES (?, ?, ?)",
        [(s, r, p) for (s, r), p in RECORDS.items()],
    )
    for event_id, (types, people) in EVENTS.items():
        con.execute("INSERT INTO event (event_id) VALUES (?)", [event_id])
        for t in types:
            con.execute("INSERT INTO event_exploitation VALUES (?, ?, ?)", [event_id, t, t])
        for s, r, role in people:
            con.execute("INSERT INTO event_person VALUES (?, ?, ?, ?)", [event_id, s, r, role])


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    make_release(c)
    yield c
    c.close()


def test_release_facts_and_sources(con):
    o = overview_figures(con)
    assert o.release.release_id == "20261031T120000Z-abc123"
    assert o.release.built_at == "2026-10-31T12:00:00Z"
    assert o.release.partnership == "Test Partnership"
    assert o.release.reference_date == "2026-10-31"
    assert [(s.source, s.rows_read, s.rows_loaded, s.rows_quarantined) for s in o.sources] == [
        ("csc", 80, 80, 0),
        ("police", 120, 110, 7),
    ]
    assert o.sources[1].extracted_at == "2026-10-01"
    assert o.sources[0].extracted_at is None


def test_persons_children_and_young_adults(con):
    o = overview_figures(con)
    assert o.persons == 9
    assert o.children == 5  # p1 p2 p3 p5 p7; p9's age is not known
    assert o.young_adults == 2  # p4 p8; p6 is 30


def test_headline_counts_distinct_persons_not_events(con):
    t = overview_figures(con).concerns
    assert t.groups == REPORT_GROUPS
    assert [(a.code, a.name) for a in t.authorities] == [
        ("E1", "Northby"),
        ("E2", "Southam"),
        (None, NOT_KNOWN),
    ]
    assert t.by_group == {
        "CSE": 3,  # p1 (two events), p2, p8
        "CCE and county lines": 2,  # p2, p3 (county lines and cuckooing: once)
        "Online": 1,  # p6
        "Trafficking and modern slavery": 1,  # p5, through two records
        "Other": 1,  # p7: radicalisation and an unknown code, once
    }
    assert t.by_authority == {"E1": 4, "E2": 2, None: 1}
    assert t.total == 7  # p2 is in two groups but one person
    assert sum(t.by_group.values()) == 8
    assert t.cells[("CSE", "E1")] == 3
    assert t.cells[("CCE and county lines", "E1")] == 1
    assert t.cells[("CCE and county lines", "E2")] == 1
    assert t.cells[("Online", None)] == 1
    assert t.cells[("Trafficking and modern slavery", "E2")] == 1
    assert t.cells[("Other", "E1")] == 1
    assert t.cells[("CSE", "E2")] == 0
    # a person is in one authority only: each group's row adds up to its total
    for g in t.groups:
        assert sum(t.cells[(g, a.code)] for a in t.authorities) == t.by_group[g]


def test_roles_can_be_limited(con):
    t = overview_figures(con, roles=("victim", "subject")).concerns
    assert t.by_group["CSE"] == 2  # p8 was an associate
    assert t.by_group["Online"] == 0  # p6 was a person of concern
    assert t.total == 5
    assert [a.code for a in t.authorities] == ["E1", "E2"]  # nobody without an authority


def test_home_authority_outside_the_geography_is_its_own_column(con):
    con.execute("UPDATE person SET home_authority = 'E9' WHERE person_id = 'p7'")
    t = overview_figures(con).concerns
    assert [(a.code, a.name) for a in t.authorities][-2:] == [("E9", "E9"), (None, NOT_KNOWN)]
    assert t.by_authority["E9"] == 1


def test_empty_release():
    c = duckdb.connect()
    for sql in create_schema_sql():
        c.execute(sql)
    o = overview_figures(c)
    assert (o.persons, o.children, o.young_adults) == (0, 0, 0)
    assert o.concerns.total == 0
    assert set(o.concerns.by_group.values()) == {0}
    assert o.concerns.authorities == ()
    assert o.release.release_id == ""


def test_report_groups_come_from_the_taxonomy():
    assert report_group_of("county_lines") == "CCE and county lines"
    assert report_group_of("organ_harvesting") == "Trafficking and modern slavery"
    assert report_group_of("financial") == "Other"
    assert report_group_of("not_a_code") == "Other"
    assert list(report_groups_for(["online", "cse", "cse"])) == ["cse", "online"]


def test_sql_builders_return_sql_and_quote_codes():
    sql = concerns_sql({"o'brien": "CSE"}, roles=["victim"])
    assert "'o''brien'" in sql
    assert "ep.role IN ('victim')" in sql
    assert isinstance(concerns_sql({}), str)


def test_runs_on_a_read_only_release_file(tmp_path: Path):
    path = tmp_path / "release.duckdb"
    c = duckdb.connect(str(path))
    make_release(c)
    c.close()
    ro = duckdb.connect(str(path), read_only=True)
    try:
        assert overview_figures(ro).concerns.total == 7
    finally:
        ro.close()
