"""Retention enforced (issue 19): records left out at build (counted), releases and panel
meetings past retention deleted by one runner that reports first, every deletion audited."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from conftest import write_mini
from joinedup.access.retention import apply_retention, retention_plan
from joinedup.cli import cli
from joinedup.pipeline import build
from joinedup.pipeline.retention import records_due, years_before
from joinedup.release import current_release_id, list_releases, open_current
from joinedup.state import open_state

HEALTH_ISA = (
    "  - {key: health_isa, title: Health, tiers: [operational, strategic], "
    "retention_years: 1, lawful_basis: 'UK GDPR 6(1)(e) public task'}\n"
)


def _partnership(root: Path) -> Path:
    write_mini(root)
    path = root / "partnership.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "  - {key: isa, title: Test agreement, tiers: [operational, strategic]}\n",
        "  - {key: isa, title: Test agreement, tiers: [operational, strategic]}\n" + HEALTH_ISA,
    )
    head, tail = text.split("  - id: health_ae", 1)
    tail = tail.replace("sharing_agreement: isa", "sharing_agreement: health_isa", 1)
    path.write_text(head + "  - id: health_ae" + tail, encoding="utf-8")
    return root


# A1 arrived 2026-09-02, A2 2026-09-03, A3 2026-09-04; health keeps data one year
AT = dt.datetime(2027, 9, 3, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = _partnership(tmp_path_factory.mktemp("retention") / "p")
    build(root, now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))  # nothing past retention yet
    build(root, now=AT)
    return root


def _rows(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(open_current(root).db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_records_past_retention_are_left_out_and_counted(built: Path) -> None:
    assert _rows(
        built, "SELECT source_record_id FROM record WHERE source = 'health_ae' ORDER BY 1"
    ) == [("A2",), ("A3",)]
    for table in ("identity", "record_person", "event_person"):
        assert _rows(built, f"SELECT count(*) FROM {table} WHERE source_record_id = 'A1'") == [(0,)]
    assert _rows(built, "SELECT count(*) FROM event WHERE event_id LIKE 'health_ae:%A1'") == [(0,)]
    assert _rows(
        built, "SELECT kind, name, rows FROM lineage WHERE kind IN ('retention', 'objection')"
    ) == [("retention", "health_ae", 1)]
    # the source without a retention period keeps every record
    assert _rows(built, "SELECT count(*) FROM record WHERE source = 'police_crimes'")[0][0] == 4
    # the first build, before the period ran out, kept A1
    first = list_releases(built)[0]
    with duckdb.connect(str(first.db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM record WHERE source = 'health_ae'").fetchone() == (
            3,
        )


def test_report_of_what_falls_out_at_the_next_build(built: Path) -> None:
    from joinedup.config import load_config

    cfg = load_config(built)
    with open_current(built).connect() as con:
        due = {d.source: d for d in records_due(con, cfg, dt.date(2027, 9, 5))}
    assert set(due) == {"health_ae"}  # police has no retention period
    assert due["health_ae"].records == 2  # A2 and A3 fall out on 5 September
    assert due["health_ae"].cutoff == dt.date(2026, 9, 5)
    assert years_before(dt.date(2028, 2, 29), 1) == dt.date(2027, 2, 28)


def test_releases_and_meetings_past_retention_deleted_and_audited(built: Path) -> None:
    from joinedup.access.panel_access import panel_store

    with open_state(built) as state:
        store = panel_store(state)
        panel = store.create_panel(
            name="MACE",
            agencies=["police", "health"],
            cadence_days=28,
            agreement="isa",
            retention_days=30,
            created_by="ann",
            chair=("Ann", "police"),
        )
        old = store.create_meeting(panel_id=panel.id, held_on="2028-01-05", created_by="ann")
        older = store.create_meeting(panel_id=panel.id, held_on="2028-08-01", created_by="ann")
        store.create_meeting(panel_id=panel.id, held_on="2028-09-01", created_by="ann")
    day = dt.date(2028, 9, 10)  # the first release (built 2026-11-01, health 1 year) is due
    plan = retention_plan(built, day=day)
    first = list_releases(built)[0].release_id
    assert [r.release_id for r in plan.releases] == [first]
    assert sorted(m["meeting_id"] for m in plan.meetings) == [old.id, older.id]
    assert list_releases(built)[0].release_id == first  # reporting changes nothing
    result = CliRunner().invoke(cli, ["retention", str(built), "--on", "2028-09-10"])
    assert result.exit_code == 0, result.output
    assert "To delete: 1 releases past retention" in result.output
    assert "Run `joinedup retention" in result.output
    done = apply_retention(built, day=day, actor="cli:test")
    assert done.applied
    ids = [r.release_id for r in list_releases(built)]
    assert first not in ids and current_release_id(built) in ids
    with open_state(built) as state:
        deleted = state.audit.entries(actions=["delete_release"])
        meetings = state.audit.entries(actions=["delete_panel_meeting"])
    assert [e.target for e in deleted] == [first]
    assert deleted[0].detail["agreement"] == "health_isa"
    assert len(meetings) == 2
    again = CliRunner().invoke(
        cli, ["retention", str(built), "--on", "2028-09-10", "--format", "json"]
    )
    assert json.loads(again.output)["releases"] == []


def test_retention_on_a_folder_that_is_not_a_partnership(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["retention", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "is not a partnership folder" in result.output
