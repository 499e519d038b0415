"""The linkage report, the review queue and one pair's page (issues 4 and 7): figures
equal the release, refusals by role, identifying fields at the operational tier only,
decisions recorded with who made them, audited, and applied by the next build."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.release import open_current
from joinedup.web import create_app

NOT_REVIEWERS = ("board_member", "panel_member", "community_viewer", "admin")


def _client(app, role: str, agency: str = "police") -> TestClient:
    client = TestClient(app)
    sign_in(client, role, agency=agency, username=f"l-{role.replace('+', '-')}-{agency}")
    return client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("linkage") / "partnership"
    shutil.copytree(synth_built, root)
    # Put the pairs whose records ended apart into the review band, so the queue has some.
    con = duckdb.connect(str(open_current(root).db_path))
    con.execute(
        "UPDATE link_pair SET status = 'review' "
        "WHERE status <> 'linked' OR match_probability < 0.999"
    )
    con.close()
    return root


@pytest.fixture(scope="module")
def db(partnership: Path):
    con = duckdb.connect(str(open_current(partnership).db_path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def app(partnership: Path):
    return create_app(partnership)


@pytest.fixture(scope="module")
def lead(app) -> TestClient:
    return _client(app, "data_lead")


def test_report_equals_the_release(lead, db) -> None:
    data = lead.get("/linkage.json").json()
    raw = {
        (s, i): (v, d)
        for s, i, v, d in db.execute(
            "SELECT section, item, value, detail FROM linkage_report"
        ).fetchall()
    }
    assert data["run"]["mode"] == raw[("run", "mode")][1]
    assert data["run"]["persons"] == int(raw[("run", "persons")][0])
    for block, section in (
        ("links_by_rule", "links_by_rule"),
        ("blocking", "blocking"),
        ("match_weight", "match_weight"),
        ("cluster_size", "cluster_size"),
        ("agencies", "agencies"),
    ):
        rows = data[block]["rows"]
        assert {r["item"] for r in rows} == {i for s, i in raw if s == section}, block
        for r in rows:
            value = int(raw[(section, r["item"])][0])
            if 1 <= value <= 5:
                assert r["count"] == "c", (block, r)
            elif r["count"] != "c":  # secondary suppression may hide a larger one
                assert r["count"] == value, (block, r)
    # the total of records linked is the protected total of records loaded: "c" where
    # that total is hidden (views/records.py), else exact
    assert data["links_by_rule"]["total"] in ("c", int(raw[("run", "records")][0]))
    truth = {t["item"]: t["value"] for t in data["truth"]}
    assert truth["f1"] == pytest.approx(raw[("truth_pairs", "f1")][0])
    assert truth["cluster_recall"] == pytest.approx(raw[("truth_clusters", "cluster_recall")][0])
    weights = data["model"]["weights"]
    chart = db.execute("SELECT value FROM linkage_model WHERE key = 'match_weights_chart'")
    levels = json.loads(chart.fetchall()[0][0])["data"]["values"]
    assert [w["level"] for w in weights[1:]] == [v["label_for_charts"] for v in levels[1:]]
    page = lead.get("/linkage").text
    assert page.count("<h1") == 1
    for chart_id in ("chart-model", "chart-match-weight", "chart-links", "chart-sizes"):
        assert f'id="{chart_id}"' in page, chart_id
    assert 'id="model-weights"' in page and 'id="truth"' in page


def test_refused_without_review_links(app, lead) -> None:
    queue = lead.get("/linkage/review.json").json()
    key = queue["pairs"][0]["key"]
    for role in NOT_REVIEWERS:
        client = _client(app, role)
        for url in ("/linkage", "/linkage.json", "/linkage/review", f"/linkage/review/{key}"):
            assert client.get(url).status_code == 403, (role, url)
        token = _csrf(client.get("/account").text)
        r = client.post(
            f"/linkage/review/{key}",
            data={"csrf_token": token, "decision": "match"},
            follow_redirects=False,
        )
        assert r.status_code == 403, role
    assert _client(app, "analyst").get("/linkage/review").status_code == 200


def test_queue_pages_and_keys_hide_record_ids(lead, db) -> None:
    waiting = db.execute("SELECT count(*) FROM link_pair WHERE status = 'review'").fetchall()[0][0]
    assert waiting > 25  # more than one page
    first = lead.get("/linkage/review.json").json()
    second = lead.get("/linkage/review.json?page=2").json()
    assert first["waiting"] == waiting and first["has_next"] and not first["has_previous"]
    assert len(first["pairs"]) == 25 and second["has_previous"]
    probs = [p["match_probability"] for p in first["pairs"] + second["pairs"]]
    assert probs == sorted(probs, reverse=True)
    # ids from a row number ("7") are words of any page: the check reads the ids that
    # would identify a record if they leaked (an agency's own reference)
    ids = {
        r[0]
        for r in db.execute("SELECT source_record_id FROM record").fetchall()
        if not r[0].isdigit()
    }
    assert len(ids) > 1000
    text = lead.get("/linkage/review").text + lead.get("/linkage/review.json").text
    for p in first["pairs"]:
        assert not {"source_record_id", "person_id", "fields"} & set(p["left"])
    assert not any(re.search(rf"\b{re.escape(i)}\b", text) for i in ids)


def test_pair_at_strategic_tier_shows_comparisons_not_records(lead, db) -> None:
    pair = lead.get("/linkage/review.json").json()["pairs"][0]
    r = lead.get(f"/linkage/review/{pair['key']}.json")
    data = r.json()
    assert data["identifying"] is False and data["key"] == pair["key"]
    assert [c["field"] for c in data["comparisons"]][:5] == [
        "Forename",
        "Surname",
        "Date of birth",
        "Sex",
        "Postcode",
    ]
    # Find the pair's records independently and check none of their values is shown.
    row = db.execute(
        "SELECT source_l, source_record_id_l, source_r, source_record_id_r FROM link_pair "
        "WHERE status = 'review' AND abs(match_probability - ?) < 1e-12 "
        "AND abs(match_weight - ?) < 1e-9",
        [data["match_probability"], data["match_weight"]],
    ).fetchall()[0]
    values = []
    for source, rid in ((row[0], row[1]), (row[2], row[3])):
        values.append(rid)
        ident = db.execute(
            "SELECT forename, surname, dob, postcode, nhs_number, upn, pnc_id FROM identity "
            "WHERE source = ? AND source_record_id = ?",
            [source, rid],
        ).fetchall()[0]
        values += [str(v) for v in ident if v is not None]
    page = lead.get(f"/linkage/review/{pair['key']}").text
    for shown in (page, r.text):
        for v in values:
            assert v not in shown and v.title() not in shown
    assert (
        'id="decide"' in page
        and "names and dates of birth are shown at the operational" in page.lower()
    )


def test_pair_at_operational_tier_shows_records_and_is_audited(app, db) -> None:
    both = _client(app, "data_lead+panel_member")
    key = both.get("/linkage/review.json").json()["pairs"][1]["key"]
    # identifying fields need a purpose, given once a session (tests/test_review_reidentify.py)
    assert both.get(f"/linkage/review/{key}.json").json()["identifying"] is False
    page = both.get(f"/linkage/review/{key}").text
    r = both.post(
        f"/linkage/review/{key}/purpose",
        data={"csrf_token": _csrf(page), "purpose": "clerical review of uncertain links"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    data = both.get(f"/linkage/review/{key}.json").json()
    assert data["tier"] == "operational" and data["identifying"] is True
    left = data["left"]
    ident = db.execute(
        "SELECT forename, surname FROM identity WHERE source = ? AND source_record_id = ?",
        [left["source"], left["source_record_id"]],
    ).fetchall()[0]
    assert (left["fields"]["forename"], left["fields"]["surname"]) == ident
    state = app.state.governance.state
    seen = [e for e in state.audit.entries(limit=50) if e.action == "reidentify"]
    assert {e.target for e in seen} >= {left["person_id"], data["right"]["person_id"]}
    assert all(e.detail["page"] == "linkage_pair" for e in seen)
    assert {e.purpose for e in seen} == {"clerical review of uncertain links"}
    # the same user at the strategic tier sees comparisons only
    strategic = both.get(f"/linkage/review/{key}.json?tier=strategic").json()
    assert strategic["identifying"] is False and "fields" not in strategic["left"]


def test_decision_recorded_audited_and_leaves_the_queue(app, lead) -> None:
    queue = lead.get("/linkage/review.json").json()
    pair = queue["pairs"][0]
    url = f"/linkage/review/{pair['key']}"
    page = lead.get(url).text
    assert lead.post(url, data={"decision": "match"}, follow_redirects=False).status_code == 403
    r = lead.post(
        url,
        data={"csrf_token": _csrf(page), "decision": "match", "reason": "same school, same dob"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/linkage/review?decided=match"
    state = app.state.governance.state
    decision = state.link_decisions.all()[-1]
    assert decision.decision == "match" and decision.decided_by == "l-data_lead-police"
    assert decision.reason == "same school, same dob"
    entry = next(e for e in state.audit.entries(limit=20) if e.action == "link_decision")
    assert entry.actor == "l-data_lead-police" and entry.target == pair["key"]
    assert entry.detail["decision"] == "match"
    assert decision.left[1] not in str(entry.detail) and decision.right[1] not in str(entry.detail)
    after = lead.get("/linkage/review.json").json()
    assert after["waiting"] == queue["waiting"] - 1
    assert pair["key"] not in {p["key"] for p in after["pairs"]}
    shown = lead.get("/linkage/review?decided=match").text
    assert 'id="decided-banner"' in shown
    history = lead.get(f"{url}.json").json()["decisions"]
    assert history[-1]["decided_by"] == "l-data_lead-police" and history[-1]["reason"] is None
    bad = lead.post(url, data={"csrf_token": _csrf(page), "decision": "maybe"})
    assert bad.status_code == 422
    assert lead.get("/linkage/review/" + "0" * 32).status_code == 404


def test_the_next_build_applies_web_decisions(synth_built: Path, tmp_path: Path) -> None:
    from joinedup.pipeline import build

    root = tmp_path / "partnership"
    shutil.copytree(synth_built, root)
    con = duckdb.connect(str(open_current(root).db_path), read_only=True)
    apart = con.execute(
        "SELECT p.source_l, p.source_record_id_l, p.source_r, p.source_record_id_r "
        "FROM link_pair p JOIN record_person a ON a.source = p.source_l "
        "AND a.source_record_id = p.source_record_id_l JOIN record_person b "
        "ON b.source = p.source_r AND b.source_record_id = p.source_record_id_r "
        "WHERE a.person_id <> b.person_id ORDER BY p.match_probability DESC LIMIT 1"
    ).fetchall()
    con.close()
    assert apart, "the synthetic release has no scored pair whose records ended apart"
    app = create_app(root)
    lead = _client(app, "data_lead")
    queue = lead.get("/linkage/review.json").json()
    # find the pair's key: the web app resolves keys server-side; check each candidate
    candidates = queue["pairs"] + queue["weakest_links"]
    target = None
    for p in candidates:
        view = lead.get(f"/linkage/review/{p['key']}.json").json()
        if view["same_person"] is False:
            target = p["key"]
            break
    if target is None:  # not listed: every scored pair has a key; find it through the app
        from joinedup.views.release import partnership_config
        from joinedup.views.review import _key_secret, _key_sql

        handle = open_current(root)
        c = duckdb.connect(str(handle.db_path), read_only=True)
        sql = _key_sql(_key_secret(root, partnership_config(root)))
        target = c.execute(
            f"SELECT {sql} FROM link_pair p WHERE source_l = ? AND source_record_id_l = ? "
            "AND source_r = ? AND source_record_id_r = ?",
            [handle.release_id, *apart[0]],
        ).fetchall()[0][0]
        c.close()
    weak = queue["weakest_links"][0]["key"]
    for key, decision in ((target, "match"), (weak, "non_match")):
        page = lead.get(f"/linkage/review/{key}").text
        r = lead.post(
            f"/linkage/review/{key}",
            data={"csrf_token": _csrf(page), "decision": decision},
            follow_redirects=False,
        )
        assert r.status_code == 303
    decided = app.state.governance.state.link_decisions.all()
    app.state.governance.close()
    assert sorted(d.decision for d in decided) == ["match", "non_match"]

    build(root)
    con = duckdb.connect(str(open_current(root).db_path), read_only=True)

    def person(key: tuple[str, str]) -> str:
        return str(
            con.execute(
                "SELECT person_id FROM record_person WHERE source = ? AND source_record_id = ?",
                list(key),
            ).fetchall()[0][0]
        )

    for d in decided:
        if d.decision == "match":
            assert person(d.left) == person(d.right)
        else:
            flagged = con.execute(
                "SELECT count(*) FROM person_flag WHERE person_id = ? "
                "AND flag = 'reviewed_non_match_joined'",
                [person(d.left)],
            ).fetchall()[0][0]
            assert person(d.left) != person(d.right) or flagged
    applied = con.execute(
        "SELECT value FROM linkage_report WHERE section = 'review' AND item = 'decisions_applied'"
    ).fetchall()[0][0]
    con.close()
    assert applied == 2
