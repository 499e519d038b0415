"""Every web route against every role and tier, generated from the app's own routes, so
routes added later are covered without editing this file.

For each GET route without path parameters, and each role (and an anonymous visitor):

- anonymous: public routes (``PUBLIC_PATHS``) open; others 401 (JSON) or a redirect to
  sign-in (HTML);
- a role: 403 when the route needs a permission (``Require``) the role lacks, or when it
  asks for a tier (``?tier=``) outside the role's tiers; otherwise the page;
- every JSON answer at the strategic or community tier holds no count from 1 to the
  tier's threshold outside the documented non-person facts.

Then person-level exports and cross-agency identifiers, role by role.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.access import Forbidden, Role, create_user, reidentify, subject_access, tiers_of
from joinedup.disclosure import Tier, policy_for
from joinedup.release import open_current
from joinedup.state import open_state
from joinedup.web import create_app
from joinedup.web.deps import PUBLIC_PATHS, Require, get_tier

# Numbers that are not counts of people or of records: release facts, policy settings,
# audit entry numbers and offsets, file sizes. Row counts of files are counts of records,
# protected like counts of people (issue 11), so they are checked too.
NOT_PEOPLE = {
    "release",
    "disclosure",
    "size_bytes",
    "seq",
    "offset",
    "next_offset",
    "verify",
    "detail",
    "uses",  # issue 19, /usage.json: counts of audit entries (uses of data), not of people
    "maturity",  # issue 21, /maturity.json: self-assessed levels 1-5 and counts of agencies
    # issue 16, /quality.json's summary per agency: counts of hidden cells, thin months and
    # measures that dropped, none of them a count of people or of records
    "hidden_shares",
    "thin_months",
    "measures_dropped",
}


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("matrix") / "partnership"
    shutil.copytree(synth_built, root)
    return root


@pytest.fixture(scope="module")
def app(partnership: Path):
    return create_app(partnership)


@pytest.fixture(scope="module")
def clients(app) -> dict[str, TestClient]:
    out = {"anonymous": TestClient(app)}
    for role in Role:
        client = TestClient(app)
        sign_in(client, role.value, agency="police")
        out[role.value] = client
    return out


def _calls(dependant) -> list:
    found = []
    for dep in dependant.dependencies:
        found.append(dep.call)
        found.extend(_calls(dep))
    return found


def _all_routes(routes) -> list:
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)  # FastAPI's included routers
        out.extend(_all_routes(inner.routes) if inner is not None else [r])
    return out


def _routes(app) -> list[APIRoute]:
    return [
        r
        for r in _all_routes(app.routes)
        if isinstance(r, APIRoute) and "GET" in r.methods and "{" not in r.path
    ]


def _people_counts(value, key=None):
    if key in NOT_PEOPLE:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _people_counts(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _people_counts(v, key)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield value


def test_matrix_covers_todays_routes(app) -> None:
    paths = {r.path for r in _routes(app)}
    assert {"/", "/overview.json", "/healthz", "/sign-in", "/account.json", "/audit.json"} <= paths


def test_every_route_every_role_every_tier(app, clients) -> None:
    checked = 0
    for route in _routes(app):
        calls = _calls(route.dependant)
        requires = [c for c in calls if isinstance(c, Require)]
        tiered = get_tier in calls
        is_json = route.path.endswith(".json")
        # anonymous
        r = clients["anonymous"].get(route.path, follow_redirects=False)
        if route.path in PUBLIC_PATHS:
            assert r.status_code not in (401, 403) and r.status_code < 500, route.path
        elif is_json:
            assert r.status_code == 401, route.path
        else:
            assert r.status_code == 303, route.path
            assert r.headers["location"].startswith("/sign-in?next="), route.path
        for role in Role:
            client = clients[role.value]
            user_tiers = [Tier.OPERATIONAL, Tier.STRATEGIC, Tier.COMMUNITY]
            mine = tiers_of([role])
            for tier in [None, *user_tiers] if tiered else [None]:
                url = route.path + (f"?tier={tier.value}" if tier else "")
                r = client.get(url, follow_redirects=False)
                checked += 1
                where = f"{role.value} {url}"
                if route.path in PUBLIC_PATHS:
                    assert r.status_code < 500 and r.status_code not in (401, 403), where
                    continue
                denied = (tier is not None and tier not in mine) or any(
                    not req.allows_roles([role]) for req in requires
                )
                if denied:
                    assert r.status_code == 403, where
                    continue
                assert r.status_code == 200, f"{where}: {r.status_code}"
                if not is_json:
                    continue
                data = r.json()
                shown = Tier(data.get("tier", (tier or mine[0]).value))
                if shown is Tier.OPERATIONAL:
                    continue
                threshold = policy_for(shown).threshold
                small = [n for n in _people_counts(data) if 1 <= n <= threshold]
                assert not small, f"{where}: counts {small} at {shown.value} tier"
    assert checked > 40


def test_sharing_agreements_shown_at_tier(clients) -> None:
    data = clients["community_viewer"].get("/overview.json").json()
    assert data["tier"] == "community"
    assert data["exclusions"]["note"].startswith("Figures at the community tier exclude ")
    page = clients["community_viewer"].get("/").text
    assert 'id="tier-exclusions"' in page
    assert "exclusions" not in clients["panel_member"].get("/overview.json").json()


def test_person_level_exports_and_cross_agency_identifiers(partnership: Path) -> None:
    con = duckdb.connect(str(open_current(partnership).db_path), read_only=True)
    rows = con.execute(
        "SELECT r.agency, i.local_id, rp.person_id FROM identity i JOIN record r "
        "USING (source, source_record_id) JOIN record_person rp USING (source, source_record_id) "
        "JOIN person p USING (person_id) WHERE i.local_id IS NOT NULL AND p.n_agencies > 1 "
        "ORDER BY rp.person_id"
    ).fetchall()
    con.close()
    agency, local_id, person_id = rows[0]
    other = next(a for a, _, _ in rows if a != agency)

    with open_state(partnership) as st:
        for role in Role:
            for at in (agency, other):
                user = create_user(
                    st,
                    username=f"m-{role.value}-{at}",
                    display_name="M",
                    agency=at,
                    roles=[role.value],
                    actor="t",
                )
                sar_ok = role is Role.DATA_LEAD
                try:
                    export = subject_access(
                        st, partnership, user=user, reference="SAR-9", agency_identifier=local_id
                    )
                    assert sar_ok and at == agency, (role, at)
                    assert export.person_id == person_id
                except Forbidden:
                    assert not sar_ok, (role, at)
                except Exception as exc:  # another agency's identifier finds nobody
                    assert sar_ok and at == other, (role, at)
                    assert "matches 0 persons" in str(exc)
                    assert local_id not in str(exc)
                try:
                    reidentify(st, partnership, user=user, person_id=person_id, purpose="x" * 12)
                    assert role is Role.PANEL_MEMBER, role
                except Forbidden:
                    assert role is not Role.PANEL_MEMBER, role
        assert st.audit.verify().ok
