"""Setting panels up on the web (issue 18 follow-up): ``/panels/setup`` creates a panel
and adds its members.

An administrator creates any panel and names its chair (a user with the panel member
role) and adds members to any panel; a panel member creates a panel they chair and adds
members to the panels they chair. Both are audited (``panel_create``, ``panel_member``).
The page shows panels' names, agencies and members only: never a meeting, pack or action
(an administrator still cannot open those: they are for the panel's own members).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.access import Forbidden, Permission, User
from joinedup.access.panel_access import add_member_as, create_panel_as, managed_panels
from joinedup.config import load_config
from joinedup.errors import JoinedupError
from joinedup.state import State
from joinedup.web.deps import CsrfChecked, Require, SettingsDep, StateDep
from joinedup.web.templating import templates

router = APIRouter()

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
SetUpUser = Annotated[User, Depends(Require(Permission.MANAGE_USERS, Permission.PANELS))]


def _page(
    request: Request,
    state: State,
    settings: Any,
    user: User,
    *,
    error: str | None = None,
    status: int = 200,
    done: str | None = None,
) -> Response:
    cfg = load_config(settings.partnership_dir, check_files=False)
    names = {a.id: a.name for a in cfg.agencies}
    data: dict[str, Any] = {
        "admin": user.can(Permission.MANAGE_USERS),
        "agencies": [{"id": a.id, "name": a.name} for a in cfg.agencies],
        "agreements": [
            {
                "key": a.key,
                "title": a.title,
                # words, not a number: the role matrix reads small numbers as counts
                "kept": f"kept {a.retention_years} years" if a.retention_years else "",
            }
            for a in cfg.sharing_agreements
        ],
        "panels": [
            {
                "id": str(p.id),
                "name": p.name,
                "agencies": [names.get(a, a) for a in p.agencies],
                "members": [
                    {"username": u, "agency": names.get(ag, ag), "role": role}
                    for u, (ag, role) in sorted(p.members.items())
                ],
                "href": f"/panels/{p.id}",
            }
            for p in managed_panels(state, user)
        ],
    }
    if request.url.path.endswith(".json"):
        return JSONResponse(data, headers=NO_STORE, status_code=status)
    response = templates.TemplateResponse(
        request,
        "panel_setup.html",
        {"data": data, "error": error, "done": done},
        status_code=status,
    )
    response.headers.update(NO_STORE)
    return response


@router.get("/panels/setup", response_class=HTMLResponse, name="panel_setup")
@router.get("/panels/setup.json", response_class=JSONResponse, name="panel_setup_json")
def setup(
    request: Request, state: StateDep, settings: SettingsDep, user: SetUpUser, done: str = ""
) -> Response:
    """Create a panel; add members to the panels you may set up."""
    return _page(request, state, settings, user, done=done[:200] or None)


def _retention_days(settings: Any, agreement: str) -> int:
    cfg = load_config(settings.partnership_dir, check_files=False)
    found = next((a for a in cfg.sharing_agreements if a.key == agreement), None)
    if found is None:
        raise JoinedupError("Choose the sharing agreement the panel works under.")
    if found.retention_years is None:
        raise JoinedupError(
            f"Sharing agreement '{found.key}' gives no retention_years: add it in "
            "partnership.yaml (a panel's meetings are kept for the agreement's retention)."
        )
    return int(found.retention_years) * 365


@router.post("/panels/setup", response_class=HTMLResponse, name="panel_create")
async def create(
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    user: SetUpUser,
    _: CsrfChecked,
    name: Annotated[str, Form(max_length=200)] = "",
    agreement: Annotated[str, Form(max_length=64)] = "",
    cadence_days: Annotated[str, Form(max_length=4)] = "28",
    chair: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    form = await request.form()
    agencies = [str(v) for v in form.getlist("agency")][:50]
    try:
        cadence = int(cadence_days.strip()) if cadence_days.strip().isdigit() else -1
        panel = create_panel_as(
            state,
            user,
            name=name,
            agencies=agencies,
            known_agencies=[
                a.id for a in load_config(settings.partnership_dir, check_files=False).agencies
            ],
            agreement=agreement,
            retention_days=_retention_days(settings, agreement),
            cadence_days=cadence,
            chair=chair or user.username,
        )
    except Forbidden:
        raise
    except JoinedupError as exc:
        return _page(request, state, settings, user, error=str(exc), status=400)
    return RedirectResponse(
        f"/panels/setup?done=Panel+{panel.id}+created", status_code=303, headers=NO_STORE
    )


@router.post("/panels/setup/{panel_id}/members", response_class=HTMLResponse, name="panel_add")
def add_member(
    request: Request,
    panel_id: int,
    state: StateDep,
    settings: SettingsDep,
    user: SetUpUser,
    _: CsrfChecked,
    username: Annotated[str, Form(max_length=128)] = "",
    as_chair: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        add_member_as(state, user, panel_id=panel_id, username=username, as_chair=as_chair == "yes")
    except Forbidden:
        raise
    except JoinedupError as exc:
        return _page(request, state, settings, user, error=str(exc), status=400)
    return RedirectResponse(
        f"/panels/setup?done=Member+added+to+panel+{panel_id}", status_code=303, headers=NO_STORE
    )
