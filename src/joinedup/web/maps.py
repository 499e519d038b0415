"""Maps drawn on the server: a choropleth of areas as an accessible SVG.

The map is drawn from PROTECTED figures only, and from the partnership's public area
boundaries (GeoJSON polygons in the release's ``area`` table). Longitude and latitude are
projected equirectangularly, scaled by the cosine of the middle latitude, which is close
enough for the size of a partnership. Shading is by a few classes of the published
counts; a hidden count ("c") is drawn with a hatch pattern and zero is left white, so the
map never relies on colour alone, and a legend inside the picture says so.

Issue 16: the outlines of the areas above the shaded ones (wards and local authorities,
from the same boundary files: :class:`MapOutline`) are drawn over the shading, heavier
for an authority, and labelled with their names where a name fits inside its area
without covering another (the table has every name); an authority's name is placed first.

Like the charts (``joinedup.present.charts``), the SVG is one image to assistive technology:
``role="img"`` labelled by a ``<title>`` and a ``<desc>``; every figure is in the table
the page places beside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

from joinedup.present.charts import CHART_FONT
from joinedup.views import SUPPRESSED, Cell

__all__ = ["MapArea", "MapOutline", "ShadedMap", "choropleth", "map_classes"]

_TEXT = "#0b0c0c"
_EDGE = "#505a5f"
#: Light to dark; each step meets 3:1 against white from the third on, and the first two
#: are told apart by the legend and the table.
_RAMP = ("#d2e2f1", "#9dc1e3", "#5694ca", "#1d70b8", "#003078")
_NONE = "#f3f2f1"
#: Hatching of hidden areas: dark enough to tell from white (4.6:1), light enough that
#: the names over it read.
_HATCH = "#6f777b"
_ZERO = "#ffffff"


@dataclass(frozen=True)
class MapArea:
    """One area of the map: its code, name and published figure."""

    code: str
    name: str
    value: Cell | None


@dataclass(frozen=True)
class MapOutline:
    """An area drawn as an outline over the shading, with its name: a ward or an
    authority (``level``)."""

    code: str
    name: str
    level: str
    geometry: Mapping[str, Any]


#: How each level of outline is drawn: (line width, label size, bold).
_OUTLINE_STYLE: dict[str, tuple[float, int, bool]] = {
    "authority": (3.0, 15, True),
    "ward": (1.6, 11, False),
    "small_area": (0.6, 10, False),
}


@dataclass(frozen=True)
class ShadedMap:
    """A choropleth ready to place in a page."""

    id: str
    title: str
    description: str
    svg_text: str
    drawn: int

    @property
    def svg(self) -> Markup:
        return Markup(self.svg_text)


def map_classes(values: Sequence[Cell | None], n: int = len(_RAMP)) -> list[tuple[int, int]]:
    """Up to ``n`` classes (low, high) covering the published whole numbers above zero,
    split at quantiles of the distinct values so each class is used."""
    numbers = sorted(
        {v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0}
    )
    if not numbers:
        return []
    k = min(n, len(numbers))
    out: list[tuple[int, int]] = []
    for i in range(k):
        lo = numbers[math.floor(i * len(numbers) / k)]
        hi = numbers[math.floor((i + 1) * len(numbers) / k) - 1]
        out.append((lo, hi))
    return out


def _rings(geometry: Mapping[str, Any]) -> Iterator[Sequence[Sequence[float]]]:
    kind = geometry.get("type")
    coords = geometry.get("coordinates") or []
    if kind == "Polygon":
        yield from coords
    elif kind == "MultiPolygon":
        for polygon in coords:
            yield from polygon
    elif kind == "GeometryCollection":
        for g in geometry.get("geometries") or []:
            yield from _rings(g)


def _fill(
    value: Cell | None, classes: list[tuple[int, int]], colours: list[str], hatch: str
) -> str:
    if value is None:
        return _NONE
    if value == SUPPRESSED:
        return f"url(#{hatch})"
    if not isinstance(value, int) or value <= 0:
        return _ZERO
    for (_, hi), colour in zip(classes, colours, strict=True):
        if value <= hi:
            return colour
    return colours[-1] if colours else _RAMP[-1]


def _class_colours(classes: list[tuple[int, int]]) -> list[str]:
    offset = len(_RAMP) - len(classes)
    return [_RAMP[i + offset] for i in range(len(classes))]


def _display(value: Cell | None) -> str:
    if value is None:
        return "no figure"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def choropleth(
    title: str,
    areas: Sequence[MapArea],
    shapes: Mapping[str, Mapping[str, Any]],
    *,
    map_id: str = "map",
    unit: str = "children",
    area_word: str = "small areas",
    width: int = 640,
    max_height: int = 720,
    outlines: Sequence[MapOutline] = (),
    label_areas: bool = False,
) -> ShadedMap | None:
    """A choropleth of ``areas`` on their ``shapes`` (code -> GeoJSON geometry), or None
    when none of the areas has a boundary to draw. ``outlines`` (wards, authorities) are
    drawn over the shading and named; ``label_areas`` names the shaded areas too."""
    drawn = [(a, shapes[a.code]) for a in areas if a.code in shapes]
    points = [
        (float(p[0]), float(p[1]))
        for _, g in drawn
        for ring in _rings(g)
        for p in ring
        if len(p) >= 2
    ]
    if not points:
        return None
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    k = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * k, 1e-9)
    span_y = max(max(lats) - min(lats), 1e-9)
    pad = 8
    scale = min((width - 2 * pad) / span_x, (max_height - 2 * pad) / span_y)
    map_h = span_y * scale
    x0, y1 = min(lons), max(lats)

    def project(lon: float, lat: float) -> str:
        return f"{pad + (lon - x0) * k * scale:.1f},{pad + (y1 - lat) * scale:.1f}"

    values = [a.value for a in areas]
    classes = map_classes(values)
    colours = _class_colours(classes)
    paths = []
    for area, geometry in drawn:
        parts = []
        for ring in _rings(geometry):
            pts = [project(float(p[0]), float(p[1])) for p in ring if len(p) >= 2]
            # Drop points that fall on the same pixel as the one before.
            kept = [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]
            if len(kept) >= 3:
                parts.append("M" + "L".join(kept) + "Z")
        if not parts:
            continue
        fill = _fill(area.value, classes, colours, f"{map_id}-hatch")
        paths.append(
            f'<path d="{"".join(parts)}" fill="{fill}" fill-rule="evenodd" stroke="{_EDGE}" '
            f'stroke-width="0.6" data-area="{escape(area.code)}" '
            f'data-value="{escape(_display(area.value))}">'
            f"<title>{escape(area.name)}: {escape(_display(area.value))}</title></path>"
        )

    # Outlines of the areas above (wards, authorities) and the names that fit.
    lines_svg, labels_svg = _outlines(
        [
            *(MapOutline(a.code, a.name, "base", g) for a, g in (drawn if label_areas else [])),
            *outlines,
        ],
        project,
    )

    # Legend below the map: zero, each class, hidden.
    legend: list[tuple[str, str]] = [(_ZERO, "0")]
    for (lo, hi), colour in zip(classes, colours, strict=True):
        legend.append((colour, f"{lo:,}" if lo == hi else f"{lo:,} to {hi:,}"))
    legend.append((f"url(#{map_id}-hatch)", f"{SUPPRESSED} (hidden)"))
    legend_y = pad + map_h + 16
    items = []
    x = float(pad)
    row_y = legend_y + 18
    for colour, label in legend:
        item_w = 26 + 7.5 * len(label) + 18
        if x + item_w > width and x > pad:
            x = pad
            row_y += 24
        items.append(
            f'<rect x="{x:.1f}" y="{row_y - 13:.1f}" width="18" height="18" fill="{colour}" '
            f'stroke="{_EDGE}" stroke-width="1"/>'
            f'<text x="{x + 24:.1f}" y="{row_y + 1:.1f}" font-size="13">{escape(label)}</text>'
        )
        x += item_w
    height = row_y + 16
    counts = {"shown": 0, "hidden": 0, "zero": 0}
    for v in values:
        if v == SUPPRESSED:
            counts["hidden"] += 1
        elif v == 0:
            counts["zero"] += 1
        elif v is not None:
            counts["shown"] += 1
    top = sorted(
        (a for a in areas if isinstance(a.value, int) and a.value > 0),
        key=lambda a: (-int(a.value or 0), a.name),
    )[:5]
    description = (
        f"{title}. {len(drawn)} {area_word} drawn, shaded darker for more {unit}. "
        f"{counts['shown']} with a number shown, {counts['hidden']} hidden (hatched), "
        f"{counts['zero']} with none (white)."
        + (
            " Highest: " + "; ".join(f"{a.name} {_display(a.value)}" for a in top) + "."
            if top
            else ""
        )
        + " Every figure is in the table below the map."
    )
    svg = (
        f'<svg role="img" aria-labelledby="{map_id}-title {map_id}-desc" focusable="false" '
        f'class="app-chart__svg app-map__svg" id="{map_id}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height:.0f}" viewBox="0 0 {width} {height:.0f}" '
        f'font-family="{CHART_FONT}" fill="{_TEXT}">'
        f'<title id="{map_id}-title">{escape(title)}</title>'
        f'<desc id="{map_id}-desc">{escape(description)}</desc>'
        f'<defs><pattern id="{map_id}-hatch" patternUnits="userSpaceOnUse" width="6" height="6" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{_HATCH}" stroke-width="1.5"/></pattern></defs>'
        f'<rect width="{width}" height="{height:.0f}" fill="#ffffff"/>'
        f'<g class="app-map__areas">{"".join(paths)}</g>'
        f'<g class="app-map__outlines">{lines_svg}</g>'
        f'<g class="app-map__labels">{labels_svg}</g>'
        f'<text x="{pad}" y="{legend_y:.1f}" font-size="13" font-weight="bold">'
        f"{escape(unit.capitalize())}</text>"
        f'<g class="app-map__legend">{"".join(items)}</g>'
        "</svg>"
    )
    return ShadedMap(map_id, title, description, svg, len(paths))


def _box(points: Sequence[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _outlines(outlines: Sequence[MapOutline], project: Any) -> tuple[str, str]:
    """(outline paths, name labels) for ``outlines``: authorities first, then wards, then
    the shaded areas (``level`` "base"); a name is placed only where it fits inside its
    area's box and does not cover a name already placed."""
    order = {"authority": 0, "ward": 1, "small_area": 2, "base": 3}
    lines: list[str] = []
    labels: list[str] = []
    placed: list[tuple[float, float, float, float]] = []
    for o in sorted(outlines, key=lambda o: (order.get(o.level, 3), o.name, o.code)):
        style = _OUTLINE_STYLE.get(o.level, _OUTLINE_STYLE["ward"])
        rings = []
        points: list[tuple[float, float]] = []
        for ring in _rings(o.geometry):
            pts = [project(float(p[0]), float(p[1])) for p in ring if len(p) >= 2]
            if len(pts) >= 3:
                rings.append("M" + "L".join(pts) + "Z")
                points += [(float(x), float(y)) for x, y in (s.split(",") for s in pts)]
        if not rings:
            continue
        width, size, bold = style
        if o.level != "base":
            lines.append(
                f'<path d="{"".join(rings)}" fill="none" stroke="{_TEXT}" '
                f'stroke-width="{width}" stroke-linejoin="round" data-outline="{escape(o.level)}" '
                f'data-area="{escape(o.code)}"/>'
            )
        x0, y0, x1, y1 = _box(points)
        text_w = 0.6 * size * len(o.name) + 6
        if o.level == "authority":
            # An authority's name sits inside its top-left corner.
            tx, ty, anchor = x0 + 6, y0 + size + 4, "start"
            box = (tx - 2, ty - size, tx + text_w, ty + 4)
        else:
            tx, ty, anchor = (x0 + x1) / 2, (y0 + y1) / 2 + size / 3, "middle"
            box = (tx - text_w / 2, ty - size, tx + text_w / 2, ty + 4)
        if box[0] < x0 or box[2] > x1 or box[1] < y0 or box[3] > y1:
            continue
        if any(_overlaps(box, b) for b in placed):
            continue
        placed.append(box)
        weight = ' font-weight="bold"' if bold else ""
        labels.append(
            f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="{size}" text-anchor="{anchor}"'
            f'{weight} paint-order="stroke" stroke="#ffffff" stroke-width="4" '
            f'stroke-linejoin="round" data-label="{escape(o.level)}">{escape(o.name)}</text>'
        )
    return "".join(lines), "".join(labels)
