"""Cell key perturbation applied to the figures (issue 19, item 7).

On the 400-person synthetic partnership with ``disclosure.method: cell_key`` (built twice,
so that two releases can be compared), every question's published tables (one-way by each
breakdown, crossed by pairs, the two standard periods and two periods counted on request):

- carry no count from 1 to 4 (every count is a multiple of 5, 0 or "c");
- show the same figure for the same cell in every table, period and release;
- give an attacker who differences overlapping tables (a total and its category, two
  periods, a crossed table and its one-way margins, a partition's total and its other
  categories) no count of 1 to 4, where the same attack on the counts before perturbation
  recovers every one.

The attacker is written here, from the published figures and the public perturbation
table only (the record keys are secret).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from joinedup.config import load_config
from joinedup.disclosure import Tier, policy_for, source_scope
from joinedup.disclosure.cellkey import KEY_RANGE, perturb
from joinedup.insight import QuestionError, list_questions, read_answer
from joinedup.insight.answers import ALL, _count_on_request
from joinedup.insight.crosses import read_cross
from joinedup.insight.periods import custom_period
from joinedup.release import list_releases, open_current
from joinedup.views.answers import protect_answer
from joinedup.views.crosses import protect_crossed
from joinedup.views.indicators import current_indicator, current_indicators
from joinedup.views.questions import current_answer

TIER = Tier.STRATEGIC
C = "c"


@pytest.fixture(scope="module")
def partnership(cell_key_built: Path) -> Path:
    """The synthetic partnership choosing cell key perturbation, with two releases built
    from the same extracts (the session's ``cell_key_built``, shared with
    test_cell_key_pages.py)."""
    assert len(list_releases(cell_key_built)) == 2
    return cell_key_built


@pytest.fixture(scope="module")
def config(partnership: Path) -> Any:
    cfg = load_config(partnership)
    assert cfg.disclosure.method == "cell_key"
    return cfg


def _periods(partnership: Path) -> list[tuple[str, dict[str, str]]]:
    """Two standard periods and two nested periods counted on request."""
    con = open_current(partnership).connect()
    try:
        ref = dt.date.fromisoformat(
            str(
                con.execute(
                    "SELECT value FROM release_info WHERE key = 'reference_date'"
                ).fetchone()[0]
            )
        )
    finally:
        con.close()
    start = dt.date(ref.year - 1, 1, 1)
    short = (dt.date(ref.year, 4, 1) - dt.timedelta(days=1)).isoformat()
    long = (dt.date(ref.year, 5, 1) - dt.timedelta(days=1)).isoformat()
    return [
        ("default", {"period": "default"}),
        ("all", {"period": "all"}),
        ("short", {"start": start.isoformat(), "end": short}),
        ("long", {"start": start.isoformat(), "end": long}),
    ]


def _key(row: dict[str, Any], first: str = "split", second: str = "category") -> tuple:
    def part(v: Any) -> Any:
        return None if v in (None, "Total") else v

    return part(row.get(first)), part(row.get(second))


def _raw_period(name: str, args: dict[str, str]) -> Any:
    if name == "default":
        return None
    if name == "all":
        return ALL
    return custom_period(args["start"], args["end"])


@pytest.fixture(scope="module")
def tables(partnership: Path, config: Any) -> dict[Any, Any]:
    return collect(partnership, config)


def collect(partnership: Path, config: Any) -> dict[Any, Any]:
    """Every published table at the strategic tier beside its counts before protection:
    {(question, by, period): (published {cell: count}, raw {cell: units}, the protected
    answer)}, where ``by`` is () for the headline, (b,) one way, (a, b) crossed. Each is
    protected as ``current_answer`` protects it (the partnership's policy and agreements)."""
    out: dict[Any, Any] = {}
    policy = policy_for(TIER, config.disclosure)
    assert policy.method == "cell_key"
    scope = source_scope(config, TIER)
    con = open_current(partnership).connect()
    try:
        infos = [i for i in list_questions(con) if TIER.value in i.tiers]
        for info, (name, args) in itertools.product(infos, _periods(partnership)):
            period = _raw_period(name, args)
            bys: list[tuple[str, ...]] = [(), *((b,) for b in info.breakdowns)]
            if not info.split:
                bys += list(itertools.combinations(list(info.breakdowns)[:3], 2))
            for by in bys:
                if len(by) == 2:
                    cross = read_cross(con, info.id, (by[0], by[1]), period=period)
                    raw = {k: c.units for k, c in cross.cells.items()}
                    raw |= {(None, c[1]): x.units for c, x in cross.by_b.cells.items()}
                    raw |= {(c[1], None): x.units for c, x in cross.by_a.cells.items()}
                    shown = _protected(protect_crossed, cross, policy, scope)
                    keys = ("category", "category_b")
                else:
                    answer = read_answer(con, info.id, by=by[0] if by else None, period=period)
                    raw = {k: c.units for k, c in answer.cells.items()}
                    shown = _protected(protect_answer, answer, policy, scope)
                    keys = ("split", "category")
                if shown is None:
                    break  # a question the tier's agreements leave out
                assert shown["disclosure"]["method"] == "cell_key"
                pub = {_key(r, *keys): r["count"] for r in shown["rows"]}
                out[(info.id, by, name)] = (pub, raw, shown)
    finally:
        con.close()
    assert len(out) > 100
    return out


def _protected(protect: Any, figures: Any, policy: Any, scope: Any) -> dict[str, Any] | None:
    try:
        return protect(figures, TIER, policy=policy, scope=scope)  # type: ignore[no-any-return]
    except QuestionError as exc:
        assert "do not permit" in str(exc)
        return None


def _preimages(threshold: int, most: int = 2000) -> dict[Any, set[int]]:
    """For each published value, every true count that some cell key publishes as it:
    all a reader who knows the method, but no record key, can infer from one figure."""
    policy = policy_for(TIER)
    out: dict[Any, set[int]] = {}
    for n in range(most + 1):
        for ck in range(KEY_RANGE) if n else (0,):
            out.setdefault(perturb(n, ck, policy), set()).add(n)
    assert policy.threshold == threshold
    return out


def _counts(tables: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    for (qid, by, period), (pub, _raw, _shown) in tables.items():
        for cell, value in pub.items():
            yield (qid, by, period, cell), value


def test_no_count_from_1_to_4_and_every_count_a_multiple_of_5(tables) -> None:
    seen = 0
    for where, value in _counts(tables):
        assert value == C or (isinstance(value, int) and value % 5 == 0), where
        seen += 1
    assert seen > 1000
    # the page says which method was used
    shown = next(iter(tables.values()))[2]
    assert "cell key perturbation" in shown["disclosure"]["footnote"]


def test_the_same_cell_has_the_same_figure_in_every_table(tables) -> None:
    """The headline is the same in every breakdown's table; a crossed table's margins
    are the one-way tables' cells; a period counted on request that counts the same
    children as a stored one shows the same figure."""
    compared = 0
    for (qid, by, period), (pub, _raw, _) in tables.items():
        headline = tables[(qid, (), period)][0][(None, None)]
        assert pub[(None, None)] == headline, (qid, by, period)
        if len(by) == 2:
            one_a = tables[(qid, (by[0],), period)][0]
            one_b = tables[(qid, (by[1],), period)][0]
            for (r, c), value in pub.items():
                if c is None and r is not None:
                    assert value == one_a[(None, r)], (qid, by, period, r)
                    compared += 1
                if r is None and c is not None:
                    assert value == one_b[(None, c)], (qid, by, period, c)
                    compared += 1
    assert compared > 100


def test_a_period_counted_on_request_agrees_with_the_stored_one(partnership) -> None:
    """The stored default period counted again on request, from the record keys stored
    with the rows (no secret at hand): the same counts and the same cell keys as at build,
    so the same published figures."""
    con = open_current(partnership).connect()
    checked = 0
    try:
        for info in list_questions(con):
            by = next(iter(info.breakdowns), None)
            stored = read_answer(con, info.id, by=by)
            if not stored.dated or stored.period.all_time:
                continue
            again = _count_on_request(con, info, info.layout, stored.breakdown, stored.period)
            for key, cell in stored.cells.items():
                if cell.units:
                    assert again[key].units == cell.units
                    assert cell.cell_key is not None
                    assert again[key].cell_key == cell.cell_key
                    checked += 1
    finally:
        con.close()
    assert checked > 50


def test_the_same_cell_has_the_same_figure_in_two_releases(partnership, config) -> None:
    """Built twice from the same extracts, the releases publish the same figures, and the
    second's "previous release" column is the first's published figure."""
    first, second = list_releases(partnership)
    compared = 0
    con = second.connect()
    try:
        infos = [i for i in list_questions(con) if TIER.value in i.tiers]
    finally:
        con.close()
    for info in infos:
        for by in [None, *info.breakdowns]:
            args = {"by": by, "tier": TIER, "config": config}
            try:
                old = current_answer(partnership, info.id, open_release=lambda _d: first, **args)
                new = current_answer(partnership, info.id, open_release=lambda _d: second, **args)
            except Exception as exc:
                if "do not permit" in str(exc):
                    break
                raise
            assert [r["count"] for r in new["rows"]] == [r["count"] for r in old["rows"]]
            if new["previous_release_id"] == first.release_id:
                assert [r["previous"] for r in new["rows"]] == [r["count"] for r in old["rows"]]
                assert all(r["change"] in (0, C) for r in new["rows"])
            compared += len(new["rows"])
    assert compared > 500


def _relations(tables: dict[str, Any]) -> Iterator[tuple[str, Any, Any, int]]:
    """(what, published superset, published subset, true difference) for every pair of
    published cells where one counts a superset of the other's units."""
    for (qid, by, period), (pub, raw, _) in tables.items():
        for cell, units in raw.items():
            if cell not in pub:
                continue
            if len(by) == 2:
                r, c = cell
                if r is not None and c is not None:  # crossed cell inside both margins
                    for margin in ((r, None), (None, c)):
                        if margin in pub and margin in raw:
                            yield "cross", pub[margin], pub[cell], raw[margin] - units
                continue
            s, c = cell
            parent = (s, None) if c is not None else ((None, None) if s is not None else None)
            if parent is not None and parent in pub and parent in raw:
                yield "category", pub[parent], pub[cell], raw[parent] - units
        for wide, narrow in (("all", "default"), ("all", "long"), ("long", "short")):
            if period != narrow or (qid, by, wide) not in tables:
                continue
            wide_pub, wide_raw, _ = tables[(qid, by, wide)]
            for cell, units in raw.items():
                if cell in pub and cell in wide_pub and cell in wide_raw:
                    yield "period", wide_pub[cell], pub[cell], wide_raw[cell] - units


def _partitions(tables: dict[str, Any]) -> Iterator[tuple[Any, list[Any], list[int]]]:
    """(published total, published categories, their true counts) of one-way tables
    whose categories partition the total (each unit in exactly one category)."""
    for (_qid, by, _period), (pub, raw, _) in tables.items():
        if len(by) != 1:
            continue
        cats = [k for k in raw if k[0] is None and k[1] is not None and k in pub]
        if cats and sum(raw[k] for k in cats) == raw.get((None, None)):
            yield pub[(None, None)], [pub[k] for k in cats], [raw[k] for k in cats]


def test_differencing_overlapping_tables_recovers_no_small_count(tables) -> None:
    pre = _preimages(threshold=5)
    small = pinned = naive = pinned_raw = 0
    for _what, big, little, d in _relations(tables):
        if not 1 <= d <= 4:
            continue
        small += 1
        # the same attack on counts before perturbation: the difference is exact
        pinned_raw += 1
        options = {y - x for y in pre[big] for x in pre[little] if y >= x}
        assert d in options  # the published figures are consistent with the truth
        if len(options) == 1:
            pinned += 1
        if isinstance(big, int) and isinstance(little, int) and big - little == d:
            naive += 1
    assert small >= 20, "the synthetic partnership has overlapping cells a few apart"
    assert pinned_raw == small
    assert pinned == 0 and naive == 0
    # a category worked out from its total and the other categories of a partition
    parts = solved = 0
    for total, cats, truth in _partitions(tables):
        for i, n in enumerate(truth):
            if not 1 <= n <= 4:
                continue
            parts += 1
            others = [c for j, c in enumerate(cats) if j != i]
            lo = min(pre[total]) - sum(max(pre[o]) for o in others)
            hi = max(pre[total]) - sum(min(pre[o]) for o in others)
            options = {x for x in pre[cats[i]] if lo <= x <= hi}
            assert n in options
            solved += len(options) == 1
    assert parts >= 5 and solved == 0


def test_indicator_slices_are_perturbed_like_their_margins(partnership) -> None:
    """An indicator narrowed to one type of exploitation (a slice of type x area x
    quarter) is perturbed cell by cell too: no exact count beside perturbed margins."""
    checked = 0
    for item in current_indicators(partnership, TIER)["indicators"]:
        for kind in (item["types"] or [])[:2]:
            shown = current_indicator(partnership, item["id"], kind=kind["type"], tier=TIER)
            assert "cell key perturbation" in shown["disclosure"]["footnote"]
            for row in shown["rows"]:
                assert row["count"] == C or row["count"] % 5 == 0, (item["id"], row)
                checked += 1
    assert checked > 20
