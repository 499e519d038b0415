"""``joinedup region serve``: the regional pages, each with a ``.json`` twin.

| Page | Board member | Analyst |
|---|---|---|
| ``/`` overview, ``/questions/ID``, ``/lineage``, ``/report`` | yes | yes |
| ``/comparability``, ``/local`` | no (403) | yes |

Anonymous visitors are sent to ``/sign-in`` (pages) or get 401 (``.json``). Every page
or JSON twin shown is written to the region's audit log first (``view_region_page``;
``joinedup.region.audit``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.config.region import load_region
from joinedup.errors import JoinedupError
from joinedup.region.audit import audit_region, region_state
from joinedup.region.combine import current_region_release
from joinedup.region.funnel import funnel_svg
from joinedup.region.pages import environment
from joinedup.region.users import check_region_user, read_session, session_cookie

__all__ = ["PAGES", "create_region_app"]

COOKIE = "joinedup_region"
ANALYST = "regional_analyst"
#: Every page and the roles that may see it (the browser tests walk this).
PAGES: dict[str, tuple[str, ...]] = {
    "/": ("regional_analyst", "regional_board_member"),
    "/lineage": ("regional_analyst", "regional_board_member"),
    "/report": ("regional_analyst", "regional_board_member"),
    "/questions/{id}": ("regional_analyst", "regional_board_member"),
    "/comparability": ("regional_analyst",),
    "/local": ("regional_analyst",),
}


def create_region_app(region_dir: Path) -> FastAPI:
    region_dir = Path(region_dir)
    cfg = load_region(region_dir)
    env = environment()
    app = FastAPI(title=f"{cfg.region.name}: regional picture", docs_url=None, redoc_url=None)
    # the region's audit log (joinedup.region.audit): every page shown is written to it
    state = region_state(region_dir)
    app.state.region_state = state

    def who(request: Request) -> tuple[str, str] | None:
        return read_session(region_dir, request.cookies.get(COOKIE))

    def html(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        rel = ctx.get("rel") or {}
        body = env.get_template(name).render(
            region=cfg.region.name, suppressed="c",
            threshold=rel.get("threshold", cfg.disclosure.threshold), **ctx,
        )  # fmt: skip
        return HTMLResponse(body, status_code=status)

    def page(request: Request, path: str, json: bool, build: Any) -> Response:
        user = who(request)
        if user is None:
            if json:
                return JSONResponse({"error": "Sign in to see regional figures."}, 401)
            return RedirectResponse("/sign-in", status_code=303)
        name, role = user
        if role not in PAGES[path]:
            message = "This page is for regional analysts."
            if json:
                return JSONResponse({"error": message}, 403)
            return html(
                "error.html", 403, title="Not available", message=message, user=name, role=role
            )
        try:
            rel = current_region_release(region_dir)
        except JoinedupError as exc:
            if json:
                return JSONResponse({"error": str(exc)}, 503)
            return html(
                "error.html",
                503,
                title="No regional release",
                message=str(exc),
                user=name,
                role=role,
            )
        out = build(rel)
        if out is None:
            if json:
                return JSONResponse({"error": "No such question in the regional release."}, 404)
            return html(
                "error.html",
                404,
                title="Not found",
                message="No such question in the regional release.",
                user=name,
                role=role,
            )
        template, data, extra = out
        audit_region(
            None, state=state, actor=name, action="view_region_page", target=request.url.path,
            detail={"role": role, "format": "json" if json else "page",
                    "release_id": rel.get("release_id")},
        )  # fmt: skip
        if json:
            return JSONResponse(data)
        return html(template, user=name, role=role, rel=rel, notes=rel["notes"], **extra)

    @app.get("/sign-in", response_class=HTMLResponse)
    def sign_in_form() -> HTMLResponse:
        return html("sign_in.html", title="Sign in", user=None, role=None)

    @app.post("/sign-in")
    def sign_in(username: str = Form(""), password: str = Form("")) -> Response:
        role = check_region_user(region_dir, username, password)
        if role is None:
            return html("sign_in.html", 401, title="Sign in", user=None, role=None,
                        error="The username or password is not right.")  # fmt: skip
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(
            COOKIE, session_cookie(region_dir, username, role), httponly=True, samesite="strict"
        )
        return resp

    @app.post("/sign-out")
    def sign_out() -> Response:
        resp = RedirectResponse("/sign-in", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    def overview(rel: dict[str, Any]) -> Any:
        authorities = sum(len(p["authorities"]) for p in rel["lineage"])
        data = {k: rel[k] for k in ("release_id", "built_at", "region", "threshold", "lineage")}
        data["questions"] = [
            {"id": q["id"], "question": q["question"], "region": q["region"]}
            for q in rel["questions"]
        ]
        return "overview.html", data, {"title": "Regional overview", "authorities": authorities}

    def lineage(rel: dict[str, Any]) -> Any:
        return (
            "lineage.html",
            {"release_id": rel["release_id"], "lineage": rel["lineage"]},
            {"title": "Lineage of this regional release"},
        )

    def report(rel: dict[str, Any]) -> Any:
        return (
            "report.html",
            {"release_id": rel["release_id"], "questions": rel["questions"], "notes": rel["notes"]},
            {"title": "Regional board report"},
        )

    def comparability(rel: dict[str, Any]) -> Any:
        return (
            "comparability.html",
            {"notes": rel["notes"], "recording": rel["recording"]},
            {"title": "Comparability of the authorities' figures"},
        )

    def local(rel: dict[str, Any]) -> Any:
        return "local.html", {"local": rel["local"]}, {"title": "Local columns"}

    def question(qid: str) -> Any:
        def build(rel: dict[str, Any]) -> Any:
            q = next((q for q in rel["questions"] if q["id"] == qid), None)
            if q is None:
                return None
            notes = [rel["notes"][i] for r in q["rows"] for i in r["notes"]]
            return (
                "question.html",
                {**q, "notes": notes},
                {"title": q["question"], "q": q, "svg": funnel_svg(q)},
            )

        return build  # fmt: skip

    def add(path: str, fn: Any) -> None:
        def as_page(request: Request) -> Response:
            return page(request, path, False, fn)

        def as_json(request: Request) -> Response:
            return page(request, path, True, fn)

        app.add_api_route(path, as_page, methods=["GET"], response_class=HTMLResponse)
        app.add_api_route(path + ".json", as_json, methods=["GET"])

    add("/lineage", lineage)
    add("/report", report)
    add("/comparability", comparability)
    add("/local", local)

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        return page(request, "/", False, overview)

    @app.get("/index.json")
    def home_json(request: Request) -> Response:
        return page(request, "/", True, overview)

    @app.get("/questions/{qid}.json")
    def question_json(request: Request, qid: str) -> Response:
        return page(request, "/questions/{id}", True, question(qid))

    @app.get("/questions/{qid}", response_class=HTMLResponse)
    def question_page(request: Request, qid: str) -> Response:
        return page(request, "/questions/{id}", False, question(qid))

    return app
