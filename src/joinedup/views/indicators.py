"""Indicators: one measure by area and over time together, as each tier may see it
(issue 16), in the way OHID Fingertips and ONS Explore Local Statistics show theirs.

An indicator is a question that has an area breakdown and a series of quarters (or
months), optionally narrowed to one type of exploitation: "children with a CCE concern,
by home authority, by quarter". The page shows, for the period chosen:

- the count for every area and every quarter, with the quarters that are incomplete
  marked (and why), and the partnership's total;
- a rate per 10,000 residents of the age the question counts, with its 95% (Wilson)
  interval, where the release holds a population for the area;
- each area compared with the partnership on the intervals: *higher* when the area's
  interval lies above the partnership's rate, *lower* when below, else *similar*
  (Fingertips' method against a benchmark value);
- the change since the last release, where the questions' answers carry it.

Disclosure. Without a type, the grid is the question's crossed answer (area x quarter,
:func:`~joinedup.views.crosses.protect_crossed`), exactly as the question page shows it.
With a type, the grid is one slice of the cube type x area x quarter: its margins are the
slice's row of the crossed answers type x area and type x quarter and the type's count
in the one-way answer, each exactly as published there; the slice's cells are then
protected around those margins (:func:`~joinedup.disclosure.cube.protect_cross`), hiding
small counts and small gaps to all time as every crossed answer does. Rates and intervals
are worked out from counts *as published*, and hidden where the count is; the
partnership's figures are the published totals (every child, including those whose home
is outside its areas or not known) and its rate is per resident of its own areas.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.disclosure import SUPPRESSED, Cell, Tier, policy_for, source_scope
from joinedup.disclosure.cube import protect_cross
from joinedup.insight import QuestionError, list_questions, read_answer, read_cross
from joinedup.insight.answers import ALL, QuestionInfo
from joinedup.insight.periods import MONTH, QUARTER, SERIES
from joinedup.insight.tally import rows_sql, tally
from joinedup.views.answers import (
    TOTAL,
    answer_policy,
    check_tier,
    protect_answer,
    question_facts,
    wilson_interval,
)
from joinedup.views.cellkey import perturbed_grid
from joinedup.views.crosses import protect_crossed
from joinedup.views.memo import per_release  # moved from disclosure/ (issue 19)
from joinedup.views.questions import (
    QuestionNotFound,
    QuestionRefused,
    _spans,
    headline_change,
    period_choice,
)
from joinedup.views.release import ReleaseLike, open_release_connection, partnership_config

__all__ = [
    "AREAS",
    "PER",
    "TYPE_BREAKDOWN",
    "IndicatorError",
    "compare",
    "current_indicator",
    "current_indicators",
]

#: Area breakdowns an indicator may be shown by, most useful first.
AREAS = ("authority", "ward")
#: The breakdown an indicator may be narrowed by.
TYPE_BREAKDOWN = "exploitation_type"
#: Rates are per this many residents.
PER = 10_000
#: Ages of the residents a rate is per, by what a question counts.
_AGES = {"children": (0, 17), "young people": (18, 24), "children and young people": (0, 24)}
_AREA_NAME = {"authority": "au.area_name", "ward": "w.area_name"}
PARTNERSHIP = "The partnership"


class IndicatorError(QuestionError):
    """An indicator that cannot be shown as asked (no such type, area or series)."""


def _population_sql(area: str) -> str:
    return (
        f"SELECT {_AREA_NAME[area]} AS area, sum(po.population) AS people FROM population po "
        "JOIN area sa ON sa.area_code = po.area_code AND sa.area_type = 'small_area' "
        "JOIN area w ON w.area_code = sa.parent_code AND w.area_type = 'ward' "
        "JOIN area au ON au.area_code = w.parent_code AND au.area_type = 'authority' "
        "WHERE po.age BETWEEN ? AND ? GROUP BY ALL"
    )


def _population(con: duckdb.DuckDBPyConnection, info: QuestionInfo, area: str) -> dict[str, int]:
    ages = _AGES.get(str(info.unit))
    if ages is None or area not in _AREA_NAME:
        return {}
    try:
        rows = con.execute(_population_sql(area), list(ages)).fetchall()
    except duckdb.Error:  # a release without a population or areas
        return {}
    return {str(a): int(n) for a, n in rows if a is not None and n}


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def rate_of(count: Cell | None, people: int | None) -> dict[str, Any]:
    """A published count as a rate per :data:`PER` residents with its 95% interval;
    "c" where the count is hidden, None where there is no population."""
    if not people:
        return {"rate": None, "low": None, "high": None}
    if not _is_count(count):
        return {"rate": SUPPRESSED, "low": SUPPRESSED, "high": SUPPRESSED}
    assert isinstance(count, int)
    low, high = wilson_interval(min(count, people), people)
    return {
        "rate": round(count / people * PER, 1),
        "low": round(low * PER, 1),
        "high": round(high * PER, 1),
    }


def compare(rate: dict[str, Any], benchmark: Any) -> str | None:
    """How an area's rate compares with the partnership's: "higher" when its 95% interval
    lies wholly above the partnership's rate, "lower" when wholly below, else "similar";
    None when either is unknown or hidden."""
    low, high = rate.get("low"), rate.get("high")
    known = all(isinstance(x, int | float) for x in (low, high, benchmark))
    if not known or isinstance(benchmark, bool):
        return None
    if low > benchmark:
        return "higher"
    if high < benchmark:
        return "lower"
    return "similar"


def _info(con: duckdb.DuckDBPyConnection, question_id: str, release_id: str) -> QuestionInfo:
    info = next((i for i in list_questions(con) if i.id == question_id), None)
    if info is None:
        raise QuestionNotFound(
            f"There is no indicator '{question_id[:60]}' in the {release_id} release. "
            "The list of indicators shows those it has."
        )
    return info


def indicator_areas(info: QuestionInfo) -> list[str]:
    return [a for a in AREAS if a in info.breakdowns]


def _is_indicator(info: QuestionInfo) -> bool:
    return bool(indicator_areas(info)) and QUARTER in info.breakdowns and not info.split


@per_release
def current_indicators(
    partnership_dir: Path,
    tier: Tier = Tier.STRATEGIC,
    *,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """The indicators of the current release the tier may see: every question with an
    area and a series of quarters, each with the types of exploitation it can be
    narrowed to (those of its one-way answer by type that are shown at ``tier``)."""
    tier = Tier(tier)
    config = partnership_config(partnership_dir)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    scope = source_scope(config, tier)
    handle, con = open_release_connection(partnership_dir, open_release)
    out = []
    try:
        for info in list_questions(con):
            if not _is_indicator(info):
                continue
            try:
                check_tier(info, tier, scope)
            except QuestionError:
                continue
            types: list[dict[str, Any]] = []
            if TYPE_BREAKDOWN in info.breakdowns:
                by_type = protect_answer(
                    read_answer(con, info.id, by=TYPE_BREAKDOWN), tier, policy=policy, scope=scope
                )
                types = [
                    {"type": r["category"], "count": r["count"]}
                    for r in by_type["rows"]
                    if r["category"] != TOTAL
                ]
            out.append(
                {
                    "id": info.id,
                    "question": info.question,
                    "unit": info.unit,
                    "areas": {a: info.breakdowns[a] for a in indicator_areas(info)},
                    "types": types,
                    "rates": str(info.unit) in _AGES,
                }
            )
    finally:
        con.close()
    return {"tier": tier.value, "release_id": handle.release_id, "indicators": out}


def _slice(
    con: duckdb.DuckDBPyConnection,
    info: QuestionInfo,
    kind: str,
    area: str,
    series: str,
    chosen: Any,
    tier: Tier,
    policy: Any,
    scope: Any,
    spans: Any,
) -> dict[str, Any]:
    """The slice type = ``kind`` of type x area x series, protected around its margins as
    published in the crossed answers type x area and type x series (see the module)."""
    by_area = read_cross(con, info.id, (TYPE_BREAKDOWN, area), period=chosen)
    by_time = read_cross(con, info.id, (TYPE_BREAKDOWN, series), period=chosen)
    if kind not in by_area.by_a.categories:
        known = ", ".join(by_area.by_a.categories) or "none"
        raise IndicatorError(
            f"There is no type of exploitation '{kind[:60]}' in this indicator for the period "
            f"chosen. The types it has are: {known}."
        )
    shown_area = protect_crossed(by_area, tier, policy=policy, scope=scope, spans=spans)
    shown_time = protect_crossed(by_time, tier, policy=policy, scope=scope, spans=spans)
    ti = list(by_area.by_a.categories).index(kind)
    areas = list(by_area.by_b.categories)
    times = list(by_time.by_b.categories)
    published_rows = dict(zip(areas, shown_area["table"]["cells"][ti], strict=True))
    published_cols = dict(zip(times, shown_time["table"]["cells"][ti], strict=True))
    published_total = shown_area["table"]["row_totals"][ti]
    layout = info.layout
    ct, ca, cs = layout.col(TYPE_BREAKDOWN), layout.col(area), layout.col(series)
    literal = "'" + kind.replace("'", "''") + "'"
    rows = f"(SELECT * FROM {rows_sql(info.id, layout)} WHERE {ct} = {literal})"
    period = by_area.period
    counts = tally(con, rows, layout, period, [(ca, cs)])
    cells = _pairs(counts, ca, cs)
    pol = answer_policy(by_area.by_a, policy)
    hide = []
    if by_area.by_a.stored and not period.all_time and layout.dated:
        # a default-period count a few fewer than all time's is hidden, as in every answer
        all_time = _pairs(tally(con, rows, layout, ALL, [(ca, cs)]), ca, cs)
        hide = [k for k, n in cells.items() if pol.is_small(all_time.get(k, n) - n)]
    perturbed = None
    if shown_area["disclosure"].get("method") == "cell_key":  # issue 19: as its margins
        keyed = f"(SELECT * FROM {rows_sql(info.id, layout, keyed=True)} WHERE {ct} = {literal})"
        margins = (published_rows, published_cols, published_total)
        perturbed = perturbed_grid(con, keyed, layout, period, pol, by=(ca, cs), margins=margins)
    table = perturbed or protect_cross(
        cells,
        pol,
        rows=areas,
        cols=times,
        row_totals={
            a: by_area.cells[(kind, a)].units if (kind, a) in by_area.cells else 0 for a in areas
        },
        col_totals={
            t: by_time.cells[(kind, t)].units if (kind, t) in by_time.cells else 0 for t in times
        },
        total=by_area.by_a.cells[(None, kind)].units,
        published_rows=published_rows,
        published_cols=published_cols,
        published_total=published_total,
        hide=hide,
    )
    incomplete = {
        r["category_b"]: r.get("incomplete")
        for r in shown_time["rows"]
        if r["category"] == kind and r["category_b"] != TOTAL
    }
    return {
        "areas": areas,
        "times": times,
        "cells": {(a, t): table.cells[(a, t)] for a in areas for t in times},
        "area_totals": {a: table.row_totals[a] for a in areas},
        "time_totals": {t: table.col_totals[t] for t in times},
        "total": table.total,
        "incomplete": incomplete,
        "answer": shown_area,
        "policy": pol,
    }


def _pairs(counts: dict[Any, int], ca: str, cs: str) -> dict[tuple[str, str], int]:
    out = {}
    for (cols, values), units in counts.items():
        if len(cols) == 2:
            named = dict(zip(cols, values, strict=True))
            out[(named[ca], named[cs])] = units
    return out


def _whole(
    con: duckdb.DuckDBPyConnection,
    info: QuestionInfo,
    area: str,
    series: str,
    chosen: Any,
    tier: Tier,
    policy: Any,
    scope: Any,
    spans: Any,
) -> dict[str, Any]:
    """The question by area x series, as its crossed answer publishes it."""
    cross = read_cross(con, info.id, (area, series), period=chosen)
    shown = protect_crossed(cross, tier, policy=policy, scope=scope, spans=spans)
    grid = shown["table"]
    areas, times = list(grid["rows"]), list(grid["columns"])
    incomplete = {
        r["category_b"]: r.get("incomplete")
        for r in shown["rows"]
        if r["category"] == TOTAL and r["category_b"] != TOTAL
    }
    return {
        "areas": areas,
        "times": times,
        "cells": {
            (a, t): grid["cells"][i][j] for i, a in enumerate(areas) for j, t in enumerate(times)
        },
        "area_totals": dict(zip(areas, grid["row_totals"], strict=True)),
        "time_totals": dict(zip(times, grid["column_totals"], strict=True)),
        "total": grid["total"],
        "incomplete": incomplete,
        "answer": shown,
        "policy": answer_policy(cross.by_a, policy),
    }


def _changes(
    con: duckdb.DuckDBPyConnection,
    info: QuestionInfo,
    kind: str | None,
    area: str,
    chosen: Any,
    tier: Tier,
    policy: Any,
    scope: Any,
) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]], str | None]:
    """The change since the last release of the indicator's total and of each area, from
    the one-way answers (which carry it for the standard periods)."""

    def moved(row: dict[str, Any]) -> dict[str, Any] | None:
        if "previous" not in row:
            return None
        change = headline_change(row["count"], row["previous"])
        return {"previous": row["previous"], **(change or {"change": None, "percent": None})}

    if kind is not None:
        shown = protect_answer(
            read_answer(con, info.id, by=TYPE_BREAKDOWN, period=chosen),
            tier,
            policy=policy,
            scope=scope,
        )
        row = next((r for r in shown["rows"] if r["category"] == kind), None)
        return (None if row is None else moved(row)), {}, shown["previous_release_id"]
    shown = protect_answer(
        read_answer(con, info.id, by=area, period=chosen), tier, policy=policy, scope=scope
    )
    total = next((r for r in shown["rows"] if r["category"] == TOTAL), None)
    areas = {
        str(r["category"]): m
        for r in shown["rows"]
        if r["category"] != TOTAL and (m := moved(r)) is not None
    }
    return (None if total is None else moved(total)), areas, shown["previous_release_id"]


@per_release
def current_indicator(
    partnership_dir: Path,
    question_id: str,
    *,
    kind: str | None = None,
    area: str = "authority",
    series: str = QUARTER,
    tier: Tier = Tier.STRATEGIC,
    start: str | None = None,
    end: str | None = None,
    period: str | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """One indicator of the current release, protected for ``tier``: the question
    ``question_id`` (narrowed to the type of exploitation ``kind``, if given) by ``area``
    and by ``series`` ("quarter" or "month") for a period (as :func:`period_choice`),
    with rates, intervals, comparisons with the partnership and change since the last
    release. JSON-ready; ``rows`` and ``columns`` are the table exactly as shown (for
    downloads).

    Raises :class:`QuestionNotFound`, :class:`QuestionRefused`, and
    :class:`IndicatorError` for a type, area or series the indicator does not have.
    """
    tier = Tier(tier)
    chosen = period_choice(start=start, end=end, period=period, names=("from", "to"))
    config = partnership_config(partnership_dir)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    scope = source_scope(config, tier)
    handle, con = open_release_connection(partnership_dir, open_release)
    try:
        info = _info(con, question_id, handle.release_id)
        try:
            check_tier(info, tier, scope)
        except QuestionError as exc:
            raise QuestionRefused(str(exc), tiers=info.tiers) from None
        if not _is_indicator(info):
            raise QuestionNotFound(
                f"'{question_id[:60]}' is a question but not an indicator: it has no areas "
                "or no quarters. Its own page shows its answer."
            )
        if area not in indicator_areas(info):
            names = " or ".join(info.breakdowns[a].lower() for a in indicator_areas(info))
            raise IndicatorError(f"This indicator can be shown by {names} only.")
        if series not in SERIES or series not in info.breakdowns:
            raise IndicatorError("An indicator is shown by quarter or by month only.")
        if kind is not None and TYPE_BREAKDOWN not in info.breakdowns:
            raise IndicatorError("This indicator is not recorded by type of exploitation.")
        spans = _spans(con)
        args = (con, info)
        if kind is None:
            grid = _whole(*args, area, series, chosen, tier, policy, scope, spans)
        else:
            grid = _slice(*args, kind, area, series, chosen, tier, policy, scope, spans)
        population = _population(con, info, area)
        total_change, area_changes, previous_id = _changes(
            con, info, kind, area, chosen, tier, policy, scope
        )
    finally:
        con.close()
    return _lay_out(
        info, grid, population, kind=kind, area=area, series=series,
        changes=(total_change, area_changes, previous_id), tier=tier, release_id=handle.release_id,
        scope=scope,
    )  # fmt: skip


def _lay_out(
    info: QuestionInfo,
    grid: dict[str, Any],
    population: dict[str, int],
    *,
    kind: str | None,
    area: str,
    series: str,
    changes: tuple[dict[str, Any] | None, dict[str, dict[str, Any]], str | None],
    tier: Tier,
    release_id: str,
    scope: Any,
) -> dict[str, Any]:
    areas, times, cells = grid["areas"], grid["times"], grid["cells"]
    people = sum(population.values()) or None
    total_change, area_changes, previous_id = changes
    # the partnership: every child its agencies recorded (the published totals, which
    # include children whose home is outside its areas or not known), per 10,000
    # residents of its own areas
    partnership_series = []
    for t in times:
        count = grid["time_totals"][t]
        partnership_series.append(
            {"period": t, "count": count, "incomplete": grid["incomplete"].get(t),
             **rate_of(count, people)}
        )  # fmt: skip
    whole = grid["total"]
    benchmark = rate_of(whole, people)
    partnership = {
        "name": PARTNERSHIP,
        "population": people,
        "count": whole,
        **benchmark,
        "series": partnership_series,
        "change": total_change,
        "note": (
            "The partnership's figures count every child its agencies recorded, including "
            "those whose home is outside its areas or not known; its rate is per 10,000 "
            "residents of its own areas."
            if people
            else None
        ),
    }
    rows_out = []
    for a in areas:
        pop = population.get(a)
        count = grid["area_totals"][a]
        rate = rate_of(count, pop)
        per_time = []
        for t in times:
            r = rate_of(cells[(a, t)], pop)
            per_time.append(
                {"period": t, "count": cells[(a, t)], "incomplete": grid["incomplete"].get(t),
                 **r, "compared": compare(r, next(
                     (p["rate"] for p in partnership_series if p["period"] == t), None))}
            )  # fmt: skip
        rows_out.append(
            {
                "name": a,
                "population": pop,
                "count": count,
                **rate,
                "compared": compare(rate, benchmark["rate"]) if pop else None,
                "series": per_time,
                "change": area_changes.get(a),
            }
        )
    answer = grid["answer"]
    period, history = answer["period"], answer["history"]
    label = info.breakdowns[area]
    with_rates = people is not None
    columns = [
        {"key": "area", "label": label},
        {"key": "period", "label": SERIES[series]},
        {"key": "count", "label": str(info.unit).capitalize()},
    ]
    if with_rates:
        columns += [
            {"key": "population", "label": "Residents"},
            {"key": "rate", "label": f"Rate per {PER:,}"},
            {"key": "low", "label": "95% interval lower"},
            {"key": "high", "label": "95% interval upper"},
            {"key": "compared", "label": "Compared with the partnership"},
        ]
    columns.append({"key": "incomplete", "label": "Incomplete period"})
    long = []
    for entry in [*rows_out, partnership]:
        for point in [*entry["series"], {**entry, "period": "Whole period", "incomplete": None}]:
            long.append(
                {
                    "area": entry["name"],
                    "period": point["period"],
                    "count": point["count"],
                    "population": entry["population"],
                    "rate": point["rate"],
                    "low": point["low"],
                    "high": point["high"],
                    "compared": point.get("compared") if entry is not partnership else None,
                    "incomplete": point.get("incomplete"),
                }
            )
    policy = grid["policy"]
    title = info.id.replace("_", " ").capitalize()  # "Children with concern"
    if kind is not None:
        title += f": {kind}"
    return {
        "tier": tier.value,
        "release_id": release_id,
        "previous_release_id": previous_id,
        "question": question_facts(info),
        "title": f"{title}, by {label.lower()} and {SERIES[series].lower()}",
        "type": kind,
        "area": area,
        "area_label": label,
        "series": series,
        "series_label": SERIES[series],
        "choices": {
            "areas": {a: info.breakdowns[a] for a in indicator_areas(info)},
            "series": {s: SERIES[s] for s in (QUARTER, MONTH) if s in info.breakdowns},
            "types": TYPE_BREAKDOWN in info.breakdowns,
        },
        "period": period,
        "history": history,
        "periods": [{"period": t, "incomplete": grid["incomplete"].get(t)} for t in times],
        "rate": {"per": PER, "ages": list(_AGES[str(info.unit)])} if with_rates else None,
        "areas": rows_out,
        "partnership": partnership,
        "columns": columns,
        "rows": long,
        "disclosure": {
            "threshold": policy.threshold,
            "rounding_base": policy.rounding_base,
            "suppressed": SUPPRESSED,
            "footnote": answer["disclosure"]["footnote"],
        },
        "scope": None if scope is None else scope.as_dict(),
    }
