"""Answers published by cell key perturbation, when the partnership chooses it (issue 19).

``disclosure.method: cell_key`` in partnership.yaml puts ``method="cell_key"`` on every
tier's policy (:func:`joinedup.disclosure.policy_for`). The rule is
:func:`joinedup.disclosure.cellkey.perturb`: each count moves to a multiple of 5 (or the
tier's rounding base, if larger), up or down as its cell key says, and a count then from 1
to the threshold is shown as "c". Cell keys are counted at build beside every count of a
question (:mod:`joinedup.insight.cellkeys`), so the same people give the same published
figure in every table, period and release, and no secondary suppression is needed: the
one-way tables, crossed tables and periods of a question are each perturbed cell by cell.

Figures whose cells carry no cell key (a release built before cell keys were stored, or
pages that count on request outside the questions) keep primary and secondary
suppression, and say so in their footnote (:func:`suppression_footnote`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import duckdb

from joinedup.disclosure import SUPPRESSED, Cell, DisclosurePolicy, TwoWayTable
from joinedup.disclosure.cellkey import CELL_KEY_BASE, perturb
from joinedup.insight import Answer, AnswerCell, Period
from joinedup.insight.tally import Layout, tally_keyed

__all__ = [
    "CELL_KEY",
    "ON_REQUEST_NOTE",
    "cell_key_footnote",
    "disclosure_dict",
    "perturb_answer",
    "perturb_cell",
    "perturbed_grid",
    "uses_cell_key",
]

#: The value of ``disclosure.method`` (and of a policy's ``method``) that chooses it.
CELL_KEY = "cell_key"

Key = tuple[str | None, str | None]

#: The period note of an answer counted on request and published by cell key perturbation.
ON_REQUEST_NOTE = (
    "Counted on request for this period and protected like every figure, by cell key "
    "perturbation: the same children give the same number in any period that counts them; "
    "there is no comparison with the previous release."
)


def uses_cell_key(policy: DisclosurePolicy, cells: Iterable[AnswerCell]) -> bool:
    """True when ``policy`` chooses cell key perturbation and every count of ``cells``
    that is not zero carries its cell key (a zero is published as 0 whatever its key)."""
    if getattr(policy, "method", "suppression") != CELL_KEY:
        return False
    return all(c.cell_key is not None for c in cells if c.units > 0)


def perturb_cell(units: int, ckey: int | None, policy: DisclosurePolicy) -> Cell:
    """One count as published: perturbed by its cell key; "c" when it has none (it
    cannot be published consistently with the same people elsewhere)."""
    if units == 0:
        return 0
    if ckey is None:
        return SUPPRESSED
    return perturb(units, ckey, policy)


def perturb_answer(
    answer: Answer, policy: DisclosurePolicy, *, previous: bool = False
) -> dict[Key, Cell]:
    """Every cell of an answer's table (each split x category, with the totals) as
    published: its count, or with ``previous`` the previous release's count, each
    perturbed by its own cell key."""
    splits: list[str | None] = [*answer.splits, None]
    cats: list[str | None] = [*answer.categories, None]
    out: dict[Key, Cell] = {}
    for s in splits:
        for c in cats:
            cell = answer.cells.get((s, c))
            if cell is None:
                out[(s, c)] = 0
            elif previous:
                out[(s, c)] = perturb_cell(cell.previous or 0, cell.previous_cell_key, policy)
            else:
                out[(s, c)] = perturb_cell(cell.units, cell.cell_key, policy)
    return out


def cell_key_footnote(policy: DisclosurePolicy) -> str:
    """The footnote wherever figures published by cell key perturbation are shown."""
    base = max(CELL_KEY_BASE, policy.rounding_base or 1)
    return (
        f"Numbers are moved up or down to a multiple of {base} to protect the children and "
        "young people they count (cell key perturbation, the method the ONS used for "
        "Census 2021): the same people always give the same number, in every table, period "
        "and release, so a number cannot be worked out by comparing tables, and numbers may "
        f"not add up to their totals. “{SUPPRESSED}” means the number would be between 1 and "
        f"{policy.threshold}. Zero is shown as 0."
    )


def disclosure_dict(policy: DisclosurePolicy, footnote: str, *, keyed: bool) -> dict[str, Any]:
    """The ``disclosure`` facts of a protected answer: as before for suppression; with
    ``method`` "cell_key" and the cell key footnote when the answer was perturbed."""
    out: dict[str, Any] = {
        "threshold": policy.threshold,
        "rounding_base": policy.rounding_base,
        "suppressed": SUPPRESSED,
        "footnote": cell_key_footnote(policy) if keyed else footnote,
    }
    if keyed:
        out["method"] = CELL_KEY
        out["base"] = max(CELL_KEY_BASE, policy.rounding_base or 1)
    return out


def perturbed_grid(
    con: duckdb.DuckDBPyConnection,
    rows_sql: str,
    layout: Layout,
    period: Period,
    policy: DisclosurePolicy,
    *,
    by: tuple[str, str],
    margins: tuple[Mapping[str, Cell], Mapping[str, Cell], Cell],
) -> TwoWayTable[str, str]:
    """A grid of a question's keyed rows (``rows_sql`` from
    :func:`joinedup.insight.tally.rows_sql` with ``keyed=True``, filtered as the caller
    needs) by the columns ``by`` (row, column), each cell perturbed by its own cell key;
    ``margins`` (row totals, column totals, total) are the figures other tables already
    publish for them. For a slice of a crossed answer (one type of exploitation by area
    and period, on the indicator pages)."""
    ca, cb = by
    row_totals, col_totals, total = margins
    cells: dict[tuple[str, str], Cell] = {(r, c): 0 for r in row_totals for c in col_totals}
    for (cols, values), (units, ckey) in tally_keyed(con, rows_sql, layout, period, [by]).items():
        if len(cols) == 2:
            named = dict(zip(cols, values, strict=True))
            if (named[ca], named[cb]) in cells:
                cells[(named[ca], named[cb])] = perturb_cell(units, ckey, policy)
    return TwoWayTable(
        cells=cells, row_totals=dict(row_totals), col_totals=dict(col_totals), total=total
    )
