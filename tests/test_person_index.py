"""One person's records and events read fast (issue 16): ``person_record`` and
``person_event`` hold what ``record_person``, ``record``, ``event_person`` and ``event``
say, in person order, and the person timeline reads the same from them as from the
tables they were built from (the path an older release without them takes).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from joinedup.insight.person_index import person_event_sql, person_record_sql
from joinedup.release import open_current
from joinedup.views import Tier, person_timeline


@pytest.fixture(scope="module")
def db(synth_built: Path):
    con = duckdb.connect(str(open_current(synth_built).db_path), read_only=True)
    yield con
    con.close()


def test_the_tables_hold_the_joined_rows_in_person_order(db) -> None:
    for table, direct in (
        ("person_record", person_record_sql()),
        ("person_event", person_event_sql()),
    ):
        stored = db.execute(f"SELECT * FROM {table}").fetchall()
        assert stored, f"{table} is empty"
        assert sorted(stored, key=repr) == sorted(db.execute(direct).fetchall(), key=repr)
        people = [r[0] for r in stored]
        assert people == sorted(people), f"{table} is not stored in person order"
    # every record and every part in an event of a resolved record is there
    assert (
        db.execute("SELECT count(*) FROM person_record").fetchone()
        == db.execute("SELECT count(*) FROM record_person").fetchone()
    )
    assert (
        db.execute("SELECT count(*) FROM person_event").fetchone()
        == db.execute(
            "SELECT count(*) FROM event_person JOIN record_person USING (source, source_record_id)"
        ).fetchone()
    )


def test_the_timeline_reads_the_same_without_them(synth_built: Path, db, tmp_path) -> None:
    older = tmp_path / "partnership"
    shutil.copytree(synth_built, older)
    con = duckdb.connect(str(open_current(older).db_path))
    con.execute("DROP TABLE person_event")
    con.execute("DROP TABLE person_record")
    con.close()
    busiest = db.execute(
        "SELECT rp.person_id, any_value(r.agency) FROM record_person rp "
        "JOIN record r USING (source, source_record_id) "
        "GROUP BY 1 ORDER BY count(DISTINCT r.agency) DESC, count(*) DESC, 1 LIMIT 5"
    ).fetchall()
    for person, agency in busiest:
        fast = person_timeline(synth_built, person, tier=Tier.OPERATIONAL, viewer_agency=agency)
        slow = person_timeline(older, person, tier=Tier.OPERATIONAL, viewer_agency=agency)
        assert fast is not None and slow is not None
        assert fast["events"] and fast["agencies"] and fast["own_references"]
        assert fast == slow
    assert person_timeline(synth_built, "Pffffffffffffffff", tier=Tier.OPERATIONAL) is None
