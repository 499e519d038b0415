"""The overview page ``/`` and its twin ``/overview.json``, from one view function."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.present.charts import bar_chart
from joinedup.views import agency_names, current_overview
from joinedup.views.questions import current_changes
from joinedup.web.deps import SettingsDep, TierDep
from joinedup.web.periods import PeriodQuery
from joinedup.web.templating import cached_body, templates

router = APIRouter()


def page_context(data: dict[str, Any]) -> dict[str, Any]:
    """What the template needs beyond the protected figures: the chart (Vega-Lite SVG)."""
    context: dict[str, Any] = {"data": data, "chart": None}
    concerns = data.get("concerns")
    if concerns:
        context["chart"] = bar_chart(
            "People with an exploitation concern, by type",
            [row["group"] for row in concerns["rows"]],
            [row["total"] for row in concerns["rows"]],
            chart_id="chart-by-type",
        )
    areas = data.get("areas")
    if areas:
        context["chart"] = bar_chart(
            "People with an exploitation concern, by local authority",
            [a["name"] for a in areas["authorities"]],
            areas["persons_with_concern"],
            chart_id="chart-by-area",
        )
    return context


@router.get("/", response_class=HTMLResponse, name="overview")
@router.get("/overview.json", response_class=JSONResponse, name="overview_json")
def overview(
    request: Request, settings: SettingsDep, tier: TierDep, period: PeriodQuery = None
) -> Response:
    """The current release at a glance, protected for the visitor's tier; the concern
    table for ``?period=default`` (the partnership's default period) or ``all``."""
    # No config argument: the views read the partnership's own and then remember what
    # they return per release and tier (joinedup.disclosure.memo; issue 16: the overview
    # was about 25x /healthz at 20 users because a config object turned that off).
    data = current_overview(
        settings.partnership_dir,
        tier,
        open_release=settings.open_release,
        period=period or None,
    )
    # What changed since the last release: the questions whose protected headline moved most.
    data["changes"] = current_changes(
        settings.partnership_dir, tier, open_release=settings.open_release
    )
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    names = agency_names(settings.partnership_dir)  # people's words: agencies by name
    for s in data.get("sources") or []:
        s["agency_name"] = names.get(s.get("agency"), s.get("agency"))
    body = cached_body(request, "overview_body.html", {"data": data}, lambda: page_context(data))
    return templates.TemplateResponse(request, "overview.html", {"data": data, "body": body})
