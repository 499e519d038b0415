"""Places: a map of small areas, the rankings of places, place types and periods.

- ``/places`` (+ ``.json``): children involved in concerns at places, by small area
  (by ward at the community tier) as a map drawn on the server with the same figures in a
  table, and two rankings of places (not at the community tier): the hotspots and, apart,
  where missing children are found. The period is chosen as on a question page
  (``?period=default|all`` or ``?from=&to=``, whole months; issue 14) and
  ``?place_type=`` chooses one type of place.

Figures come only from ``joinedup.views.places``; the map is ``joinedup.web.maps``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.views import PlacesError, current_area_shapes, current_places
from joinedup.web import periods as pq
from joinedup.web.deps import SettingsDep, TierDep
from joinedup.web.errors import error_response
from joinedup.web.maps import MapArea, ShadedMap, choropleth
from joinedup.web.templating import templates

router = APIRouter()

PlaceTypeQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="One type of place (e.g. takeaway), or empty for every type",
    ),
]


def _map(data: dict[str, Any], shapes: dict[str, Any]) -> ShadedMap | None:
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
    rows = data["areas"]["rows"]
    context = {
        "data": data,
        "period_choice": pq.period_choice(data["period"], asked),
        "map": _map(data, shapes),
        "tier_param": tier_param,
        "area_rows": [r for r in rows if r["children"] != 0],
        "zero_areas": sum(1 for r in rows if r["children"] == 0),
        "json_link": "/places.json?" + urlencode(query),
    }
    return templates.TemplateResponse(request, "places.html", context)
