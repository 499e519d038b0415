"""Cohorts and person timelines at the operational tier, audited (issue 7).

- ``/cohorts``: the cohorts a panel works with, with their sizes;
- ``/cohorts/{cohort_id}``: a cohort's members (pseudonymous ids, non-identifying facts);
  each view is written to the audit log (``view_cohort``);
- ``/people/{person_id}``: one person's records across agencies on one timeline; each
  view is written to the audit log (``view_person``) before the page is returned;
- ``POST /people/{person_id}/reidentify``: the identifying fields each agency holds, for
  a panel member with a typed purpose (``joinedup.access.reidentify`` logs it).

Every page here is for users with the person-level permission viewing at the
operational tier; anyone else gets a 403 page saying so. Person-level responses are sent
with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.access import (
    MIN_PURPOSE_LENGTH,
    Forbidden,
    Permission,
    User,
    audit_person_view,
    reidentify,
)
from joinedup.views import (
    Tier,
    cohort_members,
    current_cohorts,
    person_timeline,
    reidentification_view,
)
from joinedup.web.deps import (
    CsrfChecked,
    CurrentUser,
    Require,
    SettingsDep,
    StateDep,
    get_tier,
)
from joinedup.web.errors import error_response
from joinedup.web.templating import templates
from joinedup.web.timeline import timeline_chart

router = APIRouter()

#: The refusal every page here gives to other roles and tiers.
PERSON_LEVEL_ONLY = (
    "Cohorts and person timelines show pseudonymised person-level data, so they are for "
    "panel members viewing the operational tier only. If you sit on an exploitation "
    "panel, ask your partnership's joinedup administrator for the panel member role."
)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PERSON_ID = re.compile(r"^P[0-9a-f]{16}$")  # the shape of a pseudonymous person id

PersonId = Annotated[str, PathParam(max_length=64, description="Pseudonymous person id")]
TierQuery = Annotated[
    Tier | None, Query(description="A tier of yours to view the page at (operational only)")
]


class _PersonLevel(Require):
    """``Require(PERSON_LEVEL)`` whose refusal explains who the pages are for."""

    def __call__(self, user: CurrentUser) -> User:
        if not self.allows(user):
            raise Forbidden(PERSON_LEVEL_ONLY)
        return user


_person_level = _PersonLevel(Permission.PERSON_LEVEL)


def operational_user(
    user: Annotated[User, Depends(_person_level)],
    tier: TierQuery = None,
) -> User:
    """The signed-in user, if they hold the person-level permission and view the
    operational tier (their default, or ``?tier=operational``); otherwise 403."""
    if get_tier(user, tier) is not Tier.OPERATIONAL:
        raise Forbidden(
            PERSON_LEVEL_ONLY + " You are viewing a less detailed tier: open the page at the "
            "operational tier (?tier=operational)."
        )
    return user


PanelMember = Annotated[User, Depends(operational_user)]


def _respond(request: Request, template: str, data: dict[str, Any], **extra: Any) -> Response:
    if request.url.path.endswith(".json"):
        return JSONResponse(data, headers=NO_STORE)
    response = templates.TemplateResponse(request, template, {"data": data, **extra})
    response.headers.update(NO_STORE)
    return response


def _not_found(request: Request, detail: str, title: str) -> Response:
    response = error_response(request, 404, detail, title=title)
    response.headers.update(NO_STORE)
    return response


@router.get("/cohorts", response_class=HTMLResponse, name="cohorts")
@router.get("/cohorts.json", response_class=JSONResponse, name="cohorts_json")
def cohorts(request: Request, settings: SettingsDep, user: PanelMember) -> Response:
    """The cohorts a panel works with and their sizes: standing cohorts (children with
    concerns recorded by several agencies, flagged records, children turning 18) and the
    people each person-based question counted. Operational tier, panel members only."""
    data = current_cohorts(
        settings.partnership_dir, tier=Tier.OPERATIONAL, open_release=settings.open_release
    )
    return _respond(request, "cohorts.html", data)


@router.get("/cohorts/{cohort_id}", response_class=HTMLResponse, name="cohort")
@router.get("/cohorts/{cohort_id}.json", response_class=JSONResponse, name="cohort_json")
def cohort(
    request: Request,
    cohort_id: Annotated[str, PathParam(max_length=80, description="Cohort id")],
    settings: SettingsDep,
    state: StateDep,
    user: PanelMember,
) -> Response:
    """The members of one cohort (pseudonymous person ids) with their age band, the
    agencies that know them, concern types and the month of their latest record, each
    linking to their timeline. Every view is recorded in the audit log."""
    data = cohort_members(
        settings.partnership_dir,
        cohort_id,
        tier=Tier.OPERATIONAL,
        open_release=settings.open_release,
    )
    if data is None:
        return _not_found(
            request,
            "There is no cohort with this id in the current release. Choose one from the "
            "list of cohorts.",
            "Cohort not found",
        )
    state.audit.append(
        actor=user.username,
        action="view_cohort",
        target=cohort_id,
        detail={
            "page": "cohort",
            "members": len(data["members"]),
            "release_id": data["release_id"],
            "user_agency": user.agency,
        },
        agencies=data["agencies"],
    )
    return _respond(request, "cohort.html", data)


def _page_context(data: dict[str, Any]) -> dict[str, Any]:
    agencies = [a["name"] for a in data["agencies"]]
    chart = timeline_chart(
        f"Timeline of person {data['person_id']} across agencies",
        data["events"],
        agencies,
        chart_id="person-timeline",
    )
    return {"chart": chart}


@router.get("/people/{person_id}", response_class=HTMLResponse, name="person")
@router.get("/people/{person_id}.json", response_class=JSONResponse, name="person_json")
def person(
    request: Request,
    person_id: PersonId,
    settings: SettingsDep,
    state: StateDep,
    user: PanelMember,
) -> Response:
    """One person's records across agencies on one timeline: events in date order with
    agency, dataset, event type, exploitation types, role and place type and area; the
    agencies that know them; flags on their records; data quality hints. No names or
    other agencies' identifiers. Every view is recorded in the audit log first."""
    data = person_timeline(
        settings.partnership_dir,
        person_id,
        tier=Tier.OPERATIONAL,
        viewer_agency=user.agency,
        open_release=settings.open_release,
    )
    if data is None:
        # The attempt is logged too, but never with what was typed unless it has the
        # shape of a pseudonymous id (an identifier pasted into the address stays out).
        state.audit.append(
            actor=user.username,
            action="view_person_not_found",
            target=person_id if _PERSON_ID.match(person_id) else None,
            detail={"page": "timeline", "user_agency": user.agency},
        )
        return _not_found(
            request,
            "No person with this id is in the current release. Person ids can change when "
            "records are linked differently in a new release: find the person again from "
            "a cohort.",
            "Person not found",
        )
    audit_person_view(
        state,
        user=user,
        person_id=person_id,
        page="timeline",
        agencies=[a["agency"] for a in data["agencies"]],
    )
    return _respond(
        request,
        "person.html",
        data,
        can_reidentify=user.can(Permission.REIDENTIFY),
        min_purpose=MIN_PURPOSE_LENGTH,
        purpose="",
        error=None,
        **_page_context(data),
    )


@router.post("/people/{person_id}/reidentify", response_class=HTMLResponse, name="reidentify")
def reidentify_person(
    request: Request,
    person_id: PersonId,
    settings: SettingsDep,
    state: StateDep,
    user: CurrentUser,
    _: CsrfChecked,
    purpose: Annotated[str, Form(max_length=1000)] = "",
    tier: TierQuery = None,
) -> Response:
    """The identifying fields every agency holds for one person, for a panel member who
    types why they need them (at least 10 characters). Logged with the purpose."""
    if not user.can(Permission.REIDENTIFY):
        if _PERSON_ID.match(person_id):
            # joinedup.access.reidentify refuses a user without the role and logs it
            reidentify(
                state,
                settings.partnership_dir,
                user=user,
                person_id=person_id,
                purpose=purpose,
                open_release=settings.open_release,
            )
        raise Forbidden(PERSON_LEVEL_ONLY)
    operational_user(_person_level(user), tier)
    timeline = person_timeline(
        settings.partnership_dir,
        person_id,
        tier=Tier.OPERATIONAL,
        open_release=settings.open_release,
    )
    if timeline is None:
        return _not_found(
            request,
            "No person with this id is in the current release, so there is no one to re-identify.",
            "Person not found",
        )
    context: dict[str, Any] = {
        "person_id": person_id,
        "min_purpose": MIN_PURPOSE_LENGTH,
        "purpose": purpose,
        "error": None,
        "agencies": None,
    }
    if len(purpose.strip()) < MIN_PURPOSE_LENGTH:
        context["error"] = (
            "Enter why you need to know who this person is"
            if not purpose.strip()
            else f"The purpose must be at least {MIN_PURPOSE_LENGTH} characters"
        )
        response = templates.TemplateResponse(
            request, "reidentify.html", {"data": context}, status_code=400
        )
        response.headers.update(NO_STORE)
        return response
    by_agency = reidentify(
        state,
        settings.partnership_dir,
        user=user,
        person_id=person_id,
        purpose=purpose,
        open_release=settings.open_release,
    )
    context["agencies"] = reidentification_view(by_agency, settings.partnership_dir)
    context["purpose"] = purpose.strip()
    response = templates.TemplateResponse(request, "reidentify.html", {"data": context})
    response.headers.update(NO_STORE)
    return response
