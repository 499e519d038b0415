"""The linkage report and the review queue of uncertain pairs (issues 4 and 7).

- ``/linkage`` (+ ``.json``): the current release's linkage report and trained model;
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

All of them need ``Permission.REVIEW_LINKS`` (data leads and analysts).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.access import MIN_PURPOSE_LENGTH, Forbidden, Permission, SessionInfo, User
from joinedup.present.charts import CHART_FONT, Chart, bar_chart
from joinedup.views import Tier
from joinedup.views.linkage import current_linkage_report
from joinedup.views.review import (
    PairNotFound,
    ReviewPairView,
    current_review_pair,
    current_review_queue,
    withhold_identifying,
)
from joinedup.web.deps import (
    CsrfChecked,
    OptionalSession,
    Require,
    SettingsDep,
    StateDep,
    TierDep,
)
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


#: The kind of session purpose the review pages remember (``State.session_purposes``).
REVIEW_PURPOSE = "linkage_review"
#: Pair pages may show identifying fields: never kept by a browser or a proxy.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
#: The choice on the purpose form that means "the purpose I type".
OTHER = "other"
_IDENTIFYING_ONLY = (
    "The identifying fields of a pair are shown at the operational tier only, to reviewers "
    "who may see person-level data. Open the pair at the operational tier, or ask your "
    "partnership's joinedup administrator."
)


def _may_identify(tier: Tier, user: User) -> bool:
    return tier is Tier.OPERATIONAL and user.can(Permission.PERSON_LEVEL)


def _load_pair(settings: Any, tier: Tier, user: User, pair_key: str) -> ReviewPairView:
    may = _may_identify(tier, user)
    try:
        return current_review_pair(
            settings.partnership_dir,
            tier if may else (Tier.STRATEGIC if tier is Tier.OPERATIONAL else tier),
            pair_key,
            open_release=settings.open_release,
        )
    except PairNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


def _purpose(
    state: Any, session: SessionInfo | None, view: ReviewPairView
) -> tuple[str | None, str | None]:
    """(purpose, where it came from: ``agreement`` or ``session``), or (None, None)."""
    if view.review_purpose:
        return view.review_purpose, "agreement"
    if session is not None:
        given = state.session_purposes.get(session_token=session.token, kind=REVIEW_PURPOSE)
        if given:
            return given, "session"
    return None, None


def _with_history(state: Any, view: ReviewPairView) -> dict[str, Any]:
    data = view.data
    identifying = bool(data["identifying"])
    data["decisions"] = [
        {
            "decision": d.decision,
            "decided_by": d.decided_by,
            "decided_at": d.decided_at.strftime("%Y-%m-%d %H:%M"),
            "reason": d.reason if identifying else None,
            "reason_given": bool(d.reason),
        }
        for d in state.link_decisions.history(view.left, view.right)
    ]
    return data


def _audit_reidentification(
    state: Any, user: User, view: ReviewPairView, purpose: str, given_by: str
) -> None:
    """One ``reidentify`` entry per person the pair's records are in, with the purpose."""
    people: list[str | None] = [*sorted({p for p in view.persons if p})] or [None]
    detail = {
        "page": "linkage_pair",
        "pair": view.data["key"],
        "release_id": view.data["release"]["release_id"],
        "purpose_from": given_by,
        "user_agency": user.agency,
    }
    state.audit.append_many(
        [
            {
                "actor": user.username,
                "action": "reidentify",
                "target": person,
                "purpose": purpose,
                "detail": detail,
                "agencies": view.agencies,
            }
            for person in people
        ]
    )


def _pair_response(
    request: Request,
    state: Any,
    user: User,
    tier: Tier,
    session: SessionInfo | None,
    view: ReviewPairView,
    *,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """The pair page (or its JSON twin): identifying fields only with a purpose, each such
    view logged as re-identification first; ``no-store`` either way."""
    purpose, given_by = (None, None)
    if view.data["identifying"]:
        purpose, given_by = _purpose(state, session, view)
        if purpose is None or given_by is None:
            view = withhold_identifying(view)
        else:
            _audit_reidentification(state, user, view, purpose, given_by)
    data = _with_history(state, view)
    asks = _may_identify(tier, user) and purpose is None
    data["purpose"] = (
        {"required": True, "given": None, "from": None}
        if asks
        else {"required": False, "given": purpose, "from": given_by}
    )
    if request.url.path.endswith(".json"):
        return JSONResponse(data, headers=NO_STORE, status_code=status_code)
    context = {
        "data": data,
        "purpose_form": {
            "choices": list(view.permitted_purposes),
            "other": OTHER,
            "min_purpose": MIN_PURPOSE_LENGTH,
            "error": None,
            "error_on": None,
            "choice": "",
            "text": "",
            **(form or {}),
        }
        if asks
        else None,
    }
    response = templates.TemplateResponse(
        request, "review_pair.html", context, status_code=status_code
    )
    response.headers.update(NO_STORE)
    return response


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
    session: OptionalSession,
    pair_key: str,
) -> Response:
    """One record pair side by side: how each field compares, its match weight, sources
    and agencies, and earlier decisions on it. Both records' identifying fields only at
    the operational tier, and only with a purpose (declared for review by both records'
    sharing agreements, or given once a session on this page): each such view is written
    to the audit log as re-identification, with the purpose. Sent ``no-store``."""
    view = _load_pair(settings, tier, user, pair_key)
    return _pair_response(request, state, user, tier, session, view)


@router.post(
    "/linkage/review/{pair_key}/purpose",
    response_class=HTMLResponse,
    name="linkage_review_purpose",
)
def give_review_purpose(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    tier: TierDep,
    user: Reviewer,
    session: OptionalSession,
    _: CsrfChecked,
    pair_key: str,
    purpose_choice: Annotated[str, Form(max_length=500)] = "",
    purpose: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Why the reviewer opens identifying fields of pairs (a purpose the records'
    agreements permit, or at least 10 characters typed): remembered in their session,
    for that session only, and logged with each pair they open. Answers with a redirect
    to the pair."""
    if not _may_identify(tier, user):
        raise Forbidden(_IDENTIFYING_ONLY)
    view = _load_pair(settings, tier, user, pair_key)
    query = f"?tier={request.query_params['tier']}" if request.query_params.get("tier") else ""
    back = RedirectResponse(
        f"/linkage/review/{view.data['key']}{query}", status_code=303, headers=NO_STORE
    )
    if view.review_purpose:
        return back  # the agreements declare the purpose: there is nothing to remember
    choices = list(view.permitted_purposes)
    choice = purpose_choice.strip()
    text = purpose.strip()
    given = choice if choice != OTHER and choice in choices else text
    if len(given) < MIN_PURPOSE_LENGTH:
        if text:
            error = f"The purpose must be at least {MIN_PURPOSE_LENGTH} characters"
        elif choices and choice != OTHER:
            error = "Choose the purpose you are reviewing for, or describe another"
        else:
            error = "Enter why you need to see the identifying details of the records"
        on = "choice" if choices and not text and choice != OTHER else "text"
        form = {"error": error, "error_on": on, "choice": choice, "text": text}
        return _pair_response(request, state, user, tier, None, view, form=form, status_code=400)
    assert session is not None  # CsrfChecked refuses a visitor without one
    state.session_purposes.remember(session_token=session.token, kind=REVIEW_PURPOSE, purpose=given)
    return back


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
