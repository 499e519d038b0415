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
    "HIDDEN_SPOKEN",
    "Chart",
    "chart_config",
    "bar_chart",
    "grouped_bar_chart",
    "line_chart",
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


# --- a suppressed "c" drawn as a hatched stub (issue 16) ---------------------------------

#: Fill colour that marks a hidden value's stub in the spec; render_svg swaps it for a
#: hatch pattern (Vega has no patterns of its own).
_HATCH_FILL = "#fefefd"
#: Width in pixels of the hatched stub: fixed, so it never reads as a value.
_HATCH_WIDTH = 26
#: What a screen reader hears for "c" (the chart's description reads every value).
HIDDEN_SPOKEN = "c (hidden: too few to show)"


def _spoken(described: str) -> str:
    """A chart description with each bare "c" value read as hidden, not as a letter."""
    return re.sub(r"(?<=[:\s])c(?=[;,.]|$)", HIDDEN_SPOKEN, described)


def _hidden_layers(
    test: str, *, short: bool = False, stroke: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Vega-Lite layers drawing each row where ``test`` holds as a hatched stub of fixed
    width from the axis, labelled "c (hidden)" (or "c" when ``short``), outlined in
    ``stroke`` (an encoding: a series' colour) or grey."""
    label = "c" if short else "c (hidden)"
    return [
        {
            "transform": [{"filter": test}],
            "mark": {"type": "bar", "stroke": "#505a5f", "strokeWidth": 1 if stroke is None else 2},
            "encoding": {
                "x": {"value": 0},
                "x2": {"value": _HATCH_WIDTH},
                "color": {"value": _HATCH_FILL},
                **({"stroke": stroke} if stroke is not None else {}),
            },
        },
        {
            "transform": [{"filter": test}],
            "mark": {"type": "text", "align": "left", "dx": 4, "fontStyle": "italic"},
            "encoding": {
                "x": {"value": _HATCH_WIDTH},
                "text": {"value": label},
                "color": {"value": _TEXT},
            },
        },
    ]


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
                # The label sits at the end of the bar.
                "transform": [{"filter": "datum.value != null"}],
                "mark": {"type": "text", "align": "left", "dx": 4},
                "encoding": {
                    "x": {"field": "value", "type": "quantitative"},
                    "text": {"field": "text"},
                },
            },
            # A suppressed "c": a short hatched stub labelled "c (hidden)", never an empty
            # bar that reads as zero (issue 16).
            *_hidden_layers("datum.value == null && datum.text == 'c'"),
        ],
        "config": chart_config(),
    }
    return Chart(_check_id(chart_id), title, f"{title}. {_spoken(described)}.", spec)


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
            hidden = number is None and value is not None
            rows.append(
                {"category": str(cat), "series": str(name), "value": number, "hidden": hidden}
            )
    described = "; ".join(
        f"{name}: "
        + ", ".join(f"{c} {_display(v) or 'none'}" for c, v in zip(categories, vals, strict=True))
        for name, vals in series
    )
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": width,
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "bar"},
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
                "transform": [{"filter": "datum.value != null"}],
                "mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 11},
                "encoding": {
                    "x": {"field": "value", "type": "quantitative"},
                    "text": {"field": "value", "format": ",d"},
                    "color": {"value": _TEXT},
                },
            },
            # A suppressed "c": a hatched stub labelled "c", not an empty bar (issue 16),
            # outlined in its series' colour.
            *_hidden_layers(
                "datum.hidden",
                short=True,
                stroke={
                    "field": "series",
                    "type": "nominal",
                    "sort": [str(n) for n, _ in series],
                    "scale": {"range": _PALETTE},
                    "legend": None,
                },
            ),
        ],
        "encoding": {
            "y": {
                "field": "category",
                "type": "nominal",
                "sort": [str(c) for c in categories],
                "title": None,
            },
            "yOffset": {"field": "series", "sort": [str(n) for n, _ in series]},
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
    return Chart(_check_id(chart_id), title, f"{title}. {_spoken(described)}.", spec)


# --- line charts of series over time (issue 16, indicator pages) ----------------------

#: Mark after a period's label on the axis when the period is incomplete.
INCOMPLETE_MARK = "*"


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _plain_number(value: Any) -> str:
    number = _number(value)
    if number is None:
        return "" if value is None else str(value)
    return f"{number:,.0f}" if number == int(number) else f"{number:,.1f}"


def line_chart(
    title: str,
    periods: Sequence[str],
    series: Sequence[tuple[str, Sequence[Any], Sequence[tuple[Any, Any]] | None]],
    *,
    incomplete: Sequence[str] = (),
    chart_id: str = "chart-line",
    axis_title: str = "People",
    width: int = 640,
) -> Chart:
    """Lines over time, one a series (an area, the partnership), from protected figures.

    ``series`` is (name, values, intervals or None), a value per period; a hidden value
    ("c") breaks its line and is written as "c" on the axis; an interval (low, high) is
    drawn as a shaded band. Incomplete periods are shaded grey and marked with
    :data:`INCOMPLETE_MARK` after their label, and drawn as open points."""
    late = set(incomplete)
    labels = {p: f"{p}{INCOMPLETE_MARK}" if p in late else p for p in periods}
    order = [labels[p] for p in periods]
    rows = []
    for name, values, intervals in series:
        bands = list(intervals) if intervals is not None else [(None, None)] * len(periods)
        for p, value, (low, high) in zip(periods, values, bands, strict=True):
            number = _number(value)
            rows.append(
                {
                    "period": labels[p],
                    "series": str(name),
                    "value": number,
                    "low": _number(low) if number is not None else None,
                    "high": _number(high) if number is not None else None,
                    "hidden": value is not None and number is None,
                    "complete": p not in late,
                    "text": _plain_number(value),
                }
            )
    names = [str(n) for n, _, _ in series]
    x = {
        "field": "period",
        "type": "ordinal",
        "sort": order,
        "title": None,
        "axis": {"labelAngle": -45 if len(periods) > 6 else 0, "labelLimit": 120},
    }
    colour = {
        "field": "series",
        "type": "nominal",
        "sort": names,
        "title": None,
        "scale": {"domain": names, "range": _PALETTE[: max(1, len(names))]},
        "legend": {
            "orient": "bottom",
            "direction": "vertical",
            "symbolType": "stroke",
            "symbolStrokeWidth": 3,
            "symbolOpacity": 1,
            "labelFontSize": 14,
        },
    }
    y = {"field": "value", "type": "quantitative", "title": axis_title}
    layers: list[dict[str, Any]] = []
    if late:
        layers.append(
            {
                "data": {"values": [{"period": labels[p]} for p in periods if p in late]},
                "mark": {"type": "rect", "color": _GREY, "opacity": 0.3},
                "encoding": {"x": {"field": "period", "type": "ordinal", "sort": order}},
            }
        )
    if any(r["low"] is not None for r in rows):
        layers.append(
            {
                "mark": {"type": "area", "opacity": 0.15},
                "encoding": {
                    "x": x,
                    "y": {"field": "low", "type": "quantitative", "title": axis_title},
                    "y2": {"field": "high"},
                    "color": colour,
                },
            }
        )
    layers += [
        {
            "mark": {"type": "line", "strokeWidth": 2, "invalid": "break-paths-show-domains"},
            "encoding": {"x": x, "y": y, "color": colour},
        },
        {
            "transform": [{"filter": "datum.value != null && datum.complete"}],
            "mark": {"type": "point", "size": 60, "filled": True, "opacity": 1},
            "encoding": {"x": x, "y": y, "color": colour},
        },
        {
            "transform": [{"filter": "datum.value != null && !datum.complete"}],
            "mark": {"type": "point", "size": 60, "strokeWidth": 2, "fill": "white"},
            "encoding": {"x": x, "y": y, "color": colour},
        },
        {
            "transform": [{"filter": "datum.hidden"}, {"calculate": "0", "as": "at"}],
            "mark": {"type": "text", "dy": -8, "fontStyle": "italic"},
            "encoding": {
                "x": x,
                "y": {"field": "at", "type": "quantitative"},
                "text": {"value": "c"},
            },
        },
    ]  # fmt: skip
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": width,
        "height": 260,
        "data": {"values": rows},
        "layer": layers,
        "config": chart_config(),
    }
    described = "; ".join(
        f"{name}: "
        + ", ".join(
            f"{labels[p]} {_plain_number(v) or 'none'}"
            for p, v in zip(periods, values, strict=True)
        )
        for name, values, _ in series
    )
    note = f" Periods marked {INCOMPLETE_MARK} are incomplete and shaded grey." if late else ""
    return Chart(_check_id(chart_id), title, f"{title}. {described}.{note}", spec)


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
    if _HATCH_FILL in body:
        # Hatching for hidden values' stubs: diagonal lines, distinct in print and in grey.
        pattern = f"{cid}-hatch"
        head += (
            f'<defs><pattern id="{pattern}" patternUnits="userSpaceOnUse" width="6" '
            'height="6" patternTransform="rotate(45)"><rect width="6" height="6" '
            'fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#505a5f" '
            'stroke-width="2.5"/></pattern></defs>'
        )
        body = body.replace(f'fill="{_HATCH_FILL}"', f'fill="url(#{pattern})"')
    return head + body
