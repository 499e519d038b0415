"""A panel chair in real headless Chromium (issue 18): plans a meeting, prepares it from
the suggested agenda, opens the pack, records a decision and an action, downloads the
PDF, and finds them in the next meeting's pack. JavaScript off, as in locked-down
browsers; each page checked with axe-core for serious or critical violations.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from joinedup.access import create_user
from joinedup.access.panel_access import panel_store
from joinedup.config import load_config
from joinedup.present.pdf import launch_chromium
from joinedup.web import create_app
from joinedup.web.assets import asset_dir, ensure_assets, load_lock
from joinedup.web.live import live_server

PASSWORD = "browser-test-password-synthetic"
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def site(synth_built: Path, tmp_path_factory):
    ensure_assets()
    root = tmp_path_factory.mktemp("panel-browser") / "partnership"
    shutil.copytree(synth_built, root)
    app = create_app(root)
    state = app.state.governance.state
    agencies = [a.id for a in load_config(root, check_files=False).agencies]
    create_user(
        state,
        username="chair",
        display_name="Panel chair",
        agency=agencies[0],
        roles=["panel_member"],
        password=PASSWORD,
        actor="test",
    )
    panel = panel_store(state).create_panel(
        name="North MACE",
        agencies=agencies,
        cadence_days=28,
        agreement="isa",
        retention_days=2190,
        created_by="test",
        chair=("chair", agencies[0]),
    )
    with live_server(app) as url:
        yield app, url, panel, agencies
    app.state.governance.close()


def _axe(ctx, browser, url: str) -> None:
    """axe-core on ``url`` in a JavaScript-enabled context with the same session (axe
    needs scripts; the pages themselves are used without them)."""
    ensure_assets(names=["axe-core"])
    axe = asset_dir(load_lock()["axe-core"]) / "axe.min.js"
    checker = browser.new_context()
    checker.add_cookies(ctx.cookies())
    page = checker.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.evaluate(axe.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {runOnly: ['wcag2a','wcag2aa']})")
    bad = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
    checker.close()
    assert not bad, (url, bad)


def test_a_chair_runs_a_meeting_in_the_browser(site, tmp_path: Path) -> None:
    app, url, panel, agencies = site
    with sync_playwright() as p:
        browser = launch_chromium(p)
        ctx = browser.new_context(java_script_enabled=False, accept_downloads=True)
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{url}/sign-in?next=/panels/{panel.id}")
        page.fill("#username", "chair")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        assert page.locator("h1").inner_text() == "North MACE"
        # plan the first meeting a month ago
        page.fill("#held_on", (TODAY - dt.timedelta(days=30)).isoformat())
        page.click("#plan-meeting")
        assert page.locator("h1").inner_text().startswith("Meeting of")
        assert page.locator(".app-marking").inner_text() == "OFFICIAL-SENSITIVE"
        first = page.url
        suggestion = page.locator(".app-suggestion").first
        facts = suggestion.locator("li li").all_inner_texts()
        assert facts, "each suggestion shows the recorded facts behind it"
        suggestion.locator("input[type=checkbox]").check()
        suggestion.locator("input[type=text]").fill("New concerns from two agencies")
        page.click("#add-to-agenda")
        assert page.locator("#agenda li").count() == 1
        page.click("#open-pack")
        assert "Meeting pack" in page.locator("h1").inner_text()
        _axe(ctx, browser, page.url)
        item = page.locator(".app-pack-item").first
        item_id = item.get_attribute("id").split("-")[1]
        item.locator("summary").first.click()
        page.select_option(f"#stage-{item_id}", "disruption")
        page.fill(f"#level-{item_id}", "High")
        page.fill(f"#disruption-{item_id}", "Warning notice to the adult")
        page.click(f"#decide-{item_id}")
        item = page.locator(f"#item-{item_id}")
        item.locator("summary").nth(1).click()
        page.fill(f"#description-{item_id}", "Offer a return home interview")
        page.select_option(f"#owner-{item_id}", agencies[1])
        page.fill(f"#due-{item_id}", (TODAY - dt.timedelta(days=3)).isoformat())
        page.click(f"#act-{item_id}")
        assert "Warning notice to the adult" in page.locator(f"#item-{item_id}").inner_text()
        with page.expect_download() as dl:
            page.click("text=Download the pack (PDF)")
        pdf = tmp_path / "pack.pdf"
        dl.value.save_as(pdf)
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF") and b"/StructTreeRoot" in data  # tagged
        # the next meeting: the decision and the overdue action come with it
        page.goto(f"{url}/panels/{panel.id}")
        assert page.locator("#overdue-warning").count() == 1  # shown to the chair
        page.fill("#held_on", TODAY.isoformat())
        page.click("#plan-meeting")
        assert page.url != first
        page.click("#open-pack")
        carried = page.locator("#carried").inner_text()
        assert "Offer a return home interview" in carried and "overdue" in carried
        _axe(ctx, browser, page.url)
        browser.close()
    views = app.state.governance.state.audit.entries(
        actions=["view_panel_pack", "download_panel_pack"]
    )
    assert {v.detail["form"] for v in views} == {"page", "pdf"}
