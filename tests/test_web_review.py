"""Link review that works (issue 16, item 2).

The partnership's sharing agreements name who reviews (``reviewers``): a panel member so
named opens the queue (refused without it), a data lead so named sees both records at
the operational tier. Every view of the records is audited as re-identification. The
queue is filtered and sorted by score band, source pair and flag. In real Chromium a
reviewer decides a pair from the keyboard, seeing both records side by side with what
agrees and differs marked, and lands on the next pair.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.access import create_user
from joinedup.release import open_current
from joinedup.web import create_app

PURPOSE = "Clerical review of uncertain links for the exploitation panel"
PASSWORD = "review-browser-password-synthetic"


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("review") / "partnership"
    shutil.copytree(synth_built, root)
    con = duckdb.connect(str(open_current(root).db_path))
    con.execute(  # pairs whose records ended apart go to the review band
        "UPDATE link_pair SET status = 'review' "
        "WHERE status <> 'linked' OR match_probability < 0.999"
    )
    con.close()
    cfg = root / "partnership.yaml"
    raw = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    for agreement in raw["sharing_agreements"]:
        if "operational" in agreement.get("tiers", ["operational", "strategic"]):
            agreement["reviewers"] = ["data_lead", "panel_member"]
    cfg.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def app(partnership: Path):
    app = create_app(partnership)
    yield app
    app.state.governance.close()


@pytest.fixture(scope="module")
def db(partnership: Path):
    con = duckdb.connect(str(open_current(partnership).db_path), read_only=True)
    yield con
    con.close()


_n = iter(range(1000))


def client(app, role: str) -> TestClient:
    c = TestClient(app)
    c.user = sign_in(c, role, username=f"rv-{next(_n)}")  # type: ignore[attr-defined]
    return c


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def give_purpose(c: TestClient, key: str) -> None:
    page = c.get(f"/linkage/review/{key}").text
    r = c.post(
        f"/linkage/review/{key}/purpose",
        data={"csrf_token": csrf(page), "purpose": PURPOSE},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_named_panel_members_and_data_leads_review_with_names(app, db) -> None:
    panel = client(app, "panel_member")
    queue = panel.get("/linkage/review.json").json()
    assert queue["tier"] == "operational" and queue["pairs"]
    assert panel.get("/linkage").status_code == 403  # the report stays with review_links

    lead = client(app, "data_lead")
    queue = lead.get("/linkage/review.json").json()
    assert queue["tier"] == "operational"
    key = queue["pairs"][0]["key"]
    before = lead.get(f"/linkage/review/{key}.json").json()
    assert before["identifying"] is False and before["purpose"]["required"] is True
    give_purpose(lead, key)
    seen = lead.get(f"/linkage/review/{key}.json").json()
    assert seen["identifying"] is True
    left = seen["left"]
    forename, surname = db.execute(
        "SELECT forename, surname FROM identity WHERE source = ? AND source_record_id = ?",
        [left["source"], left["source_record_id"]],
    ).fetchall()[0]
    assert (left["fields"]["forename"], left["fields"]["surname"]) == (forename, surname)
    # both records side by side, each field marked as agreeing, differing or unsure
    page = lead.get(f"/linkage/review/{key}").text
    assert page.count('data-agrees="') == len(seen["comparisons"]) >= 5
    assert 'id="decide-match"' in page and 'aria-keyshortcuts="M"' in page
    # every view of the records is audited, one entry per person per view
    state = app.state.governance.state
    people = {seen["left"]["person_id"], seen["right"]["person_id"]} - {None}
    lead.get(f"/linkage/review/{key}")
    entries = [e for e in state.audit.entries(actor=lead.user.username) if e.action == "reidentify"]
    assert len(entries) == 3 * len(people)  # the JSON view and the page twice
    assert {e.purpose for e in entries} == {PURPOSE}
    assert {tuple(e.detail["user_roles"]) for e in entries} == {("data_lead",)}
    # at the strategic tier the same data lead sees how the fields compare only
    strategic = lead.get(f"/linkage/review/{key}.json?tier=strategic").json()
    assert strategic["identifying"] is False and "fields" not in strategic["left"]


def test_without_the_agreements_naming_them_panel_members_are_refused(synth_built: Path) -> None:
    app = create_app(synth_built)
    try:
        assert client(app, "panel_member").get("/linkage/review").status_code == 403
        assert client(app, "data_lead").get("/linkage/review.json").json()["tier"] == "strategic"
    finally:
        app.state.governance.close()


def test_filters_narrow_and_sort_the_queue(app, db) -> None:
    lead = client(app, "data_lead")
    everything = lead.get("/linkage/review.json?tier=strategic").json()
    options = everything["options"]
    total = everything["waiting"]
    assert isinstance(total, int) and total > 25
    bands = {b["value"]: b["pairs"] for b in options["bands"]}
    assert set(bands) == {"high", "middle", "low"}
    shown = [n for n in bands.values() if isinstance(n, int)]
    assert sum(shown) <= total
    edges = everything["band_edges"]
    for band in ("high", "middle", "low"):
        got = lead.get(f"/linkage/review.json?tier=strategic&band={band}").json()
        probs = [p["match_probability"] for p in got["pairs"]]
        if band == "high":
            assert all(p >= edges["high_from"] - 1e-4 for p in probs)
        elif band == "low":
            assert all(p < edges["low_below"] + 1e-4 for p in probs)
        if isinstance(bands[band], int):
            assert got["waiting"] == bands[band]
    pair = options["sources"][0]
    narrowed = lead.get(
        "/linkage/review.json", params={"tier": "strategic", "sources": pair["value"]}
    ).json()
    wanted = set(pair["value"].split("+"))
    assert narrowed["pairs"] and all(
        {p["left"]["source"], p["right"]["source"]} == wanted
        or {p["left"]["source"]} == {p["right"]["source"]} == wanted
        for p in narrowed["pairs"]
    )
    least = lead.get("/linkage/review.json?tier=strategic&sort=unlikely").json()
    probs = [p["match_probability"] for p in least["pairs"]]
    assert probs == sorted(probs)
    # flags: pairs with a record in a flagged person, checked against the release
    flagged = {
        (s, r)
        for s, r in db.execute(
            "SELECT rp.source, rp.source_record_id FROM record_person rp "
            "JOIN person_flag USING (person_id)"
        ).fetchall()
    }
    got = lead.get("/linkage/review.json?tier=operational&flag=any").json()
    give_purpose(lead, got["pairs"][0]["key"]) if got["pairs"] else None
    for p in got["pairs"][:5]:
        view = lead.get(f"/linkage/review/{p['key']}.json").json()
        sides = {(view[s]["source"], view[s]["source_record_id"]) for s in ("left", "right")}
        assert sides & flagged
    for bad in ("band=sideways", "sources=a", "flag=DROP%20TABLE"):
        assert lead.get(f"/linkage/review.json?{bad}").status_code == 422, bad


def test_deciding_goes_on_to_the_next_pair(app) -> None:
    lead = client(app, "data_lead")
    queue = lead.get("/linkage/review.json?tier=strategic&sort=unlikely").json()
    first, second = queue["pairs"][0], queue["pairs"][1]
    url = first["href"]
    assert url.startswith(f"/linkage/review/{first['key']}?") and "pos=0" in url
    page = lead.get(url).text
    assert f"/linkage/review/{second['key']}" in page  # the skip link
    r = lead.post(
        f"/linkage/review/{first['key']}?tier=strategic&sort=unlikely&pos=0",
        data={"csrf_token": csrf(page), "decision": "non_match", "then": "next"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/linkage/review/{second['key']}?")
    landed = lead.get(r.headers["location"]).text
    assert 'id="decided-banner"' in landed
    after = lead.get("/linkage/review.json?tier=strategic&sort=unlikely").json()
    assert first["key"] not in {p["key"] for p in after["pairs"]}


def test_a_reviewer_decides_a_pair_from_the_keyboard_in_the_browser(app, db, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    from joinedup.report.pdf import launch_chromium
    from joinedup.web.assets import ensure_assets
    from joinedup.web.live import live_server

    ensure_assets()
    state = app.state.governance.state
    create_user(
        state,
        username="keyboard-panel",
        display_name="Kim Panel",
        agency="police",
        roles=["panel_member"],
        password=PASSWORD,
        actor="test",
    )
    before = len(state.link_decisions.all())
    with live_server(app) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{url}/sign-in")
        page.fill("#username", "keyboard-panel")
        page.fill("#password", PASSWORD)
        page.click("#sign-in-button")
        page.wait_for_url(f"{url}/")
        page.goto(f"{url}/linkage/review")
        page.click("#start-reviewing")
        page.wait_for_selector("#purpose-form")
        page.fill("#purpose", PURPOSE)
        page.locator("#purpose-form button[type=submit]").click()
        page.wait_for_selector("#comparison th:has-text('First record')")
        key = page.url.split("/linkage/review/")[1].split("?")[0]
        view_fields = page.locator("#comparison").inner_text()
        from joinedup.disclosure import Tier
        from joinedup.views import current_review_pair

        pair = current_review_pair(app.state.settings.partnership_dir, Tier.OPERATIONAL, key)
        for side in ("left", "right"):
            surname = pair.data[side]["fields"]["surname"]
            assert surname is None or surname in view_fields or surname.title() in view_fields
        assert page.locator("tr.app-compare--agree, tr.app-compare--differ").count() >= 1
        assert "Agrees" in view_fields or "Differs" in view_fields
        page.screenshot(path=str(tmp_path / "pair.png"), full_page=True)
        page.locator("body").press("m")  # the keyboard shortcut for "match"
        page.wait_for_selector("#decided-banner")
        assert key not in page.url
        browser.close()
    decisions = state.link_decisions.all()
    mine = [d for d in decisions if d.decided_by == "keyboard-panel"]
    assert len(decisions) == before + 1 and [d.decision for d in mine] == ["match"]
    entries = state.audit.entries(actor="keyboard-panel")
    assert {"reidentify", "link_decision"} <= {e.action for e in entries}
