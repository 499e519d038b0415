"""Answering questions: computed at build into the release, read back instantly.

At build, :func:`compute_answers` runs each question's SQL once into a temporary table,
then counts distinct units for the headline and for every breakdown (crossed with the
question's split, with margins), with the medians of its values and the rate's
denominator, and stores them in ``question_result``. When the partnership has a previous
release whose copy of the question is the same file (same SHA-256), each cell's count in
that release is stored beside it, so change is read, not recomputed.

:func:`read_answer` reads one stored answer back as an :class:`Answer` (raw counts: pass
it to ``joinedup.disclosure.protect_answer`` before showing it to anyone).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from joinedup.insight.questions import Question, QuestionError, QuestionSpec, spec_json
from joinedup.insight.rows import insert_rows

__all__ = [
    "NOT_KNOWN",
    "Answer",
    "AnswerCell",
    "QuestionInfo",
    "breakdown_sql",
    "compute_answers",
    "list_questions",
    "read_answer",
]

NOT_KNOWN = "Not known"
_TEMP = "_ju_q"
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


@dataclass(frozen=True)
class AnswerCell:
    units: int
    values: dict[str, float | None]
    denominator: float | None
    previous: int | None


@dataclass(frozen=True)
class Answer:
    """One question by one breakdown (``breakdown`` is "" for the headline).

    ``cells`` is keyed by (split value, category); ``None`` stands for "all" on either
    side, so ``cells[(None, None)]`` is the headline total.
    """

    question: QuestionInfo
    release_id: str
    breakdown: str
    splits: tuple[str, ...]
    categories: tuple[str, ...]
    cells: dict[tuple[str | None, str | None], AnswerCell]

    @property
    def total(self) -> AnswerCell:
        return self.cells[(None, None)]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def breakdown_sql(spec: QuestionSpec, breakdown: str) -> str:
    """Distinct units by split x category with margins, over the question's temp table."""
    s = f"CAST({_q(spec.split)} AS VARCHAR)" if spec.split else "NULL::VARCHAR"
    c = f"CAST({_q(breakdown)} AS VARCHAR)" if breakdown else "NULL::VARCHAR"
    vals = "".join(f", {_q(v.column)}" for v in spec.values)
    aggs = "".join(f", {v.summary}({_q(v.column)})" for v in spec.values)
    if spec.split and breakdown:
        sets = "(s, c), (s), (c), ()"
    elif spec.split:
        sets = "(s), ()"
    elif breakdown:
        sets = "(c), ()"
    else:
        sets = "()"
    gs = "GROUPING(s)" if spec.split else "1"
    gc = "GROUPING(c)" if breakdown else "1"
    sc = "s" if spec.split else "NULL::VARCHAR"
    cc = "c" if breakdown else "NULL::VARCHAR"
    group = f"GROUP BY GROUPING SETS ({sets})" if sets != "()" else ""
    return f"""SELECT {gs} AS all_s, {gc} AS all_c, {sc}, {cc},
  count(DISTINCT unit_id) AS units{aggs}
FROM (
  SELECT DISTINCT CAST(unit_id AS VARCHAR) AS unit_id,
    coalesce({s}, '{NOT_KNOWN}') AS s, coalesce({c}, '{NOT_KNOWN}') AS c{vals}
  FROM {_TEMP} WHERE unit_id IS NOT NULL
)
{group}"""


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


def _previous(
    con: duckdb.DuckDBPyConnection, prev: str | None, q: Question
) -> dict[tuple[str, str | None, str | None], int] | None:
    if prev is None:
        return None
    found = con.execute(
        f"SELECT sha256 FROM {prev}.question WHERE question_id = ?", [q.id]
    ).fetchone()
    if found is None or found[0] != q.sha256:
        return None
    rows = con.execute(
        f"SELECT breakdown, split_value, category, units FROM {prev}.question_result "
        "WHERE question_id = ?",
        [q.id],
    ).fetchall()
    return {(str(b), s, c): int(n) for b, s, c, n in rows}


def compute_answers(
    con: duckdb.DuckDBPyConnection,
    questions: Sequence[Question],
    *,
    sources_by_type: dict[str, list[str]],
    previous: tuple[str, str] | None = None,
) -> None:
    """Answer every question into ``question``/``question_result``/``question_unit``.

    ``previous`` is (schema alias of the attached previous release, its release id).
    """
    prev_alias, prev_id = previous if previous else (None, None)
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
        con.execute(
            f"INSERT INTO question_unit SELECT DISTINCT ?, CAST(unit_id AS VARCHAR) FROM {_TEMP} "
            "WHERE unit_id IS NOT NULL",
            [q.id],
        )
        den = _denominators(con, spec) if spec.rate else None
        before = _previous(con, prev_alias, q)
        rows = []
        headline = 0
        for breakdown in ["", *spec.breakdowns]:
            for r in con.execute(breakdown_sql(spec, breakdown)).fetchall():
                all_s, all_c, s, c, units, *vals = r
                split_value = None if all_s else str(s)
                category = None if all_c else str(c)
                if breakdown == "" and split_value is None:
                    headline = int(units)
                values = {
                    v.column: (None if x is None else round(float(x), 4))
                    for v, x in zip(spec.values, vals, strict=True)
                }
                denominator = (
                    _denominator(spec, den[0], den[1], breakdown, split_value, category)
                    if den
                    else None
                )
                key = (breakdown, split_value, category)
                prev_units = None if before is None else before.get(key, 0)
                rows.append(
                    (
                        q.id,
                        breakdown,
                        split_value,
                        category,
                        int(units),
                        json.dumps(values) if values else None,
                        denominator,
                        prev_units,
                    )
                )
        if before:  # categories that had units last time and have none now
            seen = {(r[1], r[2], r[3]) for r in rows}
            for (breakdown, split_value, category), n in sorted(
                before.items(), key=lambda kv: tuple(str(x) for x in kv[0])
            ):
                if (breakdown, split_value, category) in seen or breakdown not in (
                    "",
                    *spec.breakdowns,
                ):
                    continue
                denominator = (
                    _denominator(spec, den[0], den[1], breakdown, split_value, category)
                    if den
                    else None
                )
                rows.append((q.id, breakdown, split_value, category, 0, None, denominator, n))
        if rows:
            insert_rows(con, "question_result", rows)
        sources = sorted({s for t in spec.depends_on for s in sources_by_type.get(t, [])})
        con.execute(
            "INSERT INTO question VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                q.id,
                spec.question,
                spec.definition.strip(),
                spec.unit,
                json.dumps(spec.breakdowns),
                spec.split,
                ";".join(spec.tiers),
                json.dumps(spec.caveats),
                ";".join(spec.depends_on),
                ";".join(sources),
                json.dumps(spec_json(spec)),
                q.origin,
                q.sha256,
                headline,
                prev_id if before is not None else None,
                round(time.perf_counter() - started, 4),
            ],
        )
        con.execute(f"DROP TABLE {_TEMP}")


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


_INFO_SQL = (
    "SELECT question_id, question, definition, unit, breakdowns, split, tiers, caveats, "
    "depends_on, sources, spec, origin, units, previous_release_id FROM question"
)


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


def read_answer(
    con: duckdb.DuckDBPyConnection, question_id: str, *, by: str | None = None
) -> Answer:
    """The stored answer to a question, by one breakdown or (``by=None``) the headline."""
    row = con.execute(_INFO_SQL + " WHERE question_id = ?", [question_id]).fetchone()
    if row is None:
        known = ", ".join(q.id for q in list_questions(con))
        raise QuestionError(
            f"There is no question '{question_id}' in this release; run `joinedup questions "
            f"DIR` to list them ({known})."
        )
    info = _info(tuple(row))
    breakdown = by or ""
    if breakdown and breakdown not in info.breakdowns:
        options = ", ".join(info.breakdowns) or "none"
        raise QuestionError(
            f"Question '{question_id}' has no breakdown '{breakdown}'; use --by with one of: "
            f"{options}."
        )
    release = con.execute("SELECT value FROM release_info WHERE key = 'release_id'").fetchone()
    cells: dict[tuple[str | None, str | None], AnswerCell] = {}
    for s, c, units, values, den, prev in con.execute(
        "SELECT split_value, category, units, value_json, denominator, previous_units "
        "FROM question_result WHERE question_id = ? AND breakdown = ?",
        [question_id, breakdown],
    ).fetchall():
        cells[(s, c)] = AnswerCell(
            units=int(units),
            values=dict(json.loads(values)) if values else {},
            denominator=None if den is None else float(den),
            previous=None if prev is None else int(prev),
        )
    if (None, None) not in cells:
        cells[(None, None)] = AnswerCell(0, {}, None, None)
    split_counts = {s: cell.units for (s, c), cell in cells.items() if s is not None and c is None}
    cat_counts = {c: cell.units for (s, c), cell in cells.items() if c is not None and s is None}
    return Answer(
        question=info,
        release_id="" if release is None else str(release[0]),
        breakdown=breakdown,
        splits=tuple(_order(info, info.split or "", split_counts)),
        categories=tuple(_order(info, breakdown, cat_counts)),
        cells=cells,
    )
