"""The linkage report and the review queue of uncertain pairs (issues 4 and 7).

- ``/linkage`` (+ ``.json``): the current release's linkage report and trained model;
- ``/linkage/review`` (+ ``.json``): pairs in the review band not yet decided, a page at
  a time, and the weakest links for spot checks;
- ``/linkage/review/{pair_key}`` (+ ``.json``): one pair side by side (how each field
  compares; the records themselves at the operational tier only, audited), with a form
  to decide *match* or *not a match* (POST, CSRF-checked, audited). Decisions are kept in
  the app state and applied by the next build.

All of them need ``Permission.REVIEW_LINKS`` (data leads and analysts).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.access import Permission, User, audit_person_view
from joinedup.disclosure import Tier
from joinedup.disclosure.linkage import (
    PairNotFound,
    current_linkage_report,
    current_review_pair,
    current_review_queue,
)
from joinedup.web.charts import CHART_FONT, Chart, bar_chart
from joinedup.web.deps import CsrfChecked, Require, SettingsDep, StateDep, TierDep
from joinedup.web.templating import templates

router = APIRouter()

PAGE = 25
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


def _decided(state: Any) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    return [(d.left, d.right) for d in state.link_decisions.all()]


@router.get("/linkage/review", response_class=HTMLResponse, name="linkage_review")
@router.get("/linkage/review.json", response_class=JSONResponse, name="linkage_review_json")
def review_queue_page(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    tier: TierDep,
    user: Reviewer,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page of the queue")] = 1,
    decided: Annotated[Literal["match", "non_match"] | None, Query()] = None,
) -> Response:
    """The review queue: record pairs the model scored in the review band whose records
    ended in different persons, not yet decided, most likely matches first; and the
    weakest links of the release, for spot checks. Pairs are named by opaque keys."""
    data = current_review_queue(
        settings.partnership_dir,
        tier,
        decided=_decided(state),
        limit=PAGE,
        offset=(page - 1) * PAGE,
        open_release=settings.open_release,
    )
    data["page"] = str(page)  # a page number, not a count of people
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(
        request, "review.html", {"data": data, "page": page, "decided": decided}
    )


def _pair_view(
    settings: Any, state: Any, tier: Tier, user: User, pair_key: str
) -> tuple[dict[str, Any], Any]:
    identifying = tier is Tier.OPERATIONAL and user.can(Permission.PERSON_LEVEL)
    try:
        view = current_review_pair(
            settings.partnership_dir,
            tier if identifying else (Tier.STRATEGIC if tier is Tier.OPERATIONAL else tier),
            pair_key,
            open_release=settings.open_release,
        )
    except PairNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    data = view.data
    history = state.link_decisions.history(view.left, view.right)
    data["decisions"] = [
        {
            "decision": d.decision,
            "decided_by": d.decided_by,
            "decided_at": d.decided_at.strftime("%Y-%m-%d %H:%M"),
            "reason": d.reason if identifying else None,
            "reason_given": bool(d.reason),
        }
        for d in history
    ]
    return data, view


@router.get("/linkage/review/{pair_key}", response_class=HTMLResponse, name="linkage_pair")
@router.get(
    "/linkage/review/{pair_key}.json", response_class=JSONResponse, name="linkage_pair_json"
)
def review_pair_page(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    tier: TierDep,
    user: Reviewer,
    pair_key: str,
) -> Response:
    """One record pair side by side: how each field compares, its match weight, sources
    and agencies, and earlier decisions on it; both records' identifying fields only at
    the operational tier (each such view is written to the audit log)."""
    data, view = _pair_view(settings, state, tier, user, pair_key)
    if data["identifying"]:
        for person in {p for p in view.persons if p}:
            audit_person_view(
                state, user=user, person_id=person, page="linkage_pair", agencies=view.agencies
            )
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, "review_pair.html", {"data": data})


@router.post("/linkage/review/{pair_key}", name="linkage_decide")
def decide_pair(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    tier: TierDep,
    user: Reviewer,
    _: CsrfChecked,
    pair_key: str,
    decision: Annotated[Literal["match", "non_match"], Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Record a decision on a pair (match or not a match, with an optional reason) in the
    app state, with who decided; it is written to the audit log and applied by the next
    build. Answers with a redirect to the queue."""
    try:
        view = current_review_pair(
            settings.partnership_dir,
            Tier.STRATEGIC if tier is Tier.OPERATIONAL else tier,
            pair_key,
            open_release=settings.open_release,
        )
    except PairNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    state.link_decisions.record(
        left=view.left,
        right=view.right,
        decision=decision,
        decided_by=user.username,
        reason=reason.strip() or None,
    )
    state.audit.append(
        actor=user.username,
        action="link_decision",
        target=pair_key,
        detail={
            "decision": decision,
            "release_id": view.data["release"]["release_id"],
            "sources": sorted({view.left[0], view.right[0]}),
            "reason_given": bool(reason.strip()),
        },
        agencies=view.agencies,
    )
    query = f"?decided={decision}"
    if request.query_params.get("tier"):
        query += f"&tier={request.query_params['tier']}"
    return RedirectResponse(f"/linkage/review{query}", status_code=303)
