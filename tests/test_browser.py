"""The web app in real headless Chromium (Debian's, driven by Playwright).

One browser for the whole module; the app runs under uvicorn on 127.0.0.1. Every GET
route of the app that renders HTML is visited (so new pages are covered without
touching this file) as each role, signing in through the real form with JavaScript
turned off, and checked with axe-core: no serious or critical WCAG 2.2 AA violation.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from joinedup.access import Role, create_user
from joinedup.report.pdf import launch_chromium
from joinedup.web import create_app
from joinedup.web.assets import asset_dir, ensure_assets, load_lock
from joinedup.web.live import live_server

PASSWORD = "browser-test-password-synthetic"
ROLES = [r.value for r in Role]
#: Routes that are not pages (machine endpoints and the OpenID Connect round trip).
NOT_PAGES = {"/healthz", "/auth/oidc/start", "/auth/oidc/callback"}


def _a_linkage_pair(app) -> str:
    """A pair of the release under test (pair keys are keyed hashes, made per release)."""
    from joinedup.disclosure import Tier
    from joinedup.views import current_review_queue

    queue = current_review_queue(app.state.settings.partnership_dir, Tier.STRATEGIC)
    pair = (queue["pairs"] or queue["weakest_links"])[0]
    return f"/linkage/review/{pair['key']}"


def _a_person(app) -> str:
    """A child known to several agencies (person ids are keyed hashes, made per build)."""
    from joinedup.disclosure import Tier
    from joinedup.views import cohort_members

    data = cohort_members(
        app.state.settings.partnership_dir, "multi-agency-concern", tier=Tier.OPERATIONAL
    )
    assert data is not None and data["members"]
    return str(data["members"][0]["href"])


#: Example values for routes with path parameters: add one when adding such a page (a
#: path, or a function of the app that returns one, for values made by the build).
PATH_EXAMPLES: dict[str, str | Callable[..., str]] = {
    "/linkage/review/{pair_key}": _a_linkage_pair,
    "/networks/{network_id}": "/networks/N001",
    "/questions/{question_id}": "/questions/children_with_concern",
    "/indicators/{question_id}": "/indicators/children_with_concern?type=CCE+and+county+lines",
    "/cohorts/{cohort_id}": "/cohorts/multi-agency-concern",
    "/people/{person_id}": _a_person,
    "/releases/sources/{source_id}/upload": "/releases/sources/police_missing/upload",
    "/releases/builds/{build_id}": "/releases/builds/latest",
    "/what-to-look-for/{section_id}": "/what-to-look-for/cce",  # issue 20
    # issue 18: panels (a panel chaired by the panel member; other roles see the 403 page)
    "/panels/{panel_id}": lambda app: _a_panel(app)["panel"],
    "/meetings/{meeting_id}": lambda app: _a_panel(app)["meeting"],
    "/meetings/{meeting_id}/pack": lambda app: _a_panel(app)["pack"],
    "/actions/{action_id}": lambda app: _a_panel(app)["action"],
}


def _a_panel(app) -> dict[str, str]:
    """A panel with a meeting, an item and an action, made once in the app's state."""
    from joinedup.access.panel_access import panel_store

    store = panel_store(app.state.governance.state)
    found = store.all_panels()
    if not found:
        panel = store.create_panel(
            name="Browser MACE",
            agencies=["police"],
            cadence_days=28,
            agreement="isa",
            retention_days=365,
            created_by="test",
            chair=("panel_member-user", "police"),
        )
        meeting = store.create_meeting(panel_id=panel.id, held_on="2026-12-10", created_by="t")
        item = store.add_item(
            meeting_id=meeting.id,
            kind="child",
            subject="P0",
            label="P0",
            reason="browser test",
            added_by="test",
        )
        store.add_action(
            item_id=item.id,
            description="Check",
            owner_agency="police",
            due_on="2026-12-01",
            created_by="test",
        )
        found = store.all_panels()
    meeting = store.meetings(found[0].id)[0]
    item = store.items(meeting.id)[0]
    action = store.actions([item.id])[item.id][0]
    return {
        "panel": f"/panels/{found[0].id}",
        "meeting": f"/meetings/{meeting.id}",
        "pack": f"/meetings/{meeting.id}/pack",
        "action": f"/actions/{action.id}",
    }


CHECKED: set[str] = set()  # pages already checked by axe, by a hash of their <main>
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def html_pages(app) -> list[str]:
    """Every GET route that renders a page, from the app's own OpenAPI description (a
    route whose response is text/html), leaving out machine endpoints."""
    paths = []
    for path, methods in app.openapi()["paths"].items():
        get = methods.get("get")
        if get is None or path in NOT_PAGES or path.endswith(".json"):
            continue
        content = get.get("responses", {}).get("200", {}).get("content", {})
        if "text/html" not in content:
            continue
        if "{" in path:
            assert path in PATH_EXAMPLES, (
                f"{path} takes a parameter: add an example to PATH_EXAMPLES in "
                "tests/test_browser.py so the browser tests visit it."
            )
            example = PATH_EXAMPLES[path]
            paths.append(example(app) if callable(example) else example)
        else:
            paths.append(path)
    return sorted(set(paths))


@pytest.fixture(scope="module")
def site(synth_built: Path, tmp_path_factory: pytest.TempPathFactory):
    ensure_assets()
    root = tmp_path_factory.mktemp("browser") / "partnership"
    shutil.copytree(synth_built, root)
    app = create_app(root)
    state = app.state.governance.state
    for role in ROLES:
        create_user(
            state,
            username=f"{role}-user",
            display_name=f"Test {role.replace('_', ' ')}",
            agency="police",
            roles=[role],
            password=PASSWORD,
            actor="test",
        )
    with live_server(app) as url:
        yield app, url
    app.state.governance.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    package = load_lock()["axe-core"]
    ensure_assets(names=["axe-core"])
    return (asset_dir(package) / "axe.min.js").read_text(encoding="utf-8")


def sign_in(browser, url: str, role: str):
    """A browser context signed in as ``role`` through the form, with JavaScript off;
    returns the signed-in storage state."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{url}/sign-in")
    page.fill("#username", f"{role}-user")
    page.fill("#password", PASSWORD)
    page.click("#sign-in-button")
    page.wait_for_url(f"{url}/")
    assert page.locator("#signed-in-as").count() == 1
    state = context.storage_state()
    context.close()
    return state


def axe_violations(page, axe_source: str) -> list[dict]:
    # Not an inline <script> tag: the pages' Content-Security-Policy (issue 11) refuses
    # those, and the check runs against the pages as served, policy and all.
    page.evaluate(axe_source)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict]) -> str:
    return "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
    )


def test_the_harness_finds_the_pages(site):
    app, _ = site
    pages = html_pages(app)
    assert {"/", "/sign-in", "/account"} <= set(pages)
    assert not any(p.endswith(".json") for p in pages)


def test_sign_in_page_is_accessible_and_works_without_javascript(site, browser, axe_source):
    _, url = site
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(f"{url}/")
    assert page.url.startswith(f"{url}/sign-in")  # anonymous visitors are sent to sign in
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "Sign in"
    assert not axe_violations(page, axe_source), describe(axe_violations(page, axe_source))
    context.close()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_as_each_role_is_accessible(site, browser, axe_source, role):
    app, url = site
    state = sign_in(browser, url, role)
    context = browser.new_context(storage_state=state)
    page = context.new_page()
    problems, statuses = [], {}
    for path in html_pages(app):
        response = page.goto(f"{url}{path}")
        assert response is not None
        statuses[path] = response.status
        # Every page, including a refusal, is a proper page with one main heading.
        assert page.locator("main h1").count() == 1, path
        # axe runs once per distinct page body (roles at one tier often see the same).
        key = hashlib.sha256(page.inner_html("main").encode()).hexdigest()
        if key in CHECKED:
            continue
        CHECKED.add(key)
        found = axe_violations(page, axe_source)
        if found:
            problems.append(f"{path}: {describe(found)}")
    context.close()
    assert not problems, "\n".join(problems)
    assert statuses["/"] == 200 and statuses["/account"] == 200
    assert all(s in (200, 403) for s in statuses.values()), statuses


def test_what_each_tier_sees_on_the_overview(site, browser):
    _, url = site
    seen = {}
    for role in ("board_member", "community_viewer"):
        context = browser.new_context(storage_state=sign_in(browser, url, role))
        page = context.new_page()
        page.goto(f"{url}/")
        seen[role] = {
            "tag": page.locator("main .govuk-tag").first.inner_text(),
            "headline": page.locator("#headline").count(),
            "sources": page.locator("#sources").count(),
            "by_area": page.locator("#by-area").count(),
            "chart": page.locator("svg[role=img] title").count(),
        }
        context.close()
    assert seen["board_member"] == {
        "tag": "Strategic tier",
        "headline": 1,
        "sources": 1,
        "by_area": 0,
        "chart": 1,
    }
    assert seen["community_viewer"] == {
        "tag": "Community tier",
        "headline": 0,
        "sources": 0,
        "by_area": 1,
        "chart": 1,
    }


def test_styles_come_from_the_app_not_a_cdn(site, browser):
    _, url = site
    context = browser.new_context(storage_state=sign_in(browser, url, "analyst"))
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{url}/")
    assert requested and all(u.startswith(url) for u in requested), requested
    assert any(
        u.endswith("/static/vendor/govuk-frontend/govuk-frontend.min.css") for u in requested
    )
    assert not any("font" in u or ".woff" in u for u in requested)
    # GOV.UK Frontend's styles are applied, in the system font, not GDS Transport.
    font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    assert "GDS Transport" not in font and "system-ui" in font
    weight = page.evaluate("getComputedStyle(document.querySelector('h1')).fontWeight")
    assert weight == "700"
    context.close()
