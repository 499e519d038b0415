"""Retention enforced (issue 19): records past their agreement's retention left out at build.

A record's date is the latest it shows: its own ``record_date`` or the date (or end date)
of any event it is in. A record whose date is more than its agreement's
``retention_years`` before the build's day is left out, with everything that hangs on it
(identity, addresses, identifiers, events it alone is in, notes, group memberships), by
the ``retention`` stage, after ``guard`` and before linkage. Records with no date at all
are kept. How many were left out, per source, goes into ``lineage`` (kind
``retention``): never silently.

The same rule, run on the current release for a day, is the report of what will fall out
at the next build (:func:`records_due`); releases past retention (:func:`releases_due`)
are what ``joinedup retention`` deletes (``joinedup.access.retention``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config import PartnershipConfig
from joinedup.pipeline.context import BuildContext
from joinedup.release.store import current_release_id, list_releases

__all__ = [
    "Due",
    "ReleaseDue",
    "cutoffs",
    "drop_records",
    "enforce_retention",
    "excluded_counts",
    "records_due",
    "releases_due",
    "years_before",
]

#: The temporary table of (source, source_record_id) that :func:`drop_records` removes.
DROP_TABLE = "_ju_drop"


@dataclass(frozen=True)
class Due:
    """Records of one source past retention on a day."""

    source: str
    agreement: str
    retention_years: int
    cutoff: dt.date  # records dated before this are past retention
    records: int


@dataclass(frozen=True)
class ReleaseDue:
    """A release (not the current one) past the shortest retention of the data it holds."""

    release_id: str
    built_at: str
    agreement: str
    retention_years: int
    due_on: dt.date
    path: Path


def years_before(day: dt.date, years: int) -> dt.date:
    """``day`` moved back ``years`` years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def cutoffs(config: PartnershipConfig, day: dt.date) -> dict[str, tuple[str, int, dt.date]]:
    """Source id -> (agreement, retention_years, cutoff) for sources whose agreement sets
    a retention period."""
    years = {a.key: a.retention_years for a in config.sharing_agreements}
    out = {}
    for s in config.sources:
        n = years.get(s.sharing_agreement)
        if n is not None:
            out[s.id] = (s.sharing_agreement, int(n), years_before(day, int(n)))
    return out


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def due_records_sql(limits: Mapping[str, dt.date]) -> str:
    """(source, source_record_id) of the records dated before their source's cutoff."""
    if not limits:
        return "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS source_record_id WHERE false"
    values = ", ".join(f"({_lit(s)}, DATE '{d.isoformat()}')" for s, d in sorted(limits.items()))
    return (
        "WITH cut(source, cutoff) AS (VALUES " + values + "), "
        "dated AS (SELECT r.source, r.source_record_id, "
        "greatest(max(r.record_date), max(e.event_date), max(e.end_date)) AS latest "
        "FROM record r JOIN cut USING (source) "
        "LEFT JOIN event_person p USING (source, source_record_id) "
        "LEFT JOIN event e ON e.event_id = p.event_id GROUP BY ALL) "
        "SELECT d.source, d.source_record_id FROM dated d JOIN cut USING (source) "
        "WHERE d.latest < cut.cutoff"
    )


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """The release's own tables and the build's temporary ones (never a view, never an
    attached database such as the previous release), qualified, with their columns."""
    rows = con.execute(
        "SELECT c.database_name, c.schema_name, c.table_name, c.column_name "
        "FROM duckdb_columns() c JOIN duckdb_tables() t USING (database_name, schema_name, "
        "table_name) WHERE c.database_name IN (current_database(), 'temp')"
    ).fetchall()
    out: dict[str, set[str]] = {}
    for db, schema, table, column in rows:
        name = ".".join('"' + str(x).replace('"', '""') + '"' for x in (db, schema, table))
        out.setdefault(name, set()).add(str(column))
    return out


def drop_records(con: duckdb.DuckDBPyConnection, keys_sql: str) -> dict[str, int]:
    """Remove the records ``keys_sql`` selects (source, source_record_id) from every table
    that holds records, and the events only they were in; records left out per source."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {DROP_TABLE} AS SELECT DISTINCT * FROM ({keys_sql})")
    counts = dict(
        con.execute(f"SELECT source, count(*) FROM {DROP_TABLE} GROUP BY source").fetchall()
    )
    if not counts:
        con.execute(f"DROP TABLE {DROP_TABLE}")
        return {}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_drop_events AS SELECT DISTINCT event_id "
        f"FROM event_person JOIN {DROP_TABLE} USING (source, source_record_id)"
    )
    keep = {f'"temp"."main"."{t}"' for t in (DROP_TABLE, "_ju_drop_events", "_ju_gone")}
    for table, cols in sorted(_tables(con).items()):
        if {"source", "source_record_id"} <= cols and table not in keep:
            con.execute(
                f"DELETE FROM {table} t USING {DROP_TABLE} d WHERE t.source = d.source "
                "AND t.source_record_id = d.source_record_id"
            )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_gone AS SELECT event_id FROM _ju_drop_events "
        "WHERE event_id NOT IN (SELECT event_id FROM event_person)"
    )
    gone = "(SELECT event_id FROM _ju_gone)"
    for table, cols in sorted(_tables(con).items()):
        if table in keep or "event_id" not in cols:
            continue
        con.execute(f"DELETE FROM {table} WHERE event_id IN {gone}")
        if "related_event_id" in cols:
            con.execute(f"DELETE FROM {table} WHERE related_event_id IN {gone}")
    for t in (DROP_TABLE, "_ju_drop_events", "_ju_gone"):
        con.execute(f"DROP TABLE {t}")
    return {str(k): int(v) for k, v in counts.items()}


def record_exclusions(
    con: duckdb.DuckDBPyConnection, kind: str, counts: Mapping[str, int], detail: str
) -> None:
    """Write one ``lineage`` row per source of records left out (``kind``: retention or
    objection), so no record is left out silently."""
    for source, n in sorted(counts.items()):
        con.execute(
            "INSERT INTO lineage VALUES (?, ?, NULL, ?, NULL, ?)", [kind, source, int(n), detail]
        )


def enforce_retention(ctx: BuildContext) -> None:
    """The ``retention`` stage: leave out records past their agreement's retention."""
    # measured on the day of the build: a record may not be held past its agreement's
    # retention, whatever day the release describes (a stale reference date in
    # partnership.yaml must never keep data longer)
    day = ctx.now.date()
    limits = cutoffs(ctx.config, day)
    ctx.progress("retention", 0, 1)
    counts = drop_records(ctx.con, due_records_sql({s: c for s, (_, _, c) in limits.items()}))
    record_exclusions(
        ctx.con, "retention", counts, f"records dated before their agreement's retention on {day}"
    )
    ctx.progress("retention", 1, 1)


def excluded_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Records left out at build, from a release's lineage: kind -> source -> count."""
    try:
        rows = con.execute(
            "SELECT kind, name, rows FROM lineage WHERE kind IN ('retention', 'objection')"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    out: dict[str, dict[str, int]] = {}
    for kind, name, n in rows:
        out.setdefault(str(kind), {})[str(name)] = int(n or 0)
    return out


def records_due(
    con: duckdb.DuckDBPyConnection, config: PartnershipConfig, day: dt.date
) -> list[Due]:
    """Per source, the records of a release (the current one) that a build on ``day``
    would leave out: what will fall out at the next build."""
    limits = cutoffs(config, day)
    sql = due_records_sql({s: c for s, (_, _, c) in limits.items()})
    counts = dict(con.execute(f"SELECT source, count(*) FROM ({sql}) GROUP BY source").fetchall())
    return [
        Due(source, agreement, years, cut, int(counts.get(source, 0)))
        for source, (agreement, years, cut) in sorted(limits.items())
    ]


def releases_due(
    partnership_dir: Path, config: PartnershipConfig, day: dt.date
) -> list[ReleaseDue]:
    """Releases other than the current one that are past retention on ``day``: built
    longer ago than the shortest ``retention_years`` of the agreements their sources are
    held under (the current release is never deleted: a build replaces it)."""
    years = {a.key: a.retention_years for a in config.sharing_agreements}
    current = current_release_id(partnership_dir)
    out = []
    for handle in list_releases(partnership_dir):
        if handle.release_id == current:
            continue
        try:
            with duckdb.connect(str(handle.db_path), read_only=True) as con:
                rows = con.execute("SELECT sharing_agreement FROM source").fetchall()
                held = {str(r[0]) for r in rows}
        except duckdb.Error:
            held = {s.sharing_agreement for s in config.sources}
        limited = sorted((n, k) for k in held if (n := years.get(k)) is not None)
        built = _built_on(handle.manifest)
        if not limited or built is None:
            continue
        n, key = limited[0]
        due_on = _years_after(built, n)
        if due_on <= day:
            out.append(
                ReleaseDue(
                    handle.release_id, built.isoformat(), key, n, due_on, handle.db_path.parent
                )
            )
    return out


def _built_on(manifest: Mapping[str, Any]) -> dt.date | None:
    text = str(manifest.get("built_at") or "")
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _years_after(day: dt.date, years: int) -> dt.date:
    return years_before(day, -years)
