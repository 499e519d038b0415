"""The regional pages in real headless Chromium, as each regional role, checked with
axe-core: no serious or critical WCAG 2.2 AA violation (issue 17). A minimal axe helper
(the same run as tests/test_browser.py's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright

from joinedup.region import PAGES, add_region_user, create_region_app, current_region_release
from joinedup.report.pdf import launch_chromium
from joinedup.web.assets import asset_dir, ensure_assets, load_lock
from joinedup.web.live import live_server

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PASSWORD = "regional-Pass-2026!"
ROLES = ("regional_analyst", "regional_board_member")


@pytest.fixture(scope="module")
def region(synth_region_built: Path) -> Path:
    for role in ROLES:
        add_region_user(synth_region_built, f"{role}_user", role=role, password=PASSWORD)
    return synth_region_built


def _paths(region: Path) -> dict[str, tuple[str, ...]]:
    rel = current_region_release(region)
    out = {}
    for path, roles in PAGES.items():
        if "{id}" in path:
            for q in rel["questions"]:
                out[path.replace("{id}", q["id"])] = roles
        else:
            out[path] = roles
    return out


def _sign_in(client: TestClient, role: str) -> None:
    r = client.post(
        "/sign-in",
        data={"username": f"{role}_user", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_pages_and_json_twins_follow_the_roles(region: Path) -> None:
    app = create_region_app(region)
    before = app.state.region_state.audit.count()
    anon = TestClient(app)
    assert anon.get("/", follow_redirects=False).status_code == 303
    assert anon.get("/index.json").status_code == 401
    for role in ROLES:
        client = TestClient(app)
        _sign_in(client, role)
        for path, roles in _paths(region).items():
            twin = "/index.json" if path == "/" else f"{path}.json"
            want = 200 if role in roles else 403
            assert client.get(path).status_code == want, (role, path)
            assert client.get(twin).status_code == want, (role, twin)
    bad = TestClient(app).post("/sign-in", data={"username": "x", "password": "y"})
    assert bad.status_code == 401 and "not right" in bad.text
    # every page and twin shown (and only those) is in the region's audit log
    shown = sum(2 for role in ROLES for roles in _paths(region).values() if role in roles)
    state = app.state.region_state
    views = [e for e in state.audit.entries(actions=["view_region_page"]) if e.seq > before]
    assert len(views) == shown
    assert {(e.actor, e.detail["role"]) for e in views} == {(f"{r}_user", r) for r in ROLES}
    assert {e.detail["format"] for e in views} == {"page", "json"}
    assert state.audit.verify().ok


@pytest.fixture(scope="module")
def axe_source() -> str:
    package = load_lock()["axe-core"]
    ensure_assets(names=["axe-core"])
    return (asset_dir(package) / "axe.min.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("role", ROLES)
def test_every_regional_page_as_each_role_is_accessible(
    region: Path, axe_source: str, role: str
) -> None:
    app = create_region_app(region)
    with live_server(app) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{url}/sign-in")
            page.fill("#username", f"{role}_user")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/")
            seen = 0
            for path, roles in _paths(region).items():
                if role not in roles:
                    continue
                response = page.goto(f"{url}{path}")
                assert response is not None and response.status == 200, path
                page.evaluate(axe_source)
                result = page.evaluate(
                    "async (t) => await axe.run(document, {runOnly: {type: 'tag', values: t}})",
                    AXE_TAGS,
                )
                bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
                assert not bad, (path, [(v["id"], v["help"]) for v in bad])
                seen += 1
            assert seen >= (4 if role == "regional_board_member" else 6)
            if role == "regional_analyst":
                page.goto(f"{url}/questions/children_with_concern")
                page.screenshot(path=str(region / "question.png"), full_page=True)
        finally:
            browser.close()
