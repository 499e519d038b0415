"""Server-rendered charts: Vega-Lite specifications drawn to SVG on the server.

A chart is drawn from PROTECTED figures only. A suppressed value ("c") gets no bar and is
labelled "c", so the chart discloses nothing the table beside it does not. The SVG is
rendered by ``vl-convert`` (Vega-Lite's own renderer, no browser and no JavaScript in
the page) and made accessible: ``role="img"`` labelled by a ``<title>`` and a ``<desc>``
that reads every value, with Vega's own ARIA markup turned off so assistive technology
sees one image and the table beside it. The web pages and the local profile reports
(``joinedup.report``) use the same charts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from typing import Any

from markupsafe import Markup

from joinedup.views import Cell

__all__ = [
    "CHART_FONT",
    "Chart",
    "chart_config",
    "bar_chart",
    "grouped_bar_chart",
    "render_svg",
]

#: Font stack drawn in the SVG (the system stack the pages use; never GDS Transport).
CHART_FONT = "Arial, Helvetica, sans-serif"
_BLUE = "#1d70b8"
_TEXT = "#0b0c0c"
_GREY = "#b1b4b6"
_PALETTE = ["#1d70b8", "#f47738", "#00703c", "#4c2c92", "#d4351c", "#5694ca", "#801650"]
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Chart:
    """A chart ready to place in a page: its Vega-Lite spec and accessible SVG."""

    id: str
    title: str
    description: str
    spec: dict[str, Any] = field(repr=False)

    @property
    def svg(self) -> Markup:
        """The SVG, safe to place in HTML as it is (text is escaped by the renderer)."""
        return Markup(render_svg(self.spec, self.id, self.title, self.description))


def _display(value: Cell | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def chart_config() -> dict[str, Any]:
    """The Vega-Lite config every server-drawn chart shares (font, colours, sizes)."""
    return {
        "aria": False,
        "font": CHART_FONT,
        "background": "white",
        "view": {"stroke": None},
        "axis": {
            "labelColor": _TEXT,
            "titleColor": _TEXT,
            "labelFontSize": 13,
            "titleFontSize": 13,
            "domainColor": _TEXT,
            "tickColor": _TEXT,
            "gridColor": "#e5e5e5",
        },
        "legend": {"labelColor": _TEXT, "titleColor": _TEXT, "labelFontSize": 13},
        "text": {"color": _TEXT, "fontSize": 13},
    }


def _check_id(chart_id: str) -> str:
    if not _ID.match(chart_id):
        raise ValueError(f"chart id must be a letter then letters, digits, - or _: {chart_id!r}")
    return chart_id


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[Cell | None],
    *,
    chart_id: str = "chart",
    axis_title: str = "People",
    width: int = 240,
) -> Chart:
    """A horizontal bar chart of protected counts (whole numbers or "c"), one bar a label."""
    rows = []
    for label, value in zip(labels, values, strict=True):
        number = value if isinstance(value, int) and not isinstance(value, bool) else None
        rows.append({"label": str(label), "value": number, "text": _display(value)})
    described = "; ".join(f"{r['label']}: {r['text'] or 'none'}" for r in rows)
    base: dict[str, Any] = {
        "y": {
            "field": "label",
            "type": "nominal",
            "sort": [r["label"] for r in rows],
            "title": None,
            "axis": {"labelLimit": 220, "ticks": False, "domain": False},
        },
    }
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": width,
        "height": {"step": 28},
        "data": {"values": rows},
        "encoding": base,
        "layer": [
            {
                "mark": {"type": "bar", "color": _BLUE},
                "encoding": {
                    "x": {
                        "field": "value",
                        "type": "quantitative",
                        "title": axis_title,
                        "axis": {"format": ",d", "tickMinStep": 1},
                    }
                },
            },
            {
                # The label sits at the end of the bar, or at zero for a suppressed "c".
                "transform": [{"calculate": "datum.value == null ? 0 : datum.value", "as": "at"}],
                "mark": {"type": "text", "align": "left", "dx": 4},
                "encoding": {
                    "x": {"field": "at", "type": "quantitative"},
                    "text": {"field": "text"},
                },
            },
        ],
        "config": chart_config(),
    }
    return Chart(_check_id(chart_id), title, f"{title}. {described}.", spec)


def grouped_bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Cell | None]]],
    *,
    chart_id: str = "chart",
    axis_title: str = "People",
    width: int = 320,
) -> Chart:
    """Bars of each category for each series side by side (e.g. one colour per
    authority), for comparing areas on a shared question."""
    rows = []
    for name, values in series:
        for cat, value in zip(categories, values, strict=True):
            number = value if isinstance(value, int) and not isinstance(value, bool) else None
            rows.append({"category": str(cat), "series": str(name), "value": number})
    described = "; ".join(
        f"{name}: "
        + ", ".join(f"{c} {_display(v) or 'none'}" for c, v in zip(categories, vals, strict=True))
        for name, vals in series
    )
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": width,
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {
                "field": "category",
                "type": "nominal",
                "sort": [str(c) for c in categories],
                "title": None,
            },
            "yOffset": {"field": "series", "sort": [str(n) for n, _ in series]},
            "x": {
                "field": "value",
                "type": "quantitative",
                "title": axis_title,
                "axis": {"format": ",d", "tickMinStep": 1},
            },
            "color": {
                "field": "series",
                "type": "nominal",
                "sort": None,
                "title": None,
                "scale": {"range": _PALETTE},
                "legend": {"orient": "bottom", "direction": "vertical"},
            },
        },
        "config": chart_config(),
    }
    return Chart(_check_id(chart_id), title, f"{title}. {described}.", spec)


@lru_cache(maxsize=256)
def _vega_svg(spec_json: str) -> str:
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(json.loads(spec_json))
    return svg


_OPEN_TAG = re.compile(r"^\s*<svg\b([^>]*)>", re.S)
_DROP_ATTR = re.compile(r'\s(class|role|aria-[a-z-]+)="[^"]*"')
_INNER_ARIA = re.compile(r'\s(role|aria-roledescription|aria-label)="[^"]*"')


def render_svg(spec: dict[str, Any], chart_id: str, title: str, description: str) -> str:
    """The SVG of a Vega-Lite ``spec`` with ``role="img"``, a title and a description."""
    svg = _vega_svg(json.dumps(spec, sort_keys=True))
    match = _OPEN_TAG.match(svg)
    if match is None:  # pragma: no cover - vl-convert always returns one <svg> element
        raise ValueError("vl-convert did not return an SVG document")
    attrs = _DROP_ATTR.sub("", match.group(1))
    cid = _check_id(chart_id)
    head = (
        f'<svg role="img" aria-labelledby="{cid}-title {cid}-desc" focusable="false" '
        f'class="app-chart__svg" id="{cid}"{attrs}>'
        f'<title id="{cid}-title">{escape(title)}</title>'
        f'<desc id="{cid}-desc">{escape(description)}</desc>'
    )
    # Inside, one image: Vega's own roles (graphics-object, graphics-symbol) would make
    # assistive technology read the marks as well as our title and description.
    body = _INNER_ARIA.sub("", svg[match.end() :])
    return head + body
