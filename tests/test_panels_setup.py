"""Setting panels up on the web, and pack views in a data owner's audit (issue 18
follow-up): an administrator or a chair creates a panel and adds members, audited; no one
else can; "Panels" is in the service navigation for panel members; a data lead of an
agency on the panel sees every pack view in their audit view.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.access import PERSON_LEVEL_ACTIONS, get_user, visible_audit
from joinedup.access.panel_access import panel_store
from joinedup.config import load_config
from joinedup.web import create_app


@pytest.fixture(scope="module")
def site(synth_built: Path, tmp_path_factory):
    root = tmp_path_factory.mktemp("panel_setup") / "partnership"
    shutil.copytree(synth_built, root)
    app = create_app(root)
    cfg = load_config(root, check_files=False)
    agencies = [a.id for a in cfg.agencies]
    agreement = next(a.key for a in cfg.sharing_agreements if a.retention_years)
    clients = {}
    for name, role, agency in [
        ("admin", "admin", agencies[0]),
        ("chair", "panel_member", agencies[0]),
        ("member", "panel_member", agencies[1]),
        ("other", "panel_member", agencies[2]),
        ("analyst", "analyst", agencies[0]),
        ("board", "board_member", agencies[0]),
        ("community", "community_viewer", agencies[0]),
        ("lead", "data_lead", agencies[1]),
        ("otherlead", "data_lead", agencies[-1]),
    ]:
        c = TestClient(app)
        sign_in(c, role, agency=agency, username=f"s-{name}")
        clients[name] = c
    yield app, clients, agencies, agreement
    app.state.governance.close()


def _csrf(client: TestClient, path: str = "/account") -> str:
    page = client.get(path).text
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _post(client: TestClient, path: str, data) -> object:
    token = _csrf(client)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_admin_creates_a_panel_and_adds_members_audited(site) -> None:
    app, clients, agencies, agreement = site
    state = app.state.governance.state
    admin = clients["admin"]
    page = admin.get("/panels/setup")
    assert page.status_code == 200 and 'id="chair"' in page.text
    r = _post(
        admin,
        "/panels/setup",
        {
            "name": "Setup MACE",
            "agency": [agencies[0], agencies[1]],
            "agreement": agreement,
            "cadence_days": "14",
            "chair": "s-chair",
        },
    )
    assert r.status_code == 303, r.text
    (panel,) = [p for p in panel_store(state).all_panels() if p.name == "Setup MACE"]
    assert panel.members == {"s-chair": (agencies[0], "chair")}
    assert panel.cadence_days == 14 and panel.agencies == tuple(sorted(agencies[:2]))
    r = _post(admin, f"/panels/setup/{panel.id}/members", {"username": "s-member"})
    assert r.status_code == 303
    assert panel_store(state).get_panel(panel.id).members["s-member"] == (agencies[1], "member")
    made = state.audit.entries(actions=["panel_create", "panel_member"], actor="s-admin")
    assert [e.action for e in reversed(made)] == ["panel_create", "panel_member"]
    assert made[0].detail["username"] == "s-member" and made[1].detail["chair"] == "s-chair"
    # the administrator sets panels up but still cannot open one
    assert admin.get(f"/panels/{panel.id}").status_code == 403
    # the chair sees it; the member added now sits on it
    assert clients["chair"].get(f"/panels/{panel.id}.json").status_code == 200
    assert clients["member"].get(f"/panels/{panel.id}.json").status_code == 200
    listed = admin.get("/panels/setup.json").json()["panels"]
    assert any(p["name"] == "Setup MACE" for p in listed)


def test_a_panel_member_creates_a_panel_they_chair_and_only_chairs_add(site) -> None:
    app, clients, agencies, agreement = site
    state = app.state.governance.state
    other = clients["other"]
    assert 'id="chair"' not in other.get("/panels/setup").text
    r = _post(
        other,
        "/panels/setup",
        {"name": "Other MSET", "agency": agencies[2], "agreement": agreement, "chair": "s-chair"},
    )
    assert r.status_code == 303
    (panel,) = [p for p in panel_store(state).all_panels() if p.name == "Other MSET"]
    assert panel.chairs == ["s-other"]  # a panel member chairs what they create
    # a member who does not chair it cannot add to it; nor can a role without panels
    r = _post(clients["member"], f"/panels/setup/{panel.id}/members", {"username": "s-member"})
    assert r.status_code == 403
    for who in ("analyst", "board", "community", "lead"):
        assert clients[who].get("/panels/setup").status_code == 403, who
        r = _post(clients[who], f"/panels/setup/{panel.id}/members", {"username": who})
        assert r.status_code == 403, who
    # only users with the panel member role can be added, said plainly
    r = _post(other, f"/panels/setup/{panel.id}/members", {"username": "s-analyst"})
    assert r.status_code == 400 and "panel member role" in r.text
    assert "s-analyst" not in panel_store(state).get_panel(panel.id).members
    # bad input: no agency, a name already taken
    r = _post(other, "/panels/setup", {"name": "No agencies", "agreement": agreement})
    assert r.status_code == 400 and "at least one" in r.text
    r = _post(
        other,
        "/panels/setup",
        {"name": "Other MSET", "agency": agencies[2], "agreement": agreement},
    )
    assert r.status_code == 400 and "already a panel" in r.text


def test_panels_is_in_the_navigation_for_panel_members_only(site) -> None:
    app, clients, agencies, agreement = site
    nav = 'href="/panels"'
    assert nav in clients["chair"].get("/").text
    for who in ("analyst", "board", "community", "admin"):
        assert nav not in clients[who].get("/").text, who


def test_a_data_owner_sees_pack_views_in_their_audit_view(site) -> None:
    app, clients, agencies, agreement = site
    assert "view_panel_pack" in PERSON_LEVEL_ACTIONS
    assert "download_panel_pack" in PERSON_LEVEL_ACTIONS
    state = app.state.governance.state
    store = panel_store(state)
    panel = store.create_panel(
        name="Audit MACE",
        agencies=agencies[:2],
        cadence_days=28,
        agreement=agreement,
        retention_days=400,
        created_by="test",
        chair=("s-chair", agencies[0]),
    )
    meeting = store.create_meeting(panel_id=panel.id, held_on="2026-11-20", created_by="test")
    assert clients["chair"].get(f"/meetings/{meeting.id}/pack.json").status_code == 200
    target = f"meeting:{meeting.id}"

    def seen(who: str) -> list:
        user = get_user(state, f"s-{who}")
        return [
            e
            for e in visible_audit(state, user, limit=500)
            if e.action in PERSON_LEVEL_ACTIONS and e.target == target
        ]

    (entry,) = seen("lead")  # agencies[1] sits on the panel
    assert entry.action == "view_panel_pack" and entry.actor == "s-chair"
    assert entry.purpose.startswith("Panel meeting: Audit MACE")
    assert seen("otherlead") == []  # an agency not on the panel sees none
    r = clients["lead"].get("/audit.json")
    assert any(
        e["action"] == "view_panel_pack" and e["target"] == target for e in r.json()["entries"]
    )
