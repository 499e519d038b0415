"""The linkage report and the review queue of uncertain pairs (issues 4, 7 and 16).

- ``/linkage`` (+ ``.json``): the current release's linkage report and trained model;
  it needs ``Permission.REVIEW_LINKS`` (data leads and analysts);
- the review pages below are :mod:`joinedup.web.routes.review`, included here:
- ``/linkage/review`` (+ ``.json``): pairs in the review band not yet decided, a page at
  a time, and the weakest links for spot checks;
- ``/linkage/review/{pair_key}`` (+ ``.json``): one pair side by side (how each field
  compares; the records themselves at the operational tier only), with a form to decide
  *match* or *not a match* (POST, CSRF-checked, audited). Decisions are kept in the app
  state and applied by the next build.
- ``POST /linkage/review/{pair_key}/purpose``: why the reviewer opens identifying fields
  (CSRF-checked), remembered in their server-side session for that session only.

Opening a pair's identifying fields (another agency's record: names, date of birth,
postcode, identifiers) is re-identification (issue 11): it needs a purpose, either
declared for review by the sharing agreements of both records (``review_purpose``) or
given by the reviewer once a session; each such view is logged as ``reidentify`` with the
purpose. Until there is one the pair is shown with those fields withheld, and the form.
Pair pages and their JSON twins are sent with ``Cache-Control: no-store``.

See :mod:`joinedup.web.routes.review` for who reviews (``review_links``, or a role the
partnership's sharing agreements name as ``reviewers``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.access import Permission, User
from joinedup.present.charts import CHART_FONT, Chart, bar_chart
from joinedup.views.linkage import current_linkage_report
from joinedup.web.deps import Require, SettingsDep, TierDep
from joinedup.web.routes import review
from joinedup.web.templating import templates

router = APIRouter()
router.include_router(review.router)

_TEXT = "#0b0c0c"

Reviewer = Annotated[User, Depends(Require(Permission.REVIEW_LINKS))]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def weight_histogram(rows: list[dict[str, Any]]) -> Chart | None:
    """Scored pairs by whole bits of match weight, as vertical bars ("c" gets none)."""
    if not rows:
        return None
    values = [
        {
            "weight": int(r["item"]),
            "end": int(r["item"]) + 1,
            "pairs": _count(r["count"]),
            "text": str(r["count"]),
        }
        for r in rows
        if r["item"].lstrip("+-").isdigit()
    ]
    described = "; ".join(f"weight {v['weight']:+d}: {v['text']}" for v in values)
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 560,
        "height": 220,
        "data": {"values": values},
        "mark": {"type": "bar", "color": "#1d70b8"},
        "encoding": {
            "x": {
                "field": "weight",
                "type": "quantitative",
                "bin": {"binned": True, "step": 1},
                "title": "Match weight (bits)",
            },
            "x2": {"field": "end"},
            "y": {"field": "pairs", "type": "quantitative", "title": "Record pairs"},
        },
        "config": {
            "aria": False,
            "font": CHART_FONT,
            "background": "white",
            "view": {"stroke": None},
            "axis": {"labelColor": _TEXT, "titleColor": _TEXT, "labelFontSize": 12},
        },
    }
    title = "Scored record pairs by match weight"
    return Chart("chart-match-weight", title, f"{title}. {described}.", spec)


def model_chart(spec: dict[str, Any] | None, weights: list[dict[str, Any]]) -> Chart | None:
    """Splink's match-weights chart of the trained model (its own Vega-Lite spec)."""
    if not spec:
        return None
    described = "; ".join(
        f"{w['comparison']}, {w['level']}: {w['match_weight']:+.1f}"
        for w in weights
        if isinstance(w.get("match_weight"), int | float)
    )
    title = "Match weights of the trained model, by field and comparison level"
    spec = dict(spec)
    if isinstance(spec.get("title"), dict):  # "Use mousewheel to zoom": not on a static SVG
        spec["title"] = {k: v for k, v in spec["title"].items() if k != "subtitle"}
    return Chart("chart-model", title, f"{title}. {described}.", spec)


def report_charts(data: dict[str, Any], spec: dict[str, Any] | None) -> dict[str, Any]:
    charts: dict[str, Any] = {}
    links = data["links_by_rule"]["rows"]
    if links:
        charts["links"] = bar_chart(
            "Records by what linked them",
            [r["label"] for r in links],
            [r["count"] for r in links],
            chart_id="chart-links",
            axis_title="Records",
        )
    blocking = data["blocking"]["rows"]
    if blocking:
        charts["blocking"] = bar_chart(
            "Candidate pairs scored, by blocking rule",
            [r["label"] for r in blocking],
            [r["count"] for r in blocking],
            chart_id="chart-blocking",
            axis_title="Record pairs",
        )
    sizes = data["cluster_size"]["rows"]
    if sizes:
        charts["sizes"] = bar_chart(
            "People by number of records",
            [r["label"] for r in sizes],
            [r["count"] for r in sizes],
            chart_id="chart-sizes",
            axis_title="People",
        )
    charts["weights"] = weight_histogram(data["match_weight"]["rows"])
    charts["model"] = model_chart(spec, data["model"]["weights"])
    return charts


@router.get("/linkage", response_class=HTMLResponse, name="linkage")
@router.get("/linkage.json", response_class=JSONResponse, name="linkage_json")
def linkage_report(
    request: Request, settings: SettingsDep, tier: TierDep, user: Reviewer
) -> Response:
    """The linkage report of the current release: mode, links by rule, pairs per blocking
    rule, the match-weight distribution, cluster sizes, people by combination of agencies,
    flagged persons, id changes, accuracy against truth where known (synthetic data) and
    the trained model's match weights. Counts are disclosure-controlled."""
    data, spec = current_linkage_report(
        settings.partnership_dir, tier, open_release=settings.open_release
    )
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    context = {"data": data, "charts": report_charts(data, spec)}
    return templates.TemplateResponse(request, "linkage.html", context)
