"""Answering questions: computed at build into the release, read back instantly.

At build, :func:`~joinedup.insight.results.compute_answers` runs each question's SQL
once, keeps its unit rows with their event dates (``question_row``), and counts distinct
units for the headline, every breakdown (with the split and margins) and every pair of
breakdowns, for all time and the partnership's default period, into ``question_result``
and ``question_cross``; a dated question also gets the month and quarter series as
breakdowns, and each cell keeps its count in the previous release when that release
answered the same question file.

:func:`read_answer` reads one answer back as an :class:`Answer` for a period: a stored
one as stored, any other counted on request from ``question_row`` by the same code (raw
counts: pass it to ``joinedup.views`` before showing it to anyone).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from joinedup.insight.periods import ALL_TIME, Period
from joinedup.insight.questions import QuestionError
from joinedup.insight.tally import (
    NOT_KNOWN,
    Layout,
    medians,
    one_way_cells,
    one_way_keys,
    rows_sql,
    tally_keyed,
)

__all__ = [
    "ALL",
    "DATE_COLUMN",
    "NOT_KNOWN",
    "Answer",
    "AnswerCell",
    "QuestionInfo",
    "list_questions",
    "read_answer",
    "read_answers",
    "read_answers_and_cross",
    "release_period",
    "tally_rows",
]

#: The column of a question's SQL that dates each unit row (optional).
DATE_COLUMN = "event_date"
#: All time, the standard period every question is stored for.
ALL = Period("all", None, None, ALL_TIME)
_TEMP = "_ju_q"
_ROWS = "_ju_q_rows"
_DEN = "_ju_q_den"


@dataclass(frozen=True)
class QuestionInfo:
    """A question as stored in a release."""

    id: str
    question: str
    definition: str
    unit: str
    breakdowns: dict[str, str]
    split: str | None
    tiers: tuple[str, ...]
    caveats: tuple[str, ...]
    depends_on: tuple[str, ...]
    sources: tuple[str, ...]
    origin: str
    units: int
    previous_release_id: str | None
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def split_label(self) -> str | None:
        label = self.spec.get("split_label")
        return str(label) if label else self.split

    @property
    def layout(self) -> Layout:
        return Layout.from_spec(self.spec, bool(self.split))


@dataclass(frozen=True)
class AnswerCell:
    units: int
    values: dict[str, float | None]
    denominator: float | None
    previous: int | None
    #: for the default period: how many fewer units than over all time (None: none fewer)
    diff: int | None = None
    #: cell keys of ``units`` and ``previous`` (issue 19; None: the release has none)
    cell_key: int | None = None
    previous_cell_key: int | None = None


@dataclass(frozen=True)
class Answer:
    """One question by one breakdown (``breakdown`` is "" for the headline), for a period.

    ``cells`` is keyed by (split value, category); ``None`` stands for "all" on either
    side, so ``cells[(None, None)]`` is the headline total. ``stored`` is False for a
    period counted on request (no previous release to compare with); ``dated`` is False
    for a question whose rows carry no date (its answer is for all time).
    """

    question: QuestionInfo
    release_id: str
    breakdown: str
    splits: tuple[str, ...]
    categories: tuple[str, ...]
    cells: dict[tuple[str | None, str | None], AnswerCell]
    period: Period = ALL
    stored: bool = True
    dated: bool = True
    reference_date: dt.date | None = None

    @property
    def total(self) -> AnswerCell:
        return self.cells[(None, None)]


def _info(row: tuple[Any, ...]) -> QuestionInfo:
    (qid, text, definition, unit, breakdowns, split, tiers, caveats, depends, sources, spec,
     origin, units, prev) = row  # fmt: skip
    return QuestionInfo(
        id=str(qid),
        question=str(text),
        definition=str(definition),
        unit=str(unit),
        breakdowns=dict(json.loads(breakdowns or "{}")),
        split=split,
        tiers=tuple(t for t in str(tiers or "").split(";") if t),
        caveats=tuple(json.loads(caveats or "[]")),
        depends_on=tuple(t for t in str(depends or "").split(";") if t),
        sources=tuple(t for t in str(sources or "").split(";") if t),
        origin=str(origin),
        units=int(units or 0),
        previous_release_id=prev,
        spec=dict(json.loads(spec or "{}")),
    )


_INFO_COLUMNS = (
    "question_id, question, definition, unit, breakdowns, split, tiers, caveats, "
    "depends_on, sources, spec, origin, units, previous_release_id"
)
_INFO_SQL = f"SELECT {_INFO_COLUMNS} FROM question"


def list_questions(con: duckdb.DuckDBPyConnection) -> list[QuestionInfo]:
    """Every question answered in the release, in id order."""
    return [_info(tuple(r)) for r in con.execute(_INFO_SQL + " ORDER BY question_id").fetchall()]


def _order(info: QuestionInfo, field_name: str, counts: dict[str, int]) -> list[str]:
    fixed = [str(x) for x in info.spec.get("order", {}).get(field_name, [])]
    rest = [c for c in counts if c not in fixed]
    if field_name in info.spec.get("sort_by_count", []):
        rest.sort(key=lambda c: (c == NOT_KNOWN, -counts[c], c))
    else:
        rest.sort(key=lambda c: (c == NOT_KNOWN, c))
    return [c for c in fixed if c in counts] + rest


def _stored_period(stored: list[Period], period: Period | None) -> tuple[Period, str | None]:
    if period is None:
        chosen = stored[0] if stored else ALL
        return chosen, chosen.key
    for p in stored:
        if (p.start, p.end) == (period.start, period.end):
            return p, p.key
    if period.all_time:
        return ALL, "all"
    return period, None


def _date(value: Any) -> dt.date | None:
    try:
        return None if value is None else dt.date.fromisoformat(str(value))
    except ValueError:
        return None


#: The question, the release's id and reference date, and its stored periods (default
#: first), in one plain query: rows of (kind, 14 text columns).
_PAD = ", NULL" * 10
_QUESTION_SQL = (
    f"SELECT 0 AS kind, {_INFO_COLUMNS.replace('units,', 'CAST(units AS VARCHAR),')} "
    "FROM question WHERE question_id = $q UNION ALL "
    f"SELECT 1, key, value{', NULL' * 12} FROM release_info "
    "WHERE key IN ('release_id', 'reference_date') UNION ALL "
    "SELECT CASE WHEN is_default THEN 2 ELSE 3 END, period, CAST(date_from AS VARCHAR), "
    f"CAST(date_to AS VARCHAR), label{_PAD} FROM question_period ORDER BY 1"
)


def _context(
    con: duckdb.DuckDBPyConnection, question_id: str = ""
) -> tuple[tuple[Any, ...] | None, str | None, dt.date | None, list[Period]]:
    """(the question's row or None, release id, reference date, stored periods)."""
    facts: dict[str, str] = {}
    stored = []
    question = None
    for kind, *rest in con.execute(_QUESTION_SQL, {"q": question_id}).fetchall():
        if kind == 0:
            question = tuple(rest)
        elif kind == 1:
            facts[str(rest[0])] = str(rest[1])
        else:
            stored.append(Period(str(rest[0]), _date(rest[1]), _date(rest[2]), str(rest[3])))
    return question, facts.get("release_id"), _date(facts.get("reference_date")), stored


def release_period(
    con: duckdb.DuckDBPyConnection, period: Period | None = None
) -> tuple[Period, str | None]:
    """The period to answer for (``None``: the release's default) and the key of the
    stored period that is the same window, or None when it must be counted on request."""
    return _stored_period(_context(con)[3], period)


def read_answers(
    con: duckdb.DuckDBPyConnection,
    question_id: str,
    by: Sequence[str | None],
    *,
    period: Period | None = None,
) -> list[Answer]:
    """The answers to a question by each of ``by`` (None: the headline) for ``period``
    (default: the release's default period), read together."""
    answers, _ = _read(con, question_id, by, period=period)
    return answers


def _read(
    con: duckdb.DuckDBPyConnection,
    question_id: str,
    by: Sequence[str | None],
    *,
    period: Period | None = None,
    pair: tuple[str, str] | None = None,
) -> tuple[list[Answer], list[tuple[Any, ...]] | None]:
    """The answers by each of ``by`` and, for a stored period, the crossed cells of
    ``pair`` (breakdown_a, breakdown_b in the question's order; None when the period
    is counted on request): three queries at most."""
    row, release, reference, stored = _context(con, question_id)
    if row is None:
        known = ", ".join(q.id for q in list_questions(con))
        raise QuestionError(
            f"There is no question '{question_id}' in this release; run `joinedup questions "
            f"DIR` to list them ({known})."
        )
    info = _info(row)
    breakdowns = [b or "" for b in by]
    for breakdown in breakdowns:
        if breakdown and breakdown not in info.breakdowns:
            options = ", ".join(info.breakdowns) or "none"
            raise QuestionError(
                f"Question '{question_id}' has no breakdown '{breakdown}'; use --by with one "
                f"of: {options}."
            )
    layout = info.layout
    chosen, key = _stored_period(stored, period)
    if not layout.dated:
        key = "all"  # no dates: all time, whatever the period
    found: dict[str, dict[tuple[str | None, str | None], AnswerCell]] = {}
    crossed: list[tuple[Any, ...]] | None = None
    if key is not None:
        marks = ", ".join("?" for _ in breakdowns)
        sql = (
            "SELECT 0, breakdown, split_value, category, units, value_json, denominator, "
            "previous_units, period_diff, cell_key, previous_cell_key FROM question_result "
            f"WHERE question_id = ? AND period = ? AND breakdown IN ({marks})"
        )
        args: list[Any] = [question_id, key, *breakdowns]
        if pair is not None:
            crossed = []
            sql += (
                " UNION ALL SELECT 1, breakdown_a, category_a, category_b, units, NULL, NULL, "
                "NULL, period_diff, cell_key, NULL FROM question_cross WHERE question_id = ? "
                "AND period = ? AND ((breakdown_a = ? AND breakdown_b = ?) "
                "OR (breakdown_a = ? AND breakdown_b = ?))"
            )
            args += [question_id, key, *pair, *reversed(pair)]
        try:
            got = con.execute(sql, args).fetchall()
        except duckdb.BinderException:  # a release from before cell keys (issue 19)
            old = sql.replace("previous_cell_key", "NULL").replace("cell_key", "NULL")
            got = con.execute(old, args).fetchall()
        for kind, b, s, c, units, values, den, prev, diff, ck, prev_ck in got:
            if kind == 1:
                assert crossed is not None
                first = pair is not None and b == pair[0]
                crossed.append((s, c, units, diff, ck) if first else (c, s, units, diff, ck))
                continue
            found.setdefault(str(b), {})[(s, c)] = AnswerCell(
                units=int(units),
                values=dict(json.loads(values)) if values else {},
                denominator=None if den is None else float(den),
                previous=None if prev is None else int(prev),
                diff=None if diff is None else int(diff),
                cell_key=None if ck is None else int(ck),
                previous_cell_key=None if prev_ck is None else int(prev_ck),
            )
    out = []
    for breakdown in breakdowns:
        if key is None:
            cells = _count_on_request(con, info, layout, breakdown, chosen)
        else:
            cells = found.get(breakdown, {})
        cells.setdefault((None, None), AnswerCell(0, {}, None, None))
        splits = {s: cell.units for (s, c), cell in cells.items() if s is not None and c is None}
        cats = {c: cell.units for (s, c), cell in cells.items() if c is not None and s is None}
        out.append(
            Answer(
                question=info,
                release_id="" if release is None else str(release),
                breakdown=breakdown,
                splits=tuple(_order(info, info.split or "", splits)),
                categories=tuple(_order(info, breakdown, cats)),
                cells=cells,
                period=chosen,
                stored=key is not None,
                dated=layout.dated,
                reference_date=reference,
            )
        )
    return out, crossed


def read_answers_and_cross(
    con: duckdb.DuckDBPyConnection,
    question_id: str,
    pair: tuple[str, str],
    *,
    period: Period | None = None,
) -> tuple[list[Answer], list[tuple[Any, ...]] | None]:
    """The answers by each of ``pair`` and the stored crossed cells (category of the
    first, of the second, units, period_diff, cell key), or None for a period counted on
    request."""
    return _read(con, question_id, list(pair), period=period, pair=pair)


def read_answer(
    con: duckdb.DuckDBPyConnection,
    question_id: str,
    *,
    by: str | None = None,
    period: Period | None = None,
) -> Answer:
    """The answer to a question, by one breakdown or (``by=None``) the headline, for
    ``period`` (default: the release's default period)."""
    return read_answers(con, question_id, [by], period=period)[0]


def _count_on_request(
    con: duckdb.DuckDBPyConnection,
    info: QuestionInfo,
    layout: Layout,
    breakdown: str,
    period: Period,
) -> dict[tuple[str | None, str | None], AnswerCell]:
    """One breakdown's cells for a period that is not stored, from ``question_row``;
    denominators (which do not depend on the period) from the stored all-time answer.
    Cell keys are counted from the rows' stored record keys, as at build."""
    sets: list[tuple[str, ...]] = [()]
    col = layout.col(breakdown) if breakdown else None
    if layout.split:
        sets.append(("s",))
    if col:
        sets.append((col,))
        if layout.split:
            sets.append(("s", col))
    keyed = tally_rows(con, info.id, layout, period, sets)
    counts = one_way_cells({k: n for k, (n, _) in keyed.items()}, {}, layout, breakdown)
    cks = one_way_keys({k: ck for k, (_, ck) in keyed.items()}, layout, breakdown)
    rows = rows_sql(info.id, layout)
    meds = medians(con, rows, layout, breakdown, period)
    dens = {
        (s, c): None if d is None else float(d)
        for s, c, d in con.execute(
            "SELECT split_value, category, denominator FROM question_result "
            "WHERE question_id = ? AND breakdown = ? AND period = 'all'",
            [info.id, breakdown],
        ).fetchall()
    }
    out = {}
    for key, (units, diff) in counts.items():
        den = dens.get(key) if info.spec.get("rate") else None
        out[key] = AnswerCell(units, meds.get(key, {}), den, None, diff, cks.get(key))
    return out


def tally_rows(
    con: duckdb.DuckDBPyConnection,
    question_id: str,
    layout: Layout,
    period: Period,
    sets: Sequence[tuple[str, ...]],
) -> dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[int, int | None]]:
    """A question's stored rows tallied for a period, each count with its cell key (None
    for a release from before record keys were stored)."""
    try:
        return tally_keyed(con, rows_sql(question_id, layout, keyed=True), layout, period, sets)
    except duckdb.BinderException:
        return tally_keyed(con, rows_sql(question_id, layout), layout, period, sets, False)
