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
from collections.abc import Set as AbstractSet
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
    rel: Relation[K],
    values: Mapping[K, int],
    hidden: set[K],
    order: Mapping[K, int],
    keep: AbstractSet[K] = frozenset(),
) -> bool:
    """Hide one more cell of ``rel``: a part if any is shown, else its total. Cells in
    ``keep`` are hidden only when no other cell of ``rel`` can be."""
    choice = _pick((p for p in rel.parts if p not in hidden and p not in keep), values, order)
    if choice is None and keep and rel.total not in hidden and rel.total not in keep:
        choice = rel.total
    if choice is None:
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
    exactly when its unit vector lies in the row space of the system. Exact arithmetic
    (fractions) on sparse rows, one connected group of hidden cells at a time (equations
    that share no hidden cell cannot help each other), so a page of many small tables
    stays quick.
    """
    order = {k: i for i, k in enumerate(values)}
    unknowns = sorted(set(hidden), key=order.__getitem__)
    if not unknowns:
        return set()
    col = {k: i for i, k in enumerate(unknowns)}
    rows: list[dict[int, Fraction]] = []
    for rel in relations:
        row: dict[int, Fraction] = {}
        for p in rel.parts:
            if p in col:
                row[col[p]] = row.get(col[p], Fraction(0)) + 1
        if rel.total in col:
            row[col[rel.total]] = row.get(col[rel.total], Fraction(0)) - 1
        row = {j: v for j, v in row.items() if v != 0}
        if row:
            rows.append(row)
    found: set[int] = set()
    for group in _groups(rows, len(unknowns)):
        found |= _determined_in(group)
    return {unknowns[j] for j in found}


def _groups(rows: list[dict[int, Fraction]], n: int) -> list[list[dict[int, Fraction]]]:
    """The equations in groups that share no unknown (union-find on the columns)."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row in rows:
        first, *rest = row
        for j in rest:
            a, b = find(first), find(j)
            if a != b:
                parent[b] = a
    out: dict[int, list[dict[int, Fraction]]] = {}
    for row in rows:
        out.setdefault(find(next(iter(row))), []).append(row)
    return list(out.values())


def _determined_in(rows: list[dict[int, Fraction]]) -> set[int]:
    """Columns that ``rows`` fix: the reduced row echelon form, kept sparse; a pivot
    column is determined when its row holds no other column."""
    pivots: dict[int, dict[int, Fraction]] = {}  # pivot column -> its reduced row
    holding: dict[int, set[int]] = {}  # column -> pivot columns whose rows hold it
    for raw in rows:
        row = dict(raw)
        for c in [c for c in row if c in pivots]:
            factor = row[c]
            for j, v in pivots[c].items():
                x = row.get(j, Fraction(0)) - factor * v
                if x:
                    row[j] = x
                else:
                    row.pop(j, None)
        if not row:
            continue
        lead = min(row)
        scale = row[lead]
        row = {j: v / scale for j, v in row.items()}
        for pc in list(holding.get(lead, ())):
            other = pivots[pc]
            factor = other.get(lead, Fraction(0))
            if not factor:
                continue
            for j, v in row.items():
                x = other.get(j, Fraction(0)) - factor * v
                if x:
                    if j not in other:
                        holding.setdefault(j, set()).add(pc)
                    other[j] = x
                elif j in other:
                    del other[j]
                    holding[j].discard(pc)
        pivots[lead] = row
        for j in row:
            holding.setdefault(j, set()).add(lead)
    return {c for c, row in pivots.items() if len(row) == 1}


def _cover_determined(
    values: Mapping[K, int],
    hidden: set[K],
    relations: Sequence[Relation[K]],
    order: Mapping[K, int],
    keep: AbstractSet[K] = frozenset(),
) -> bool:
    """Hide one more cell beside the first hidden cell that the audit can still work out."""
    for cell in sorted(determined_cells(values, hidden, relations), key=order.__getitem__):
        for rel in relations:
            if cell in (*rel.parts, rel.total) and _widen(rel, values, hidden, order, keep):
                return True
    return False


def protect_cells(
    values: Mapping[K, int],
    relations: Sequence[Relation[K]],
    policy: DisclosurePolicy,
    *,
    keep: Iterable[K] = (),
    hidden: Iterable[K] = (),
) -> dict[K, Cell]:
    """Apply primary and secondary suppression; each cell becomes a count or "c".

    ``hidden`` names cells to hide whatever their count (a figure hidden elsewhere);
    secondary suppression hides the cells in ``keep`` only when a relation leaves no
    other choice (the figures a page most needs).
    """
    for rel in relations:
        for m in (*rel.parts, rel.total):
            if m not in values:
                raise KeyError(f"relation names a cell that is not in the table: {m!r}")
    order = {k: i for i, k in enumerate(values)}
    k = policy.threshold
    kept = frozenset(keep)
    hidden_now = {key for key, v in values.items() if policy.is_small(v)}
    hidden_now |= set(hidden) & set(values)

    if k > 0:
        while True:
            changed = False
            for rel in relations:
                while _needs_more(rel, values, hidden_now, k) and _widen(
                    rel, values, hidden_now, order, kept
                ):
                    changed = True
            if not changed:
                changed = _cover_determined(values, hidden_now, relations, order, kept)
            if not changed:
                break
    return {
        key: SUPPRESSED if key in hidden_now else policy.rounded(v) for key, v in values.items()
    }


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
