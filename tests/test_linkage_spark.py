"""The same linkage on Apache Spark (Splink's Spark backend, local mode) as on DuckDB.

Runs in CI: `make test-deps` installs Java 17 and the `spark` extra. Spark is slow to start and
pays a job per step, so this links a small slice of the synthetic partnership: about 80
people, 1,000 records.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from joinedup.config.model import LinkageConfig
from joinedup.linkage import LinkOutcome, link_persons
from joinedup.release import open_current

SECRET = b"s" * 64
_TABLES = (
    "record_person",
    "link_pair",
    "person_flag",
    "person_change",
    "linkage_model",
    "linkage_report",
)


@pytest.fixture(scope="module")
def small_release(synth_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built synthetic release cut down to the records of 80 true people."""
    db = tmp_path_factory.mktemp("spark") / "slice.duckdb"
    shutil.copy(open_current(synth_built).db_path, db)
    truth = str(synth_built / "truth" / "record_person.csv")
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TEMP TABLE keep AS SELECT source, source_record_id FROM "
            f"read_csv('{truth}', all_varchar = true) WHERE person_id <= 'SP0000080'"
        )
        for t in ("identity", "record"):
            con.execute(
                f"DELETE FROM {t} WHERE (source, source_record_id) NOT IN "
                "(SELECT source, source_record_id FROM keep)"
            )
    return db


def _link(db: Path, dest: Path, engine: str, truth: Path) -> tuple[LinkOutcome, list[tuple]]:
    shutil.copy(db, dest)
    with duckdb.connect(str(dest)) as con:
        for t in _TABLES:
            con.execute(f"DELETE FROM {t}")
        outcome = link_persons(
            con,
            SECRET,
            config=LinkageConfig(engine=engine, min_records=100),
            truth=truth,
            voluntary_sources=["brightpath_support"],
        )
        rows = con.execute(
            "SELECT source, source_record_id, person_id FROM record_person ORDER BY 1, 2"
        ).fetchall()
        engine_row = con.execute(
            "SELECT detail FROM linkage_report WHERE section = 'run' AND item = 'engine'"
        ).fetchall()
    assert engine_row == [(engine,)]
    return outcome, rows


def test_spark_links_like_duckdb(small_release: Path, synth_built: Path, tmp_path: Path) -> None:
    truth = synth_built / "truth" / "record_person.csv"
    on_duckdb, rows_duckdb = _link(small_release, tmp_path / "d.duckdb", "duckdb", truth)
    on_spark, rows_spark = _link(small_release, tmp_path / "s.duckdb", "spark", truth)
    assert on_spark.mode == on_duckdb.mode == "full"
    t_spark, t_duckdb = on_spark.truth, on_duckdb.truth
    assert t_spark["precision"] >= 0.99 and t_spark["f1"] >= 0.98
    assert abs(t_spark["f1"] - t_duckdb["f1"]) < 0.01
    # the same records end in the same persons (ids are keyed hashes of the same anchors)
    same = sum(a == b for a, b in zip(rows_duckdb, rows_spark, strict=True))
    assert same >= 0.99 * len(rows_duckdb)
