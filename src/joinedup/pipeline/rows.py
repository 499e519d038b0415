"""Which mapped rows load, and what is recorded about those that do not (issue 13).

Rows are quarantined only when they cannot be used at all: a blank record id
(``blank_id``), an id repeating an earlier row's (``duplicate_id``), or a row repeating an
earlier row in every column (``duplicate_row``: loaded once, the repeat counted). A value
that fails validation costs the value, not the row: it is left empty and written to
``field_problem`` (:mod:`joinedup.sources.problems`). The restricted values a mapping adds
(addresses, identifiers of declared kinds: :mod:`joinedup.sources.values`) are written
here too.
"""

from __future__ import annotations

import duckdb

from joinedup.config import SourceConfig
from joinedup.pipeline.places import place_name_key_sql
from joinedup.sources import Crosswalks, MappingPlan
from joinedup.sources.problems import duplicate_reason_sql, duplicates_sql, field_problems_sql
from joinedup.sources.values import ADDRESS, ADDRESS_POSTCODE, PLACE_ADDRESS, id_column

__all__ = ["event_place_sql", "load_values", "place_groups_sql", "place_id_sql", "sort_rows"]


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def place_id_sql(src: SourceConfig) -> str:
    """A place's id: a hash of its normalised name and full postcode (and address, never
    stored): a distinct location (issue 14, :mod:`joinedup.pipeline.places`)."""
    name = place_name_key_sql("place_name")
    key = f"coalesce({name}, '') || '|' || coalesce(place_postcode, '')"
    given = "place_name IS NOT NULL OR place_postcode IS NOT NULL"
    if src.place is not None and src.place.address is not None:
        key += f" || '|' || coalesce({PLACE_ADDRESS}, '')"
        given += f" OR {PLACE_ADDRESS} IS NOT NULL"
    return f"CASE WHEN {given} THEN 'PL' || substr(md5({key}), 1, 14) END"


def _place_columns(src: SourceConfig) -> list[str]:
    cols = ["place_name", "place_postcode"]
    if src.place is not None and src.place.address is not None:
        cols.append(PLACE_ADDRESS)
    return cols


def place_groups_sql(src: SourceConfig, good: str) -> str:
    """SELECT of the distinct places of the rows in ``good`` (name, postcode and address,
    as given) with their ``place_id`` (:func:`place_id_sql`, worked out once per distinct
    place, not per row), the first row (``_first``) and the place type of the first row
    giving one (``_type``, at ``_first_typed``)."""
    cols = ", ".join(_place_columns(src))
    return (
        f"SELECT *, {place_id_sql(src)} AS place_id FROM (SELECT {cols}, min(_row) AS _first, "
        "min(_row) FILTER (WHERE place_type IS NOT NULL) AS _first_typed, "
        f"arg_min(place_type, _row) AS _type FROM {_q(good)} GROUP BY ALL)"
    )


def event_place_sql(src: SourceConfig, events: str, places: str) -> tuple[str, str]:
    """(aggregate over the rows of one event: its first row's place, NULL where no row
    gives one; join of ``events`` (those aggregates, as ``_pl``) to ``places``
    (:func:`place_groups_sql`)) for the event's ``place_id``."""
    cols = _place_columns(src)
    given = " OR ".join(f"{c} IS NOT NULL" for c in cols)
    fields = ", ".join(f"'{c}': {c}" for c in cols)
    on = " AND ".join(f"{places}.{c} IS NOT DISTINCT FROM {events}._pl.{c}" for c in cols)
    return f"arg_min(CASE WHEN {given} THEN {{{fields}}} END, _row) AS _pl", on


def sort_rows(
    con: duckdb.DuckDBPyConnection,
    src: SourceConfig,
    plan: MappingPlan,
    *,
    raw: str,
    mapped: str,
    dup: str,
    good: str,
    file_name: str,
    filters: str,
) -> None:
    """Quarantine the rows that cannot be used, leave the view ``good`` of those to load,
    and record the field problems of the good rows. ``filters`` is the filters' condition
    on ``raw``."""
    sid, fname = _lit(src.id), _lit(file_name)
    columns = [
        r[0] for r in con.execute(f"DESCRIBE {_q(raw)}").fetchall() if not r[0].startswith("_")
    ]
    row_ids = src.record.id.row_number is True
    sql = duplicates_sql(mapped, raw, columns, where=filters, row_ids=row_ids)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {dup} AS {sql}")
    id_cols = ", ".join(src.record.id.source_columns()) or "record.id"
    con.execute(
        f"INSERT INTO quarantine SELECT {sid}, {fname}, _row, {_lit(id_cols)}, "
        "'the record id is blank: every row needs one so it can be traced to the source; "
        "fill it in the extract', 'blank_id' "
        f"FROM {mapped} WHERE record_id IS NULL"
    )
    con.execute(
        f"INSERT INTO quarantine SELECT {sid}, {fname}, d._row, "
        f"CASE WHEN d.exact THEN '' ELSE {_lit(id_cols)} END, {duplicate_reason_sql()} "
        f"FROM {dup} d ORDER BY d._row"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {good} AS SELECT m.* FROM {mapped} m "
        f"WHERE m.record_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {dup} d "
        "WHERE d._row = m._row)"
    )
    if src.bad_dates == "quarantine":  # the row goes, as before issue 13
        con.execute(
            f"INSERT INTO quarantine SELECT {sid}, {fname}, _row, col, "
            "'not a date in any accepted format: correct it in the extract, or list its "
            "format under formats: for this field in partnership.yaml', 'bad_date' FROM ("
            f"SELECT _row, unnest(_bad_dates) AS col FROM {good} WHERE len(_bad_dates) > 0)"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {good} AS SELECT m.* FROM {mapped} m "
            f"WHERE m.record_id IS NOT NULL AND len(m._bad_dates) = 0 AND NOT EXISTS ("
            f"SELECT 1 FROM {dup} d WHERE d._row = m._row)"
        )
    con.execute(
        f"INSERT INTO field_problem SELECT {sid}, {fname}, row_number, column_name, field, "
        f"problem, reason FROM ({field_problems_sql(plan, good)}) ORDER BY row_number, field"
    )


def load_values(
    con: duckdb.DuckDBPyConnection, src: SourceConfig, good: str, cw: Crosswalks
) -> None:
    """Write the good rows' addresses and identifiers of declared kinds (restricted)."""
    sid = _lit(src.id)
    if src.identity.address is not None:
        con.execute(
            f"INSERT INTO identity_address SELECT {sid}, record_id, {ADDRESS}, "
            f"{ADDRESS_POSTCODE} FROM {good} WHERE {ADDRESS} IS NOT NULL"
        )
    kinds = cw.values.id_kinds
    for kind in src.identity.ids:
        if kind not in kinds:
            continue  # an undeclared kind: load_config reports it
        col = id_column(kind)
        con.execute(
            f"INSERT INTO identity_id SELECT {sid}, record_id, {_lit(kind)}, "
            f"{_lit(kinds[kind].scope)}, {col} FROM {good} WHERE {col} IS NOT NULL"
        )
