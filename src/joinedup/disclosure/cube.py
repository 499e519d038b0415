"""Crossed tables protected with the tables already published (issue 14).

A crossed answer (A x B in a period) is one cut of a cube whose other cuts, the one-way
tables of A and of B and the total, are published on their own. So it is protected with
its margins *fixed as published* (shown where they are shown, hidden where they are
hidden) and only crossed cells are chosen for secondary suppression, by the rules of
:mod:`~joinedup.disclosure.suppression` plus cells the caller hides (``hide``). The audit
uses the table's shape: with the margins as one more row and column every row and column
adds to zero, so a hidden cell is determined exactly when it is a bridge of the graph of
hidden cells (linear time; ``tests/test_periods.py`` checks it against
:func:`~joinedup.disclosure.suppression.determined_cells`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

from joinedup.disclosure.policy import SUPPRESSED, Cell, DisclosurePolicy
from joinedup.disclosure.suppression import Relation, TwoWayTable, determined_cells

__all__ = ["protect_cross", "protect_with", "table_bridges"]

K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)

Audit = Callable[[Mapping[K, int], set[K], Sequence[Relation[K]]], set[K]]


def _needs_more(rel: Relation[K], values: Mapping[K, int], hidden: set[K], k: int) -> bool:
    n_hidden = sum(1 for m in (*rel.parts, rel.total) if m in hidden)
    if n_hidden == 0:
        return False
    if n_hidden == 1:
        return True
    if rel.total in hidden:
        return False
    hidden_parts = [values[p] for p in rel.parts if p in hidden]
    return sum(hidden_parts) <= k or sum(hidden_parts) <= len(hidden_parts)


def protect_with(
    values: Mapping[K, int],
    relations: Sequence[Relation[K]],
    policy: DisclosurePolicy,
    *,
    hide: Iterable[K] = (),
    fixed: Mapping[K, bool] | None = None,
    audit: Audit[K] | None = None,
) -> dict[K, Cell]:
    """Primary and secondary suppression as ``protect_cells``, with cells hidden for the
    caller's reasons (``hide``) and cells whose fate is already public (``fixed``: True
    for hidden, False for shown), which are never chosen to hide."""
    fixed = dict(fixed or {})
    order = {key: i for i, key in enumerate(values)}
    k = policy.threshold
    check = audit or determined_cells
    hidden = {key for key, h in fixed.items() if h}
    if k > 0:
        hidden |= {key for key, v in values.items() if policy.is_small(v) and key not in fixed}
        hidden |= {key for key in hide if key in values and key not in fixed}

    def widen(rel: Relation[K]) -> bool:
        free = [p for p in rel.parts if p not in hidden and p not in fixed]
        if free:
            hidden.add(min(free, key=lambda p: (values[p] == 0, values[p], order[p])))
            return True
        if rel.total not in hidden and rel.total not in fixed:
            hidden.add(rel.total)
            return True
        return False

    while k > 0:
        changed = False
        for rel in relations:
            while _needs_more(rel, values, hidden, k) and widen(rel):
                changed = True
        if not changed:
            for cell in sorted(check(values, hidden, relations), key=order.__getitem__):
                if any(widen(r) for r in relations if cell in (*r.parts, r.total)):
                    changed = True
                    break
        if not changed:
            break
    return {key: SUPPRESSED if key in hidden else policy.rounded(v) for key, v in values.items()}


def table_bridges(hidden: Iterable[tuple[Hashable, Hashable, Hashable]]) -> set[Hashable]:
    """The hidden cells of a two-way table with margins whose values are determined.

    Each cell is ``(key, row node, column node)``: a crossed cell joins its row and its
    column, a row margin joins its row and the margin column, a column margin the margin
    row and its column, the total the margin row and the margin column. Returns the keys
    of the edges that are bridges."""
    adj: dict[Hashable, list[tuple[Hashable, int]]] = {}
    edges = list(hidden)
    for i, (_, a, b) in enumerate(edges):
        adj.setdefault(("r", a), []).append((("c", b), i))
        adj.setdefault(("c", b), []).append((("r", a), i))
    seen: dict[Hashable, int] = {}
    low: dict[Hashable, int] = {}
    bridges: set[Hashable] = set()
    for root in adj:
        if root in seen:
            continue
        seen[root] = low[root] = len(seen)
        stack: list[tuple[Hashable, int, int]] = [(root, -1, 0)]
        while stack:
            node, via, pos = stack[-1]
            if pos < len(adj[node]):
                stack[-1] = (node, via, pos + 1)
                nxt, edge = adj[node][pos]
                if edge == via:
                    continue
                if nxt in seen:
                    low[node] = min(low[node], seen[nxt])
                else:
                    seen[nxt] = low[nxt] = len(seen)
                    stack.append((nxt, edge, 0))
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > seen[parent]:
                        bridges.add(edges[via][0])
    return bridges


_MARGIN = ("__margin__",)


def protect_cross(
    cells: Mapping[tuple[R, C], int],
    policy: DisclosurePolicy,
    *,
    rows: Sequence[R],
    cols: Sequence[C],
    row_totals: Mapping[R, int],
    col_totals: Mapping[C, int],
    total: int,
    published_rows: Mapping[R, Cell],
    published_cols: Mapping[C, Cell],
    published_total: Cell,
    hide: Iterable[tuple[R, C]] = (),
) -> TwoWayTable[R, C]:
    """A rows x cols crossed table whose margins are already published (``published_*``,
    as the one-way tables and the headline show them): protected so that no hidden
    crossed cell, and no margin those tables hide, can be worked out from them and it."""
    values: dict[Hashable, int] = {}
    node: dict[Hashable, tuple[Hashable, Hashable]] = {}
    for r in rows:
        for c in cols:
            values[("cell", r, c)] = cells.get((r, c), 0)
            node[("cell", r, c)] = (r, c)
    for r in rows:
        values[("row", r)] = row_totals.get(r, 0)
        node[("row", r)] = (r, _MARGIN)
    for c in cols:
        values[("col", c)] = col_totals.get(c, 0)
        node[("col", c)] = (_MARGIN, c)
    values[("all",)] = total
    node[("all",)] = (_MARGIN, _MARGIN)
    fixed: dict[Hashable, bool] = {("row", r): published_rows.get(r) == SUPPRESSED for r in rows}
    fixed.update({("col", c): published_cols.get(c) == SUPPRESSED for c in cols})
    fixed[("all",)] = published_total == SUPPRESSED
    relations: list[Relation[Hashable]] = [
        Relation(("row", r), tuple(("cell", r, c) for c in cols)) for r in rows
    ]
    relations += [Relation(("col", c), tuple(("cell", r, c) for r in rows)) for c in cols]
    relations.append(Relation(("all",), tuple(("col", c) for c in cols)))
    relations.append(Relation(("all",), tuple(("row", r) for r in rows)))

    def audit(
        _: Mapping[Hashable, int], hidden: set[Hashable], __: Sequence[Relation[Hashable]]
    ) -> set[Hashable]:
        return table_bridges((key, *node[key]) for key in hidden)

    out = protect_with(
        values,
        relations,
        policy,
        hide=[("cell", r, c) for r, c in hide],
        fixed=fixed,
        audit=audit,
    )
    return TwoWayTable(
        cells={(r, c): out[("cell", r, c)] for r in rows for c in cols},
        row_totals={r: published_rows.get(r, out[("row", r)]) for r in rows},
        col_totals={c: published_cols.get(c, out[("col", c)]) for c in cols},
        total=published_total,
    )
