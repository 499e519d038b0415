"""``/quality`` and ``/quality.json``: data quality per source and agency (issue 7).

The page opens on a one-screen summary per agency (what is good, what to fix first;
issue 16); the details (each source by dimension, drops, all the advice, months covered,
each source's measures) are in expandable sections that need no script. Sources and
agencies are named, never shown by id.

Everyone signed in sees each source's quality dimensions, thin months and the measures
that dropped since the previous release; the strategic and operational tiers also see the
row counts behind them and the ranked recording advice per agency; a data lead
(``Permission.AUDIT_OWN_AGENCY``) also sees the codes their agency's extracts hold that
the crosswalks do not know. Figures come from :func:`joinedup.views.current_quality`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.access import Permission
from joinedup.present.charts import CHART_FONT, Chart
from joinedup.views import Tier
from joinedup.views.guidance import language_use
from joinedup.views.quality import DIMENSIONS, UnknownAgency, current_quality
from joinedup.web.deps import CurrentUser, SettingsDep, TierDep
from joinedup.web.templating import templates

router = APIRouter()

_TEXT = "#0b0c0c"


def month_words(month: str | None) -> str:
    """A month "2025-03" in words, "March 2025"; "–" for none."""
    if not month:
        return "–"
    try:
        return dt.date.fromisoformat(f"{month[:7]}-01").strftime("%B %Y")
    except ValueError:
        return month


def _short(name: str, limit: int = 34) -> str:
    """A source's name short enough for a chart's axis (the table has it in full)."""
    return name if len(name) <= limit else name[: limit - 1].rstrip(" ,:;(") + "…"


def _axis_names(data: dict[str, Any]) -> dict[str, str]:
    """Source id -> its short name on a chart's axis, each told apart from the others."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for s in data["sources"]:
        name = _short(str(s["dataset"] or s["source"]))
        n = 2
        label = name
        while label in seen:
            label, n = f"{name} ({n})", n + 1
        seen.add(label)
        out[s["source"]] = label
    return out


def _axis() -> dict[str, Any]:
    return {"labelColor": _TEXT, "titleColor": _TEXT, "labelFontSize": 12, "titleFontSize": 12}


def _config() -> dict[str, Any]:
    return {
        "aria": False,
        "font": CHART_FONT,
        "background": "white",
        "view": {"stroke": None},
        "axis": _axis(),
        "legend": {"labelColor": _TEXT, "titleColor": _TEXT, "labelFontSize": 12},
    }


def dimensions_chart(data: dict[str, Any]) -> Chart | None:
    """A grid of sources x dimensions, each cell shaded by its share and labelled with it."""
    rows = []
    names = _axis_names(data)
    for s in data["sources"]:
        for dim in DIMENSIONS:
            d = s["dimensions"][dim]
            share = d["share"]
            rows.append(
                {
                    "source": names[s["source"]],
                    "dimension": dim.capitalize(),
                    "share": None if share is None else round(100 * share, 1),
                    "text": d["percent"] or "none",
                    "dark": share is not None and share < 0.8,
                }
            )
    if not rows:
        return None
    described = "; ".join(
        f"{s['dataset']}: "
        + ", ".join(f"{dim} {s['dimensions'][dim]['percent'] or 'none'}" for dim in DIMENSIONS)
        for s in data["sources"]
    )
    order = [dim.capitalize() for dim in DIMENSIONS]
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": rows},
        "width": {"step": 88},
        "height": {"step": 26},
        "encoding": {
            "x": {
                "field": "dimension",
                "type": "nominal",
                "sort": order,
                "title": None,
                "axis": {"orient": "top", "labelAngle": 0, "ticks": False, "domain": False},
            },
            "y": {
                "field": "source",
                "type": "nominal",
                "sort": None,
                "title": None,
                "axis": {"ticks": False, "domain": False, "labelLimit": 220},
            },
        },
        "layer": [
            {
                "mark": {"type": "rect", "stroke": "white", "strokeWidth": 2},
                "encoding": {
                    "color": {
                        "field": "share",
                        "type": "quantitative",
                        "title": "Per cent",
                        "scale": {
                            "domain": [50, 100],
                            "range": ["#d4351c", "#f4f8fb", "#1d70b8"],
                            "domainMid": 90,
                            "clamp": True,
                        },
                        "legend": {"orient": "bottom", "direction": "horizontal"},
                    }
                },
            },
            {
                "mark": {"type": "text", "fontSize": 12},
                "encoding": {
                    "text": {"field": "text"},
                    "color": {
                        "condition": {
                            "test": "datum.share != null && (datum.share < 75 || datum.share > 97)",
                            "value": "white",
                        },
                        "value": _TEXT,
                    },
                },
            },
        ],
        "config": _config(),
    }
    title = "Quality of each source, by dimension (per cent)"
    return Chart("chart-dimensions", title, f"{title}. {described}.", spec)


def coverage_chart(data: dict[str, Any]) -> Chart | None:
    """Months each source has records in, thin months (possible gaps) marked."""
    rows = []
    names = _axis_names(data)
    for s in data["sources"]:
        if not s["first_month"]:
            continue
        thin = set(s["thin_months"])
        year, month = (int(x) for x in s["first_month"].split("-"))
        last = s["last_month"]
        while True:
            label = f"{year:04d}-{month:02d}"
            rows.append(
                {
                    "source": names[s["source"]],
                    "month": label + "-01",
                    "state": "Thin month" if label in thin else "Month with records",
                }
            )
            if label >= last:
                break
            month += 1
            if month > 12:
                year, month = year + 1, 1
    if not rows:
        return None
    described = "; ".join(
        f"{s['dataset']}: {month_words(s['first_month'])} to {month_words(s['last_month'])}, "
        "thin months " + (", ".join(month_words(m) for m in s["thin_months"]) or "none")
        for s in data["sources"]
        if s["first_month"]
    )
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": rows},
        "width": 480,
        "height": {"step": 18},
        "mark": {"type": "rect"},
        "encoding": {
            "x": {
                "field": "month",
                "type": "temporal",
                "timeUnit": "yearmonth",
                "title": "Month of the record date",
                "axis": {"format": "%b %Y", "labelAngle": 0, "tickCount": 6},
            },
            "y": {"field": "source", "type": "nominal", "sort": None, "title": None},
            "color": {
                "field": "state",
                "type": "nominal",
                "title": None,
                "scale": {
                    "domain": ["Month with records", "Thin month"],
                    "range": ["#5694ca", "#d4351c"],
                },
                "legend": {"orient": "bottom"},
            },
        },
        "config": _config(),
    }
    title = "Months each source has records in, thin months marked"
    return Chart("chart-coverage", title, f"{title}. {described}.", spec)


@router.get("/quality", response_class=HTMLResponse, name="quality")
@router.get("/quality.json", response_class=JSONResponse, name="quality_json")
def quality(
    request: Request,
    settings: SettingsDep,
    tier: TierDep,
    user: CurrentUser,
    agency: Annotated[str | None, Query(max_length=64, description="Keep one agency")] = None,
) -> Response:
    """Data quality of the current release per agency and source: six quality dimensions
    as shares of records, thin months, drops since the previous release and (strategic and
    operational tiers) the row counts and ranked recording advice; unmapped local codes
    for a data lead's own agency. These measure records, not people."""
    agency = agency or None
    unmapped_for = user.agency if user.can(Permission.AUDIT_OWN_AGENCY) else None
    try:
        data = current_quality(
            settings.partnership_dir,
            tier,
            agency=agency,
            unmapped_for=unmapped_for,
            open_release=settings.open_release,
        )
    except UnknownAgency as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    if tier is not Tier.COMMUNITY:  # issue 20: the language guide's count, as records
        data["language"] = language_use(
            settings.partnership_dir, tier, open_release=settings.open_release
        )
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    context = {
        "data": data,
        "dimensions_chart": dimensions_chart(data),
        "coverage_chart": coverage_chart(data),
        "month_words": month_words,
    }
    return templates.TemplateResponse(request, "quality.html", context)
