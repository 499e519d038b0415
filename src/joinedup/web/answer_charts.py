"""The charts of a question's answer (issue 7), from its protected figures: counts as
bars (grouped for a split), and rates as points with their 95% confidence intervals.
Split out of ``joinedup.web.routes.questions`` (issue 16)."""

from __future__ import annotations

from typing import Any

from joinedup.present.charts import CHART_FONT, Chart, bar_chart, grouped_bar_chart, line_chart
from joinedup.views import SUPPRESSED
from joinedup.views.answers import TOTAL

__all__ = ["answer_charts", "rate_chart"]

#: Breakdowns that are series over time, drawn as lines.
_SERIES = frozenset({"month", "quarter"})


def _label(row: dict[str, Any], split: bool, category: bool) -> str:
    parts = []
    if split:
        parts.append(str(row.get("split")))
    if category:
        parts.append(str(row.get("category")))
    return ": ".join(parts) or TOTAL


def _is_total(row: dict[str, Any], category: bool) -> bool:
    """A total row: the breakdown's "Total" (of each split), else the split's total."""
    if category:
        return bool(row.get("category") == TOTAL)
    return bool(row.get("split", TOTAL) == TOTAL)


def answer_charts(answer: dict[str, Any]) -> list[Chart]:
    """The answer's counts as a chart, and its rates with their intervals where it has
    them; drawn from the protected figures only."""
    q = answer["question"]
    unit = str(q["unit"]).capitalize()
    rows = answer["rows"]
    split = any("split" in r for r in rows)
    category = answer.get("breakdown") is not None
    columns = {c["key"]: c["label"] for c in answer["columns"]}
    parts = [r for r in rows if not _is_total(r, category)]
    charts: list[Chart] = []
    if category and not split and answer.get("breakdown") in _SERIES and parts:
        # a trend is a line over time, its incomplete periods marked (issue 16)
        periods = [str(r["category"]) for r in parts]
        late = [str(r["category"]) for r in parts if r.get("incomplete")]
        charts.append(
            line_chart(
                f"{unit} by {columns['category'].lower()}",
                periods,
                [("All", [r["count"] for r in parts], None)],
                incomplete=late,
                chart_id="chart-answer",
                axis_title=unit,
            )
        )
    elif split and category:
        cats = list(dict.fromkeys(str(r["category"]) for r in parts))
        splits = list(dict.fromkeys(str(r["split"]) for r in parts))
        cell = {(str(r["split"]), str(r["category"])): r["count"] for r in parts}
        charts.append(
            grouped_bar_chart(
                f"{unit} by {columns['category'].lower()} and {columns['split'].lower()}",
                cats,
                [(s, [cell.get((s, c)) for c in cats]) for s in splits],
                chart_id="chart-answer",
                axis_title=unit,
            )
        )
    elif parts:
        by = columns.get("category") or columns.get("split") or ""
        charts.append(
            bar_chart(
                f"{unit} by {by.lower()}",
                [_label(r, split, category) for r in parts],
                [r["count"] for r in parts],
                chart_id="chart-answer",
                axis_title=unit,
                width=320,
            )
        )
    else:
        total = rows[-1]
        labels, values = ["This release"], [total["count"]]
        if "previous" in total:
            labels.append("Previous release")
            values.append(total["previous"])
        charts.append(
            bar_chart(
                f"{unit}: this release and the previous one" if len(labels) > 1 else unit,
                labels,
                values,
                chart_id="chart-answer",
                axis_title=unit,
                width=320,
            )
        )
    if "rate" in columns:
        shown = [r for r in rows if r.get("rate") is not None]
        if shown:
            charts.append(
                rate_chart(
                    str(columns["rate"]),
                    [_label(r, split, category) for r in shown],
                    [(r["rate"], r["rate_low"], r["rate_high"]) for r in shown],
                )
            )
    return charts


def rate_chart(
    title: str,
    labels: list[str],
    rates: list[tuple[Any, Any, Any]],
    *,
    chart_id: str = "chart-rate",
) -> Chart:
    """Rates as points with their 95% confidence intervals as lines; a hidden rate ("c")
    gets no mark and is labelled "c"."""
    values = []
    for label, (rate, low, high) in zip(labels, rates, strict=True):
        known = isinstance(rate, int | float) and not isinstance(rate, bool)
        values.append(
            {
                "label": label,
                "rate": rate if known else None,
                "low": low if known else None,
                "high": high if known else None,
                "text": f"{rate:,.1f}" if known else SUPPRESSED,
            }
        )
    described = "; ".join(
        f"{v['label']}: {v['text']}"
        + (f" (95% interval {v['low']:,.1f} to {v['high']:,.1f})" if v["rate"] is not None else "")
        for v in values
    )
    y = {
        "field": "label",
        "type": "nominal",
        "sort": labels,
        "title": None,
        "axis": {"labelLimit": 220, "ticks": False, "domain": False},
    }
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 320,
        "height": {"step": 28},
        "data": {"values": values},
        "encoding": {"y": y},
        "layer": [
            {
                "mark": {"type": "rule", "color": "#0b0c0c", "strokeWidth": 2},
                "encoding": {
                    "x": {"field": "low", "type": "quantitative", "title": title},
                    "x2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 80, "color": "#1d70b8"},
                "encoding": {"x": {"field": "rate", "type": "quantitative"}},
            },
            {
                "transform": [{"calculate": "datum.rate == null ? 0 : datum.high", "as": "at"}],
                "mark": {"type": "text", "align": "left", "dx": 6},
                "encoding": {
                    "x": {"field": "at", "type": "quantitative"},
                    "text": {"field": "text"},
                },
            },
        ],
        "config": {
            "aria": False,
            "font": CHART_FONT,
            "background": "white",
            "view": {"stroke": None},
            "axis": {
                "labelColor": "#0b0c0c",
                "titleColor": "#0b0c0c",
                "labelFontSize": 13,
                "titleFontSize": 13,
                "gridColor": "#e5e5e5",
            },
            "text": {"color": "#0b0c0c", "fontSize": 13},
        },
    }
    return Chart(chart_id, f"{title}, with 95% confidence intervals", described, spec)
