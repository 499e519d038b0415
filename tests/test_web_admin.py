"""Administration on the web (issue 16, item 10): users, roles, agencies and unlocks,
for administrators only, every change audited."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.access import get_user
from joinedup.access.signin import _record
from joinedup.access.users import username_key
from joinedup.web import create_app


@pytest.fixture(scope="module")
def app(synth_small: Path, tmp_path_factory):
    root = tmp_path_factory.mktemp("admin") / "partnership"
    shutil.copytree(synth_small, root)  # no release needed: the admin pages read no figures
    app = create_app(root)
    yield app
    app.state.governance.close()


@pytest.fixture(scope="module")
def admin(app) -> TestClient:
    c = TestClient(app)
    sign_in(c, "admin", username="root-admin")
    return c


def csrf(c: TestClient) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/admin/users").text)
    assert m is not None
    return m.group(1)


def actions(app, target: str) -> list[str]:
    state = app.state.governance.state
    return [e.action for e in state.audit.entries(limit=200) if e.target == target]


def test_only_administrators(app) -> None:
    for role in ("data_lead", "analyst", "panel_member", "board_member", "community_viewer"):
        c = TestClient(app)
        sign_in(c, role, username=f"not-admin-{role.replace('_', '-')}")
        for url in ("/admin/users", "/admin/users.json", "/admin/agencies"):
            assert c.get(url).status_code == 403, (role, url)
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/account").text)
        assert token is not None
        r = c.post("/admin/users/root-admin/disable", data={"csrf_token": token.group(1)})
        assert r.status_code == 403, role
    assert TestClient(app).get("/admin/users.json").status_code == 401


def test_add_change_and_unlock_a_user_each_audited(app, admin) -> None:
    r = admin.post(
        "/admin/users",
        data={
            "csrf_token": csrf(admin),
            "username": "new.lead@example.org",
            "display_name": "Nia Lead",
            "agency": "police",
            "roles": ["data_lead"],
            "password": "generate",
        },
    )
    assert r.status_code == 200 and 'id="new-password"' in r.text
    assert r.headers["cache-control"] == "no-store"
    state = app.state.governance.state
    user = get_user(state, "new.lead@example.org")
    assert user is not None and user.has_password and {r.value for r in user.roles} == {"data_lead"}

    r = admin.post(
        "/admin/users/new.lead@example.org/roles",
        data={"csrf_token": csrf(admin), "roles": ["data_lead", "panel_member"]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    agencies = [a["id"] for a in admin.get("/admin/users.json").json()["agencies"]]
    other = next(a for a in agencies if a != "police")
    r = admin.post(
        "/admin/users/new.lead@example.org/agency",
        data={"csrf_token": csrf(admin), "agency": other},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "done=agency" in r.headers["location"]
    user = get_user(state, "new.lead@example.org")
    assert user.agency == other and {r.value for r in user.roles} == {"data_lead", "panel_member"}
    bad = admin.post(
        "/admin/users/new.lead@example.org/agency",
        data={"csrf_token": csrf(admin), "agency": "nowhere"},
    )
    assert bad.status_code == 422 and "not an agency of this partnership" in bad.text

    # locked out after failed sign-ins; the page says so; unlocking clears it
    for _ in range(6):
        _record(state, username_key("new.lead@example.org"), "10.0.0.9", False)
    row = next(
        u
        for u in admin.get("/admin/users.json").json()["users"]
        if u["username"] == "new.lead@example.org"
    )
    assert row["may_be_locked"] is True
    admin.post("/admin/users/new.lead@example.org/unlock", data={"csrf_token": csrf(admin)})
    row = next(
        u
        for u in admin.get("/admin/users.json").json()["users"]
        if u["username"] == "new.lead@example.org"
    )
    assert row["may_be_locked"] is False
    admin.post("/admin/users/new.lead@example.org/disable", data={"csrf_token": csrf(admin)})
    assert get_user(state, "new.lead@example.org").disabled
    assert actions(app, "new.lead@example.org") == [
        "user_disabled",
        "user_unlocked",
        "agency_changed",
        "roles_changed",
        "user_created",
    ]
    page = admin.get("/admin/users?user=new.lead@example.org").text
    assert 'id="manage-user"' in page and "Disabled" in page


def test_an_administrator_cannot_lock_themselves_out(app, admin) -> None:
    r = admin.post("/admin/users/root-admin/disable", data={"csrf_token": csrf(admin)})
    assert r.status_code == 422 and "cannot disable yourself" in r.text
    r = admin.post(
        "/admin/users/root-admin/roles", data={"csrf_token": csrf(admin), "roles": ["analyst"]}
    )
    assert r.status_code == 422 and "own admin role" in r.text
    assert admin.get("/admin/users?user=nobody").status_code == 404
    page = admin.get("/admin/agencies").text
    assert "root-admin" in page or "Test admin" in page
