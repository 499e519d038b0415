"""Cell suppression: primary suppression of small counts, secondary suppression so that
no hidden count can be worked out from what is shown.

A table is a set of cells (each a count, keyed by anything hashable) and the relations
between them that a reader can use: ``total = sum(parts)``. Row, column and grand totals
are cells like any other, and are suppressed like any other when they are small.

The rules, applied until nothing changes:

1. Primary: a count from 1 to the threshold is hidden.
2. Every relation hides none of its cells or at least two. When only one is hidden, the
   smallest shown part is hidden too (a non-zero one where there is one).
3. When a relation's total is shown, the parts it hides add up to more than the
   threshold and to more than the number of hidden parts: so even a reader who knows no
   hidden count is zero cannot pin one down to a single value, nor learn that they are
   all small.
4. Audit: every hidden cell is checked against every published number by exact linear
   algebra; a cell whose value is still determined (for example, one that links two
   otherwise separate groups of hidden cells) gets another hidden cell beside it.

Relations that are not exact sums (a column of distinct persons, where one person can
fall in several rows) are treated as if they were. A reader can use such a total only as
a bound, so treating it as an exact sum errs on the side of hiding more.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

from joinedup.disclosure.policy import SUPPRESSED, Cell, DisclosurePolicy

__all__ = [
    "Relation",
    "TwoWayTable",
    "determined_cells",
    "protect_cells",
    "protect_one_way",
    "protect_two_way",
]

K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)


@dataclass(frozen=True)
class Relation(Generic[K]):
    """``values[total] == sum(values[p] for p in parts)``, as a reader may assume."""

    total: K
    parts: tuple[K, ...]


def _pick(candidates: Iterable[K], values: Mapping[K, int], order: Mapping[K, int]) -> K | None:
    """The cell to hide next: the smallest non-zero count, else a zero; ties by position."""
    best = sorted(candidates, key=lambda k: (values[k] == 0, values[k], order[k]))
    return best[0] if best else None


def _needs_more(rel: Relation[K], values: Mapping[K, int], hidden: set[K], k: int) -> bool:
    members = (*rel.parts, rel.total)
    n_hidden = sum(1 for m in members if m in hidden)
    if n_hidden == 0:
        return False
    if n_hidden == 1:
        return True
    if rel.total in hidden:
        return False
    hidden_parts = [values[p] for p in rel.parts if p in hidden]
    hidden_sum = sum(hidden_parts)
    return hidden_sum <= k or hidden_sum <= len(hidden_parts)


def _widen(
    rel: Relation[K], values: Mapping[K, int], hidden: set[K], order: Mapping[K, int]
) -> bool:
    """Hide one more cell of ``rel``: a part if any is shown, else its total."""
    choice = _pick((p for p in rel.parts if p not in hidden), values, order)
    if choice is None and rel.total not in hidden:
        choice = rel.total
    if choice is None:
        return False
    hidden.add(choice)
    return True


def determined_cells(
    values: Mapping[K, int], hidden: Iterable[K], relations: Sequence[Relation[K]]
) -> set[K]:
    """Hidden cells whose value follows from the shown cells and the relations.

    Each relation is a linear equation in the hidden cells. A hidden cell is determined
    exactly when every solution of the homogeneous system leaves it at zero, i.e. when no
    vector of the null space moves it. Exact arithmetic (fractions); tables are small.
    """
    order = {k: i for i, k in enumerate(values)}
    unknowns = sorted(set(hidden), key=order.__getitem__)
    if not unknowns:
        return set()
    col = {k: i for i, k in enumerate(unknowns)}
    rows: list[list[Fraction]] = []
    for rel in relations:
        row = [Fraction(0)] * len(unknowns)
        for p in rel.parts:
            if p in col:
                row[col[p]] += 1
        if rel.total in col:
            row[col[rel.total]] -= 1
        if any(row):
            rows.append(row)
    pivots = _rref(rows, len(unknowns))
    free = [j for j in range(len(unknowns)) if j not in pivots]
    moved: set[int] = set(free)
    for f in free:
        for j, r in pivots.items():
            if rows[r][f] != 0:
                moved.add(j)
    return {k for k, j in col.items() if j not in moved}


def _rref(rows: list[list[Fraction]], n: int) -> dict[int, int]:
    """Reduce ``rows`` in place to reduced row echelon form; pivot column -> row."""
    pivots: dict[int, int] = {}
    r = 0
    for c in range(n):
        p = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if p is None:
            continue
        rows[r], rows[p] = rows[p], rows[r]
        lead = rows[r][c]
        rows[r] = [x / lead for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                factor = rows[i][c]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots[c] = r
        r += 1
    return pivots


def _cover_determined(
    values: Mapping[K, int],
    hidden: set[K],
    relations: Sequence[Relation[K]],
    order: Mapping[K, int],
) -> bool:
    """Hide one more cell beside the first hidden cell that the audit can still work out."""
    for cell in sorted(determined_cells(values, hidden, relations), key=order.__getitem__):
        for rel in relations:
            if cell in (*rel.parts, rel.total) and _widen(rel, values, hidden, order):
                return True
    return False


def protect_cells(
    values: Mapping[K, int], relations: Sequence[Relation[K]], policy: DisclosurePolicy
) -> dict[K, Cell]:
    """Apply primary and secondary suppression; each cell becomes a count or "c"."""
    for rel in relations:
        for m in (*rel.parts, rel.total):
            if m not in values:
                raise KeyError(f"relation names a cell that is not in the table: {m!r}")
    order = {k: i for i, k in enumerate(values)}
    k = policy.threshold
    hidden = {key for key, v in values.items() if policy.is_small(v)}
    if k > 0:
        while True:
            changed = False
            for rel in relations:
                while _needs_more(rel, values, hidden, k) and _widen(rel, values, hidden, order):
                    changed = True
            if not changed:
                changed = _cover_determined(values, hidden, relations, order)
            if not changed:
                break
    return {key: SUPPRESSED if key in hidden else policy.rounded(v) for key, v in values.items()}


def protect_one_way(
    counts: Mapping[K, int], policy: DisclosurePolicy, *, total: int | None = None
) -> tuple[dict[K, Cell], Cell]:
    """A list of counts with its total (the sum unless given): (cells, total)."""
    marker = object()
    values: dict[Hashable, int] = dict(counts.items())
    values[marker] = sum(counts.values()) if total is None else total
    out = protect_cells(values, [Relation(marker, tuple(counts))], policy)
    published_total = out.pop(marker)
    return {key: out[key] for key in counts}, published_total


@dataclass(frozen=True)
class TwoWayTable(Generic[R, C]):
    """A protected two-way table with its margins."""

    cells: dict[tuple[R, C], Cell]
    row_totals: dict[R, Cell]
    col_totals: dict[C, Cell]
    total: Cell


def protect_two_way(
    cells: Mapping[tuple[R, C], int],
    policy: DisclosurePolicy,
    *,
    rows: Sequence[R],
    cols: Sequence[C],
    row_totals: Mapping[R, int] | None = None,
    col_totals: Mapping[C, int] | None = None,
    total: int | None = None,
) -> TwoWayTable[R, C]:
    """A rows x cols table with margins, protected together.

    Margins and total default to sums; pass them when they are counted separately (for
    distinct persons a column total can be less than the sum of its cells). Every margin
    is treated as an exact sum of its cells and the total as the sum of either margin,
    which hides at least as much as the true, looser relations need.
    """
    rt = {r: sum(cells.get((r, c), 0) for c in cols) for r in rows}
    ct = {c: sum(cells.get((r, c), 0) for r in rows) for c in cols}
    rt.update(row_totals or {})
    ct.update(col_totals or {})
    grand = sum(ct.values()) if total is None else total

    values: dict[Hashable, int] = {}
    for r in rows:
        for c in cols:
            values[("cell", r, c)] = cells.get((r, c), 0)
    for r in rows:
        values[("row", r, None)] = rt[r]
    for c in cols:
        values[("col", None, c)] = ct[c]
    values[("all", None, None)] = grand
    relations: list[Relation[Hashable]] = [
        Relation(("row", r, None), tuple(("cell", r, c) for c in cols)) for r in rows
    ]
    relations += [Relation(("col", None, c), tuple(("cell", r, c) for r in rows)) for c in cols]
    relations.append(Relation(("all", None, None), tuple(("col", None, c) for c in cols)))
    relations.append(Relation(("all", None, None), tuple(("row", r, None) for r in rows)))
    out = protect_cells(values, relations, policy)
    return TwoWayTable(
        cells={(r, c): out[("cell", r, c)] for r in rows for c in cols},
        row_totals={r: out[("row", r, None)] for r in rows},
        col_totals={c: out[("col", None, c)] for c in cols},
        total=out[("all", None, None)],
    )
