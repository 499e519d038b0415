"""Panels on the web (issue 18): a meeting prepared, held and followed up; every route
refused to every role but a panel's own members; every pack view audited; retention.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.access import Role
from joinedup.access.panel_access import panel_store, purge_due_meetings
from joinedup.config import load_config
from joinedup.present.i2 import I2_COLUMNS
from joinedup.web import create_app

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def site(synth_built: Path, tmp_path_factory):
    root = tmp_path_factory.mktemp("panels") / "partnership"
    shutil.copytree(synth_built, root)
    app = create_app(root)
    agencies = [a.id for a in load_config(root, check_files=False).agencies]
    clients = {}
    for name, role in [
        ("chair", "panel_member"),
        ("member", "panel_member"),
        ("outsider", "panel_member"),
    ] + [(r.value, r.value) for r in Role if r is not Role.PANEL_MEMBER]:
        c = TestClient(app)
        sign_in(
            c, role, agency=agencies[0] if name != "member" else agencies[1], username=f"u-{name}"
        )
        clients[name] = c
    state = app.state.governance.state
    store = panel_store(state)
    panel = store.create_panel(
        name="North MACE",
        agencies=agencies[:3],
        cadence_days=28,
        agreement="isa",
        retention_days=2190,
        created_by="test",
        chair=("u-chair", agencies[0]),
    )
    store.add_member(panel_id=panel.id, username="u-member", agency=agencies[1])
    yield app, clients, panel, agencies
    app.state.governance.close()


def _csrf(client: TestClient, path: str) -> str:
    page = client.get(path).text
    marker = 'name="csrf_token" value="'
    return page.split(marker, 1)[1].split('"', 1)[0]


def _plan(client, panel_id: int, day: dt.date) -> int:
    token = _csrf(client, f"/panels/{panel_id}")
    r = client.post(
        f"/panels/{panel_id}/meetings",
        data={"csrf_token": token, "held_on": day.isoformat()},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_prepare_hold_and_follow_up_a_meeting(site) -> None:
    app, clients, panel, agencies = site
    chair = clients["chair"]
    first = _plan(chair, panel.id, TODAY - dt.timedelta(days=30))
    meeting = chair.get(f"/meetings/{first}.json").json()
    entries = meeting["suggested"]["entries"]
    assert entries, "the synthetic partnership has children for the agenda"
    assert all(e["facts"] and e["rules"] for e in entries)
    child = next(e for e in entries if e["kind"] == "child")
    token = _csrf(chair, f"/meetings/{first}")
    r = chair.post(
        f"/meetings/{first}/agenda",
        data={
            "csrf_token": token,
            "pick": child["key"],
            f"reason-{child['key']}": "New CCE concern, three agencies",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    before = app.state.governance.state.audit.count()
    pack = chair.get(f"/meetings/{first}/pack.json").json()
    assert app.state.governance.state.audit.count() == before + 1
    (item,) = pack["items"]
    assert item["subject"] == child["subject"] and item["pack"]["found"]
    assert item["reason"] == "New CCE concern, three agencies"
    assert pack["marking"] == "OFFICIAL-SENSITIVE"
    # the viewer's own agency's references only
    assert all(
        e["reference"] is None or e["agency"] == agencies[0]
        for e in item["pack"]["timeline"]["events"]
    )
    page = chair.get(f"/meetings/{first}/pack")
    assert "OFFICIAL-SENSITIVE" in page.text and page.headers["cache-control"] == "no-store"
    token = _csrf(chair, f"/meetings/{first}/pack")
    r = chair.post(
        f"/meetings/{first}/items/{item['id']}/decision",
        data={
            "csrf_token": token,
            "stage": "disruption",
            "concern_level": "High",
            "disruption": "Child abduction warning notice",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = chair.post(
        f"/meetings/{first}/items/{item['id']}/actions",
        data={
            "csrf_token": token,
            "description": "Return home interview",
            "owner_agency": agencies[1],
            "due_on": (TODAY - dt.timedelta(days=2)).isoformat(),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    bad = chair.post(
        f"/meetings/{first}/items/{item['id']}/actions",
        data={
            "csrf_token": token,
            "description": "x",
            "owner_agency": "nowhere",
            "due_on": "2026-13-01",
        },
    )
    assert bad.status_code == 400 and "Choose the agency" in bad.text

    second = _plan(chair, panel.id, TODAY)
    nxt = clients["member"].get(f"/meetings/{second}/pack.json").json()
    assert nxt["previous_meeting"]["id"] == first
    (carried,) = nxt["carried_actions"]
    assert carried["description"] == "Return home interview" and carried["overdue"]
    # the child again on the new agenda: the earlier decision and action come with it
    token = _csrf(chair, f"/meetings/{second}")
    chair.post(
        f"/meetings/{second}/agenda",
        data={
            "csrf_token": token,
            "kind": "child",
            "subject": child["subject"],
            "reason": "Review of disruption",
        },
    )
    nxt = chair.get(f"/meetings/{second}/pack.json").json()
    (earlier,) = nxt["items"][0]["earlier"]
    assert earlier["decisions"][0]["concern_level"] == "High"
    assert earlier["actions"][0]["owner_agency"] == agencies[1]
    # overdue actions are shown to the chair, not to a member
    assert "overdue-warning" in chair.get(f"/panels/{panel.id}").text
    assert clients["member"].get(f"/panels/{panel.id}.json").json()["overdue"] == []
    # i2: the agenda and its network
    r = chair.get(f"/meetings/{second}/i2.csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert tuple(rows[0]) == I2_COLUMNS and any(row[3] == "On agenda" for row in rows[1:])
    # every pack view or download in the audit, with the meeting as purpose
    views = app.state.governance.state.audit.entries(
        actions=["view_panel_pack", "download_panel_pack"]
    )
    # pack.json, the page, the page read for its form, the refused action's page, the
    # member's and the chair's packs of the second meeting, the i2 download
    assert len(views) == 7
    assert [v.detail["form"] for v in views][:2] == ["i2", "json"]
    assert all(v.purpose.startswith("Panel meeting: North MACE") for v in views)
    assert child["subject"] in views[-1].detail["persons"]


def _routes(meeting: int, item: int, action: int, panel: int) -> list[tuple[str, str]]:
    gets = [
        "/panels",
        "/panels.json",
        f"/panels/{panel}",
        f"/panels/{panel}.json",
        f"/meetings/{meeting}",
        f"/meetings/{meeting}.json",
        f"/meetings/{meeting}/pack",
        f"/meetings/{meeting}/pack.json",
        f"/meetings/{meeting}/pack.pdf",
        f"/meetings/{meeting}/i2.csv",
        f"/actions/{action}",
        f"/actions/{action}.json",
    ]
    posts = [
        f"/panels/{panel}/meetings",
        f"/meetings/{meeting}/agenda",
        f"/meetings/{meeting}/items/{item}/decision",
        f"/meetings/{meeting}/items/{item}/actions",
        f"/actions/{action}/status",
    ]
    return [("GET", p) for p in gets] + [("POST", p) for p in posts]


def test_no_one_else_opens_a_panel_pack_or_action(site) -> None:
    app, clients, panel, agencies = site
    state = app.state.governance.state
    store = panel_store(state)
    m = store.create_meeting(
        panel_id=panel.id, held_on=TODAY + dt.timedelta(days=60), created_by="test"
    )
    item = store.add_item(
        meeting_id=m.id, kind="place", subject="X", label="X", reason="test", added_by="test"
    )
    act = store.add_action(
        item_id=item.id, description="d", owner_agency=agencies[0], due_on=TODAY, created_by="test"
    )
    before = state.audit.count()
    routes = _routes(m.id, item.id, act.id, panel.id)
    for who in ["board_member", "analyst", "community_viewer", "admin", "data_lead", "outsider"]:
        client = clients[who]
        for method, path in routes:
            if who == "outsider" and path in ("/panels", "/panels.json"):
                continue  # a panel member's own (empty) list
            if method == "GET":
                r = client.get(path, follow_redirects=False)
            else:
                r = client.post(
                    path, data={"csrf_token": _csrf(client, "/account")}, follow_redirects=False
                )
            assert r.status_code == 403, (who, method, path, r.status_code)
    assert clients["outsider"].get("/panels.json").json()["panels"] == []
    # nothing was shown, so nothing was audited as viewed
    assert not [
        e
        for e in state.audit.entries(actions=["view_panel_pack", "download_panel_pack"])
        if e.seq > before
    ]
    anon = TestClient(app)
    assert anon.get(f"/meetings/{m.id}/pack.json").status_code == 401


def test_retention_deletes_due_meetings_with_an_audit_entry(site) -> None:
    app, clients, panel, agencies = site
    state = app.state.governance.state
    store = panel_store(state)
    old = store.create_meeting(
        panel_id=panel.id, held_on=TODAY - dt.timedelta(days=2200), created_by="test"
    )
    item = store.add_item(
        meeting_id=old.id, kind="place", subject="Y", label="Y", reason="old", added_by="test"
    )
    store.record_decision(item_id=item.id, stage="review", concern_level="Low", decided_by="test")
    done = purge_due_meetings(state, today=TODAY, actor="cli:test")
    assert [d["meeting_id"] for d in done] == [old.id]
    assert done[0]["items"] == 1 and done[0]["decisions"] == 1
    assert store.get_meeting(old.id) is None and store.get_item(item.id) is None
    (entry,) = state.audit.entries(actions=["delete_panel_meeting"])
    assert entry.target == f"meeting:{old.id}" and entry.purpose.endswith("isa")
    assert purge_due_meetings(state, today=TODAY, actor="cli:test") == []
    assert state.audit.verify().ok
