"""Signing in and out: ``/sign-in`` (form and ``.json`` twin), ``/sign-out``, the
OpenID Connect round trip under ``/auth/oidc/``, and ``/account`` (with ``.json``).

Pages work without JavaScript. Forms carry a CSRF token: before sign-in a random value
also set in a short-lived cookie (double submit), after sign-in the session's own.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.access import (
    SESSION_COOKIE,
    Forbidden,
    SignInError,
    User,
    authenticate,
    begin_oidc_sign_in,
    complete_oidc_sign_in,
    end_session,
    start_session,
)
from joinedup.web.deps import (
    CurrentUser,
    OptionalSession,
    client_of,
    get_governance,
    over_tls,
    safe_next,
)
from joinedup.web.templating import templates

router = APIRouter()

CSRF_COOKIE = "joinedup_csrf"
_THROTTLED = {"rate_limited", "locked"}


def _client(request: Request) -> str:
    return client_of(request)


def _secure(request: Request) -> bool:
    return over_tls(request)


def _signed_in(request: Request, user: User, method: str, next_path: str) -> Response:
    gov = get_governance(request)
    info = start_session(gov.state, user, method=method, client=_client(request))
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        info.token,
        max_age=gov.auth.session_absolute_hours * 3600,
        httponly=True,
        secure=_secure(request),
        samesite="lax",
        path="/",
    )
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


def _form(
    request: Request,
    *,
    next_path: str,
    error: str | None = None,
    notice: str | None = None,
    username: str = "",
    status: int = 200,
) -> Response:
    gov = get_governance(request)
    token = secrets.token_urlsafe(24)
    oidc = gov.auth.oidc
    context = {
        "error": error,
        "notice": notice,
        "username": username,
        "next": next_path,
        "csrf_token": token,
        "local": gov.auth.local_accounts,
        "oidc": oidc,
        "oidc_start": f"/auth/oidc/start?next={quote(next_path, safe='')}",
    }
    response = templates.TemplateResponse(request, "sign_in.html", context, status_code=status)
    response.set_cookie(
        CSRF_COOKIE, token, max_age=3600, httponly=True, secure=_secure(request), samesite="lax"
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse, name="sign_in")
def sign_in_page(
    request: Request,
    session: OptionalSession,
    next: Annotated[str | None, Query()] = None,
) -> Response:
    """The sign-in form; a signed-in visitor goes straight on."""
    next_path = safe_next(next)
    if session is not None:
        return RedirectResponse(next_path, status_code=303)
    return _form(request, next_path=next_path)


@router.get("/sign-in.json", response_class=JSONResponse, name="sign_in_json")
def sign_in_json(request: Request) -> dict[str, Any]:
    """How one can sign in here (the JSON twin of the form)."""
    auth = get_governance(request).auth
    methods = (["password"] if auth.local_accounts else []) + (["oidc"] if auth.oidc else [])
    return {
        "methods": methods,
        "oidc": {"label": auth.oidc.label, "start": "/auth/oidc/start"} if auth.oidc else None,
        "password": {"post": "/sign-in", "fields": ["username", "password", "csrf_token"]}
        if auth.local_accounts
        else None,
    }


@router.post("/sign-in", response_class=HTMLResponse, name="sign_in_post")
def sign_in_post(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    next_path = safe_next(next)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        return _form(
            request,
            next_path=next_path,
            error="The sign-in form had expired. Enter your details again.",
            username=username,
            status=400,
        )
    gov = get_governance(request)
    try:
        user = authenticate(
            gov.state, gov.auth, username=username, password=password, client=_client(request)
        )
    except SignInError as exc:
        status = 429 if exc.reason in _THROTTLED else 401
        return _form(request, next_path=next_path, error=str(exc), username="", status=status)
    return _signed_in(request, user, "password", next_path)


@router.post("/sign-out", name="sign_out")
def sign_out(
    request: Request,
    session: OptionalSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """End the session (the form carries the session's CSRF token)."""
    if session is not None:
        if not hmac.compare_digest(session.csrf_token, csrf_token):
            raise Forbidden("The sign-out form had expired; go back, reload and try again.")
        end_session(get_governance(request).state, session.token)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _redirect_uri(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@router.get("/auth/oidc/start", name="oidc_start")
def oidc_start(request: Request, next: Annotated[str | None, Query()] = None) -> Response:
    gov = get_governance(request)
    if gov.auth.oidc is None:
        return _form(
            request,
            next_path=safe_next(next),
            error="Signing in with an organisation account is not set up here.",
            status=404,
        )
    try:
        url = begin_oidc_sign_in(
            gov.state, gov.auth.oidc, redirect_uri=_redirect_uri(request), next_path=safe_next(next)
        )
    except SignInError as exc:
        return _form(request, next_path=safe_next(next), error=str(exc), status=502)
    return RedirectResponse(url, status_code=303)


@router.get("/auth/oidc/callback", name="oidc_callback")
def oidc_callback(
    request: Request,
    code: Annotated[str | None, Query()] = None,
    state: Annotated[str | None, Query()] = None,
    error: Annotated[str | None, Query()] = None,
) -> Response:
    gov = get_governance(request)
    if gov.auth.oidc is None:
        return _form(request, next_path="/", error="OpenID Connect is not set up.", status=404)
    if error or not code or not state:
        return _form(
            request,
            next_path="/",
            error="Your organisation's sign-in was cancelled or refused. Try again.",
            status=401,
        )
    try:
        user, next_path = complete_oidc_sign_in(
            gov.state,
            gov.auth.oidc,
            redirect_uri=_redirect_uri(request),
            code=code,
            flow_state=state,
            client=_client(request),
        )
    except SignInError as exc:
        return _form(request, next_path="/", error=str(exc), status=401)
    return _signed_in(request, user, "oidc", next_path)


def _account(user: User, method: str) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "agency": user.agency,
        "roles": sorted(user.roles),
        "tiers": [t.value for t in user.tiers],
        "permissions": sorted(user.permissions),
        "signed_in_with": method,
    }


@router.get("/account", response_class=HTMLResponse, name="account")
@router.get("/account.json", response_class=JSONResponse, name="account_json")
def account(request: Request, user: CurrentUser, session: OptionalSession) -> Response:
    """Who you are signed in as, your roles and tiers."""
    data = _account(user, session.method if session else "")
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    csrf = session.csrf_token if session else ""
    context = {"data": data, "csrf_token": csrf}
    return templates.TemplateResponse(request, "account.html", context)
