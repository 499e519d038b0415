"""A person's timeline across agencies as a server-rendered SVG chart (Vega-Lite).

One row per agency, one mark per dated event: a filled triangle where an exploitation
type was recorded, a circle otherwise (shape as well as colour, so the difference does
not rest on colour alone). The chart is an image with a title and a description that
summarises each agency's row; every event is in the table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from joinedup.present.charts import Chart, chart_config

__all__ = ["CONCERN", "OTHER", "timeline_chart"]

CONCERN = "Exploitation concern recorded"
OTHER = "Other contact or record"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def timeline_chart(
    title: str,
    events: Sequence[dict[str, Any]],
    agencies: Sequence[str],
    *,
    chart_id: str = "timeline",
    width: int = 560,
) -> Chart | None:
    """The chart of ``events`` (dicts with ``date``, ``agency_name`` and ``concern``),
    one row per name in ``agencies`` (in that order); None without a dated event."""
    dated = [e for e in events if e.get("date")]
    if not dated:
        return None
    rows = [
        {
            "date": str(e["date"]),
            "agency": str(e["agency_name"]),
            "kind": CONCERN if e.get("concern") else OTHER,
        }
        for e in dated
    ]
    order = [a for a in agencies if any(r["agency"] == a for r in rows)]
    parts = []
    for agency in order:
        mine = [r for r in rows if r["agency"] == agency]
        concerns = sum(1 for r in mine if r["kind"] == CONCERN)
        parts.append(
            f"{agency}: {_plural(len(mine), 'event')} from {mine[0]['date']} to "
            f"{mine[-1]['date']}, {concerns} with an exploitation concern"
        )
    first, last = rows[0]["date"], rows[-1]["date"]
    description = (
        f"{title}. {_plural(len(rows), 'dated event')} from {first} to {last}, one row per "
        f"agency. {'; '.join(parts)}. Every event is listed in the table below the chart."
    )
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": width,
        "height": {"step": 40},
        "data": {"values": rows},
        "mark": {"type": "point", "filled": True, "size": 110, "opacity": 0.85},
        "encoding": {
            "x": {
                "field": "date",
                "type": "temporal",
                "title": "Date",
                "axis": {"format": "%b %Y", "labelOverlap": True, "tickCount": 6},
            },
            "y": {
                "field": "agency",
                "type": "nominal",
                "sort": order,
                "title": None,
                "axis": {"labelLimit": 240},
            },
            "color": {
                "field": "kind",
                "type": "nominal",
                "title": None,
                "scale": {"domain": [CONCERN, OTHER], "range": ["#d4351c", "#1d70b8"]},
                "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 320},
            },
            "shape": {
                "field": "kind",
                "type": "nominal",
                "scale": {"domain": [CONCERN, OTHER], "range": ["triangle-up", "circle"]},
            },
        },
        "config": chart_config(),
    }
    return Chart(chart_id, title, description, spec)
