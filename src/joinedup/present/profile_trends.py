"""Trends for a local profile report: a board's lead questions by quarter, as lines.

Each trend is one question answered for all time by quarter (and by authority, side by
side, for a regional partnership), from ``joinedup.views`` at the report's tier: a line
chart (:func:`~joinedup.present.charts.line_chart`, a hidden "c" breaks the line and is
written on the axis, incomplete quarters are shaded and starred) and a table with a row a
quarter and a column a series, narrow enough for the page. At most the last
:data:`TREND_QUARTERS` quarters are drawn. :func:`trend_facts` reads the movement over
the last complete quarters for the key messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joinedup.errors import JoinedupError
from joinedup.present.charts import Chart, line_chart
from joinedup.present.tables import Column, ProtectedTable, slug
from joinedup.views import ReleaseLike, Tier

__all__ = ["TREND_QUARTERS", "Trend", "gather_trends", "trend_facts"]

#: The most recent quarters a trend shows (three years).
TREND_QUARTERS = 12
#: How many of a board's questions get a trend.
TREND_QUESTIONS = 3
_TOTAL = "Total"


@dataclass(frozen=True)
class Trend:
    """One question by quarter: the series (name, a value a quarter) and which quarters
    are incomplete, with why."""

    question_id: str
    question: str
    unit: str
    quarters: tuple[str, ...]
    series: tuple[tuple[str, tuple[Any, ...]], ...]
    incomplete: dict[str, str]
    period_label: str
    chart: Chart
    table: ProtectedTable

    @property
    def total(self) -> tuple[Any, ...]:
        """The partnership's series (the last one)."""
        return self.series[-1][1]


def _series(answer: dict[str, Any], crossed: bool) -> tuple[list[str], list[tuple[str, list[Any]]]]:
    """Quarters in order and each series' values, from a protected answer by quarter
    (``crossed``: by authority then quarter, each authority a series, the total last)."""
    rows = answer["rows"]
    quarter_key = "category_b" if crossed else "category"
    quarters: list[str] = []
    for r in rows:
        q = r.get(quarter_key)
        if q not in (None, _TOTAL) and q not in quarters:
            quarters.append(str(q))
    if not crossed:
        values = {str(r["category"]): r.get("count") for r in rows}
        return quarters, [("All areas", [values.get(q) for q in quarters])]
    names: list[str] = []
    cells: dict[tuple[str, str], Any] = {}
    for r in rows:
        area, q = str(r.get("category")), str(r.get("category_b"))
        if area != _TOTAL and area not in names:
            names.append(area)
        cells[(area, q)] = r.get("count")
    # Areas where the count is nothing but zeros ("Not known" for most questions) would
    # only add a flat line.
    names = [
        n
        for n in names
        if any(isinstance(cells.get((n, q)), int) and cells.get((n, q)) for q in quarters)
    ]
    series = [(n, [cells.get((n, q)) for q in quarters]) for n in names]
    series.append(("All areas", [cells.get((_TOTAL, q)) for q in quarters]))
    return quarters, series


def _trend(
    partnership_dir: Path,
    info: dict[str, Any],
    tier: Tier,
    regional: bool,
    open_release: Callable[[Path], ReleaseLike] | None,
) -> Trend | None:
    from joinedup.views.questions import current_answer

    crossed = regional and "authority" in info["breakdowns"]
    by: str | tuple[str, ...] = ("authority", "quarter") if crossed else "quarter"
    try:
        answer = current_answer(
            partnership_dir, info["id"], by=by, tier=tier, period="all", open_release=open_release
        )
    except JoinedupError:
        return None
    quarters, series = _series(answer, crossed)
    quarters = quarters[-TREND_QUARTERS:]
    series = [(n, v[-len(quarters) :]) for n, v in series] if quarters else []
    if len(quarters) < 2:
        return None
    quarter_key = "category_b" if crossed else "category"
    incomplete = {
        str(r[quarter_key]): str(r["incomplete"])
        for r in answer["rows"]
        if r.get("incomplete") and str(r.get(quarter_key)) in quarters
    }
    q = answer["question"]
    unit = str(q.get("unit") or "people")
    qid = str(q["id"])
    title = f"{q['question']} By quarter"
    chart = line_chart(
        title,
        quarters,
        [(n, v, None) for n, v in series],
        incomplete=[x for x in quarters if x in incomplete],
        chart_id=f"trend-{qid.replace('_', '-')}",
        axis_title=unit.capitalize(),
        width=560,
    )
    # A row a series and a column a quarter: short enough to stay with its chart.
    table = ProtectedTable(
        name=slug(f"{qid}_by_quarter"),
        title=f"{q['question']} By quarter (* not complete)",
        columns=(
            Column("area", "Area"),
            *(Column(slug(x), f"{x}*" if x in incomplete else x, "count") for x in quarters),
        ),
        rows=tuple((name, *values) for name, values in series),
        tier=str(answer["tier"]),
        release_id=str(answer["release_id"]),
        notes=(str(answer["disclosure"]["footnote"]),),
        meta={"question_id": qid, "incomplete": incomplete},
    )
    return Trend(
        question_id=qid,
        question=str(q["question"]),
        unit=unit,
        quarters=tuple(quarters),
        series=tuple((n, tuple(v)) for n, v in series),
        incomplete=incomplete,
        period_label=str(answer["period"]["label"]),
        chart=chart,
        table=table,
    )


def gather_trends(
    partnership_dir: Path,
    questions: list[dict[str, Any]],
    *,
    tier: Tier,
    regional: bool,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> list[Trend]:
    """Trends of the first :data:`TREND_QUESTIONS` of ``questions`` (the board's, in
    order, as ``current_questions`` lists them) that can be broken down by quarter."""
    out: list[Trend] = []
    for info in questions:
        if len(out) >= TREND_QUESTIONS:
            break
        if "quarter" not in info.get("breakdowns", {}):
            continue
        trend = _trend(partnership_dir, info, tier, regional, open_release)
        if trend is not None:
            out.append(trend)
    return out


def trend_facts(trend: Trend, *, span: int = 4) -> dict[str, Any] | None:
    """The partnership's movement over the last ``span`` complete quarters that can be
    shown: first and last quarter and value, or None when fewer than two can be."""
    shown = [
        (q, v)
        for q, v in zip(trend.quarters, trend.total, strict=True)
        if q not in trend.incomplete and isinstance(v, int) and not isinstance(v, bool)
    ][-span:]
    if len(shown) < 2:
        return None
    (first_q, first), (last_q, last) = shown[0], shown[-1]
    return {
        "first_quarter": first_q,
        "first": first,
        "last_quarter": last_q,
        "last": last,
        "direction": "up" if last > first else "down" if last < first else "level",
    }
