"""Dependencies shared by the routes: settings, the app state, the signed-in user, the
tier they are viewing, and permission checks.

Authorisation lives here and nowhere else (STYLE.md, "Web"):

- ``CurrentUser``: the signed-in user. A visitor who is not signed in gets a redirect to
  the sign-in page (HTML) or 401 (JSON); their session is checked on every request
  (idle and absolute timeouts, disabled users).
- ``TierDep``: the tier the page is shown at: the most detailed the user's roles allow,
  or a less detailed one of theirs chosen with ``?tier=``; any other tier is a 403.
- ``Require(*permissions)``: a dependency that refuses (403) a user without one of them. The role
  matrix test reads these from the routes, so every new route is covered.
- Routes that anyone may see are listed in :data:`PUBLIC_PATHS`.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from joinedup.access import (
    SESSION_COOKIE,
    Forbidden,
    Permission,
    Role,
    SessionInfo,
    User,
    auth_config,
    permissions_of,
    resolve_session,
)
from joinedup.access.settings import web_config
from joinedup.config.model import AuthConfig, WebConfig
from joinedup.errors import ConfigError
from joinedup.state import State, open_state
from joinedup.views import ReleaseLike, Tier
from joinedup.web.errors import error_body, error_response, wants_json
from joinedup.web.middleware import Networks, client_address, is_https, parse_networks

__all__ = [
    "PUBLIC_PATHS",
    "CsrfChecked",
    "CurrentUser",
    "Governance",
    "NotSignedIn",
    "OptionalSession",
    "Require",
    "SettingsDep",
    "StateDep",
    "TierDep",
    "WebSettings",
    "check_csrf",
    "client_of",
    "get_current_user",
    "get_governance",
    "get_session",
    "get_settings",
    "get_state",
    "get_tier",
    "install_auth",
    "over_tls",
    "safe_next",
]

#: Paths anyone may open without signing in (the matrix test checks the rest refuse).
PUBLIC_PATHS = frozenset(
    {"/healthz", "/sign-in", "/sign-in.json", "/auth/oidc/start", "/auth/oidc/callback"}
)


@dataclass(frozen=True)
class WebSettings:
    partnership_dir: Path
    open_release: Callable[[Path], ReleaseLike] | None = None


@dataclass
class Governance:
    """The app state and sign-in settings of the app, opened on first use."""

    partnership_dir: Path
    state_url: str | None = None
    _state: State | None = None
    _auth: AuthConfig | None = None
    _web: WebConfig | None = None
    _trusted: Networks | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def state(self) -> State:
        with self._lock:
            if self._state is None:
                self._state = open_state(self.partnership_dir, url=self.state_url)
            return self._state

    @property
    def opened(self) -> bool:
        """Whether the app state has been opened (without opening it)."""
        return self._state is not None

    @property
    def auth(self) -> AuthConfig:
        if self._auth is None:
            self._auth = auth_config(self.partnership_dir)
        return self._auth

    @property
    def web(self) -> WebConfig:
        """``web:`` of partnership.yaml; its defaults (no proxy trusted) if it cannot be
        read, so a mistake there never loosens anything."""
        if self._web is None:
            try:
                self._web = web_config(self.partnership_dir)
            except ConfigError as exc:
                log.error("The web section of partnership.yaml is not valid: %s", exc)
                self._web = WebConfig()
        return self._web

    @property
    def trusted_proxies(self) -> Networks:
        if self._trusted is None:
            self._trusted = parse_networks(self.web.trusted_proxies)
        return self._trusted

    def close(self) -> None:
        with self._lock:
            if self._state is not None:
                self._state.close()
                self._state = None


log = logging.getLogger(__name__)


def client_of(request: Request) -> str:
    """The visitor's address (``X-Forwarded-For`` believed only from a trusted proxy)."""
    return client_address(request.scope, get_governance(request).trusted_proxies)


def over_tls(request: Request) -> bool:
    """Whether the visitor reached us over TLS (``X-Forwarded-Proto`` from a trusted
    proxy counts)."""
    return is_https(request.scope, get_governance(request).trusted_proxies)


class NotSignedIn(Exception):
    """Raised by ``CurrentUser`` for a visitor without a live session."""


def get_settings(request: Request) -> WebSettings:
    settings = request.app.state.settings
    assert isinstance(settings, WebSettings)
    return settings


def get_governance(request: Request) -> Governance:
    gov = request.app.state.governance
    assert isinstance(gov, Governance)
    return gov


def get_state(request: Request) -> State:
    return get_governance(request).state


def get_session(request: Request) -> SessionInfo | None:
    """The visitor's live session, or None; cached on the request."""
    if hasattr(request.state, "session_info"):
        cached = request.state.session_info
        return cached if isinstance(cached, SessionInfo) else None
    gov = get_governance(request)
    info = resolve_session(gov.state, request.cookies.get(SESSION_COOKIE), gov.auth)
    request.state.session_info = info
    request.state.user = info.user if info else None
    request.state.csrf_token = info.csrf_token if info else None
    return info


OptionalSession = Annotated[SessionInfo | None, Depends(get_session)]


def get_current_user(session: OptionalSession) -> User:
    """The signed-in user; NotSignedIn (redirect or 401) otherwise."""
    if session is None:
        raise NotSignedIn()
    return session.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def check_csrf(session: OptionalSession, csrf_token: Annotated[str, Form()] = "") -> None:
    """Refuse a form post whose ``csrf_token`` field is not the session's (every POST
    form carries ``request.state.csrf_token`` in a hidden field of that name)."""
    if session is None:
        raise NotSignedIn()
    if not hmac.compare_digest(session.csrf_token, csrf_token):
        raise Forbidden("This form had expired. Go back, reload the page and try again.")


#: Add ``_: CsrfChecked`` to a POST route to check its form's CSRF token.
CsrfChecked = Annotated[None, Depends(check_csrf)]


def get_tier(
    user: CurrentUser,
    tier: Annotated[Tier | None, Query(description="A tier of yours to view the page at")] = None,
) -> Tier:
    """The tier of the current view: ``?tier=`` if it is one of the user's, else their
    most detailed."""
    allowed = user.tiers
    if tier is None:
        return allowed[0]
    if tier not in allowed:
        raise Forbidden(
            f"Your roles do not include the {tier.value} tier; you can see: "
            + ", ".join(t.value for t in allowed)
            + "."
        )
    return tier


class Require:
    """A dependency that lets through only users holding one of ``permissions``."""

    def __init__(self, *permissions: Permission) -> None:
        if not permissions:
            raise ValueError("Require needs at least one permission")
        self.permissions = frozenset(permissions)

    def allows(self, user: User) -> bool:
        return self.allows_roles(user.roles)

    def allows_roles(self, roles: Iterable[Role]) -> bool:
        return bool(self.permissions & permissions_of(roles))

    def __call__(self, user: CurrentUser) -> User:
        if not self.allows(user):
            raise Forbidden(
                "You do not have permission to see this page. Ask your partnership's "
                "joinedup administrator if you need it."
            )
        return user


SettingsDep = Annotated[WebSettings, Depends(get_settings)]
StateDep = Annotated[State, Depends(get_state)]
TierDep = Annotated[Tier, Depends(get_tier)]


def safe_next(value: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    detail = "Sign in to see this page."
    if wants_json(request):
        return JSONResponse(
            error_body(401, "Unauthorized", detail),
            status_code=401,
            headers={"WWW-Authenticate": 'Cookie realm="joinedup"'},
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    if exc.status == 401:
        return await _not_signed_in(request, exc)
    return error_response(request, exc.status, str(exc))


def install_auth(app: FastAPI, partnership_dir: Path, *, state_url: str | None = None) -> None:
    """Give the app its state and sign-in settings, and the 401/403 responses."""
    app.state.governance = Governance(Path(partnership_dir), state_url)
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(Forbidden, _forbidden)
