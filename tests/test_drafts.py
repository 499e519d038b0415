"""Draft, preview, publish (issue 16, item 3).

A draft build is complete but not current; nothing that lists or opens releases sees it
until a data lead publishes it (CLI ``joinedup publish`` or the web preview page), and
publishing and discarding are audited. A plain ``joinedup build`` still publishes, unless
partnership.yaml sets ``build.drafts: true``. In real Chromium, a data lead builds a
draft from the releases page, previews it against the current release and publishes it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from joinedup.access import create_user
from joinedup.cli import cli
from joinedup.release import current_release_id, list_releases, open_current
from joinedup.release.drafts import list_drafts, open_draft
from joinedup.state import open_state

PASSWORD = "drafts-browser-password-synthetic"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def audit_actions(root: Path, action: str) -> list:
    with open_state(root) as state:
        return state.audit.entries(actions=[action])


def test_draft_build_publish_and_discard_from_the_command_line(mini: Path) -> None:
    first = run("build", str(mini))
    assert first.exit_code == 0, first.output
    current = current_release_id(mini)
    assert current is not None and f"Release {current} is current" in first.output

    made = run("build", str(mini), "--draft")
    assert made.exit_code == 0, made.output
    (draft,) = list_drafts(mini)
    assert f"Draft {draft.release_id} is ready, not current" in made.output
    assert made.output.strip().splitlines()[-1] == str(open_draft(mini, draft.release_id).db_path)
    # nothing that lists or opens releases sees the draft
    assert current_release_id(mini) == current
    assert [r.release_id for r in list_releases(mini)] == [current]
    assert open_current(mini).release_id == current
    assert draft.base_release == current and not draft.out_of_date
    listed = run("publish", str(mini), "--list")
    assert f"{draft.release_id}" in listed.output and "(ready to publish)" in listed.output

    published = run("publish", str(mini))
    assert published.exit_code == 0, published.output
    assert current_release_id(mini) == draft.release_id
    assert [r.release_id for r in list_releases(mini)] == [current, draft.release_id]
    assert list_drafts(mini) == []
    manifest = open_current(mini).manifest
    assert manifest["built_as_draft"] is True and "draft" not in manifest
    (entry,) = audit_actions(mini, "publish_release")
    assert entry.target == draft.release_id and entry.actor.startswith("cli")
    assert entry.detail["previous"] == current and entry.detail["via"] == "cli"

    # two drafts against the same release: publishing one puts the other out of date
    assert run("build", str(mini), "--draft").exit_code == 0
    assert run("build", str(mini), "--draft").exit_code == 0
    newer, older = list_drafts(mini)
    assert run("publish", str(mini), newer.release_id).exit_code == 0
    stale = run("publish", str(mini), older.release_id)
    assert stale.exit_code == 1
    assert "has been published since" in stale.output and "Build a new draft" in stale.output
    assert current_release_id(mini) == newer.release_id
    gone = run("discard", str(mini), older.release_id)
    assert gone.exit_code == 0 and list_drafts(mini) == []
    (entry,) = audit_actions(mini, "discard_draft")
    assert entry.target == older.release_id

    nothing = run("publish", str(mini))
    assert nothing.exit_code == 1 and "There is no draft to publish" in nothing.output
    unknown = run("discard", str(mini), "../x")
    assert unknown.exit_code == 1 and "There is no draft '../x'" in unknown.output


def test_build_drafts_setting_makes_every_build_a_draft(mini: Path) -> None:
    assert run("build", str(mini)).exit_code == 0
    current = current_release_id(mini)
    cfg = mini / "partnership.yaml"
    raw = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    raw.setdefault("build", {})["drafts"] = True
    cfg.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    result = run("build", str(mini))
    assert result.exit_code == 0, result.output
    assert "is ready, not current" in result.output
    assert current_release_id(mini) == current and len(list_drafts(mini)) == 1


@pytest.fixture(scope="module")
def site(synth_built: Path, tmp_path_factory: pytest.TempPathFactory):
    from joinedup.web import create_app
    from joinedup.web.assets import ensure_assets
    from joinedup.web.live import live_server

    ensure_assets()
    root = tmp_path_factory.mktemp("drafts") / "partnership"
    shutil.copytree(synth_built, root)
    app = create_app(root)
    create_user(
        app.state.governance.state,
        username="draft-lead",
        display_name="Dana Lead",
        agency="police",
        roles=["data_lead"],
        password=PASSWORD,
        actor="test",
    )
    with live_server(app) as url:
        yield app, root, url
    app.state.governance.close()


def test_a_data_lead_builds_previews_and_publishes_in_the_browser(site, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from joinedup.report.pdf import launch_chromium

    app, root, url = site
    before = current_release_id(root)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{url}/sign-in")
        page.fill("#username", "draft-lead")
        page.fill("#password", PASSWORD)
        page.click("#sign-in-button")
        page.wait_for_url(f"{url}/")
        page.goto(f"{url}/releases")
        page.click("#build-button")  # "Build a draft to preview"
        page.wait_for_selector("#preview-link", timeout=600_000)  # the page reloads itself
        assert "is ready" in page.locator("#build-done").inner_text()
        assert current_release_id(root) == before  # nobody else sees it yet
        page.click("#preview-link")
        page.wait_for_selector("#compared")
        (draft,) = list_drafts(root)
        assert draft.release_id in page.locator("#compared").inner_text()
        assert page.locator("#compare-persons").count() == 1
        page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)
        page.click("#publish-button")
        page.wait_for_selector("#draft-done")
        assert "is current for everyone" in page.locator("#draft-done").inner_text()
        browser.close()
    assert current_release_id(root) == draft.release_id != before
    state = app.state.governance.state
    (published,) = state.audit.entries(actions=["publish_release"])
    assert published.actor == "draft-lead" and published.detail["via"] == "web"
    built = state.audit.entries(actions=["build_release"])[0]
    assert built.detail["draft"] is True and built.target == draft.release_id
