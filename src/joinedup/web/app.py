"""The web app: ``create_app`` collects the page routers; ``serve`` runs it.

The app opens the current release on every request (a cheap, read-only open), so a new
build is visible without a restart. ``serve`` also keeps the current release's file open
(``hold_releases``), so that per-request open finds the database open and its cache warm.
Routes never query a release for figures: they call ``joinedup.views``, which returns
only what the visitor's tier may see.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

import joinedup
from joinedup.access.signin import flush_sign_in_audit
from joinedup.release.store import ReleasesHeldOpen
from joinedup.views import ReleaseLike
from joinedup.web.deps import WebSettings, install_auth
from joinedup.web.errors import install_error_handlers
from joinedup.web.middleware import Networks, wrap
from joinedup.web.routes import (
    admin,
    audit,
    auth,
    drafts,
    guidance,
    health,
    indicators,
    linkage,
    maturity,  # issue 21
    networks,
    overview,
    panel_setup,
    panels,
    people,
    places,
    quality,
    questions,
    releases,
    report,
    usage,  # issue 19
)
from joinedup.web.uploads import recover_at_start

__all__ = ["create_app", "serve"]

_STATIC = Path(__file__).parent / "static"


def _trusted(scope: Scope) -> Networks:
    networks: Networks = scope["app"].state.governance.trusted_proxies
    return networks


def _limit(scope: Scope) -> int:
    return int(scope["app"].state.governance.web.max_request_kb) * 1024


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # A build or upload killed with the last server gets its audit entry now (issue 11).
    await asyncio.to_thread(recover_at_start, app.state.settings.partnership_dir)
    yield
    gov = getattr(app.state, "governance", None)
    if gov is not None and gov.opened:  # sign-in counts not yet in the audit
        flush_sign_in_audit(gov.state)


class JoinedupApp(FastAPI):
    """FastAPI with :mod:`joinedup.web.middleware` outside everything else, the server
    error handler included, so that every response, a 500 too, carries the security
    headers and is logged without its query string or the values in its path."""

    def build_middleware_stack(self) -> ASGIApp:
        return wrap(super().build_middleware_stack(), trusted=_trusted, limit=_limit)


def create_app(
    partnership_dir: Path,
    *,
    open_release: Callable[[Path], ReleaseLike] | None = None,
    state_url: str | None = None,
    hold_releases: bool = False,
) -> FastAPI:
    """The joinedup web app for one partnership folder.

    ``open_release`` replaces ``joinedup.release.open_current`` (for tests and embedding);
    ``state_url`` the app state's database (default: partnership.yaml's, else SQLite).
    ``hold_releases`` keeps the most recently used releases' files open for the life of
    the app (:class:`~joinedup.release.store.ReleasesHeldOpen`; ``app.state.releases``):
    each request still takes a connection of its own, but to an open database, which
    under load saves reopening the file and reading its catalogue on every request.
    Releases are immutable once published, so it is safe in a server; it is off by
    default because a held file cannot be written by the same process (tests that edit
    a release in place).
    """
    app = JoinedupApp(
        title="joinedup",
        version=joinedup.__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan,
    )
    held = ReleasesHeldOpen() if hold_releases and open_release is None else None
    app.state.releases = held
    app.state.settings = WebSettings(
        Path(partnership_dir), held.open_current if held is not None else open_release
    )
    install_error_handlers(app)
    install_auth(app, Path(partnership_dir), state_url=state_url)
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    app.include_router(overview.router)
    for pages in (questions, indicators, places, networks, people, quality, linkage, releases):
        app.include_router(pages.router)
    app.include_router(drafts.router)  # issue 16: draft releases
    app.include_router(admin.router)  # issue 16: administration on the web
    app.include_router(panel_setup.router)  # issue 18: before panels' /panels/{id}
    app.include_router(panels.router)  # issue 18: exploitation panels
    app.include_router(guidance.router)  # issue 20: what to look for, glossary
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(audit.router)
    app.include_router(report.router)  # issue 16: the board report as a PDF
    app.include_router(usage.router)  # issue 19: where is my data used
    app.include_router(maturity.router)  # issue 21: data maturity, framework
    return app


def serve(partnership_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the app with uvicorn until interrupted."""
    import uvicorn

    from joinedup.web.assets import AssetError, ensure_assets

    try:  # GOV.UK Frontend's CSS, if `make setup` has not installed it (issue 7)
        ensure_assets()
    except AssetError as exc:
        logging.getLogger(__name__).warning("Pages will be unstyled: %s", exc)
    # uvicorn's access log writes whole URLs (query strings, person ids): ours
    # (joinedup.web.access) writes route templates. Proxy headers are ours to judge
    # (web.trusted_proxies), not uvicorn's.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["joinedup.web.access"] = {
        "handlers": ["access_plain"],
        "level": "INFO",
        "propagate": False,
    }
    log_config["handlers"]["access_plain"] = {
        "formatter": "default",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    uvicorn.run(
        create_app(partnership_dir, hold_releases=True),
        host=host,
        port=port,
        access_log=False,
        proxy_headers=False,
        log_config=log_config,
    )
