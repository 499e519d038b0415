"""A data lead fills in the data maturity self-assessment in real headless Chromium, and a
board member finds it beside the agency's measured quality (issue 21). JavaScript off, as
in locked-down browsers; each page checked with axe-core (serious or critical)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from joinedup.access import create_user
from joinedup.present.pdf import launch_chromium
from joinedup.taxonomy.maturity import MATURITY_DIMENSIONS
from joinedup.web import create_app
from joinedup.web.assets import asset_dir, ensure_assets, load_lock
from joinedup.web.live import live_server

PASSWORD = "browser-test-password-synthetic"
SHOT = Path("/tmp/joinedup-maturity.png")


@pytest.fixture(scope="module")
def site(synth_built: Path, tmp_path_factory):
    ensure_assets()
    root = tmp_path_factory.mktemp("maturity-browser") / "partnership"
    shutil.copytree(synth_built, root)
    app = create_app(root)
    state = app.state.governance.state
    for username, role in (("lead", "data_lead"), ("board", "board_member")):
        create_user(
            state,
            username=username,
            display_name=username.title(),
            agency="education",
            roles=[role],
            password=PASSWORD,
            actor="test",
        )
    with live_server(app) as url:
        yield app, url
    app.state.governance.close()


def _axe(ctx, browser, url: str) -> None:
    ensure_assets(names=["axe-core"])
    axe = asset_dir(load_lock()["axe-core"]) / "axe.min.js"
    checker = browser.new_context()
    checker.add_cookies(ctx.cookies())
    page = checker.new_page()
    page.goto(url)
    page.evaluate(axe.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {runOnly: ['wcag2a','wcag2aa']})")
    bad = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
    checker.close()
    assert not bad, (url, bad)


def _sign_in(browser, url: str, username: str, to: str):
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{url}/sign-in?next={to}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    return ctx, page


def test_data_lead_assesses_and_board_member_sees_it_beside_quality(site) -> None:
    app, url = site
    with sync_playwright() as p:
        browser = launch_chromium(p)
        ctx, page = _sign_in(browser, url, "lead", "/maturity/assess")
        assert page.locator("h1").inner_text() == "Data maturity self-assessment"
        _axe(ctx, browser, page.url)
        page.check("#level_collection_3")
        page.click("#assess-submit")  # incomplete: told what is missing, answers kept
        assert "choose a level" in page.locator("#error-summary").inner_text()
        assert page.is_checked("#level_collection_3")
        levels = {"collection": 3, "systems": 4, "recording": 5, "analysis": 2,
                  "sharing": 5, "decision_making": 3}  # fmt: skip
        for d in MATURITY_DIMENSIONS:
            page.check(f"#level_{d}_{levels[d]}")
        page.fill("#evidence_recording", "Monthly audit of pupil records")
        page.click("#assess-submit")
        assert page.locator("#assessment-saved").count() == 1
        ctx.close()

        ctx, page = _sign_in(browser, url, "board", "/maturity")
        assert page.locator("h1").inner_text() == "Data maturity"
        assert page.locator("#assess-link").count() == 0  # board members do not assess
        table = page.locator("#agency-education-table")
        row = table.locator("tr", has_text="Recording")
        assert "5 Leading" in row.inner_text()
        assert "Monthly audit of pupil records" in row.inner_text()
        assert "of records" in row.inner_text()  # the measured level, beside it
        assert row.locator("[data-agreement]").get_attribute("data-agreement") == "self_higher"
        headline = page.locator("#maturity-headline").inner_text()
        assert "disagree for Wexbury and Ashdown pupil data" in headline
        page.locator("#agency-education").screenshot(path=str(SHOT))
        _axe(ctx, browser, page.url)
        page.goto(f"{url}/framework")
        assert page.locator("#outcome-1").count() == 1
        _axe(ctx, browser, page.url)
        browser.close()
