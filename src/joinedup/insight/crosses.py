"""Answers in two dimensions: a question by two of its breakdowns crossed, for a period.

The crossed cells of the standard periods are stored at build (``question_cross``); any
other period is counted on request from ``question_row`` by the same code. The margins
of a crossed answer are the one-way answers by each breakdown in the same period (read
with :func:`~joinedup.insight.answers.read_answer`), so the cube's margins are exactly
what the one-way answers say. A question with a split (two overlapping cohorts) is
already two-dimensional and is not crossed again.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from joinedup.insight.answers import Answer, AnswerCell, read_answers_and_cross, tally_rows
from joinedup.insight.periods import Period
from joinedup.insight.questions import QuestionError

__all__ = ["Cross", "read_cross"]


@dataclass(frozen=True)
class Cross:
    """A question by breakdown A (rows) x breakdown B (columns) in a period.

    ``cells`` holds the crossed cells (a, b); ``by_a`` and ``by_b`` are the one-way
    answers (the margins, each with the total) in the same period.
    """

    by_a: Answer
    by_b: Answer
    cells: dict[tuple[str, str], AnswerCell]

    @property
    def by(self) -> tuple[str, str]:
        return self.by_a.breakdown, self.by_b.breakdown

    @property
    def period(self) -> Period:
        return self.by_a.period


def read_cross(
    con: duckdb.DuckDBPyConnection,
    question_id: str,
    by: tuple[str, str],
    *,
    period: Period | None = None,
) -> Cross:
    """The question by two breakdowns crossed, for ``period`` (default: the release's
    default period)."""
    a, b = by
    if a == b:
        raise QuestionError(f"--by {a} is given twice; cross two different breakdowns.")
    (by_a, by_b), stored = read_answers_and_cross(con, question_id, (a, b), period=period)
    info = by_a.question
    if info.split:
        raise QuestionError(
            f"Question '{question_id}' is already shown by {info.split_label or info.split} "
            "for every breakdown; it takes one --by."
        )
    cells: dict[tuple[str, str], AnswerCell] = {}
    if stored is not None:
        for ca, cb, units, diff, ck in stored:
            gap = None if diff is None else int(diff)
            key = None if ck is None else int(ck)
            cells[(str(ca), str(cb))] = AnswerCell(int(units), {}, None, None, gap, key)
    else:
        layout = info.layout
        ca, cb = layout.col(a), layout.col(b)
        counted = tally_rows(con, question_id, layout, by_a.period, [(ca, cb)])
        for (cols, values), (units, ck) in counted.items():
            if len(cols) == 2:
                named = dict(zip(cols, values, strict=True))
                cells[(named[ca], named[cb])] = AnswerCell(units, {}, None, None, None, ck)
    return Cross(by_a=by_a, by_b=by_b, cells=cells)
