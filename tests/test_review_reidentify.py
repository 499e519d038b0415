"""Linkage review is re-identification (issue 11, item 6).

Opening the identifying fields of a candidate pair (another agency's record: names, date
of birth, postcode, identifiers) needs a purpose: given by the reviewer once a session
(a CSRF-checked form; remembered server-side for that session only) or declared for
review by both records' sharing agreements (``review_purpose``). Each such view is logged
as ``reidentify`` with the purpose; pair pages and their JSON twins are ``no-store``;
before a purpose is given no identifying value reaches the browser.
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
from joinedup.release import open_current
from joinedup.web import create_app

PURPOSE = "Clerical review of uncertain links for the exploitation panel"
SHARED = "Safeguarding children and young adults from exploitation"  # in both ISA and NHS
DECLARED = "Clerical review of uncertain record links, to keep person linkage accurate"


def _prepare(root: Path) -> None:
    # Put the pairs whose records ended apart into the review band, so the queue has some.
    con = duckdb.connect(str(open_current(root).db_path))
    con.execute(
        "UPDATE link_pair SET status = 'review' "
        "WHERE status <> 'linked' OR match_probability < 0.999"
    )
    con.close()


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reidentify") / "partnership"
    shutil.copytree(synth_built, root)
    _prepare(root)
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


_users = iter(range(1000))


def _reviewer(app, role: str = "data_lead+panel_member") -> TestClient:
    """A new session of a new reviewer who may see person-level data (operational tier)."""
    client = TestClient(app)
    client.user = sign_in(client, role, username=f"rr-{next(_users)}")  # type: ignore[attr-defined]
    return client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _queue(client: TestClient) -> list[str]:
    data = client.get("/linkage/review.json").json()
    return [p["key"] for p in data["pairs"]]


def _give(client: TestClient, key: str, **form: str):
    page = client.get(f"/linkage/review/{key}").text
    return client.post(
        f"/linkage/review/{key}/purpose",
        data={"csrf_token": _csrf(page), **form},
        follow_redirects=False,
    )


def _identity_values(db, data: dict) -> list[str]:
    """The pair's records' identifying values, read from the release itself."""
    values = []
    for side in ("left", "right"):
        source, rid = data[side]["source"], data[side]["source_record_id"]
        values.append(rid)
        row = db.execute(
            "SELECT forename, surname, dob, postcode, nhs_number, upn, pnc_id FROM identity "
            "WHERE source = ? AND source_record_id = ?",
            [source, rid],
        ).fetchall()[0]
        values += [str(v) for v in row if v is not None and len(str(v)) >= 3]
    return values


def _shows(text: str, value: str) -> bool:
    return any(
        re.search(rf"(?<![\w-]){re.escape(v)}(?![\w-])", text) for v in (value, value.title())
    )


def test_purpose_is_asked_once_a_session_then_remembered(app) -> None:
    reviewer = _reviewer(app)
    first, second = _queue(reviewer)[:2]
    before = reviewer.get(f"/linkage/review/{first}")
    assert before.status_code == 200
    assert 'id="purpose-form"' in before.text and 'id="decide"' in before.text
    data = reviewer.get(f"/linkage/review/{first}.json").json()
    assert data["identifying"] is False and data["purpose"]["required"] is True
    assert "fields" not in data["left"] and "source_record_id" not in data["right"]
    # too short: asked again, nothing remembered
    short = _give(reviewer, first, purpose="checking")
    assert short.status_code == 400 and 'id="error-summary"' in short.text
    assert "at least 10 characters" in short.text
    assert reviewer.get(f"/linkage/review/{first}.json").json()["identifying"] is False
    given = _give(reviewer, first, purpose_choice="other", purpose=PURPOSE)
    assert given.status_code == 303 and given.headers["location"] == f"/linkage/review/{first}"
    after = reviewer.get(f"/linkage/review/{first}.json").json()
    assert after["identifying"] is True and after["left"]["fields"]
    assert after["purpose"] == {"required": False, "given": PURPOSE, "from": "session"}
    # another pair in the same session: not asked again
    page = reviewer.get(f"/linkage/review/{second}").text
    assert 'id="purpose-form"' not in page and PURPOSE in page
    assert reviewer.get(f"/linkage/review/{second}.json").json()["identifying"] is True
    # a new session of the same user is asked again (the purpose was for that session)
    from joinedup.access import SESSION_COOKIE, start_session

    state = app.state.governance.state
    info = start_session(state, reviewer.user, method="password", client="testclient")
    again = TestClient(app)
    again.cookies.set(SESSION_COOKIE, info.token)
    assert again.get(f"/linkage/review/{second}.json").json()["identifying"] is False
    assert 'id="purpose-form"' in again.get(f"/linkage/review/{second}").text


def test_a_permitted_purpose_can_be_chosen(app) -> None:
    reviewer = _reviewer(app)
    state = app.state.governance.state
    for key in _queue(reviewer):
        page = reviewer.get(f"/linkage/review/{key}").text
        if SHARED in page:  # both records' agreements permit it
            break
    else:
        raise AssertionError("no pair in the queue between sources sharing a purpose")
    assert 'name="purpose_choice"' in page
    # a choice the agreements do not permit is not taken as the purpose
    refused = _give(reviewer, key, purpose_choice="Curiosity about this family")
    assert refused.status_code == 400
    assert _give(reviewer, key, purpose_choice=SHARED).status_code == 303
    assert reviewer.get(f"/linkage/review/{key}.json").json()["purpose"]["given"] == SHARED
    entry = state.audit.entries(actor=reviewer.user.username)[0]
    assert entry.action == "reidentify" and entry.purpose == SHARED


def test_each_identifying_view_is_logged_as_reidentification(app) -> None:
    reviewer = _reviewer(app)
    username = reviewer.user.username
    state = app.state.governance.state
    key = _queue(reviewer)[2]
    reviewer.get(f"/linkage/review/{key}")
    reviewer.get(f"/linkage/review/{key}.json")
    assert [e.action for e in state.audit.entries(actor=username)] == ["sign_in"]  # not shown
    _give(reviewer, key, purpose=PURPOSE)
    data = reviewer.get(f"/linkage/review/{key}.json").json()
    entries = [e for e in state.audit.entries(actor=username) if e.action != "sign_in"]
    people = {data["left"]["person_id"], data["right"]["person_id"]} - {None}
    assert {e.action for e in entries} == {"reidentify"}
    assert {e.target for e in entries} == people
    for e in entries:
        assert e.purpose == PURPOSE
        assert e.detail["page"] == "linkage_pair" and e.detail["pair"] == key
        assert e.detail["purpose_from"] == "session"
        assert set(e.agencies) == {data["left"]["agency"], data["right"]["agency"]}
        assert data["left"]["source_record_id"] not in str(e.detail)
    assert not [e for e in state.audit.entries(actor=username) if e.action == "view_person"]
    reviewer.get(f"/linkage/review/{key}")
    assert len([e for e in state.audit.entries(actor=username) if e.action == "reidentify"]) == (
        2 * len(people)
    )
    assert state.audit.verify().ok


def test_pair_pages_and_json_are_no_store(app) -> None:
    reviewer = _reviewer(app)
    key = _queue(reviewer)[3]
    urls = (f"/linkage/review/{key}", f"/linkage/review/{key}.json")
    for url in urls:  # before the purpose, after it, and at the strategic tier
        assert reviewer.get(url).headers["cache-control"] == "no-store", url
    given = _give(reviewer, key, purpose=PURPOSE)
    assert given.headers["cache-control"] == "no-store"
    for url in urls:
        r = reviewer.get(url)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", url
        assert reviewer.get(url + "?tier=strategic").headers["cache-control"] == "no-store"
    bad = _give(reviewer, key, purpose="x")
    assert bad.status_code == 400 and bad.headers["cache-control"] == "no-store"


def test_forged_purpose_post_is_refused(app) -> None:
    reviewer = _reviewer(app)
    other = _reviewer(app)
    key = _queue(reviewer)[4]
    url = f"/linkage/review/{key}/purpose"
    foreign = _csrf(other.get(f"/linkage/review/{key}").text)  # another session's token
    for form in ({"purpose": PURPOSE}, {"purpose": PURPOSE, "csrf_token": foreign}):
        r = reviewer.post(url, data=form, follow_redirects=False)
        assert r.status_code == 403, form
    assert reviewer.get(f"/linkage/review/{key}.json").json()["identifying"] is False
    # not signed in at all: nothing is remembered either
    anonymous = TestClient(app).post(url, data={"purpose": PURPOSE}, follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    assert 'id="purpose-form"' in reviewer.get(f"/linkage/review/{key}").text


def test_only_reviewers_who_may_see_person_level_data_give_a_purpose(app) -> None:
    lead = _reviewer(app, "data_lead")  # reviews links, no person-level data
    key = _queue(lead)[0]
    page = lead.get(f"/linkage/review/{key}").text
    assert 'id="purpose-form"' not in page
    assert _give(lead, key, purpose=PURPOSE).status_code == 403
    assert lead.get(f"/linkage/review/{key}.json").json()["identifying"] is False
    both = _reviewer(app)
    strategic = both.get(f"/linkage/review/{key}?tier=strategic").text
    assert 'id="purpose-form"' not in strategic


def test_identifying_values_are_absent_before_the_purpose(app, db) -> None:
    reviewer = _reviewer(app)
    keys = _queue(reviewer)[5:8]
    before = {
        key: reviewer.get(f"/linkage/review/{key}").text
        + reviewer.get(f"/linkage/review/{key}.json").text
        for key in keys
    }
    _give(reviewer, keys[0], purpose=PURPOSE)
    checked = 0
    for key in keys:
        data = reviewer.get(f"/linkage/review/{key}.json").json()
        values = _identity_values(db, data)
        assert values
        for value in values:
            assert not _shows(before[key], value), key
            checked += 1
        shown = reviewer.get(f"/linkage/review/{key}").text
        assert data["left"]["fields"]["surname"] is None or _shows(
            shown, data["left"]["fields"]["surname"]
        )
    assert checked >= 6 * len(keys)


@pytest.fixture(scope="module")
def declared(synth_built: Path, tmp_path_factory) -> Path:
    """A copy whose main information sharing agreement declares a review purpose (the
    NHS and voluntary sector agreements do not)."""
    root = tmp_path_factory.mktemp("declared") / "partnership"
    shutil.copytree(synth_built, root)
    _prepare(root)
    cfg = root / "partnership.yaml"
    raw = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    raw["sharing_agreements"][0]["review_purpose"] = DECLARED
    cfg.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return root


def test_a_review_purpose_declared_by_the_agreements_skips_the_form(declared: Path) -> None:
    app = create_app(declared)
    try:
        reviewer = _reviewer(app)
        username = reviewer.user.username
        raw = yaml.safe_load((declared / "partnership.yaml").read_text(encoding="utf-8"))
        isa = raw["sharing_agreements"][0]["key"]
        covered = {s["id"] for s in raw["sources"] if s["sharing_agreement"] == isa}
        seen = {"covered": 0, "asked": 0}
        for key in _queue(reviewer):
            data = reviewer.get(f"/linkage/review/{key}.json").json()
            sources = {data["left"]["source"], data["right"]["source"]}
            if sources <= covered:
                assert data["identifying"] is True, key
                assert data["purpose"] == {
                    "required": False,
                    "given": DECLARED,
                    "from": "agreement",
                }
                page = reviewer.get(f"/linkage/review/{key}").text
                assert 'id="purpose-form"' not in page and DECLARED in page
                seen["covered"] += 1
            else:  # one record's agreement declares none: the reviewer is asked
                assert data["identifying"] is False and data["purpose"]["required"] is True
                seen["asked"] += 1
        assert seen["covered"] and seen["asked"], seen
        state = app.state.governance.state
        entries = [e for e in state.audit.entries(actor=username) if e.action == "reidentify"]
        assert entries and {e.purpose for e in entries} == {DECLARED}
        assert {e.detail["purpose_from"] for e in entries} == {"agreement"}
    finally:
        app.state.governance.close()


def test_session_purposes_live_with_their_session(state) -> None:
    from joinedup.access import create_user, end_session, start_session

    user = create_user(
        state, username="sp", display_name="SP", agency="police", roles=["analyst"], actor="t"
    )
    a = start_session(state, user, method="password", client="t")
    b = start_session(state, user, method="password", client="t")
    purposes = state.session_purposes
    assert purposes.get(session_token=a.token, kind="linkage_review") is None
    purposes.remember(session_token=a.token, kind="linkage_review", purpose=" first one ")
    purposes.remember(session_token=a.token, kind="linkage_review", purpose="second one")
    assert purposes.get(session_token=a.token, kind="linkage_review") == "second one"
    assert purposes.get(session_token=a.token, kind="other") is None
    assert purposes.get(session_token=b.token, kind="linkage_review") is None
    end_session(state, a.token)
    assert purposes.get(session_token=a.token, kind="linkage_review") is None
    with pytest.raises(ValueError, match="needs a kind and a purpose"):
        purposes.remember(session_token=b.token, kind="linkage_review", purpose="  ")
