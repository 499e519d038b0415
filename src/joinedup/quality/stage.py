"""The quality stage of a build: measures, advice, comparison and the report files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from joinedup.config import PartnershipConfig
from joinedup.quality.advice import advise
from joinedup.quality.measures import AGE_RANGES, date_coverage_sql, measures_sql, source_ages_sql
from joinedup.quality.report import quality_report, write_report

__all__ = ["DROP_DAYS", "DROP_SHARE", "compare_sql", "run_quality", "source_age_ranges"]

DROP_SHARE = 0.02
"""A share that falls by more than this since the previous release is flagged."""
DROP_DAYS = 14.0
"""An extract lag that grows by more than this many days is flagged."""


def source_age_ranges(cfg: PartnershipConfig) -> dict[str, tuple[int, int]]:
    """Each source's service age range: declared, else its agency type's usual one."""
    out: dict[str, tuple[int, int]] = {}
    for s in cfg.sources:
        rng = s.age_range or AGE_RANGES.get(cfg.agency(s.agency).type)
        if rng is not None:
            out[s.id] = (int(rng[0]), int(rng[1]))
    return out


def compare_sql(previous_alias: str, previous_release_id: str) -> str:
    """INSERT comparing ``quality_measure`` with the attached previous release's."""
    rid = "'" + previous_release_id.replace("'", "''") + "'"
    return (
        "INSERT INTO quality_change SELECT n.source, n.dimension, n.measure, n.field, "
        f"{rid}, p.value, n.value, n.value - p.value, "
        "CASE WHEN n.denominator IS NULL AND p.denominator IS NULL THEN "
        f"(CASE WHEN n.higher_is_better THEN p.value - n.value ELSE n.value - p.value END) "
        f"> {DROP_DAYS} ELSE (CASE WHEN n.higher_is_better THEN p.value - n.value "
        f"ELSE n.value - p.value END) > {DROP_SHARE} END "
        f"FROM quality_measure n JOIN {previous_alias}.quality_measure p "
        "ON n.source = p.source AND n.dimension = p.dimension AND n.measure = p.measure "
        "AND n.field = p.field WHERE n.value IS NOT NULL AND p.value IS NOT NULL"
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def run_quality(
    con: duckdb.DuckDBPyConnection,
    cfg: PartnershipConfig,
    *,
    release_id: str,
    previous: tuple[str, Path] | None = None,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Fill the quality tables of a release being built and write its report files.

    ``previous`` is (release id, DuckDB file) of the release this one follows. Returns
    the report as a dict (also written to ``out_dir/quality.json`` and ``quality.html``).
    """
    con.execute(date_coverage_sql())
    for sql in measures_sql(source_ages_sql(source_age_ranges(cfg))):
        con.execute(sql)
    sources = _rows(con, "SELECT * FROM source ORDER BY source")
    fields = _rows(con, "SELECT * FROM field_quality ORDER BY source, field")
    measures = _rows(con, "SELECT * FROM quality_measure ORDER BY source, dimension, measure")
    ranked = advise(sources, fields, measures)
    con.executemany(
        "INSERT INTO quality_advice VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                a.agency,
                rank,
                a.source,
                a.field,
                a.dimension,
                a.advice,
                a.records_affected,
                round(a.score, 3),
            ]
            for rank, a in ranked
        ],
    )
    if previous is not None:
        prev_id, prev_db = previous
        con.execute(
            f"ATTACH '{str(prev_db).replace(chr(39), chr(39) * 2)}' AS _ju_prev (READ_ONLY)"
        )
        try:
            has = con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = '_ju_prev' "
                "AND table_name = 'quality_measure'"
            ).fetchone()
            if has and has[0]:
                con.execute(compare_sql("_ju_prev", prev_id))
        finally:
            con.execute("DETACH _ju_prev")
    report = quality_report(con, release_id=release_id, partnership=cfg.partnership.name)
    if out_dir is not None:
        write_report(report, out_dir)
    return report
