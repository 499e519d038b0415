"""Administration on the web (issue 16, item 10): users, roles, agencies and unlocks.

- ``/admin/users`` (+ ``.json``): every user with their agency, roles, whether they are
  disabled and their recent failed sign-ins (who is locked out); ``?user=NAME`` opens
  one user's forms above the list; a form adds a user;
- ``/admin/agencies`` (+ ``.json``): the partnership's agencies with their users by role
  and their sources;
- ``POST /admin/users``: add a user (a temporary password is shown once, or none for
  sign-in through the organisation's account);
- ``POST /admin/users/{username}/roles | agency | disable | enable | unlock | password``.

Every route needs ``manage_users`` (administrators); every form is CSRF-checked; every
change is written to the audit log by ``joinedup.access`` with the administrator's name
(``user_created``, ``roles_changed``, ``agency_changed``, ``user_disabled``,
``user_enabled``, ``user_unlocked``, ``password_set``). An administrator cannot disable
themselves or take away their own admin role (someone must be left to undo it).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.access import (
    Permission,
    Role,
    User,
    UserError,
    create_user,
    disable_user,
    enable_user,
    generate_password,
    get_user,
    list_users,
    set_password,
    set_roles,
    unlock_user,
)
from joinedup.access.admin import set_agency, sign_in_failures
from joinedup.config import PartnershipConfig, load_config
from joinedup.views.release import partnership_config
from joinedup.web.deps import CsrfChecked, Require, SettingsDep, StateDep
from joinedup.web.errors import error_response, wants_json
from joinedup.web.templating import templates

router = APIRouter()

Admin = Annotated[User, Depends(Require(Permission.MANAGE_USERS))]

ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.DATA_LEAD: "Data lead",
    Role.ANALYST: "Analyst",
    Role.PANEL_MEMBER: "Panel member",
    Role.BOARD_MEMBER: "Board member",
    Role.COMMUNITY_VIEWER: "Community viewer",
}


def _config(settings: SettingsDep) -> PartnershipConfig:
    """partnership.yaml, read once while it is unchanged (parsing it takes a tenth of a
    second); its own error when there is none."""
    cfg = partnership_config(settings.partnership_dir)
    return cfg if cfg is not None else load_config(settings.partnership_dir, check_files=False)


def _agencies(settings: SettingsDep) -> dict[str, str]:
    return {a.id: a.name for a in _config(settings).agencies}


def _user_row(u: User, agencies: dict[str, str], failures: dict[str, Any]) -> dict[str, Any]:
    f = failures.get(u.username, {})
    return {
        "username": u.username,
        "display_name": u.display_name,
        "agency": u.agency,
        "agency_name": agencies.get(u.agency, u.agency),
        "roles": sorted(r.value for r in u.roles),
        "role_labels": [ROLE_LABELS[r] for r in sorted(u.roles)],
        "disabled": u.disabled,
        "password": u.has_password,
        "organisation_account": u.oidc_bound,
        "created": u.created_at.strftime("%-d %B %Y"),
        "failed_sign_ins": str(f.get("failures", 0)),  # attempts, not people
        "may_be_locked": bool(f.get("may_be_locked")),
    }


def _users_data(request: Request, settings: SettingsDep, state: StateDep) -> dict[str, Any]:
    agencies = _agencies(settings)
    users = list_users(state)
    # the sign-in settings the lockout itself uses (read once by the app)
    failures = sign_in_failures(state, users, request.app.state.governance.auth)
    return {
        "users": [_user_row(u, agencies, failures) for u in users],
        "agencies": [{"id": k, "name": v} for k, v in agencies.items()],
        "roles": [{"value": r.value, "label": ROLE_LABELS[r]} for r in Role],
    }


def _page(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    *,
    chosen: str | None = None,
    error: str | None = None,
    done: str | None = None,
    new_password: str | None = None,
    status_code: int = 200,
) -> Response:
    data = _users_data(request, settings, state)
    data["chosen"] = next((u for u in data["users"] if u["username"] == chosen), None)
    if wants_json(request) or request.url.path.endswith(".json"):
        body = {**data, "error": error, "done": done}
        return JSONResponse(body, status_code=status_code)
    context = {"data": data, "error": error, "done": done, "new_password": new_password}
    response = templates.TemplateResponse(
        request, "admin_users.html", context, status_code=status_code
    )
    if new_password is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/users", response_class=HTMLResponse, name="admin_users")
@router.get("/admin/users.json", response_class=JSONResponse, name="admin_users_json")
def users_page(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    admin: Admin,
    user: Annotated[str | None, Query(max_length=128, description="A user to manage")] = None,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Every user, with the forms to add one and, for ``?user=``, to change one."""
    if user is not None and get_user(state, user) is None:
        return error_response(
            request, 404, "There is no such user. Choose one from the list of users."
        )
    return _page(request, settings, state, chosen=user, done=DONE.get(done or ""))


#: What a change did, by the code its redirect carries (never text from the address).
DONE = {
    "roles": "Roles changed.",
    "agency": "Agency changed; their sessions have ended.",
    "disabled": "Disabled; their sessions have ended.",
    "enabled": "Enabled: they can sign in again.",
    "unlocked": "Unlocked: failed sign-ins no longer count against them.",
}


def _back(username: str, done: str) -> RedirectResponse:
    return RedirectResponse(
        f"/admin/users?user={quote(username)}&done={quote(done)}", status_code=303
    )


def _refuse(request: Request, settings: Any, state: Any, username: str, message: str) -> Response:
    return _page(request, settings, state, chosen=username, error=message, status_code=422)


@router.post("/admin/users", response_class=HTMLResponse, name="admin_add_user")
def add_user(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    admin: Admin,
    _: CsrfChecked,
    username: Annotated[str, Form(max_length=128)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    agency: Annotated[str, Form(max_length=64)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    password: Annotated[str, Form(max_length=16)] = "generate",
) -> Response:
    """Add a user; with ``password=generate`` a temporary password is shown once."""
    temp = generate_password() if password == "generate" else None
    try:
        created = create_user(
            state,
            username=username,
            display_name=display_name,
            agency=agency,
            roles=roles or [],
            password=temp,
            actor=admin.username,
            agencies=_agencies(settings),
        )
    except UserError as exc:
        return _page(request, settings, state, error=str(exc), status_code=422)
    return _page(
        request,
        settings,
        state,
        chosen=created.username,
        done=f"Added {created.display_name}.",
        new_password=temp,
    )


def _target(state: Any, username: str) -> User | None:
    return get_user(state, username)


@router.post("/admin/users/{username}/roles", name="admin_set_roles")
def change_roles(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    admin: Admin,
    _: CsrfChecked,
    username: str,
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Set a user's roles (at least one)."""
    target = _target(state, username)
    if target is None:
        return error_response(request, 404, "There is no such user.")
    wanted = set(roles or [])
    if target.username == admin.username and Role.ADMIN.value not in wanted:
        return _refuse(
            request, settings, state, username, "You cannot take away your own admin role."
        )
    try:
        set_roles(state, username=username, roles=sorted(wanted), actor=admin.username)
    except UserError as exc:
        return _refuse(request, settings, state, username, str(exc))
    return _back(target.username, "roles")


@router.post("/admin/users/{username}/agency", name="admin_set_agency")
def change_agency(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    admin: Admin,
    _: CsrfChecked,
    username: str,
    agency: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Move a user to another agency (their sessions end)."""
    target = _target(state, username)
    if target is None:
        return error_response(request, 404, "There is no such user.")
    try:
        set_agency(
            state,
            username=username,
            agency=agency,
            actor=admin.username,
            agencies=_agencies(settings),
        )
    except UserError as exc:
        return _refuse(request, settings, state, username, str(exc))
    return _back(target.username, "agency")


@router.post("/admin/users/{username}/{action}", name="admin_user_action")
def user_action(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    admin: Admin,
    _: CsrfChecked,
    username: str,
    action: str,
) -> Response:
    """Disable, enable, unlock a user, or give them a new temporary password (shown once)."""
    target = _target(state, username)
    if target is None or action not in ("disable", "enable", "unlock", "password"):
        return error_response(request, 404, "There is no such user or action.")
    if action == "disable":
        if target.username == admin.username:
            return _refuse(request, settings, state, username, "You cannot disable yourself.")
        disable_user(state, username=username, actor=admin.username)
        return _back(target.username, "disabled")
    if action == "enable":
        enable_user(state, username=username, actor=admin.username)
        return _back(target.username, "enabled")
    if action == "unlock":
        unlock_user(state, username=username, actor=admin.username)
        return _back(target.username, "unlocked")
    temp = generate_password()
    set_password(state, username=username, password=temp, actor=admin.username)
    return _page(
        request,
        settings,
        state,
        chosen=target.username,
        done="New temporary password set; their sessions have ended.",
        new_password=temp,
    )


@router.get("/admin/agencies", response_class=HTMLResponse, name="admin_agencies")
@router.get("/admin/agencies.json", response_class=JSONResponse, name="admin_agencies_json")
def agencies_page(
    request: Request, settings: SettingsDep, state: StateDep, admin: Admin
) -> Response:
    """The partnership's agencies: their users by role, and their sources."""
    cfg = _config(settings)
    users = list_users(state)
    rows = []
    for a in cfg.agencies:
        members = [u for u in users if u.agency == a.id]
        rows.append(
            {
                "id": a.id,
                "name": a.name,
                "type": a.type,
                "users": [
                    {
                        "username": u.username,
                        "display_name": u.display_name,
                        "roles": [ROLE_LABELS[r] for r in sorted(u.roles)],
                        "disabled": u.disabled,
                    }
                    for u in members
                ],
                "sources": [s.dataset for s in cfg.sources if s.agency == a.id],
            }
        )
    data = {"agencies": rows}
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, "admin_agencies.html", {"data": data})
