"""Disclosure control re-applied to tables of *published* numbers.

A pack holds what a partnership's own disclosure control published, and a region holds
only packs: neither sees a hidden count. When tables are put side by side (the tables
of one question in a pack, or every pack's table and the region's totals), new
relations appear between their cells: a regional total is the sum of the partnerships'
totals, an authority's total is shared by two of its tables. :func:`secure_published`
applies the rules of :mod:`joinedup.disclosure.suppression` again over all of them,
knowing only the published numbers:

1. a count the combiner works out itself (a regional total) from 1 to the threshold is
   hidden;
2. every relation hides none of its cells or at least two;
3. every hidden cell is checked against every published number by exact linear algebra
   (:func:`joinedup.disclosure.determined_cells`): one that could still be worked out
   gets another hidden cell beside it.

Hiding more never reveals anything, so the combined table is at least as safe as each
of its parts, and the audit in rule 3 is what shows it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

from joinedup.disclosure import Relation, determined_cells

__all__ = ["Relation", "secure_published"]

K = TypeVar("K", bound=Hashable)


def _widen(rel: Relation[K], shown: dict[K, int], hidden: set[K], order: dict[K, int]) -> bool:
    members = [m for m in (*rel.parts, rel.total) if m not in hidden and m in shown]
    if not members:
        return False
    choice = min(members, key=lambda m: (shown[m] == 0, shown[m], order[m]))
    hidden.add(choice)
    del shown[choice]
    return True


def secure_published(
    values: Mapping[K, int | None],
    relations: Sequence[Relation[K]],
    threshold: int,
    *,
    computed: frozenset[K] | set[K] = frozenset(),
) -> set[K]:
    """The cells to hide: those already hidden (``None`` in ``values``), plus what the
    rules above add. ``computed`` are the cells the combiner worked out itself (rule 1)."""
    order = {k: i for i, k in enumerate(values)}
    hidden = {k for k, v in values.items() if v is None}
    shown = {k: int(v) for k, v in values.items() if v is not None}
    for k in computed:
        if k in shown and 1 <= shown[k] <= threshold:
            hidden.add(k)
            del shown[k]
    while True:
        changed = False
        for rel in relations:
            members = (*rel.parts, rel.total)
            if sum(1 for m in members if m in hidden) == 1 and _widen(rel, shown, hidden, order):
                changed = True
        if changed:
            continue
        zeros = dict.fromkeys(values, 0)
        found = sorted(determined_cells(zeros, hidden, relations), key=order.__getitem__)
        for cell in found:
            if any(
                cell in (*rel.parts, rel.total) and _widen(rel, shown, hidden, order)
                for rel in relations
            ):
                changed = True
                break
        if not changed:
            return hidden
