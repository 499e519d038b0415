"""Field problems and repeated rows (issue 13): a bad value costs the value, not the row.

A value that fails validation (a date in no accepted format, an impossible date, an NHS
number or UPN whose check fails, an identifier of a declared kind that fails its check)
is left empty and the row is kept; each such value is recorded in ``field_problem`` with
the file, row, column, field, kind of problem and what to do, never the value.
:func:`joinedup.sources.values.problem_bits` marks, in each mapped row, the values
given but not valid; :func:`field_problems_sql` lists them.

Rows are quarantined only when they cannot be used at all. A row that repeats an earlier
row exactly (every column) is loaded once: the repeat goes to quarantine as
``duplicate_row``, naming the row it repeats (:func:`duplicates_sql`).

Every function here returns SQL and runs nothing.
"""

from __future__ import annotations

from joinedup.sources.mapping import DATE_FIELDS, MappingPlan
from joinedup.sources.values import PROBLEM_BITS, field_checks

__all__ = ["duplicate_reason_sql", "duplicates_sql", "field_problems_sql"]


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def field_problems_sql(plan: MappingPlan, table: str) -> str:
    """SELECT (row_number, column_name, field, problem, reason) over ``table`` (rows of
    the mapped table): every value given but not valid, read from the row's problem
    masks (:func:`joinedup.sources.values.problem_bits`); only rows with a problem build
    the list of their problems."""
    cells, masks = [], set()
    for n, c in enumerate(field_checks(plan, DATE_FIELDS)):
        col, bit = divmod(n, PROBLEM_BITS)
        masks.add(f"_fp{col} <> 0")
        cells.append(
            f"CASE WHEN _fp{col} & {1 << bit} <> 0 THEN {{'column_name': {_lit(c.columns)}, "
            f"'field': {_lit(c.path)}, 'problem': {_lit(c.problem)}, "
            f"'reason': {_lit(c.reason)}}} END"
        )
    if not cells:
        return (
            "SELECT NULL::BIGINT AS row_number, NULL::VARCHAR AS column_name, "
            "NULL::VARCHAR AS field, NULL::VARCHAR AS problem, NULL::VARCHAR AS reason LIMIT 0"
        )
    found = f"list_filter([{', '.join(cells)}], lambda p: p IS NOT NULL)"
    return (
        "SELECT _row AS row_number, p.column_name, p.field, p.problem, p.reason FROM ("
        f"SELECT _row, unnest({found}) AS p FROM {table} WHERE {' OR '.join(sorted(masks))})"
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duplicates_sql(mapped: str, raw: str, columns: list[str], *, where: str, row_ids: bool) -> str:
    """SELECT (_row, _first_row, exact) for each row whose record id repeats an earlier
    row's, or, with ids from row numbers (``row_ids``), whose every column does.

    ``exact`` is true when the row repeats the earlier row in every column of ``raw``
    (``columns``, the extract's own); ``where`` is the filters' condition on ``raw``.
    """
    cols = ", ".join(_q(c) for c in columns) or "1"
    hashed = f"SELECT _row, hash({cols}) AS h FROM {_q(raw)}"
    if row_ids:
        return (
            "SELECT _row, _first_row, true AS exact FROM (SELECT _row, "
            f"min(_row) OVER (PARTITION BY h) AS _first_row FROM ({hashed} WHERE {where})) "
            "WHERE _row > _first_row"
        )
    return (
        f"WITH d AS (SELECT record_id, min(_row) AS f FROM {_q(mapped)} "
        "WHERE record_id IS NOT NULL GROUP BY record_id HAVING count(*) > 1), "
        f"l AS (SELECT m._row, d.f FROM {_q(mapped)} m JOIN d USING (record_id) "
        "WHERE m._row > d.f), "
        f"h AS ({hashed} WHERE _row IN (SELECT _row FROM l UNION ALL SELECT f FROM l)) "
        "SELECT l._row, l.f AS _first_row, coalesce(a.h = b.h, false) AS exact FROM l "
        "LEFT JOIN h a ON a._row = l._row LEFT JOIN h b ON b._row = l.f"
    )


def duplicate_reason_sql() -> str:
    """The quarantine reason and problem for a row of :func:`duplicates_sql` (``d``)."""
    return (
        "CASE WHEN d.exact THEN 'the row repeats row ' || d._first_row || ' exactly (every "
        "column): it was loaded once, from row ' || d._first_row || '; remove the repeat "
        "from the extract' ELSE 'the record id repeats the one on row ' || d._first_row || "
        "': ids must be unique within a source; the first row was kept' END, "
        "CASE WHEN d.exact THEN 'duplicate_row' ELSE 'duplicate_id' END"
    )
