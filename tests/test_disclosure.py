"""Disclosure control: examples, and property tests that play the attacker.

The attacker sees the published table (counts and "c") and knows how the margins relate
to the cells. For each suppressed cell they try to solve for it with linear algebra over
the published numbers. The check here is written separately from the module's own audit
(rank of the equations, not a null space), so the two cannot share a mistake.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joinedup.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    Relation,
    Tier,
    determined_cells,
    policy_for,
    protect_cells,
    protect_one_way,
    protect_two_way,
    suppression_footnote,
)
from joinedup.insight import Authority, ConcernTable, Overview, ReleaseFacts, SourceSummary
from joinedup.views import protect_overview

C = SUPPRESSED

# -- the attacker ---------------------------------------------------------------------------


def rank(rows: list[list[Fraction]]) -> int:
    m = [r[:] for r in rows]
    r = 0
    for c in range(len(m[0]) if m else 0):
        p = next((i for i in range(r, len(m)) if m[i][c] != 0), None)
        if p is None:
            continue
        m[r], m[p] = m[p], m[r]
        for i in range(r + 1, len(m)):
            f = m[i][c] / m[r][c]
            m[i] = [a - f * b for a, b in zip(m[i], m[r], strict=True)]
        r += 1
    return r


def recoverable(published: dict, equations: list[tuple[object, list[object]]]) -> set:
    """Suppressed cells an attacker can solve for: x is recoverable when adding the equation
    "x = ?" does not raise the rank of the system of published relations."""
    hidden = [k for k, v in published.items() if v == C]
    col = {k: i for i, k in enumerate(hidden)}
    rows = []
    for total, parts in equations:
        row = [Fraction(0)] * len(hidden)
        for p in parts:
            if p in col:
                row[col[p]] += 1
        if total in col:
            row[col[total]] -= 1
        rows.append(row)
    base = rank(rows)
    found = set()
    for k in hidden:
        unit = [Fraction(int(i == col[k])) for i in range(len(hidden))]
        if rank([*rows, unit]) == base:
            found.add(k)
    return found


def assert_safe(raw: dict, published: dict, policy: DisclosurePolicy, equations) -> None:
    assert published.keys() == raw.keys()
    for k, v in published.items():
        if v == C:
            continue
        assert v == raw[k], "a shown count must be the true count"
        assert not 1 <= v <= policy.threshold, "no small count is shown"
    assert recoverable(published, equations) == set()
    for total, parts in equations:
        hidden = [m for m in (*parts, total) if published[m] == C]
        assert len(hidden) != 1, "a line never hides exactly one cell"
        if published[total] != C and hidden:
            s = sum(raw[p] for p in hidden)
            assert s > policy.threshold and s > len(hidden)


# -- examples -------------------------------------------------------------------------------


def test_policy_defaults_follow_dfe_practice():
    assert DisclosurePolicy().threshold == 5
    assert policy_for(Tier.STRATEGIC).threshold == 5
    assert policy_for(Tier.OPERATIONAL).threshold == 5
    assert policy_for(Tier.COMMUNITY).threshold == 10
    p = DisclosurePolicy()
    assert [p.is_small(n) for n in (0, 1, 5, 6)] == [False, True, True, False]
    with pytest.raises(ValueError, match="threshold"):
        DisclosurePolicy(threshold=-1)
    with pytest.raises(ValueError, match="rounding_base"):
        DisclosurePolicy(rounding_base=0)


def test_zero_is_shown_and_the_threshold_is_inclusive():
    cells, total = protect_one_way({"a": 0, "b": 5, "c": 6, "d": 40}, DisclosurePolicy())
    assert cells["a"] == 0
    assert cells["b"] == C
    assert total == 51


def test_one_suppressed_cell_takes_the_next_smallest_with_it():
    cells, total = protect_one_way({"a": 3, "b": 0, "c": 7, "d": 20}, DisclosurePolicy())
    assert cells == {"a": C, "b": 0, "c": C, "d": 20}
    assert total == 30


def test_two_small_cells_that_add_up_to_a_small_number_are_not_enough():
    # 1 + 1 = 2 = 10 - 8: knowing neither is zero, both would be 1
    cells, total = protect_one_way({"a": 1, "b": 1, "c": 8}, DisclosurePolicy())
    assert cells == {"a": C, "b": C, "c": C}
    assert total == 10


def test_a_small_total_is_suppressed_too():
    cells, total = protect_one_way({"a": 3, "b": 0, "c": 0}, DisclosurePolicy())
    assert cells == {"a": C, "b": 0, "c": 0}
    assert total == C


def test_two_way_table_with_margins():
    t = protect_two_way(
        {("x", "A"): 3, ("x", "B"): 10, ("x", "C"): 30, ("y", "A"): 12, ("y", "B"): 9},
        DisclosurePolicy(),
        rows=["x", "y"],
        cols=["A", "B", "C"],
    )
    assert t.cells[("x", "A")] == C
    assert t.cells[("y", "C")] == 0
    # column A hides its 3; row x and column A each hide at least two cells
    assert sum(v == C for (r, _), v in t.cells.items() if r == "x") >= 2
    assert sum(v == C for (_, c), v in t.cells.items() if c == "A") >= 2
    assert t.total == 64


def test_audit_finds_a_cell_that_bridges_two_groups_of_hidden_cells():
    # Two 2x2 blocks of hidden cells joined by one hidden cell: every line hides two or
    # more, yet the bridge is the difference of two sums of totals.
    rows, cols = range(4), range(4)
    values = {("c", r, c): 7 for r in rows for c in cols}
    values.update({("r", r): 28 for r in rows})
    values.update({("k", c): 28 for c in cols})
    relations = [Relation(("r", r), tuple(("c", r, c) for c in cols)) for r in rows]
    relations += [Relation(("k", c), tuple(("c", r, c) for r in rows)) for c in cols]
    block = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3)}
    hidden = {("c", r, c) for r, c in block | {(1, 2)}}
    assert determined_cells(values, hidden, relations) == {("c", 1, 2)}
    assert determined_cells(values, {("c", r, c) for r, c in block}, relations) == set()


# Found by search: with line rules alone, cells (3, 1) and (4, 1) of this table could be
# worked out exactly; the audit hides more.
BRIDGED = [
    [15, 10, 3, 8, 10, 15],
    [6, 0, 30, 0, 20, 20],
    [10, 30, 2, 6, 8, 2],
    [6, 4, 8, 6, 6, 30],
    [0, 4, 6, 4, 20, 3],
]


def test_two_way_table_where_the_line_rules_are_not_enough():
    rows, cols = range(5), range(6)
    cells = {(r, c): BRIDGED[r][c] for r in rows for c in cols}
    table = protect_two_way(cells, DisclosurePolicy(), rows=rows, cols=cols)
    raw = {("cell", r, c): cells[(r, c)] for r in rows for c in cols}
    raw.update({("row", r): sum(BRIDGED[r]) for r in rows})
    raw.update({("col", c): sum(BRIDGED[r][c] for r in rows) for c in cols})
    raw["all"] = sum(map(sum, BRIDGED))
    published = flatten(table, rows, cols)
    assert_safe(raw, published, DisclosurePolicy(), two_way_equations(rows, cols))


def test_rounding_applies_to_shown_counts_only():
    p = DisclosurePolicy(threshold=5, rounding_base=5)
    cells, total = protect_one_way({"a": 2, "b": 12, "c": 23, "d": 0}, p)
    assert cells == {"a": C, "b": C, "c": 25, "d": 0}
    assert total == 35
    assert "rounded to the nearest 5" in suppression_footnote(p)


def test_threshold_zero_publishes_everything():
    out = protect_cells({"a": 1, "b": 2}, [], DisclosurePolicy(threshold=0))
    assert out == {"a": 1, "b": 2}


def test_relation_must_name_known_cells():
    with pytest.raises(KeyError):
        protect_cells({"a": 1}, [Relation("t", ("a",))], DisclosurePolicy())


# -- properties -----------------------------------------------------------------------------

small = st.one_of(
    st.integers(0, 6), st.integers(0, 40), st.sampled_from([0, 0, 1, 2, 3, 4, 6, 8, 10, 15, 20, 30])
)
policies = st.sampled_from([DisclosurePolicy(3), DisclosurePolicy(5), DisclosurePolicy(10)])


@settings(max_examples=150, deadline=None)
@given(counts=st.lists(small, min_size=1, max_size=8), policy=policies)
def test_one_way_table_cannot_be_recovered(counts, policy):
    raw = dict(enumerate(counts))
    cells, total = protect_one_way(raw, policy)
    published = {**cells, "total": total}
    raw = {**raw, "total": sum(counts)}
    assert_safe(raw, published, policy, [("total", list(range(len(counts))))])


def two_way_equations(rows, cols):
    eqs = [(("row", r), [("cell", r, c) for c in cols]) for r in rows]
    eqs += [(("col", c), [("cell", r, c) for r in rows]) for c in cols]
    eqs.append(("all", [("row", r) for r in rows]))
    eqs.append(("all", [("col", c) for c in cols]))
    return eqs


def flatten(table, rows, cols):
    out = {("cell", r, c): table.cells[(r, c)] for r in rows for c in cols}
    out.update({("row", r): table.row_totals[r] for r in rows})
    out.update({("col", c): table.col_totals[c] for c in cols})
    out["all"] = table.total
    return out


@st.composite
def two_way_tables(draw):
    n_rows = draw(st.integers(1, 5))
    n_cols = draw(st.integers(1, 6))
    cell = st.sampled_from([0, 0, 1, 2, 3, 4, 6, 8, 10, 15, 20, 30]) | small
    values = draw(st.lists(cell, min_size=n_rows * n_cols, max_size=n_rows * n_cols))
    rows, cols = list(range(n_rows)), [f"c{j}" for j in range(n_cols)]
    return (
        rows,
        cols,
        {(r, c): values[i * n_cols + j] for i, r in enumerate(rows) for j, c in enumerate(cols)},
    )


@settings(max_examples=150, deadline=None)
@given(table=two_way_tables(), policy=policies)
def test_two_way_table_cannot_be_recovered(table, policy):
    rows, cols, cells = table
    protected = protect_two_way(cells, policy, rows=rows, cols=cols)
    raw = {("cell", r, c): cells[(r, c)] for r in rows for c in cols}
    raw.update({("row", r): sum(cells[(r, c)] for c in cols) for r in rows})
    raw.update({("col", c): sum(cells[(r, c)] for r in rows) for c in cols})
    raw["all"] = sum(cells.values())
    assert_safe(raw, flatten(protected, rows, cols), policy, two_way_equations(rows, cols))


GROUPS = ("CSE", "CCE and county lines", "Online", "Trafficking and modern slavery", "Other")


@st.composite
def concern_tables(draw):
    """Persons, each with one home authority (or none) and one or more report groups."""
    authorities = draw(st.sampled_from([["A"], ["A", "B"], ["A", "B", "C"]]))
    people = draw(
        st.lists(
            st.tuples(
                st.sampled_from([*authorities, None]),
                st.sets(st.sampled_from(GROUPS), min_size=1, max_size=2),
            ),
            max_size=60,
        )
    )
    codes = list(authorities) + ([None] if any(a is None for a, _ in people) else [])
    cells = {(g, a): 0 for g in GROUPS for a in codes}
    for a, groups in people:
        for g in groups:
            cells[(g, a)] += 1
    return ConcernTable(
        groups=GROUPS,
        authorities=tuple(Authority(a, a or "Not known") for a in codes),
        cells=cells,
        by_group={g: sum(cells[(g, a)] for a in codes) for g in GROUPS},
        by_authority={a: sum(1 for pa, _ in people if pa == a) for a in codes},
        total=len(people),
    )


def overview_of(concerns: ConcernTable, persons=(40, 3, 12)) -> Overview:
    return Overview(
        release=ReleaseFacts("r1", "2026-10-31T12:00:00Z", "Test", "2026-10-31"),
        sources=(SourceSummary("police", "police", "Crimes", 3, 2, 1, "2026-10-01"),),
        persons=persons[0],
        children=persons[1],
        young_adults=persons[2],
        concerns=concerns,
    )


@settings(max_examples=60, deadline=None)
@given(concerns=concern_tables(), tier=st.sampled_from(list(Tier)))
def test_protected_overview_publishes_no_small_count_of_people(concerns, tier):
    out = protect_overview(overview_of(concerns), tier)
    k = out["disclosure"]["threshold"]

    def counts():
        if "concerns" in out:
            for row in out["concerns"]["rows"]:
                yield from row["cells"]
                yield row["total"]
            yield from out["concerns"]["totals"]
            yield out["concerns"]["total"]
            yield from out["persons"].values()
        else:
            yield from out["areas"]["persons_with_concern"]
            yield out["areas"]["total"]

    for v in counts():
        assert v == C or not 1 <= v <= k

    if "concerns" in out:  # the attacker treats distinct-person margins as exact sums
        codes = [a.code for a in concerns.authorities]
        rows = {
            ("cell", g, a): out["concerns"]["rows"][i]["cells"][j]
            for i, g in enumerate(GROUPS)
            for j, a in enumerate(codes)
        }
        rows.update({("row", g): out["concerns"]["rows"][i]["total"] for i, g in enumerate(GROUPS)})
        rows.update({("col", a): out["concerns"]["totals"][j] for j, a in enumerate(codes)})
        rows["all"] = out["concerns"]["total"]
        assert recoverable(rows, two_way_equations(GROUPS, codes)) == set()


def test_overview_by_tier():
    concerns = ConcernTable(
        groups=GROUPS,
        authorities=(Authority("A", "Northby"), Authority("B", "Southam")),
        cells={(g, a): 0 for g in GROUPS for a in "AB"}
        | {("CSE", "A"): 12, ("CSE", "B"): 3, ("Online", "A"): 8, ("Online", "B"): 9},
        by_group={
            "CSE": 15,
            "CCE and county lines": 0,
            "Online": 17,
            "Trafficking and modern slavery": 0,
            "Other": 0,
        },
        by_authority={"A": 18, "B": 12},
        total=30,
    )
    strategic = protect_overview(overview_of(concerns), Tier.STRATEGIC)
    assert strategic["tier"] == "strategic"
    assert strategic["persons"] == {"all": 40, "children": C, "young_adults": 12}
    assert strategic["concerns"]["rows"][0] == {"group": "CSE", "cells": [C, C], "total": 15}
    # a row of an extract stands for a person or an event about one: row counts are
    # protected like counts of people (issue 11), so 3 rows read is hidden
    assert strategic["sources"][0]["rows_read"] == C
    assert strategic["disclosure"]["suppressed"] == "c"
    assert (
        protect_overview(overview_of(concerns), Tier.OPERATIONAL)["concerns"]
        == strategic["concerns"]
    )

    community = protect_overview(overview_of(concerns), Tier.COMMUNITY)
    assert set(community) == {"tier", "release", "disclosure", "areas"}
    assert community["disclosure"]["threshold"] == 10
    assert community["areas"]["persons_with_concern"] == [18, 12]
    assert community["areas"]["total"] == 30
