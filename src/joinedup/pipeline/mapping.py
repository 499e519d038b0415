"""The ``map`` stage: each staged source through its mapping into the canonical tables.

Rows that cannot be loaded (a blank or repeated record id, a row repeating another) go
to ``quarantine`` with a reason that names the row and column, never the value; a value
that fails validation is left empty and recorded in ``field_problem`` (pipeline/rows.py). Field
quality and codes the crosswalks do not know are counted on the way. Each source's
``source`` row and ``lineage`` input row are written here, once its counts are known.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from joinedup.config import PartnershipConfig, SourceConfig
from joinedup.pipeline.context import BuildContext
from joinedup.pipeline.rows import event_place_sql, load_values, place_groups_sql, sort_rows
from joinedup.sources import (
    Crosswalks,
    exploitation_rows_sql,
    field_quality_sql,
    plan_mapping,
    plan_sql,
    unmapped_codes_sql,
)
from joinedup.sources.events import linked_events_sql, linked_part_ids
from joinedup.sources.fieldquality import lookup_sql, lookups, null_probe_sql
from joinedup.sources.indicators import context_rows_sql
from joinedup.sources.mapping import code_counts_sql, filter_sql

__all__ = ["load_canonical", "map_source", "map_sources", "map_validate"]


def map_sources(ctx: BuildContext) -> None:
    """Map every staged source, drop its staged rows, and record it in ``source``."""
    cfg = ctx.config
    total = len(cfg.sources)
    for i, src in enumerate(cfg.sources):
        ctx.progress("map", i, total)
        f = ctx.sources[src.id]
        f.counts = map_source(
            ctx.con,
            src,
            cfg,
            f.table,
            f.name,
            ctx.crosswalks,
            as_of=f.extracted_at,
            native_dates=f.staged.native_dates,
        )
        ctx.con.execute(f"DROP VIEW IF EXISTS {_q(f.table)}")
        ctx.con.execute(f"DROP TABLE IF EXISTS {_q(f.table + '_data')}")
        c = f.counts
        # rows the reader set aside are read and quarantined too (record_read_quarantine)
        c["read"] += f.staged.report.rows_quarantined
        c["quarantined"] += f.staged.report.rows_quarantined
        ctx.con.execute(
            "INSERT INTO source VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                src.id,
                src.agency,
                cfg.agency(src.agency).type,
                src.dataset,
                f.name,
                src.format,
                f.sha256,
                f.extracted_at,
                c["read"],
                c["loaded"],
                c["filtered"],
                c["quarantined"],
                src.sharing_agreement,
            ],
        )
        ctx.con.execute(
            "INSERT INTO lineage VALUES ('input', ?, ?, ?, NULL, ?)",
            [f.name, f.sha256, f.staged.rows, src.id],
        )
    ctx.progress("map", total, total)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_true(con: duckdb.DuckDBPyConnection, sql: str) -> bool:
    row = con.execute(sql).fetchone()
    return bool(row and row[0])


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def map_source(
    con: duckdb.DuckDBPyConnection,
    src: SourceConfig,
    cfg: PartnershipConfig,
    raw: str,
    file_name: str,
    cw: Crosswalks,
    *,
    as_of: dt.date | None = None,
    native_dates: frozenset[str] = frozenset(),
) -> dict[str, int]:
    """Map one staged source into the canonical tables, quarantine and field quality."""
    map_validate(con, src, raw, file_name, cw, as_of=as_of, native_dates=native_dates)
    return load_canonical(con, src, raw, cw)


def map_validate(
    con: duckdb.DuckDBPyConnection,
    src: SourceConfig,
    raw: str,
    file_name: str,
    cw: Crosswalks,
    *,
    as_of: dt.date | None = None,
    native_dates: frozenset[str] = frozenset(),
) -> None:
    """Parse and validate a staged source: the mapped table, quarantine, field quality.

    The crosswalked (and person) columns' distinct values are counted first, in one
    scan; values worked out from one column alone are worked out on those distinct
    values and joined in. One pass then parses every other value (``_ju_map_*`` keeps
    the parsed values and masks of what was given, valid, formula-like or a problem);
    field quality, field problems and unmapped codes are counted without parsing again.
    Leaves the view ``_ju_good_*`` of the rows to load for :func:`load_canonical`.
    """
    mapped = f"_ju_map_{src.id}"
    good = f"_ju_good_{src.id}"
    dup = f"_ju_dup_{src.id}"
    sid = _lit(src.id)
    codes = f"_ju_codes_{src.id}"
    plan = plan_mapping(src, cw, as_of=as_of, native_dates=native_dates)
    ev = f"{sid} || ':' || coalesce(event_ref, 'r:' || record_id)"
    # each crosswalked column's distinct values and their rows, in one scan of the raw
    # rows: unmapped codes and lists' validity are counted on them, and the crosswalks
    # applied to them once (lookups joined into the mapping) rather than to every row
    counts = code_counts_sql(plan, raw, filter_sql(src))
    joined: dict[str, tuple[str, list[str]]] = {}
    if counts is not None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {codes} AS {counts}")
        for n, (alias, values) in enumerate(lookups(plan).items()):
            # a value must be NULL for a missing (NULL) column, as the join leaves it
            kept = [
                (name, sql) for name, sql in values if _is_true(con, null_probe_sql(alias, sql))
            ]
            table = f"_ju_lookup_{src.id}_{n}"
            sql = lookup_sql(plan, codes, alias, kept)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(table)} AS {sql}")
            joined[alias] = (table, [name for name, _ in kept])
    code_table = codes if counts is not None else None
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {mapped} AS SELECT *, {ev} AS event_id "
        f"FROM ({plan_sql(plan, raw, joined)})"
    )
    for table, _ in joined.values():
        con.execute(f"DROP TABLE IF EXISTS {_q(table)}")
    # issue 13 (pipeline/rows.py): quarantine only unusable rows (blank id, repeated id,
    # repeated row); a value that fails validation is emptied and recorded, the row kept
    sort_rows(
        con,
        src,
        plan,
        raw=raw,
        mapped=mapped,
        dup=dup,
        good=good,
        file_name=file_name,
        filters=filter_sql(src),
    )
    con.execute(
        f"INSERT INTO unmapped_code SELECT {sid}, field, column_name, local_code, rows "
        f"FROM ({unmapped_codes_sql(plan, code_table, cw)})"
    )
    con.execute(
        f"INSERT INTO field_quality SELECT {sid}, f.field, f.column_name, f.rows, f.filled, "
        "f.valid, f.formula_like, coalesce(u.n, 0), "
        "CASE WHEN f.rows > 0 THEN f.filled / f.rows END, "
        "CASE WHEN f.filled > 0 THEN f.valid / f.filled END "
        f"FROM ({field_quality_sql(plan, mapped, cw, code_table)}) f LEFT JOIN ("
        f"SELECT field, sum(rows)::BIGINT AS n FROM unmapped_code WHERE source = {sid} "
        "GROUP BY field) u USING (field)"
    )
    con.execute(f"DROP TABLE IF EXISTS {codes}")


def load_canonical(
    con: duckdb.DuckDBPyConnection, src: SourceConfig, raw: str, cw: Crosswalks
) -> dict[str, int]:
    """Write a validated source's good rows into the canonical tables; return counts."""
    mapped = f"_ju_map_{src.id}"
    good = f"_ju_good_{src.id}"
    dup = f"_ju_dup_{src.id}"
    places = f"_ju_places_{src.id}"
    sid = _lit(src.id)
    agency = _lit(src.agency)
    con.execute(
        f"INSERT INTO record SELECT {sid}, record_id, {agency}, _row, record_date FROM {good}"
    )
    load_values(con, src, good, cw)  # issue 13: addresses, identifier kinds (restricted)
    con.execute(
        f"INSERT INTO identity SELECT {sid}, record_id, forename, surname, preferred_name, dob, "
        "coalesce(dob_estimated, false), coalesce(sex, 'U'), postcode, postcode_district, "
        "nhs_number, upn, pnc_id, local_id, ethnicity "
        f"FROM {good}"
    )
    if src.event is not None:
        # places: each distinct one's id worked out once (pipeline/rows.py)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {places} AS {place_groups_sql(src, good)}")
        first_place, on = event_place_sql(src, "e", "p")
        con.execute(
            f"INSERT INTO event SELECT e.event_id, {sid}, {agency}, e.event_type, e.event_date, "
            "e.end_date, p.place_id, e.outcome, false, e.detail FROM (SELECT event_id, "
            "arg_min(event_type, _row) AS event_type, arg_min(event_date, _row) AS event_date, "
            "arg_min(end_date, _row) AS end_date, arg_min(outcome, _row) AS outcome, "
            f"arg_min(detail, _row) AS detail, {first_place} FROM {good} GROUP BY event_id) e "
            f"LEFT JOIN {places} p ON {on}"
        )
        con.execute(
            # one row per good record, and record ids are unique: no DISTINCT needed
            f"INSERT INTO event_person SELECT event_id, {sid}, record_id, role FROM {good}"
        )
        # issue 13: further events on the row (sources/events.py), their indicators too
        for sql in linked_events_sql(src, good, agency=src.agency):
            con.execute(sql)
        parts = linked_part_ids(src)
        con.execute(
            "INSERT INTO event_exploitation "
            f"{exploitation_rows_sql(src, good, cw, event_id='event_id', part_id=parts)}"
        )
        con.execute(
            "INSERT INTO event_context "
            f"{context_rows_sql(src, good, cw, event_id='event_id', part_id=parts)}"
        )
        con.execute(
            "INSERT INTO _ju_places SELECT place_id, arg_min(place_name, _first), "
            "arg_min(_type, _first_typed), arg_min(place_postcode, _first) "
            f"FROM {places} WHERE place_id IS NOT NULL GROUP BY place_id"
        )
    if src.group is not None:
        gid = f"{sid} || ':' || group_ref"
        con.execute(
            f"INSERT INTO groups SELECT {gid}, {sid}, arg_min(group_type, _row), "
            f"arg_min(group_name, _row) FROM {good} WHERE group_ref IS NOT NULL GROUP BY group_ref"
        )
        con.execute(
            f"INSERT INTO group_member SELECT {gid}, {sid}, record_id, group_role "
            f"FROM {good} WHERE group_ref IS NOT NULL"
        )
    if src.note is not None:
        ev_col = "event_id" if src.event is not None else "NULL"
        con.execute(
            f"INSERT INTO note SELECT {sid} || ':' || record_id, {sid}, record_id, {ev_col}, "
            f"coalesce(note_date, record_date), note_theme, note_text, {_lit(src.note.tier)} "
            f"FROM {good} WHERE note_text IS NOT NULL"
        )
    counts = con.execute(
        f"SELECT (SELECT count(*) FROM {raw}), (SELECT count(*) FROM {mapped}), "
        f"(SELECT count(*) FROM record WHERE source = {sid})"
    ).fetchone()
    assert counts is not None
    con.execute(f"DROP VIEW IF EXISTS {good}")
    for t in (mapped, dup, places):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    read, kept, loaded = (int(x) for x in counts)
    return {"read": read, "filtered": read - kept, "loaded": loaded, "quarantined": kept - loaded}
