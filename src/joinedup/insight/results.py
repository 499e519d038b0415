"""Answering every question at build into the release (see :mod:`joinedup.insight.answers`
for what is stored and how it is read back).

:func:`compute_answers` runs each question's SQL once into a temporary table, keeps its
unit rows with their event dates (``question_row``), then counts distinct units for the
headline, every breakdown (with the split and margins) and every pair of breakdowns, for
all time and each standard period, with medians, denominators and the previous
release's counts, into ``question_result`` and ``question_cross``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import duckdb

from joinedup.insight.answers import ALL, DATE_COLUMN
from joinedup.insight.cellkeys import RecordKeys, register_record_keys
from joinedup.insight.periods import MONTH, SERIES, Period
from joinedup.insight.questions import Question, QuestionError, QuestionSpec, spec_json
from joinedup.insight.rows import insert_rows
from joinedup.insight.tally import (
    NOT_KNOWN,
    Layout,
    SetKey,
    medians,
    one_way_cells,
    one_way_keys,
    tally_keyed,
)

__all__ = ["compute_answers"]

_TEMP = "_ju_q"
_ROWS = "_ju_q_rows"
_DEN = "_ju_q_den"
_KEYS = "_ju_q_keys"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _denominators(
    con: duckdb.DuckDBPyConnection, spec: QuestionSpec
) -> tuple[list[str], list[tuple[Any, ...]]]:
    assert spec.rate is not None
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_DEN} AS {spec.rate.denominator_sql}")
    cur = con.execute(f"SELECT * FROM {_DEN}")
    cols = [str(d[0]).lower() for d in cur.description or []]
    rows = [tuple(r) for r in cur.fetchall()]
    con.execute(f"DROP TABLE {_DEN}")
    return cols, rows


def _denominator(
    spec: QuestionSpec,
    cols: list[str],
    rows: list[tuple[Any, ...]],
    breakdown: str,
    split_value: str | None,
    category: str | None,
) -> float | None:
    assert spec.rate is not None
    if category is not None and breakdown not in cols:
        if breakdown not in spec.rate.constant_over:
            return None
        category = None
    if spec.split and (split_value is None or spec.split not in cols):
        return None  # split cohorts may overlap: no rate on the margin across them
    di = cols.index("denominator")
    total = 0.0
    for r in rows:
        split_col = cols.index(spec.split) if spec.split else -1
        if split_value is not None and _cat(r[split_col]) != split_value:
            continue
        if category is not None and _cat(r[cols.index(breakdown)]) != category:
            continue
        total += float(r[di] or 0)
    return total


def _cat(v: Any) -> str:
    return NOT_KNOWN if v is None else str(v)


PrevKey = tuple[str, str, str | None, str | None]


def _previous(
    con: duckdb.DuckDBPyConnection, prev: str | None, q: Question
) -> dict[PrevKey, tuple[int, int | None]] | None:
    """(period, breakdown, split value, category) -> (units, cell key or None) in the
    previous release."""
    if prev is None:
        return None
    found = con.execute(
        f"SELECT sha256 FROM {prev}.question WHERE question_id = ?", [q.id]
    ).fetchone()
    if found is None or found[0] != q.sha256:
        return None
    rows = None
    for key in ("cell_key", "NULL"):  # a release from before cell keys has none
        try:
            rows = con.execute(
                f"SELECT period, breakdown, split_value, category, units, {key} "
                f"FROM {prev}.question_result WHERE question_id = ?",
                [q.id],
            ).fetchall()
            break
        except duckdb.BinderException:  # (and one from before periods: nothing to compare)
            continue
    if rows is None:
        return None
    return {
        (str(p), str(b), s, c): (int(n), None if ck is None else int(ck))
        for p, b, s, c, n, ck in rows
    }


def _rows_table(
    con: duckdb.DuckDBPyConnection, spec: QuestionSpec, keys: RecordKeys | None
) -> Layout:
    """The question's rows (``_TEMP``) in the tally's shape (``_ROWS``), with each unit's
    record key and key value ``k`` when there are ``keys``; its layout."""
    cur = con.execute(f"SELECT * FROM {_TEMP} LIMIT 0")
    cols = [str(d[0]).lower() for d in cur.description or []]
    dated = DATE_COLUMN in cols
    series = [k for k in SERIES if dated and k not in spec.breakdowns and k != spec.split]
    names = (*spec.breakdowns, *series)
    date = f"CAST({_q(DATE_COLUMN)} AS DATE)" if dated else "NULL::DATE"
    exprs = [f"CAST({_q(b)} AS VARCHAR)" for b in spec.breakdowns]
    exprs += [
        f"strftime({date}, '%Y-%m')" if k == MONTH else f"year({date}) || ' Q' || quarter({date})"
        for k in series
    ]
    split = f"CAST({_q(spec.split)} AS VARCHAR)" if spec.split else "NULL::VARCHAR"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_ROWS} AS SELECT CAST(unit_id AS VARCHAR) AS unit_id, "
        f"{date} AS event_date, coalesce({split}, '{NOT_KNOWN}') AS s"
        + "".join(f", coalesce({e}, '{NOT_KNOWN}') AS c{i}" for i, e in enumerate(exprs))
        + "".join(f", CAST({_q(v.column)} AS DOUBLE) AS v{i}" for i, v in enumerate(spec.values))
        + (", NULL::SMALLINT AS record_key, NULL::BIGINT AS k" if keys is None else "")
        + f" FROM {_TEMP} WHERE unit_id IS NOT NULL"
    )
    if keys is not None:
        register_record_keys(con, _KEYS, f"SELECT DISTINCT unit_id FROM {_ROWS}", keys)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_ROWS} AS SELECT r.*, x.record_key, x.k "
            f"FROM {_ROWS} AS r LEFT JOIN {_KEYS} AS x ON x.unit_id = r.unit_id"
        )
        con.unregister(_KEYS)
    span = con.execute(f"SELECT min(event_date), max(event_date) FROM {_ROWS}").fetchone()
    first, last = span if span else (None, None)
    return Layout(
        breakdowns=names,
        split=bool(spec.split),
        values=tuple((v.column, v.summary) for v in spec.values),
        dated=dated and first is not None,
        first=first,
        last=last,
    )


def _sets(layout: Layout, pairs: bool) -> list[tuple[str, ...]]:
    sets: list[tuple[str, ...]] = [()]
    if layout.split:
        sets.append(("s",))
    for b in layout.breakdowns:
        sets.append((layout.col(b),))
        if layout.split:
            sets.append(("s", layout.col(b)))
    if pairs and not layout.split:
        cols = [layout.col(b) for b in layout.breakdowns]
        sets += [(a, b) for i, a in enumerate(cols) for b in cols[i + 1 :]]
    return sets


def compute_answers(
    con: duckdb.DuckDBPyConnection,
    questions: Sequence[Question],
    *,
    sources_by_type: dict[str, list[str]],
    previous: tuple[str, str] | None = None,
    periods: Sequence[Period] = (),
    secret: bytes | None = None,
) -> None:
    """Answer every question into ``question``/``question_result``/``question_cross``/
    ``question_row``/``question_unit``, for all time and each of ``periods``.

    ``previous`` is (schema alias of the attached previous release, its release id).
    With the partnership's ``secret``, every count is stored with its cell key and every
    row with its unit's record key (:mod:`joinedup.insight.cellkeys`); without, both are
    NULL.
    """
    prev_alias, prev_id = previous if previous else (None, None)
    keys = RecordKeys(secret) if secret else None
    stored = [ALL, *(p for p in periods if not p.all_time)]
    for q in questions:
        spec = q.spec
        started = time.perf_counter()
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {_TEMP} AS {spec.sql.strip().rstrip(';')}")
        except duckdb.Error as exc:
            raise QuestionError(
                f"{q.file}: the question's sql failed on this release "
                f"({type(exc).__name__}); run `joinedup check` and correct the sql."
            ) from exc
        layout = _rows_table(con, spec, keys)
        con.execute(f"INSERT INTO question_unit SELECT DISTINCT ?, unit_id FROM {_ROWS}", [q.id])
        cats = ", ".join(f"c{i}" for i in range(len(layout.breakdowns)))
        vals = ", ".join(f"v{i}" for i in range(len(layout.values)))
        con.execute(
            f"INSERT INTO question_row SELECT ?, unit_id, event_date, "
            f"{'s' if spec.split else 'NULL'}, [{cats}]::VARCHAR[], [{vals}]::DOUBLE[], "
            f"record_key FROM {_ROWS}",
            [q.id],
        )
        den = _denominators(con, spec) if spec.rate else None
        before = _previous(con, prev_alias, q)
        rows: list[tuple[Any, ...]] = []
        crosses: list[tuple[Any, ...]] = []
        headline = 0
        whole: dict[SetKey, int] = {}
        for period in stored:
            keyed = tally_keyed(con, _ROWS, layout, period, _sets(layout, pairs=True), bool(keys))
            counts = {k: n for k, (n, _) in keyed.items()}
            ckeys = {k: ck for k, (_, ck) in keyed.items()}
            if period is ALL:
                whole = counts
            # how many fewer than over all time: a small gap gives away a few units
            gaps = {
                key: (whole.get(key, 0) - n if period is not ALL else 0)
                for key, n in counts.items()
            }
            for breakdown in ["", *layout.breakdowns]:
                meds = medians(con, _ROWS, layout, breakdown, period)
                cks = one_way_keys(ckeys, layout, breakdown)
                for (split_value, category), (units, diff) in one_way_cells(
                    counts, gaps, layout, breakdown
                ).items():
                    if period is ALL and breakdown == "" and split_value is None:
                        headline = units
                    values = meds.get((split_value, category), {})
                    denominator = (
                        _denominator(spec, den[0], den[1], breakdown, split_value, category)
                        if den
                        else None
                    )
                    key = (period.key, breakdown, split_value, category)
                    prev_units, prev_ck = (
                        (None, None) if before is None else before.pop(key, (0, 0))
                    )
                    rows.append(
                        (q.id, breakdown, split_value, category, units,
                         json.dumps(values) if values else None, denominator, prev_units,
                         period.key, diff, cks.get((split_value, category)), prev_ck)
                    )  # fmt: skip
            index = {layout.col(b): b for b in layout.breakdowns}
            for (cols, got), units in counts.items():
                diff = gaps[(cols, got)] or None
                if len(cols) == 2 and "s" not in cols:
                    a, b = sorted(cols, key=lambda c: int(c[1:]))
                    named = dict(zip(cols, got, strict=True))
                    crosses.append(
                        (q.id, period.key, index[a], index[b], named[a], named[b], units, diff,
                         ckeys[(cols, got)])
                    )  # fmt: skip
        for (period_key, breakdown, split_value, category), (n, prev_ck) in sorted(
            (before or {}).items(), key=lambda kv: tuple(str(x) for x in kv[0])
        ):  # categories that had units last time and have none now
            if breakdown not in ("", *layout.breakdowns) or period_key not in {
                p.key for p in stored
            }:
                continue
            denominator = (
                _denominator(spec, den[0], den[1], breakdown, split_value, category)
                if den
                else None
            )
            rows.append(
                (q.id, breakdown, split_value, category, 0, None, denominator, n, period_key, None,
                 0 if keys else None, prev_ck)
            )  # fmt: skip
        insert_rows(con, "question_result", rows)
        insert_rows(con, "question_cross", crosses)
        sources = sorted({s for t in spec.depends_on for s in sources_by_type.get(t, [])})
        series = {k: SERIES[k] for k in layout.breakdowns if k not in spec.breakdowns}
        con.execute(
            "INSERT INTO question VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                q.id,
                spec.question,
                spec.definition.strip(),
                spec.unit,
                json.dumps({**spec.breakdowns, **series}),
                spec.split,
                ";".join(spec.tiers),
                json.dumps(spec.caveats),
                ";".join(spec.depends_on),
                ";".join(sources),
                json.dumps({**spec_json(spec), **layout.as_json()}),
                q.origin,
                q.sha256,
                headline,
                prev_id if before is not None else None,
                round(time.perf_counter() - started, 4),
            ],
        )
        con.execute(f"DROP TABLE {_TEMP}")
        con.execute(f"DROP TABLE {_ROWS}")
