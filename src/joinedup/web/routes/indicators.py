"""Indicators (issue 16): one measure by area and over time, chosen together.

- ``/indicators`` (+ ``.json``): the indicators the visitor's tier may see, each with a
  link per type of exploitation, so that "children with a CCE concern by authority by
  quarter, with intervals" is one choice away from the list.
- ``/indicators/{id}`` (+ ``.json``): one indicator, narrowed to a type (``?type=``), by
  area (``?area=authority|ward``) and over time (``?over=quarter|month``) for a period
  (``?period=default|all`` or ``?from=&to=``): a line chart with incomplete periods
  marked, rates per 10,000 with 95% intervals where a population exists, each area
  compared with the partnership, the change since the last release.
- ``/indicators/{id}.csv``: exactly the table shown, for users with the export
  permission; every download is written to the audit log.

Figures come only from :mod:`joinedup.views.indicators`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.access import Permission, User
from joinedup.present.charts import Chart, line_chart
from joinedup.views import QuestionError, Tier
from joinedup.views.answers import answer_csv
from joinedup.views.indicators import (
    PARTNERSHIP,
    IndicatorError,
    current_indicator,
    current_indicators,
)
from joinedup.views.questions import PeriodError, QuestionNotFound, QuestionRefused
from joinedup.web import periods as pq
from joinedup.web.deps import CurrentUser, Require, SettingsDep, StateDep, TierDep
from joinedup.web.errors import error_response
from joinedup.web.templating import templates

router = APIRouter()

IndicatorId = Annotated[str, "An indicator id, as in the list of indicators"]
TypeQuery = Annotated[str | None, Query(alias="type", max_length=80)]
AreaQuery = Annotated[str, Query(max_length=20, pattern=r"^(authority|ward)$")]
OverQuery = Annotated[str, Query(max_length=10, pattern=r"^(quarter|month)$")]
Exporter = Annotated[User, Depends(Require(Permission.EXPORT))]

#: Lines drawn at most (the partnership and the areas with most counted); the table
#: holds every area.
MOST_LINES = 6


def _query(**parts: str | None) -> str:
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in parts.items() if v})


def _tier_param(request: Request) -> str | None:
    tier = request.query_params.get("tier")
    return tier if tier in {t.value for t in Tier} else None


@router.get("/indicators", response_class=HTMLResponse, name="indicators")
@router.get("/indicators.json", response_class=JSONResponse, name="indicators_json")
def indicators_list(request: Request, settings: SettingsDep, tier: TierDep) -> Response:
    """The indicators the visitor's tier may see: each question with areas and quarters,
    with a link for each type of exploitation it can be narrowed to."""
    listing = current_indicators(settings.partnership_dir, tier, open_release=settings.open_release)
    tier_q = _tier_param(request)
    for item in listing["indicators"]:
        base = f"/indicators/{item['id']}"
        item["href"] = base + (f"?{_query(tier=tier_q)}" if tier_q else "")
        for t in item["types"]:
            t["href"] = f"{base}?{_query(type=t['type'], tier=tier_q)}"
    if request.url.path.endswith(".json"):
        return JSONResponse(listing)
    return templates.TemplateResponse(request, "indicators.html", {"data": listing})


def _indicator_error(request: Request, exc: QuestionError) -> Response:
    if isinstance(exc, QuestionNotFound):
        return error_response(
            request,
            404,
            f"{exc} Go back to the list of indicators and choose one from there.",
            title="There is no such indicator",
            page="questions_error.html",
        )
    if isinstance(exc, QuestionRefused):
        return error_response(
            request,
            403,
            "This indicator is not shown at the tier you are viewing. It can be seen at the "
            + " and ".join(exc.tiers)
            + " tier"
            + ("s." if len(exc.tiers) > 1 else "."),
            title="This indicator is not available at your tier",
            page="questions_error.html",
        )
    if isinstance(exc, PeriodError):
        title = "These dates cannot be shown"
        detail = str(exc).replace("YYYY-MM-DD", "a date such as 2026-01-01")
    elif isinstance(exc, IndicatorError):
        title, detail = "This choice is not available", str(exc)
    else:
        title = "This choice is not available"
        detail = "Choose again from the choices on the indicator's page."
    return error_response(request, 400, detail, title=title, page="questions_error.html")


def _charts(data: dict[str, Any]) -> list[Chart]:
    """The indicator over time: rates with their intervals where there is a population,
    else counts; the partnership and the areas with most counted."""
    periods = [p["period"] for p in data["periods"]]
    late = [p["period"] for p in data["periods"] if p["incomplete"]]
    rates = data["rate"] is not None
    areas = [a for a in data["areas"] if a["population"]] if rates else list(data["areas"])

    def size(a: dict[str, Any]) -> int:
        return a["count"] if isinstance(a["count"], int) else -1

    areas = sorted(areas, key=lambda a: (-size(a), a["name"]))[: MOST_LINES - 1]
    lines: list[tuple[str, list[Any], list[tuple[Any, Any]] | None]] = []
    for entry in [data["partnership"], *areas]:
        points = entry["series"]
        if rates:
            lines.append(
                (
                    entry["name"],
                    [p["rate"] for p in points],
                    [(p["low"], p["high"]) for p in points],
                )
            )
        else:
            lines.append((entry["name"], [p["count"] for p in points], None))
    unit = str(data["question"]["unit"])
    axis = f"Rate per 10,000 {unit}" if rates else unit.capitalize()
    title = data["title"] + (", rate per 10,000 with 95% intervals" if rates else "")
    return [
        line_chart(
            title, periods, lines, incomplete=late, chart_id="chart-indicator", axis_title=axis
        )
    ]


@router.get("/indicators/{question_id}", response_class=HTMLResponse, name="indicator")
@router.get("/indicators/{question_id}.json", response_class=JSONResponse, name="indicator_json")
def indicator_page(
    request: Request,
    settings: SettingsDep,
    tier: TierDep,
    user: CurrentUser,
    question_id: IndicatorId,
    kind: TypeQuery = None,
    area: AreaQuery = "authority",
    over: OverQuery = "quarter",
    start: pq.FromQuery = None,
    end: pq.DateQuery = None,
    period: pq.PeriodQuery = None,
) -> Response:
    """One indicator at the visitor's tier: by area and over time for a period, narrowed
    to a type of exploitation, with rates, 95% intervals, each area compared with the
    partnership, and the change since the last release."""
    asked = pq.period_asked(start, end, period)
    data = _indicator(request, settings, tier, question_id, kind, area, over, asked)
    if isinstance(data, Response):
        return data
    tier_q = _tier_param(request)
    when = pq.when_query(asked)
    chosen = _query(type=kind, area=area, over=over, tier=tier_q)
    query = "&".join(x for x in (chosen, when) if x)
    types = []
    if data["choices"]["types"]:
        listing = current_indicators(
            settings.partnership_dir, tier, open_release=settings.open_release
        )
        found = next((i for i in listing["indicators"] if i["id"] == question_id), None)
        types = [t["type"] for t in (found or {}).get("types", [])]
    data["links"] = {
        "list": "/indicators" + (f"?{_query(tier=tier_q)}" if tier_q else ""),
        "question": f"/questions/{question_id}" + (f"?{_query(tier=tier_q)}" if tier_q else ""),
        "json": f"/indicators/{question_id}.json?{query}",
        "csv": f"/indicators/{question_id}.csv?{query}" if user.can(Permission.EXPORT) else None,
    }
    data["period_choice"] = pq.period_choice(data["period"], asked)
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    context = {
        "data": data,
        "types": types,
        "charts": _charts(data),
        "tier_param": tier_q,
        "partnership": PARTNERSHIP,
    }
    return templates.TemplateResponse(request, "indicator.html", context)


def _indicator(
    request: Request,
    settings: Any,
    tier: Any,
    question_id: str,
    kind: str | None,
    area: str,
    over: str,
    asked: dict[str, Any],
) -> dict[str, Any] | Response:
    """The indicator as the page and its CSV show it, or the error page."""
    try:
        return current_indicator(
            settings.partnership_dir,
            question_id,
            kind=kind or None,
            area=area,
            series=over,
            tier=tier,
            open_release=settings.open_release,
            **asked,
        )
    except QuestionError as exc:
        return _indicator_error(request, exc)


@router.get("/indicators/{question_id}.csv", response_class=Response, name="indicator_csv")
def indicator_csv(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    tier: TierDep,
    user: Exporter,
    question_id: IndicatorId,
    kind: TypeQuery = None,
    area: AreaQuery = "authority",
    over: OverQuery = "quarter",
    start: pq.FromQuery = None,
    end: pq.DateQuery = None,
    period: pq.PeriodQuery = None,
) -> Response:
    """Exactly the indicator's table as shown, as CSV (suppressed counts are "c"); needs
    the export permission and is recorded in the audit log."""
    asked = pq.period_asked(start, end, period)
    data = _indicator(request, settings, tier, question_id, kind, area, over, asked)
    if isinstance(data, Response):
        return data
    state.audit.append(
        actor=user.username,
        action="export",
        target=question_id,
        detail={
            "page": "indicator",
            "question": question_id,
            "type": kind or "",
            "area": area,
            "over": over,
            "format": "csv",
            "tier": data["tier"],
            "release_id": data["release_id"],
        },
    )
    name = "-".join(x for x in (question_id, area, over) if x)
    return Response(
        answer_csv(data),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


# The page route matches any id: the JSON twin and the download must come first.
_page = next(r for r in router.routes if getattr(r, "name", None) == "indicator")
router.routes.remove(_page)
router.routes.append(_page)

__all__ = ["router"]
