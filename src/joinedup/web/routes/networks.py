"""Networks: groups of children and persons of concern, pseudonymised (issue 7).

- ``/networks`` (+ ``.json``): every network group with its name in words, its members by
  role (protected), density, places, exploitation types and agencies; ``?q=`` searches
  the groups by name, id, type or (operational tier, person-level users) recorded group
  name, and a pseudonymous person id finds that person's group (operational tier with
  the person-level permission only; the look-up is written to the audit log). At the
  community tier the page says that networks are not shown there, and shows no figures.
- ``/networks/{network_id}`` (+ ``.json``): one group. At the operational tier, for a
  user with the person-level permission, the network picture (members by pseudonymous
  id, drawn on the server) with tables of members and connections; each member shown is
  written to the audit log before the page is returned. At the strategic tier the
  group's protected summary only. Refused (403) at the community tier.

Figures come only from ``joinedup.views.networks``; the picture is
``joinedup.web.graph``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.access import Permission, User, audit_person_views
from joinedup.state import State
from joinedup.views import NetworkNotFound, NetworkNotShown, Tier, current_network, current_networks
from joinedup.views.networks import match_groups, network_of_person
from joinedup.web.deps import CurrentUser, SettingsDep, StateDep, TierDep, WebSettings
from joinedup.web.errors import error_response
from joinedup.web.graph import NetworkPicture, network_picture
from joinedup.web.templating import templates

router = APIRouter()

NetworkId = Annotated[
    str,
    PathParam(
        pattern=r"^N[0-9]{3,6}$",
        description="A network group id of the current release (N001, N002, ...)",
    ),
]


SearchQuery = Annotated[
    str | None,
    Query(
        max_length=80,
        description="Words of a group's name or id (N003), or a pseudonymous person id",
    ),
]

#: A pseudonymous person id (P and 16 hex digits, as the build makes them).
PERSON_ID = re.compile(r"^P[0-9a-f]{16}$")


def _tier_query(request: Request) -> str:
    tier = request.query_params.get("tier")
    return f"?tier={tier}" if tier in {t.value for t in Tier} else ""


@router.get("/networks", response_class=HTMLResponse, name="networks")
@router.get("/networks.json", response_class=JSONResponse, name="networks_json")
def networks_page(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    user: CurrentUser,
    tier: TierDep,
    q: SearchQuery = None,
) -> Response:
    """Network groups of the current release: persons connected through shared concern
    events, places and groups recorded by a source, split into communities. One row a
    group: its name in words, members by role (counts protected for the visitor's tier),
    density, places, exploitation types and agencies. ``?q=`` keeps the groups whose
    name, id or types hold every word; a pseudonymous person id finds that person's group
    (operational tier, person-level users only; audited). Not shown at the community
    tier."""
    person_level = tier is Tier.OPERATIONAL and user.can(Permission.PERSON_LEVEL)
    data = current_networks(
        settings.partnership_dir,
        tier,
        recorded_names=person_level,
        open_release=settings.open_release,
    )
    query = (q or "").strip()
    search: dict[str, Any] | None = None
    if query and data["available"]:
        search = _search(settings, state, user, tier, data, query, person_level)
        data["search"] = search
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    context = {
        "data": data,
        "tier_query": _tier_query(request),
        "tier_param": request.query_params.get("tier"),
        "query": query,
        "search": search,
        "groups": data["groups"] if search is None else search["groups"],
        "person_level": person_level,
    }
    return templates.TemplateResponse(request, "networks.html", context)


def _search(
    settings: WebSettings,
    state: State,
    user: User,
    tier: Tier,
    data: dict[str, Any],
    query: str,
    person_level: bool,
) -> dict[str, Any]:
    """The groups a search finds: by person id (audited) or by the words of a name."""
    if PERSON_ID.match(query.strip()):
        if not person_level:
            return {
                "query": query,
                "kind": "person",
                "groups": [],
                "note": "Finding a person's network group needs the operational tier and "
                "the panel member's permission to see person-level data. Search by the "
                "words of a group's name instead.",
            }
        found = network_of_person(
            settings.partnership_dir, query, tier, open_release=settings.open_release
        )
        if found is not None:
            # Learning which group a person is in is a view of that person: recorded.
            audit_person_views(
                state,
                user=user,
                people=[(found["person_id"], found["agencies"])],
                page="/networks",
            )
        groups = [
            g
            for g in data["groups"]
            if found is not None and g["network_id"] == found["network_id"]
        ]
        return {
            "query": query,
            "kind": "person",
            "groups": groups,
            "note": None
            if groups
            else "That person is not a member of any network group in this release.",
        }
    groups = match_groups(data["groups"], query)
    return {
        "query": query,
        "kind": "name",
        "groups": groups,
        "note": None if groups else "No network group's name or id holds those words.",
    }


def _picture(data: dict[str, Any]) -> NetworkPicture | None:
    members = data.get("members")
    if not members:
        return None
    return network_picture(
        f"Network group {data['network_id']}: members and their connections",
        [(m["person_id"], m["role"]) for m in members],
        [(e["person_a"], e["person_b"], e["weight"]) for e in data["edges"] or []],
        picture_id="network-picture",
        labels={m["person_id"]: m["label"] for m in members},
        anchor_prefix="member-",
    )


@router.get("/networks/{network_id}", response_class=HTMLResponse, name="network")
@router.get("/networks/{network_id}.json", response_class=JSONResponse, name="network_json")
def network_page(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    user: CurrentUser,
    tier: TierDep,
    network_id: NetworkId,
) -> Response:
    """One network group. Operational tier with the person-level permission: the network
    picture and its members (pseudonymous ids, role, connections, agencies) and
    connections, each member's view recorded in the audit log. Strategic tier: the
    group's protected summary only. Not available at the community tier."""
    person_level = tier is Tier.OPERATIONAL and user.can(Permission.PERSON_LEVEL)
    try:
        data = current_network(
            settings.partnership_dir,
            network_id,
            tier,
            person_level=person_level,
            open_release=settings.open_release,
        )
    except NetworkNotShown as exc:
        return error_response(request, 403, str(exc))
    except NetworkNotFound as exc:
        return error_response(request, 404, str(exc))
    if person_level:
        page = f"/networks/{network_id}"
        # Every member shown is a view of that person: recorded before the page leaves.
        audit_person_views(
            state,
            user=user,
            people=[(m["person_id"], m["agencies"]) for m in data["members"]],
            page=page,
        )
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    context = {
        "data": data,
        "picture": _picture(data),
        "tier_query": _tier_query(request),
        "people_links": person_level,
    }
    return templates.TemplateResponse(request, "network.html", context)
