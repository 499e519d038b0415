"""Cohorts, person timelines and re-identification with purpose (issue 7), through
FastAPI's TestClient on a copy of the built synthetic partnership."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.disclosure import Tier
from joinedup.release import open_current
from joinedup.views.questions import current_units
from joinedup.web import create_app

PURPOSE = "Preparing the exploitation panel case for November"
PERSON_UNITS = {"children", "young people", "children and young people", "persons"}
PERSON_UNITS |= {"persons of concern"}


def _db(partnership: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(open_current(partnership).db_path), read_only=True)


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("people") / "partnership"
    shutil.copytree(synth_built, root)
    return root


@pytest.fixture(scope="module")
def person_id(partnership: Path) -> str:
    """A child known to police and health (with an NHS number) and two or more other
    agencies, with a linkage flag added to the release so the page must show it."""
    con = duckdb.connect(str(open_current(partnership).db_path))
    row = con.execute(
        "SELECT p.person_id FROM person p WHERE p.age < 18 AND p.n_agencies >= 3 "
        "AND p.agencies LIKE '%police%' AND EXISTS (SELECT 1 FROM identity i "
        "JOIN record_person rp USING (source, source_record_id) JOIN record r "
        "USING (source, source_record_id) WHERE rp.person_id = p.person_id "
        "AND r.agency = 'health' AND i.nhs_number IS NOT NULL) "
        "ORDER BY p.n_records DESC, p.person_id LIMIT 1"
    ).fetchone()
    assert row is not None
    con.execute("INSERT INTO person_flag VALUES (?, 'two_nhs_numbers', '2 NHS numbers')", [row[0]])
    con.close()
    return str(row[0])


@pytest.fixture(scope="module")
def app(partnership: Path, person_id: str):
    app = create_app(partnership)
    yield app
    app.state.governance.close()


def _client(app, role: str, name: str, agency: str = "police") -> TestClient:
    client = TestClient(app)
    sign_in(client, role, agency=agency, username=f"people-{name}")
    return client


@pytest.fixture(scope="module")
def panel(app) -> TestClient:
    return _client(app, "panel_member", "panel")


def _audit(app, action: str) -> list:
    state = app.state.governance.state
    return state.audit.entries(actions=[action], newest_first=False)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def test_cohort_list_is_the_questions_units_and_the_standing_cohorts(
    app, panel, partnership: Path
) -> None:
    r = panel.get("/cohorts.json")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    data = r.json()
    by_id = {c["id"]: c for c in data["cohorts"]}
    con = _db(partnership)
    questions = con.execute(
        "SELECT question_id FROM question WHERE unit IN "
        f"({', '.join(repr(u) for u in sorted(PERSON_UNITS))}) "
        "AND tiers LIKE '%operational%' ORDER BY 1"
    ).fetchall()
    multi = con.execute(
        "SELECT pc.person_id FROM person_concern pc JOIN person p USING (person_id) "
        "WHERE p.age < 18 AND pc.role IN ('victim', 'subject') GROUP BY 1 "
        "HAVING count(DISTINCT pc.agency) >= 3 ORDER BY 1"
    ).fetchall()
    con.close()
    question_ids = [q for (q,) in questions]
    assert [c["id"] for c in data["cohorts"] if c["kind"] == "question"] == question_ids
    assert len(question_ids) >= 5
    for qid in question_ids:
        units = current_units(partnership, qid, tier=Tier.OPERATIONAL)
        members = panel.get(f"/cohorts/{qid}.json").json()["members"]
        assert sorted(m["person_id"] for m in members) == units, qid
        assert by_id[qid]["size"] == len(units), qid
    assert {"multi-agency-concern", "flagged", "turning-18"} <= set(by_id)
    shown = panel.get("/cohorts/multi-agency-concern.json").json()
    assert sorted(m["person_id"] for m in shown["members"]) == [p for (p,) in multi]
    assert by_id["multi-agency-concern"]["size"] == len(multi) > 0
    page = panel.get("/cohorts").text
    assert page.count("data-cohort=") == len(data["cohorts"])
    assert 'href="/cohorts/multi-agency-concern"' in page


def test_a_cohort_lists_people_without_identifiers_and_is_audited(
    app, panel, person_id: str
) -> None:
    before = len(_audit(app, "view_cohort"))
    r = panel.get("/cohorts/flagged")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert f'href="/people/{person_id}"' in r.text
    data = panel.get("/cohorts/flagged.json").json()
    assert [m["person_id"] for m in data["members"]] == [person_id]
    member = data["members"][0]
    assert set(member) == {"person_id", "age_band", "agencies", "concerns", "last_contact", "href"}
    assert re.fullmatch(r"\d{4}-\d{2}", member["last_contact"])
    entries = _audit(app, "view_cohort")
    assert len(entries) == before + 2
    last = entries[-1]
    assert last.target == "flagged" and last.actor == "people-panel"
    assert last.detail["members"] == 1 and person_id not in str(last.detail)
    assert panel.get("/cohorts/no-such-cohort").status_code == 404


def test_timeline_rows_are_the_persons_events_in_the_release(
    app, panel, partnership: Path, person_id: str
) -> None:
    con = _db(partnership)
    expected = con.execute(
        "SELECT DISTINCT e.event_id, CAST(e.event_date AS VARCHAR), e.source, e.event_type "
        "FROM event e JOIN event_person ep USING (event_id) JOIN record_person rp "
        "ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id "
        "WHERE rp.person_id = ?",
        [person_id],
    ).fetchall()
    agencies = con.execute(
        "SELECT DISTINCT r.agency FROM record r JOIN record_person rp "
        "USING (source, source_record_id) WHERE rp.person_id = ? ORDER BY 1",
        [person_id],
    ).fetchall()
    con.close()
    data = panel.get(f"/people/{person_id}.json").json()
    got = sorted((e["date"], e["source"], e["event_type"]) for e in data["events"])
    assert got == sorted((d, s, t) for _, d, s, t in expected)
    assert len(expected) > 5
    dates = [e["date"] for e in data["events"] if e["date"]]
    assert dates == sorted(dates)  # one chronological timeline
    assert sorted(a["agency"] for a in data["agencies"]) == [a for (a,) in agencies]
    for key in ("score", "risk", "rating"):
        assert key not in str(list(data)).lower()

    r = panel.get(f"/people/{person_id}")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    html = r.text
    body = html.split('id="events"', 1)[1].split("</table>", 1)[0]
    assert body.count("data-source=") == len(expected)
    assert '<svg role="img"' in html and 'id="person-timeline-desc"' in html
    assert f"Person {person_id}</h1>" in html
    # the flag and what it means
    assert "Records may belong to more than one person: check before acting." in html
    assert 'data-flag="two_nhs_numbers"' in html
    # a panel member may re-identify: the form is there, with its CSRF token
    assert 'action="/people/' in html and _csrf(html)


def test_each_view_of_a_person_is_audited(app, panel, person_id: str) -> None:
    before = [e for e in _audit(app, "view_person") if e.target == person_id]
    assert panel.get(f"/people/{person_id}").status_code == 200
    after = [e for e in _audit(app, "view_person") if e.target == person_id]
    assert len(after) == len(before) + 1
    entry = after[-1]
    assert entry.actor == "people-panel" and entry.detail["page"] == "timeline"
    assert "police" in entry.agencies and len(entry.agencies) >= 3


def test_no_other_agencys_identifiers_on_the_timeline(
    app, panel, partnership: Path, person_id: str
) -> None:
    con = _db(partnership)
    rows = con.execute(
        "SELECT r.agency, r.source_record_id, i.* EXCLUDE (source, source_record_id) "
        "FROM identity i JOIN record r USING (source, source_record_id) "
        "JOIN record_person rp USING (source, source_record_id) WHERE rp.person_id = ?",
        [person_id],
    ).fetchall()
    names = [d[0] for d in con.description]
    con.close()
    html = panel.get(f"/people/{person_id}").text
    text = html + panel.get(f"/people/{person_id}.json").text
    secret: set[str] = set()
    own: set[str] = set()
    for row in rows:
        values = dict(zip(names, row, strict=True))
        for key in ("forename", "surname", "postcode", "nhs_number", "upn", "pnc_id"):
            if values[key]:
                secret.add(str(values[key]))
        ids = {values["source_record_id"], values["local_id"]} - {None}
        (own if values["agency"] == "police" else secret).update(str(x) for x in ids)
    assert any(len(s) == 10 and s.isdigit() for s in secret)  # an NHS number from health
    leaked = [s for s in secret if re.search(rf"\b{re.escape(s)}\b", text)]
    assert not leaked
    assert own and all(x in html for x in own)  # the viewer's own agency's references


def test_other_roles_and_tiers_are_refused(app, panel, person_id: str) -> None:
    paths = ["/cohorts", "/cohorts.json", "/cohorts/flagged", f"/people/{person_id}"]
    paths.append(f"/people/{person_id}.json")
    before = len(_audit(app, "view_person"))
    for role in ("board_member", "community_viewer", "analyst", "data_lead", "admin"):
        client = _client(app, role, f"refused-{role}")
        for path in paths:
            r = client.get(path)
            assert r.status_code == 403, (role, path)
        assert "panel members viewing the operational tier" in client.get("/cohorts").text
    for path in paths:
        r = panel.get(path + "?tier=strategic")
        assert r.status_code == 403, path
        assert panel.get(path + "?tier=community").status_code == 403, path
    assert panel.get("/cohorts.json?tier=strategic").json()["error"]["status"] == 403
    assert len(_audit(app, "view_person")) == before


def test_an_unknown_person_is_a_404_and_the_attempt_is_logged_without_what_was_typed(
    app, panel
) -> None:
    unknown = "P0123456789abcdef"
    r = panel.get(f"/people/{unknown}")
    assert r.status_code == 404 and "Person not found" in r.text
    assert r.headers["cache-control"] == "no-store"
    typed = "9434765919"  # an NHS number pasted into the address
    assert panel.get(f"/people/{typed}.json").status_code == 404
    entries = _audit(app, "view_person_not_found")
    assert [e.target for e in entries[-2:]] == [unknown, None]
    assert not any(typed in str(e) for e in app.state.governance.state.audit.entries())
    assert not [e for e in _audit(app, "view_person") if e.target in (unknown, typed)]


def test_reidentify_needs_a_purpose(app, panel, person_id: str) -> None:
    token = _csrf(panel.get(f"/people/{person_id}").text)
    url = f"/people/{person_id}/reidentify"
    before = len(_audit(app, "reidentify"))
    for purpose, message in (
        ("", "Enter why you need to know who this person is"),
        ("   short ", "The purpose must be at least 10 characters"),
    ):
        r = panel.post(url, data={"csrf_token": token, "purpose": purpose})
        assert r.status_code == 400
        assert 'class="govuk-error-summary"' in r.text and 'href="#purpose"' in r.text
        assert message in r.text and 'id="purpose-error"' in r.text
        assert "govuk-form-group--error" in r.text
        assert r.headers["cache-control"] == "no-store"
    assert len(_audit(app, "reidentify")) == before


def test_reidentify_with_a_purpose_shows_each_agencys_identifiers(
    app, panel, partnership: Path, person_id: str
) -> None:
    con = _db(partnership)
    nhs, surname = con.execute(
        "SELECT i.nhs_number, i.surname FROM identity i JOIN record r "
        "USING (source, source_record_id) JOIN record_person rp "
        "USING (source, source_record_id) WHERE rp.person_id = ? AND r.agency = 'health' "
        "AND i.nhs_number IS NOT NULL LIMIT 1",
        [person_id],
    ).fetchone()
    con.close()
    token = _csrf(panel.get(f"/people/{person_id}").text)
    r = panel.post(
        f"/people/{person_id}/reidentify", data={"csrf_token": token, "purpose": PURPOSE}
    )
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert nhs in r.text and surname in r.text
    assert 'data-agency="health"' in r.text and 'data-agency="police"' in r.text
    assert PURPOSE in r.text
    entry = _audit(app, "reidentify")[-1]
    assert entry.target == person_id and entry.purpose == PURPOSE
    assert entry.actor == "people-panel" and "health" in entry.agencies
    assert nhs not in str(entry)


def test_reidentify_refuses_without_csrf_or_role(app, panel, person_id: str) -> None:
    url = f"/people/{person_id}/reidentify"
    before = len(_audit(app, "reidentify"))
    assert panel.post(url, data={"purpose": PURPOSE}).status_code == 403
    assert panel.post(url, data={"purpose": PURPOSE, "csrf_token": "x" * 20}).status_code == 403
    board = _client(app, "board_member", "reid-board")
    token = _csrf(board.get("/").text)  # the sign-out form carries the session's token
    r = board.post(url, data={"csrf_token": token, "purpose": PURPOSE})
    assert r.status_code == 403
    assert len(_audit(app, "reidentify")) == before
    refused = _audit(app, "reidentify_refused")[-1]
    assert refused.actor == "people-reid-board" and refused.target == person_id


def test_no_release_is_a_proper_page(tmp_path: Path) -> None:
    app = create_app(tmp_path)
    client = _client(app, "panel_member", "empty")
    r = client.get("/cohorts")
    assert r.status_code == 503 and "joinedup build DIR" in r.text
    assert client.get("/people/P0123456789abcdef.json").status_code == 503
    app.state.governance.close()
