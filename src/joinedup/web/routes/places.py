"""Places: a map of small areas, the rankings of places, place types and periods.

- ``/places`` (+ ``.json``): children involved in concerns at places, by small area
  (by ward at the community tier) as a map drawn on the server with the same figures in a
  table, and two rankings of places (not at the community tier): the hotspots and, apart,
  where missing children are found. The period is chosen as on a question page
  (``?period=default|all`` or ``?from=&to=``, whole months; issue 14) and
  ``?place_type=`` chooses one type of place.

Issue 16: the map draws the ward and authority boundaries over the shaded areas, with
their names; the area table and the rankings are sorted by count (hidden counts after
those shown, then by name), the first :data:`TOP_ROWS` shown and the rest behind a
"show all" (``<details>``: no script needed).

Figures come only from ``joinedup.views.places``; the map is ``joinedup.web.maps``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.views import SUPPRESSED, PlacesError, current_area_shapes, current_places
from joinedup.views.participation import current_participation  # issue 20
from joinedup.views.places import current_area_outlines
from joinedup.web import periods as pq
from joinedup.web.deps import SettingsDep, TierDep
from joinedup.web.errors import error_response
from joinedup.web.maps import MapArea, MapOutline, ShadedMap, choropleth
from joinedup.web.templating import templates

router = APIRouter()

#: Rows of a table shown before "show all".
TOP_ROWS = 20

PlaceTypeQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="One type of place (e.g. takeaway), or empty for every type",
    ),
]


#: The places map's layers (issue 20): recorded concerns, or where children say they feel
#: unsafe (surveys and mapping exercises, by ward); a link switches, no script needed.
LayerQuery = Annotated[
    str | None,
    Query(pattern=r"^(recorded|unsafe)$", description="recorded (default) or unsafe"),
]


def _unsafe_map(
    data: dict[str, Any], shapes: dict[str, Any], outlines: list[dict[str, Any]]
) -> ShadedMap | None:
    """The "where children feel unsafe" layer: responses saying unsafe, by ward."""
    return choropleth(
        f"Young people saying they feel unsafe, by ward ({data['period']['label']})",
        [MapArea(r["code"], r["name"], r["unsafe"]) for r in data["rows"]],
        shapes,
        map_id="unsafe-map",
        unit="responses saying unsafe",
        area_word="wards",
        outlines=[MapOutline(o["code"], o["name"], o["level"], o["geometry"]) for o in outlines],
        label_areas=True,
        width=900,
        max_height=900,
    )


def by_count(rows: list[dict[str, Any]], key: str = "children") -> list[dict[str, Any]]:
    """Rows by their published count, most first: numbers shown, then hidden ("c"),
    then anything else; ties by name."""

    def order(r: dict[str, Any]) -> tuple[int, int, str]:
        v = r[key]
        if isinstance(v, int) and not isinstance(v, bool):
            return (0, -v, str(r.get("name", "")))
        return (1 if v == SUPPRESSED else 2, 0, str(r.get("name", "")))

    return sorted(rows, key=order)


def _map(
    data: dict[str, Any], shapes: dict[str, Any], outlines: list[dict[str, Any]]
) -> ShadedMap | None:
    areas = data["areas"]
    word = "wards" if areas["level"] == "ward" else "small areas"
    period = data["period"]["label"]
    title = f"Children at places of concern, by {areas['level_label'].lower()} ({period})"
    return choropleth(
        title,
        [MapArea(r["code"], r["name"], r["children"]) for r in areas["rows"]],
        shapes,
        map_id="places-map",
        unit="children",
        area_word=word,
        outlines=[MapOutline(o["code"], o["name"], o["level"], o["geometry"]) for o in outlines],
        label_areas=areas["level"] == "ward",
        width=900,
        max_height=900,
    )


@router.get("/places", response_class=HTMLResponse, name="places")
@router.get("/places.json", response_class=JSONResponse, name="places_json")
def places_page(
    request: Request,
    settings: SettingsDep,
    tier: TierDep,
    start: pq.FromQuery = None,
    end: pq.DateQuery = None,
    period: pq.PeriodQuery = None,
    place_type: PlaceTypeQuery = None,
    layer: LayerQuery = None,
) -> Response:
    """Where concerns about children concentrate: distinct children involved in concern
    events at places, by small area (by ward at the community tier) as a map and a
    table, and the places ranked by children (hotspots) and, apart, where missing
    children are found (not at the community tier), for a period (``?period=default|all``
    or ``?from=&to=``) and a type of place of the visitor's choice. Counts are protected
    for the visitor's tier; residential places are never named."""
    asked = pq.period_asked(start, end, period)
    try:
        data = current_places(
            settings.partnership_dir,
            tier,
            period=asked["period"],
            start=asked["start"],
            end=asked["end"],
            place_type=place_type or None,
            open_release=settings.open_release,
        )
    except PlacesError as exc:
        return error_response(request, 422, str(exc))
    if layer == "unsafe":  # issue 20: where children say they feel unsafe (by ward)
        data = {
            **data,
            "participation": current_participation(
                settings.partnership_dir,
                tier,
                period=asked["period"],
                start=asked["start"],
                end=asked["end"],
                open_release=settings.open_release,
            ),
        }
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    shapes = current_area_shapes(
        settings.partnership_dir, data["areas"]["level"], open_release=settings.open_release
    )
    tier_param = request.query_params.get("tier")
    when = {"from": asked["start"], "to": asked["end"], "period": asked["period"]}
    query = {k: v for k, v in when.items() if v}
    if place_type:
        query["place_type"] = place_type
    if tier_param:
        query["tier"] = tier_param
    outlines = current_area_outlines(
        settings.partnership_dir, data["areas"]["level"], open_release=settings.open_release
    )
    rows = data["areas"]["rows"]
    area_rows = by_count([r for r in rows if r["children"] != 0])
    context = {
        "data": data,
        "period_choice": pq.period_choice(data["period"], asked),
        "map": _map(data, shapes, outlines),
        "tier_param": tier_param,
        "area_rows": area_rows[:TOP_ROWS],
        "more_area_rows": area_rows[TOP_ROWS:],
        "top_rows": TOP_ROWS,
        "zero_areas": sum(1 for r in rows if r["children"] == 0),
        "json_link": "/places.json?" + urlencode(query),
    }
    context.update(_layer_context(settings, data, query, layer))  # issue 20
    return templates.TemplateResponse(request, "places.html", context)


def _layer_context(
    settings: SettingsDep, data: dict[str, Any], query: dict[str, str], layer: str | None
) -> dict[str, Any]:
    """The layer links (each keeping the page's other choices) and, for the unsafe layer,
    its map by ward and its table, most saying unsafe first."""
    out: dict[str, Any] = {
        "layer": layer or "recorded",
        "layer_links": {
            "recorded": "/places?" + urlencode(query),
            "unsafe": "/places?" + urlencode({**query, "layer": "unsafe"}),
        },
    }
    part = data.get("participation")
    if part is None:
        return out
    out["json_link"] = "/places.json?" + urlencode({**query, "layer": "unsafe"})
    if part["available"]:
        shapes = current_area_shapes(
            settings.partnership_dir, "ward", open_release=settings.open_release
        )
        outlines = current_area_outlines(
            settings.partnership_dir, "ward", open_release=settings.open_release
        )
        out["unsafe_map"] = _unsafe_map(part, shapes, outlines)
        out["unsafe_rows"] = by_count(part["rows"], key="unsafe")
    return out
