"""Counting a question's unit rows for a period: distinct units by any breakdowns.

A question's rows are kept in one shape (:class:`Layout`): ``unit_id``, ``event_date``,
the split ``s``, one column ``c0``, ``c1``, ... per breakdown (the question's own, then
the month and quarter series) and one ``v0``, ``v1``, ... per value. At build they are a
temporary table; on request they are read back from ``question_row``. The same
functions count both, so a period counted on request is counted exactly as a stored one.

:func:`tally` counts distinct units for many grouping sets at once (the headline, each
breakdown, each breakdown with the split, pairs of breakdowns) in a period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from joinedup.insight.cellkeys import cell_key_sql, key_value_sql
from joinedup.insight.periods import Period

__all__ = [
    "NOT_KNOWN",
    "Layout",
    "SetKey",
    "medians",
    "one_way_cells",
    "one_way_keys",
    "rows_sql",
    "tally",
    "tally_keyed",
    "window_sql",
]

NOT_KNOWN = "Not known"

#: One count: (columns grouped, their values), e.g. (("s", "c1"), ("All children", "F")).
SetKey = tuple[tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True)
class Layout:
    """Where each breakdown, the split and the values are in a question's rows."""

    breakdowns: tuple[str, ...]
    split: bool
    values: tuple[tuple[str, str], ...]  # (column, summary)
    dated: bool
    first: dt.date | None = None
    last: dt.date | None = None

    def col(self, breakdown: str) -> str:
        return f"c{self.breakdowns.index(breakdown)}"

    def as_json(self) -> dict[str, Any]:
        return {
            "row_columns": list(self.breakdowns),
            "dated": self.dated,
            "dates": [
                None if self.first is None else self.first.isoformat(),
                None if self.last is None else self.last.isoformat(),
            ],
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any], split: bool) -> Layout:
        dates = spec.get("dates") or [None, None]
        return cls(
            breakdowns=tuple(str(b) for b in spec.get("row_columns", [])),
            split=split,
            values=tuple((str(v["column"]), str(v["summary"])) for v in spec.get("values", [])),
            dated=bool(spec.get("dated", False)),
            first=None if dates[0] is None else dt.date.fromisoformat(dates[0]),
            last=None if dates[1] is None else dt.date.fromisoformat(dates[1]),
        )


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def rows_sql(question_id: str, layout: Layout, *, keyed: bool = False) -> str:
    """A question's stored rows (``question_row``) in the layout's shape; ``keyed`` adds
    each row's key value ``k`` for cell keys (:mod:`joinedup.insight.cellkeys`)."""
    cats = "".join(f", categories[{i + 1}] AS c{i}" for i in range(len(layout.breakdowns)))
    vals = "".join(f", vals[{i + 1}] AS v{i}" for i in range(len(layout.values)))
    k = f", {key_value_sql()} AS k" if keyed else ""
    return (
        f"(SELECT unit_id, event_date, split_value AS s{cats}{vals}{k} FROM question_row "
        f"WHERE question_id = {_lit(question_id)})"
    )


def window_sql(start: dt.date | None, end: dt.date | None, *, dated_only: bool = False) -> str:
    """The WHERE condition of a window of dates (all rows when both ends are open)."""
    parts = []
    if start is not None:
        parts.append(f"event_date >= DATE '{start.isoformat()}'")
    if end is not None:
        parts.append(f"event_date <= DATE '{end.isoformat()}'")
    if dated_only and not parts:
        parts.append("event_date IS NOT NULL")
    return " AND ".join(parts) or "TRUE"


def _counts(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    sets: Sequence[tuple[str, ...]],
    where: str,
    keyed: bool = False,
) -> dict[SetKey, tuple[int, int | None]]:
    """(distinct units, cell key or None) for every grouping set; ``keyed`` counts the
    cell keys too, from the rows' key values ``k``."""
    cols = sorted({c for s in sets for c in s})
    aggs = "count(DISTINCT unit_id), " + (cell_key_sql() if keyed else "NULL")
    if not cols:
        r = con.execute(
            f"SELECT {aggs} FROM {rows} WHERE unit_id IS NOT NULL AND {where}"
        ).fetchone()
        n, ck = (int(r[0]), r[1]) if r else (0, None)
        return {((), ()): (n, 0 if keyed and n == 0 else ck)}
    flags = ", ".join(f"GROUPING({c}) AS g_{c}" for c in cols)
    grouping = ", ".join("(" + ", ".join(s) + ")" for s in sets)
    sql = (
        f"SELECT {flags}, {', '.join(cols)}, {aggs} FROM {rows} "
        f"WHERE unit_id IS NOT NULL AND {where} GROUP BY GROUPING SETS ({grouping})"
    )
    out: dict[SetKey, tuple[int, int | None]] = {}
    width = len(cols)
    for r in con.execute(sql).fetchall():
        grouped = tuple(c for i, c in enumerate(cols) if not r[i])
        values = tuple(str(r[width + cols.index(c)]) for c in grouped)
        out[(grouped, values)] = (int(r[-2]), None if r[-1] is None else int(r[-1]))
    if () in sets and ((), ()) not in out:
        out[((), ())] = (0, 0 if keyed else None)
    return out


def tally(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    layout: Layout,
    period: Period,
    sets: Iterable[tuple[str, ...]],
) -> dict[SetKey, int]:
    """Distinct units for every grouping set in ``period`` (all time for rows that carry
    no date)."""
    return {k: n for k, (n, _) in tally_keyed(con, rows, layout, period, sets, False).items()}


def tally_keyed(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    layout: Layout,
    period: Period,
    sets: Iterable[tuple[str, ...]],
    keyed: bool = True,
) -> dict[SetKey, tuple[int, int | None]]:
    """As :func:`tally`, each count with its cell key (None where the rows carry no key
    value ``k``, or ``keyed`` is False)."""
    wanted = [tuple(sorted(s)) for s in dict.fromkeys(tuple(s) for s in sets)]
    where = window_sql(period.start, period.end) if layout.dated else "TRUE"
    return _counts(con, rows, wanted, where, keyed)


def medians(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    layout: Layout,
    breakdown: str,
    period: Period,
) -> dict[tuple[str | None, str | None], dict[str, float | None]]:
    """The values' summaries (median or mean over distinct units) by split x category,
    with margins, as at build: {(split value or None, category or None): {column: value}}."""
    if not layout.values:
        return {}
    where = window_sql(period.start, period.end) if layout.dated else "TRUE"
    dims = (["s"] if layout.split else []) + ([layout.col(breakdown)] if breakdown else [])
    vals = "".join(f", v{i}" for i in range(len(layout.values)))
    aggs = ", ".join(f"{summary}(v{i})" for i, (_, summary) in enumerate(layout.values))
    inner = (
        f"SELECT DISTINCT unit_id{''.join(', ' + d for d in dims)}{vals} FROM {rows} "
        f"WHERE unit_id IS NOT NULL AND {where}"
    )
    if dims:
        sets = ["(" + ", ".join(dims) + ")", *(f"({d})" for d in dims)]
        sets = list(dict.fromkeys(sets)) + ["()"]
        flags = ", ".join(f"GROUPING({d}), {d}" for d in dims)
        sql = f"SELECT {flags}, {aggs} FROM ({inner}) GROUP BY GROUPING SETS ({', '.join(sets)})"
    else:
        sql = f"SELECT {aggs} FROM ({inner})"
    out: dict[tuple[str | None, str | None], dict[str, float | None]] = {}
    for r in con.execute(sql).fetchall():
        got = {d: (None if r[2 * i] else str(r[2 * i + 1])) for i, d in enumerate(dims)}
        key = (got.get("s"), got.get(layout.col(breakdown)) if breakdown else None)
        out[key] = {
            col: None if x is None else round(float(x), 4)
            for (col, _), x in zip(layout.values, r[2 * len(dims) :], strict=True)
        }
    return out


def _one_way_key(key: SetKey, col: str | None) -> tuple[str | None, str | None] | None:
    """The (split value, category) of a tallied set in one breakdown's table, or None."""
    cols, values = key
    if not set(cols) <= {"s", col} or (col is None and cols not in ((), ("s",))):
        return None
    named = dict(zip(cols, values, strict=True))
    return named.get("s"), named.get(col) if col else None


def one_way_cells(
    counts: dict[SetKey, int], gaps: dict[SetKey, int], layout: Layout, breakdown: str
) -> dict[tuple[str | None, str | None], tuple[int, int | None]]:
    """One breakdown's cells (split value, category; None for all) from a tally, each
    with its gap to all time (None where there is none)."""
    col = layout.col(breakdown) if breakdown else None
    out = {}
    for key, units in counts.items():
        cell = _one_way_key(key, col)
        if cell is not None:
            out[cell] = (units, gaps.get(key) or None)
    return out


def one_way_keys(
    keys: dict[SetKey, int | None], layout: Layout, breakdown: str
) -> dict[tuple[str | None, str | None], int | None]:
    """One breakdown's cell keys, keyed as :func:`one_way_cells` keys its cells."""
    col = layout.col(breakdown) if breakdown else None
    out = {}
    for key, ck in keys.items():
        cell = _one_way_key(key, col)
        if cell is not None:
            out[cell] = ck
    return out
