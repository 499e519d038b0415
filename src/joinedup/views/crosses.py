"""A question by two breakdowns crossed, as each tier may see it (issue 14).

The crossed table is one cut of a cube whose other cuts are published on their own: the
one-way table of each breakdown (:func:`~joinedup.views.answers.protect_answer`) and the
headline. Its margins are therefore shown exactly as those tables show them (hidden
where they are hidden), and the crossed cells are protected around them
(:func:`~joinedup.disclosure.cube.protect_cross`), so that no hidden count, crossed or
margin, can be worked out by differencing the crossed table and the one-way tables. A
default-period crossed count a few fewer than the all-time one is hidden, and a period
counted on request is rounded, as in every answer. A crossed table shows counts only: medians, rates
and change since the previous release are in the one-way answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from joinedup.disclosure import DisclosurePolicy, SourceScope, Tier, TwoWayTable, policy_for
from joinedup.disclosure import suppression_footnote as _footnote
from joinedup.disclosure.cube import protect_cross
from joinedup.insight import Cross
from joinedup.insight.periods import SERIES, SourceSpan
from joinedup.views.answers import (
    TOTAL,
    answer_policy,
    check_tier,
    incomplete_reason,
    period_facts,
    protect_counts,
    question_facts,
)
from joinedup.views.cellkey import (
    ON_REQUEST_NOTE,
    disclosure_dict,
    perturb_answer,
    perturb_cell,
    uses_cell_key,
)

__all__ = ["protect_crossed"]


def protect_crossed(
    cross: Cross,
    tier: Tier,
    *,
    policy: DisclosurePolicy | None = None,
    scope: SourceScope | None = None,
    spans: Sequence[SourceSpan] = (),
) -> dict[str, Any]:
    """Exactly what of a crossed answer may leave the store for ``tier``, JSON-ready:
    ``rows`` in long form (each row a pair of categories, with "Total" for the margins)
    and ``table`` as a grid for pages."""
    tier = Tier(tier)
    a, b = cross.by_a, cross.by_b
    info = a.question
    check_tier(info, tier, scope)
    policy = answer_policy(a, policy or policy_for(tier))

    def units(answer: Any) -> Any:
        return lambda key: answer.cells[key].units if key in answer.cells else 0

    shown_a = protect_counts(a, units(a), policy)
    shown_b = protect_counts(b, units(b), policy)
    # the headline, as the list of questions publishes it: what a reader knows of the total
    only_total = replace(a, breakdown="", splits=(), categories=(), cells={(None, None): a.total})
    headline = protect_counts(only_total, units(a), policy)[(None, None)]
    rows, cols = list(a.categories), list(b.categories)
    every = [*cross.cells.values(), *a.cells.values(), *b.cells.values()]
    keyed = uses_cell_key(policy, every)  # issue 19: each cell perturbed by its own key
    table = (
        _perturbed(cross, policy, rows, cols)
        if keyed
        else protect_cross(
            {key: cell.units for key, cell in cross.cells.items()},
            policy,
            rows=rows,
            cols=cols,
            row_totals={r: a.cells[(None, r)].units for r in rows},
            col_totals={c: b.cells[(None, c)].units for c in cols},
            total=a.total.units,
            published_rows={r: shown_a[(None, r)] for r in rows},
            published_cols={c: shown_b[(None, c)] for c in cols},
            published_total=headline,
            hide=[
                key
                for key, cell in cross.cells.items()
                if cell.diff is not None and policy.is_small(cell.diff)
            ],
        )
    )
    long: list[dict[str, Any]] = []
    series = [x for x in (a, b) if x.breakdown in SERIES]
    for r in [*rows, None]:
        for c in [*cols, None]:
            if r is None and c is None:
                count = table.total
            elif r is None:
                count = table.col_totals[c]  # type: ignore[index]
            elif c is None:
                count = table.row_totals[r]
            else:
                count = table.cells[(r, c)]
            row: dict[str, Any] = {
                "category": TOTAL if r is None else r,
                "category_b": TOTAL if c is None else c,
                "count": count,
                "total": r is None or c is None,
            }
            if series:
                reasons = [
                    incomplete_reason(x, x.breakdown, r if x is a else c, spans) for x in series
                ]
                row["incomplete"] = "; ".join(x for x in reasons if x) or None
            long.append(row)
    columns = [
        {"key": "category", "label": info.breakdowns[a.breakdown]},
        {"key": "category_b", "label": info.breakdowns[b.breakdown]},
        {"key": "count", "label": info.unit.capitalize()},
    ]
    if series:
        columns.append({"key": "incomplete", "label": "Incomplete period"})
    period, history = period_facts(a, spans)
    if keyed and period["note"] and period["dated"] and not period["stored"]:
        period["note"] = ON_REQUEST_NOTE
    return {
        "tier": tier.value,
        "release_id": a.release_id,
        "previous_release_id": None,
        "period": period,
        "history": history,
        "question": question_facts(info),
        "breakdown": a.breakdown,
        "by": [a.breakdown, b.breakdown],
        "columns": columns,
        "rows": long,
        "table": {
            "rows": rows,
            "columns": cols,
            "cells": [[table.cells[(r, c)] for c in cols] for r in rows],
            "row_totals": [table.row_totals[r] for r in rows],
            "column_totals": [table.col_totals[c] for c in cols],
            "total": table.total,
        },
        "disclosure": disclosure_dict(policy, _footnote(policy), keyed=keyed),
        "scope": None if scope is None else scope.as_dict(),
    }


def _perturbed(
    cross: Cross, policy: DisclosurePolicy, rows: list[str], cols: list[str]
) -> TwoWayTable[str, str]:
    """The crossed table by cell key perturbation: crossed cells by their keys, margins
    and total exactly as the one-way answers publish them."""
    a, b = cross.by_a, cross.by_b
    by_a, by_b = perturb_answer(a, policy), perturb_answer(b, policy)
    cells = {}
    for r in rows:
        for c in cols:
            cell = cross.cells.get((r, c))
            cells[(r, c)] = 0 if cell is None else perturb_cell(cell.units, cell.cell_key, policy)
    return TwoWayTable(
        cells=cells,
        row_totals={r: by_a[(None, r)] for r in rows},
        col_totals={c: by_b[(None, c)] for c in cols},
        total=by_a[(None, None)],
    )
