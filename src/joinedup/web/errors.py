"""Error responses: one JSON shape, and matching HTML pages.

Every error the web app returns as JSON has the shape (tested)::

    {"error": {"status": 404, "title": "Not Found", "detail": "..."}}

A request gets JSON when its path ends in ``.json`` or it asks for JSON and not HTML;
otherwise it gets an HTML page with the same status, title and detail.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from joinedup.errors import ReleaseError
from joinedup.web.templating import templates

__all__ = ["error_body", "error_response", "install_error_handlers", "wants_json"]

log = logging.getLogger(__name__)

NO_RELEASE_TITLE = "No release to show yet"


def wants_json(request: Request) -> bool:
    if request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_body(status: int, title: str, detail: str) -> dict[str, dict[str, object]]:
    return {"error": {"status": status, "title": title, "detail": detail}}


def error_response(
    request: Request,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    page: str = "error.html",
) -> Response:
    title = title or HTTPStatus(status).phrase
    if wants_json(request):
        return JSONResponse(error_body(status, title, detail), status_code=status)
    context = {"status": status, "title": title, "detail": detail}
    return templates.TemplateResponse(request, page, context, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).description
    if status == 404 and detail == HTTPStatus(404).phrase:
        detail = f"There is no page at {request.url.path}."
    return error_response(request, status, detail)


#: What each kind of bad value is, in words for the person who sees the page.
_PROBLEMS = {
    "missing": "is needed and was not given",
    "string_too_long": "is longer than this page accepts",
    "string_pattern_mismatch": "is not one of the choices this page offers",
    "literal_error": "is not one of the choices this page offers",
    "enum": "is not one of the choices this page offers",
}


def validation_words(errors: list[dict[str, object]]) -> str:
    """A request's bad values in words for a web user (issue 16): which value of the
    address or form is wrong and what to do, never a parser's "query.by.0: String should
    match pattern"; the values themselves are not repeated (they may hold identifiers)."""
    problems = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) or () if p not in ("query", "path", "body")]  # type: ignore[attr-defined]
        name = loc[0] if loc and not loc[0].isdigit() else "a value"
        kind = str(e.get("type", ""))
        words = _PROBLEMS.get(kind, "is not a value this page accepts")
        problems.append(f"'{name}' {words}")
    listed = "; ".join(dict.fromkeys(problems)) or "a value is not one this page accepts"
    return (
        f"The address asks for something this page does not offer: {listed}. Go back and "
        "choose from the page's own links and choices, or start again from the overview."
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = validation_words(list(exc.errors()))
    return error_response(request, 422, detail, title="This page cannot show that")


async def _release_error(request: Request, exc: Exception) -> Response:
    detail = (
        f"{exc} There is no release of this partnership to show. "
        "Run `joinedup build DIR` on the partnership folder, then reload this page."
    )
    return error_response(request, 503, detail, title=NO_RELEASE_TITLE, page="no_release.html")


def route_template(scope: Scope, root_path: str = "") -> str:
    """The path template of the route that answered (``/people/{person_id}``), given the
    scope after the app has run and its ``root_path`` before; never the path itself,
    which may hold an identifier."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path or "/"
    mounted = str(scope.get("root_path", ""))
    if "endpoint" in scope and mounted.startswith(root_path) and mounted != root_path:
        return mounted[len(root_path) :] + "/{path}"  # a mounted app (static files)
    return "(no route)"


async def _server_error(request: Request, exc: Exception) -> Response:
    # The route's template, never the path itself: a path may hold an identifier.
    log.error("Unhandled error on %s: %s", route_template(request.scope), type(exc).__name__)
    return error_response(
        request, 500, "Something went wrong. The error has been logged; try again later."
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ReleaseError, _release_error)
    app.add_exception_handler(Exception, _server_error)
