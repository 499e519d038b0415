"""Building a release: canonical tables with known answers, quarantine, lineage, atomic publish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from joinedup.errors import BuildError, SourceError
from joinedup.pipeline import build as build_release
from joinedup.release import TABLES, current_release_id, list_releases, open_current


@pytest.fixture
def built(mini: Path) -> duckdb.DuckDBPyConnection:
    build_release(mini)
    return open_current(mini).connect()


def test_release_has_every_documented_table(built: duckdb.DuckDBPyConnection) -> None:
    cols = built.execute(
        "SELECT table_name, list(column_name ORDER BY column_index) "
        "FROM duckdb_columns() WHERE schema_name = 'main' GROUP BY table_name"
    ).fetchall()
    have = dict(cols)
    for t in TABLES:
        assert have.get(t.name) == [c.name for c in t.columns], t.name
    # intermediate tables never reach the release
    assert not [n for n in have if n.startswith("_ju_")]


def test_data_model_doc_matches_schema() -> None:
    from joinedup.release.docs import data_model_markdown

    doc = (Path(__file__).parent.parent / "docs" / "data-model.md").read_text()
    assert doc == data_model_markdown(), "regenerate: python -m joinedup.release.docs"


def test_mini_rows_and_quarantine(built: duckdb.DuckDBPyConnection) -> None:
    src = {
        r[0]: r[1:]
        for r in built.execute(
            "SELECT source, rows_read, rows_loaded, rows_filtered, rows_quarantined FROM source"
        ).fetchall()
    }
    # 8 police rows: 1 test record filtered, 3 quarantined (bad date, duplicate id, blank id)
    assert src["police_crimes"] == (8, 4, 1, 3)
    assert src["health_ae"] == (3, 3, 0, 0)
    q = built.execute(
        "SELECT row_number, column_name, reason FROM quarantine ORDER BY row_number"
    ).fetchall()
    assert [(r[0], r[1]) for r in q] == [(5, "DOB"), (7, "InvID"), (9, "InvID")]
    assert "repeats the one on row 6" in q[1][2]
    # reasons never carry values from the row
    for _, _, reason in q:
        assert "31/02/2010" not in reason and "Licate" not in reason


def test_cp1252_names_survive(built: duckdb.DuckDBPyConnection) -> None:
    names = {r[0] for r in built.execute("SELECT forename FROM identity").fetchall()}
    assert "AMÉLIE" in names


def test_identifiers_validated_and_linked(built: duckdb.DuckDBPyConnection) -> None:
    rows = dict(
        built.execute(
            "SELECT source || '/' || source_record_id, nhs_number FROM identity"
        ).fetchall()
    )
    assert rows["health_ae/A1"] == "9434765919"  # spaces removed
    assert rows["health_ae/A2"] is None  # check digit fails
    rp = {
        r[0]: (r[1], r[2])
        for r in built.execute(
            "SELECT source || '/' || source_record_id, person_id, rule FROM record_person"
        ).fetchall()
    }
    assert rp["police_crimes/1"][0] == rp["health_ae/A1"][0]
    assert rp["police_crimes/1"][1] == "nhs_number"
    assert rp["police_crimes/2"][0] == rp["police_crimes/5"][0]  # same PNC id
    assert rp["police_crimes/3"][0] != rp["health_ae/A2"][0]  # invalid NHS links nothing
    assert rp["health_ae/A3"][1] == "singleton"
    assert built.execute("SELECT count(*) FROM person").fetchone() == (5,)
    two = built.execute(
        "SELECT n_agencies, agencies, age, age_band FROM person WHERE n_records = 2 "
        "AND agencies LIKE '%health%'"
    ).fetchone()
    assert two == (2, "health;police", 16, "16-17")


def test_events_places_exploitation(built: duckdb.DuckDBPyConnection) -> None:
    ev = dict(built.execute("SELECT event_id, county_lines FROM event").fetchall())
    assert ev["police_crimes:C2"] is True and ev["police_crimes:C1"] is False
    types = built.execute(
        "SELECT exploitation_type, count(*) FROM event_exploitation GROUP BY 1 ORDER BY 1"
    ).fetchall()
    # DA is a known local code that maps to nothing on purpose: it adds no row
    assert types == [("cce", 2), ("county_lines", 2), ("cse", 1)]
    roles = built.execute(
        "SELECT role, count(*) FROM event_person WHERE event_id = 'police_crimes:C1' GROUP BY 1 "
        "ORDER BY 1"
    ).fetchall()
    assert roles == [("person_of_concern", 1), ("victim", 1)]
    places = built.execute(
        "SELECT name, place_type, small_area FROM place ORDER BY name"
    ).fetchall()
    assert places == [
        ("Chicken Palace", "takeaway", "XS001"),
        ("Flat 3", "other_residential", "XS003"),
    ]


def test_lineage_records_inputs_config_code_and_stages(
    mini: Path, built: duckdb.DuckDBPyConnection
) -> None:
    import hashlib

    rows = built.execute("SELECT kind, name, sha256, rows FROM lineage").fetchall()
    inputs = {r[1]: (r[2], r[3]) for r in rows if r[0] == "input"}
    crimes = mini / "extracts" / "crimes_2026-10.csv"
    assert inputs["extracts/crimes_2026-10.csv"] == (
        hashlib.sha256(crimes.read_bytes()).hexdigest(),
        8,
    )
    kinds = {r[0] for r in rows}
    assert {"input", "config", "code", "taxonomy", "stage"} <= kinds
    stages = {r[1] for r in rows if r[0] == "stage"}
    assert {"read", "map", "link", "derive"} <= stages


def test_secret_never_enters_the_release(mini: Path, built: duckdb.DuckDBPyConnection) -> None:
    secret = (mini / ".joinedup-secret").read_text().strip()
    assert oct((mini / ".joinedup-secret").stat().st_mode & 0o777) == "0o600"
    db = open_current(mini).db_path.read_bytes()
    assert secret.encode() not in db


def test_person_ids_are_stable_across_builds(mini: Path) -> None:
    a = build_release(mini)
    b = build_release(mini)
    assert a.release.release_id != b.release.release_id
    q = "SELECT source, source_record_id, person_id FROM record_person ORDER BY 1, 2"
    with a.release.connect() as ca, b.release.connect() as cb:
        assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
    assert [r.release_id for r in list_releases(mini)] == [
        a.release.release_id,
        b.release.release_id,
    ]
    assert current_release_id(mini) == b.release.release_id


def test_missing_columns_stop_the_build_listing_every_problem(mini: Path) -> None:
    first = build_release(mini)
    cfg = (mini / "partnership.yaml").read_text()
    cfg = cfg.replace("forename: Forename", "forename: FirstName").replace(
        "sex: Sex", "sex: Gender"
    )
    (mini / "partnership.yaml").write_text(cfg)
    with pytest.raises(SourceError) as info:
        build_release(mini)
    text = str(info.value)
    assert "column 'FirstName' is not in extracts/crimes_2026-10.csv" in text
    assert "column 'Gender' is not in extracts/ae.csv" in text
    assert "nothing was published" in text
    assert current_release_id(mini) == first.release.release_id
    assert len(list_releases(mini)) == 1
    assert not list((mini / "releases").glob(".building-*"))


def test_unreadable_file_stops_the_build(mini: Path) -> None:
    (mini / "extracts" / "ae.csv").write_bytes(b"AttendanceID,PatientName\n\xff\xfe\x00bad\n")
    with pytest.raises(SourceError, match="ae.csv"):
        build_release(mini)
    assert current_release_id(mini) is None


def test_concurrent_build_is_refused(mini: Path) -> None:
    import fcntl

    (mini / "releases").mkdir()
    with (mini / "releases" / ".build.lock").open("a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(BuildError, match="Another build"):
            build_release(mini)


def test_killed_build_leaves_previous_release_current(mini: Path) -> None:
    """Kill a real build process mid-way: the previous release stays current and readable."""
    first = build_release(mini)
    # make the second build slow enough to kill in the middle: a big extract
    big = mini / "extracts" / "ae.csv"
    lines = ["AttendanceID,PatientName,DOB,Sex,Postcode,NHSNumber,Arrived"]
    # distinct people (identical rows would make no sense to a linkage model)
    lines += [
        f'B{i},"SURNAME{i % 997}, Forename{i % 113}",{20000101 + i % 28},{1 + i % 2},'
        "WX1 2AB,,2026-09-02"
        for i in range(20_000)
    ]
    big.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "joinedup.cli", "build", str(mini)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    staging: list[Path] = []
    while time.monotonic() < deadline and not staging:
        staging = [p for p in (mini / "releases").glob(".building-*") if any(p.iterdir())]
        time.sleep(0.02)
    assert staging, "the build never started writing"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert current_release_id(mini) == first.release.release_id
    with open_current(mini).connect() as con:
        assert con.execute("SELECT count(*) FROM record").fetchone() == (7,)
    assert [r.release_id for r in list_releases(mini)] == [first.release.release_id]
    # the next build clears the debris and publishes
    second = build_release(mini)
    assert current_release_id(mini) == second.release.release_id
    assert not list((mini / "releases").glob(".building-*"))


def test_overview_headline_counts_victims_not_persons_of_concern(
    built: duckdb.DuckDBPyConnection,
) -> None:
    """C1 (CSE) involves a victim and a person of concern: the headline counts the victim."""
    from joinedup.insight import overview_figures
    from joinedup.views.overview import CONCERN_ROLES

    everyone = overview_figures(built).concerns
    headline = overview_figures(built, roles=CONCERN_ROLES).concerns
    assert everyone is not None and headline is not None
    assert everyone.by_group["CSE"] == 2
    assert headline.by_group["CSE"] == 1
    # C2 (victim Kai) and C4 (person of concern Dan) are CCE and county lines
    assert everyone.by_group["CCE and county lines"] == 2
    assert headline.by_group["CCE and county lines"] == 1
