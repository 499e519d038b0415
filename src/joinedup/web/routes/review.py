"""The review queue of uncertain pairs and one pair side by side (issues 4, 7, 11, 16).

- ``/linkage/review`` (+ ``.json``): pairs in the review band not yet decided, a page at
  a time, filtered by score band (``band``), source pair (``sources``) and flag
  (``flag``) and sorted (``sort``); and the weakest links for spot checks;
- ``/linkage/review/{pair_key}`` (+ ``.json``): one pair side by side (how each field
  compares, what agrees and what differs; the records themselves when the reviewer may
  see them), with buttons to decide *match* or *not a match* (POST, CSRF-checked,
  audited) and keyboard shortcuts (M, N, S for skip; they can be turned off, WCAG
  2.1.4). Decisions are kept in the app state and applied by the next build; with
  ``then=next`` the answer goes to the next pair of the same filtered queue.
- ``POST /linkage/review/{pair_key}/purpose``: why the reviewer opens identifying fields
  (CSRF-checked), remembered in their server-side session for that session only.

**Who reviews** (issue 16). Holders of ``review_links`` (data leads, analysts) open the
queue, and so do holders of a role that a sharing agreement allowing the operational
tier names in ``reviewers`` (``data_lead``, ``panel_member``). Those named reviewers see
the queue at the operational tier by default (``?tier=strategic`` for less). Both
records' identifying fields are shown at the operational tier to a panel member
(``person_level``), or to a holder of a role that **both** records' agreements name as
reviewers; to anyone else, how the fields compare.

Opening a pair's identifying fields (another agency's record: names, date of birth,
postcode, identifiers) is re-identification (issue 11): it needs a purpose, either
declared for review by the sharing agreements of both records (``review_purpose``) or
given by the reviewer once a session; **every** such view is logged as ``reidentify``
with the purpose. Until there is one the pair is shown with those fields withheld, and
the form. Pair pages and their JSON twins are sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.access import MIN_PURPOSE_LENGTH, Forbidden, Permission, SessionInfo, User
from joinedup.views import Tier
from joinedup.views.release import partnership_config
from joinedup.views.review import (
    SORTS,
    PairNotFound,
    QueueFilter,
    ReviewPairView,
    agreement_reviewers,
    current_review_keys,
    current_review_pair,
    current_review_queue,
    reviewer_roles,
    withhold_identifying,
)
from joinedup.web.deps import (
    CsrfChecked,
    CurrentUser,
    OptionalSession,
    Require,
    SettingsDep,
    StateDep,
)
from joinedup.web.templating import templates

router = APIRouter()

PAGE = 25
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
_FLAG = r"^(|any|[a-z_]{1,64})$"
#: Two source ids joined by "+" (a "+" typed into an address arrives as a space).
_SOURCES = r"^(|[A-Za-z0-9_.-]{1,64}[+ ][A-Za-z0-9_.-]{1,64})$"


def _named_reviewer(request: Request, user: User) -> bool:
    """Whether a sharing agreement names one of ``user``'s roles as reviewers."""
    config = partnership_config(request.app.state.settings.partnership_dir)
    return bool({r.value for r in user.roles} & reviewer_roles(config))


class ReviewAccess(Require):
    """``review_links``, or a role the partnership's agreements name as reviewers.

    :meth:`allows_roles` (what the role matrix test reads) is the permission alone: the
    agreements add reviewers only where a partnership names them."""

    def __call__(self, request: Request, user: CurrentUser) -> User:  # type: ignore[override]
        if self.allows(user) or _named_reviewer(request, user):
            return user
        raise Forbidden(
            "You do not have permission to see this page. Ask your partnership's "
            "joinedup administrator if you need it."
        )


Reviewer = Annotated[User, Depends(ReviewAccess(Permission.REVIEW_LINKS))]


def review_tier(
    request: Request,
    user: Reviewer,
    tier: Annotated[Tier | None, Query(description="A tier of yours to review at")] = None,
) -> Tier:
    """The tier of the review pages: the user's tiers, and the operational tier for a
    reviewer the agreements name; ``?tier=`` chooses one of them, the most detailed
    otherwise."""
    allowed = list(user.tiers)
    if Tier.OPERATIONAL not in allowed and _named_reviewer(request, user):
        allowed.insert(0, Tier.OPERATIONAL)
    if tier is None:
        return allowed[0]
    if tier not in allowed:
        raise Forbidden(
            f"Your roles do not include the {tier.value} tier; you can see: "
            + ", ".join(t.value for t in allowed)
            + "."
        )
    return tier


ReviewTier = Annotated[Tier, Depends(review_tier)]


def queue_filter(
    band: Annotated[Literal["high", "middle", "low", ""], Query()] = "",
    sources: Annotated[str, Query(max_length=130, pattern=_SOURCES)] = "",
    flag: Annotated[str, Query(max_length=64, pattern=_FLAG)] = "",
    sort: Annotated[Literal["likely", "unlikely", "sources", ""], Query()] = "",
) -> QueueFilter:
    pair = tuple(sorted(sources.replace(" ", "+").split("+", 1))) if sources else None
    return QueueFilter(
        band=band or None,
        sources=(pair[0], pair[1]) if pair else None,
        flag=flag or None,
        sort=sort or "likely",
    )


Filters = Annotated[QueueFilter, Depends(queue_filter)]


def _query(request: Request, f: QueueFilter, **extra: Any) -> str:
    """The query string that keeps the tier and the filters (and ``extra``)."""
    items: dict[str, Any] = {}
    if request.query_params.get("tier"):
        items["tier"] = request.query_params["tier"]
    items.update(
        {k: v for k, v in f.as_dict().items() if v and not (k == "sort" and v == "likely")}
    )
    items.update({k: v for k, v in extra.items() if v is not None})
    return ("?" + urlencode(items)) if items else ""


def _decided(state: Any) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    return [(d.left, d.right) for d in state.link_decisions.all()]


def _queue(
    settings: Any, state: Any, tier: Tier, f: QueueFilter, *, limit: int, offset: int
) -> dict[str, Any]:
    return current_review_queue(
        settings.partnership_dir,
        tier,
        decided=_decided(state),
        limit=limit,
        offset=offset,
        open_release=settings.open_release,
        filters=f,
    )


@router.get("/linkage/review", response_class=HTMLResponse, name="linkage_review")
@router.get("/linkage/review.json", response_class=JSONResponse, name="linkage_review_json")
def review_queue_page(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    tier: ReviewTier,
    user: Reviewer,
    filters: Filters,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page of the queue")] = 1,
    decided: Annotated[Literal["match", "non_match"] | None, Query()] = None,
) -> Response:
    """The review queue: record pairs the model scored in the review band whose records
    ended in different persons, not yet decided, filtered and sorted as asked (most
    likely matches first by default); and the weakest links of the release, for spot
    checks. Pairs are named by opaque keys."""
    data = _queue(settings, state, tier, filters, limit=PAGE, offset=(page - 1) * PAGE)
    data["page"] = str(page)  # a page number, not a count of people
    for pair in data["pairs"]:
        pair["href"] = f"/linkage/review/{pair['key']}" + _query(
            request, filters, pos=pair["position"]
        )
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    context = {
        "data": data,
        "page": page,
        "decided": decided,
        "here": _query(request, filters),
        "sorts": SORTS,
    }
    return templates.TemplateResponse(request, "review.html", context)


def _load_pair(settings: Any, tier: Tier, user: User, pair_key: str) -> ReviewPairView:
    """The pair at ``tier``, its identifying fields withheld unless the user may see
    this pair's records (``data["may_identify"]``)."""
    try:
        view = current_review_pair(
            settings.partnership_dir, tier, pair_key, open_release=settings.open_release
        )
    except PairNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    config = partnership_config(settings.partnership_dir)
    named = agreement_reviewers(config, (view.left[0], view.right[0]))
    may = tier is Tier.OPERATIONAL and (
        user.can(Permission.PERSON_LEVEL) or bool({r.value for r in user.roles} & named)
    )
    if view.data["identifying"] and not may:
        view = withhold_identifying(view)
    view.data["may_identify"] = may
    return view


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
        "user_roles": sorted(r.value for r in user.roles),
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


def _next_key(
    settings: Any, state: Any, tier: Tier, f: QueueFilter, position: int, skip: str
) -> str | None:
    """The key of the pair at ``position`` of the filtered queue, passing over ``skip``."""
    keys = current_review_keys(
        settings.partnership_dir,
        tier,
        decided=_decided(state),
        limit=2,
        offset=max(0, position),
        open_release=settings.open_release,
        filters=f,
    )
    return next((k for k in keys if k != skip), None)


def _pair_response(
    request: Request,
    state: Any,
    user: User,
    tier: Tier,
    session: SessionInfo | None,
    view: ReviewPairView,
    *,
    settings: Any = None,
    filters: QueueFilter | None = None,
    position: int | None = None,
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
    asks = bool(data.get("may_identify")) and purpose is None
    data["purpose"] = (
        {"required": True, "given": None, "from": None}
        if asks
        else {"required": False, "given": purpose, "from": given_by}
    )
    f = filters or QueueFilter()
    pos = position if position is not None else None
    data["queue"] = {"filters": f.as_dict(), "position": None if pos is None else str(pos)}
    if request.url.path.endswith(".json"):
        return JSONResponse(data, headers=NO_STORE, status_code=status_code)
    skip = None
    if settings is not None and pos is not None:
        key = _next_key(settings, state, tier, f, pos + 1, data["key"])
        if key is not None:
            skip = f"/linkage/review/{key}" + _query(request, f, pos=pos + 1)
    context = {
        "data": data,
        "back": "/linkage/review" + _query(request, f),
        "decide_query": _query(request, f, pos=pos),
        "skip": skip,
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


Position = Annotated[int | None, Query(ge=0, le=10_000_000, description="Place in the queue")]


@router.get("/linkage/review/{pair_key}", response_class=HTMLResponse, name="linkage_pair")
@router.get(
    "/linkage/review/{pair_key}.json", response_class=JSONResponse, name="linkage_pair_json"
)
def review_pair_page(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    tier: ReviewTier,
    user: Reviewer,
    session: OptionalSession,
    filters: Filters,
    pair_key: str,
    pos: Position = None,
) -> Response:
    """One record pair side by side: how each field compares, its match weight, sources
    and agencies, and earlier decisions on it. Both records' identifying fields at the
    operational tier to a reviewer who may see them, and only with a purpose (declared
    for review by both records' sharing agreements, or given once a session on this
    page): each such view is written to the audit log as re-identification, with the
    purpose. Sent ``no-store``."""
    view = _load_pair(settings, tier, user, pair_key)
    return _pair_response(
        request, state, user, tier, session, view, settings=settings, filters=filters, position=pos
    )


@router.post(
    "/linkage/review/{pair_key}/purpose",
    response_class=HTMLResponse,
    name="linkage_review_purpose",
)
def give_review_purpose(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    tier: ReviewTier,
    user: Reviewer,
    session: OptionalSession,
    _: CsrfChecked,
    filters: Filters,
    pair_key: str,
    pos: Position = None,
    purpose_choice: Annotated[str, Form(max_length=500)] = "",
    purpose: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Why the reviewer opens identifying fields of pairs (a purpose the records'
    agreements permit, or at least 10 characters typed): remembered in their session,
    for that session only, and logged with each pair they open. Answers with a redirect
    to the pair."""
    view = _load_pair(settings, tier, user, pair_key)
    if not view.data["may_identify"]:
        raise Forbidden(_IDENTIFYING_ONLY)
    back = RedirectResponse(
        f"/linkage/review/{view.data['key']}" + _query(request, filters, pos=pos),
        status_code=303,
        headers=NO_STORE,
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
        return _pair_response(
            request,
            state,
            user,
            tier,
            None,
            view,
            filters=filters,
            position=pos,
            form=form,
            status_code=400,
        )
    assert session is not None  # CsrfChecked refuses a visitor without one
    state.session_purposes.remember(session_token=session.token, kind=REVIEW_PURPOSE, purpose=given)
    return back


@router.post("/linkage/review/{pair_key}", name="linkage_decide")
def decide_pair(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    tier: ReviewTier,
    user: Reviewer,
    _: CsrfChecked,
    filters: Filters,
    pair_key: str,
    decision: Annotated[Literal["match", "non_match"], Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
    then: Annotated[Literal["queue", "next"], Form()] = "queue",
    pos: Position = None,
) -> Response:
    """Record a decision on a pair (match or not a match, with an optional reason) in the
    app state, with who decided; it is written to the audit log and applied by the next
    build. Answers with a redirect to the queue, or with ``then=next`` to the next pair
    of the same filtered queue (the queue when none is left)."""
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
    if then == "next":
        position = pos or 0
        key = _next_key(settings, state, tier, filters, position, pair_key)
        if key is not None:
            return RedirectResponse(
                f"/linkage/review/{key}" + _query(request, filters, pos=position, decided=decision),
                status_code=303,
            )
    query = f"?decided={decision}"
    if request.query_params.get("tier"):
        query += f"&tier={request.query_params['tier']}"
    rest = _query(request, filters).lstrip("?")
    rest = "&".join(p for p in rest.split("&") if p and not p.startswith("tier="))
    return RedirectResponse(
        f"/linkage/review{query}" + (f"&{rest}" if rest else ""), status_code=303
    )
