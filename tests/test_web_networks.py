"""The networks pages (/networks, /networks/{id} and their JSON twins) on the 400-person
synthetic partnership: figures against the release's network tables, suppression at the
strategic tier, refusal at the community tier, and the audit of person-level views."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.disclosure import SUPPRESSED
from joinedup.present.format import format_count
from joinedup.release import open_current
from joinedup.web import create_app
from joinedup.web.graph import force_layout, network_picture


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web-networks") / "partnership"
    shutil.copytree(synth_built, root)
    return root


@pytest.fixture(scope="module")
def app(partnership: Path):
    app = create_app(partnership)
    yield app
    app.state.governance.close()


@pytest.fixture(scope="module")
def clients(app):
    out = {}
    for role in ("board_member", "community_viewer", "panel_member", "analyst"):
        client = TestClient(app)
        sign_in(client, role, username=f"networks-{role}")
        out[role] = client
    return out


@pytest.fixture(scope="module")
def release(partnership: Path):
    con = duckdb.connect(str(open_current(partnership).db_path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def groups(release) -> dict[str, dict]:
    rows = release.execute(
        "SELECT network_id, members, children, persons_of_concern, places, recorded_groups "
        "FROM network_group ORDER BY network_id"
    ).fetchall()
    assert len(rows) >= 3
    return {
        r[0]: {
            "members": r[1],
            "children": r[2],
            "persons_of_concern": r[3],
            "others": r[1] - r[2] - r[3],
            "places": r[4],
            "recorded": r[5],
        }
        for r in rows
    }


def _agrees(published, raw: int, threshold: int = 5) -> bool:
    if 1 <= raw <= threshold:
        return published == SUPPRESSED
    return published == raw or published == SUPPRESSED


def test_groups_at_strategic_are_protected(clients, groups) -> None:
    data = clients["board_member"].get("/networks.json").json()
    assert data["tier"] == "strategic" and data["available"]
    assert [g["network_id"] for g in data["groups"]] == sorted(groups)
    hidden = shown = 0
    for g in data["groups"]:
        raw = groups[g["network_id"]]
        for key in ("members", "children", "persons_of_concern", "others", "places"):
            assert _agrees(g[key], raw[key]), (g["network_id"], key)
            hidden += g[key] == SUPPRESSED
            shown += isinstance(g[key], int) and g[key] > 5
        assert g["named_by_source"] == bool(raw["recorded"])
        # names of recorded groups (county lines, operations) stay at the operational tier
        assert "recorded_groups" not in g
        for name in filter(None, (raw["recorded"] or "").split(";")):
            assert name not in clients["board_member"].get("/networks.json").text
    assert hidden and shown  # both kinds present: the checks above have teeth
    # members by role are a table with margins: a row's hidden cells never number one
    for g in data["groups"]:
        cells = [g["children"], g["persons_of_concern"], g["others"], g["members"]]
        assert cells.count(SUPPRESSED) != 1, g
    total_members = sum(v["members"] for v in groups.values())
    assert _agrees(data["totals"]["members"], total_members)


def test_page_equals_json(clients) -> None:
    client = clients["board_member"]
    data = client.get("/networks.json").json()
    page = client.get("/networks").text
    assert page.count("<h1") == 1
    for g in data["groups"]:
        row = re.search(
            rf'<tr class="govuk-table__row" data-network="{g["network_id"]}">.*?</tr>', page, re.S
        )
        assert row, g["network_id"]
        cells = re.findall(r"govuk-table__cell--numeric[^>]*>([^<]*)</td>", row.group(0))
        expected = [
            format_count(g[k]) for k in ("members", "children", "persons_of_concern", "others")
        ]
        assert cells[:4] == expected
        assert f'href="/networks/{g["network_id"]}"' in row.group(0)


def test_community_tier_sees_no_networks(clients, partnership) -> None:
    client = clients["community_viewer"]
    data = client.get("/networks.json").json()
    assert data["tier"] == "community" and data["available"] is False
    assert data["groups"] == [] and data["totals"] is None
    assert "community tier" in data["note"]
    assert 'id="networks-not-shown"' in client.get("/networks").text
    first = "N001"
    r = client.get(f"/networks/{first}.json")
    assert r.status_code == 403 and "community tier" in r.json()["error"]["detail"]
    assert client.get(f"/networks/{first}").status_code == 403
    # a panel member choosing the community tier is refused the same way
    assert clients["panel_member"].get(f"/networks/{first}.json?tier=community").status_code == 403


def _view_entries(app, actor: str):
    return app.state.governance.state.audit.entries(actor=actor, actions=["view_person"])


def test_strategic_group_page_is_a_summary_only(app, clients, groups) -> None:
    nid = next(iter(groups))
    for role, url in (
        ("board_member", f"/networks/{nid}"),
        ("analyst", f"/networks/{nid}"),
        ("panel_member", f"/networks/{nid}?tier=strategic"),
    ):
        before = len(_view_entries(app, f"networks-{role}"))
        json_url = url.replace(nid, nid + ".json")
        data = clients[role].get(json_url).json()
        assert data["tier"] == "strategic" and data["person_level"] is False
        assert data["members"] is None and data["edges"] is None
        listed = next(
            g
            for g in clients[role].get("/networks.json?tier=strategic").json()["groups"]
            if g["network_id"] == nid
        )
        assert data["summary"] == listed
        page = clients[role].get(url).text
        assert 'id="members-not-shown"' in page and "<svg" not in page
        assert "/people/" not in page
        assert len(_view_entries(app, f"networks-{role}")) == before, role


def test_operational_group_page_is_audited(app, clients, release, groups) -> None:
    nid = next(iter(groups))
    client = clients["panel_member"]
    members = release.execute(
        "SELECT person_id, role, degree, bridging FROM network_member WHERE network_id = ? "
        "ORDER BY person_id",
        [nid],
    ).fetchall()
    edges = release.execute(
        "SELECT person_a, person_b, weight FROM network_edge WHERE network_id = ? "
        "ORDER BY person_a, person_b",
        [nid],
    ).fetchall()
    state = app.state.governance.state
    before = state.audit.count()
    data = client.get(f"/networks/{nid}.json").json()
    assert data["tier"] == "operational" and data["person_level"] is True
    assert [(m["person_id"], m["role"], m["degree"], m["bridging"]) for m in data["members"]] == [
        tuple(m) for m in members
    ]
    assert [(e["person_a"], e["person_b"], e["weight"]) for e in data["edges"]] == [
        tuple(e) for e in edges
    ]
    assert data["recorded_groups"] == [n for n in (groups[nid]["recorded"] or "").split(";") if n]
    after = state.audit.entries(newest_first=False, offset=before)
    views = [e for e in after if e.action == "view_person"]
    assert len(views) == len(members)
    assert sorted(e.target for e in views) == [m[0] for m in members]
    assert all(e.actor == "networks-panel_member" for e in views)
    assert all(e.detail["page"] == f"/networks/{nid}" for e in views)
    # the page: an accessible picture with every member, and the tables
    before = state.audit.count()
    page = client.get(f"/networks/{nid}").text
    assert state.audit.count() - before == len(members)
    svg = re.search(r'<svg [^>]*id="network-picture"[^>]*>', page)
    assert svg and 'role="img"' in svg.group(0)
    assert '<title id="network-picture-title">' in page
    drawn = set(re.findall(r'<g data-person="([^"]+)" data-role="([^"]+)">', page))
    assert drawn == {(m[0], m[1]) for m in members}
    for pid, *_ in members:
        assert f'<a class="govuk-link" href="/people/{pid}">{pid}</a>' in page
    assert state.audit.verify().ok


def test_unknown_and_malformed_ids(clients) -> None:
    client = clients["panel_member"]
    assert client.get("/networks/N999.json").status_code == 404
    assert client.get("/networks/N999").status_code == 404
    assert client.get("/networks/nonsense.json").status_code == 422


def test_picture_layout_is_deterministic_and_capped() -> None:
    members = [(f"P{i:03d}", ("child", "person_of_concern", "other")[i % 3]) for i in range(200)]
    edges = [(f"P{i:03d}", f"P{(i * 7 + 1) % 200:03d}", 1.0 + i % 3) for i in range(200)]
    edges = [(min(a, b), max(a, b), w) for a, b, w in edges if a != b]
    small = network_picture(
        "T", members[:12], [e for e in edges if e[0] < "P012" and e[1] < "P012"]
    )
    again = network_picture(
        "T", members[:12], [e for e in edges if e[0] < "P012" and e[1] < "P012"]
    )
    assert small.svg_text == again.svg_text and not small.capped
    assert small.svg_text.count("<circle") >= 4 and small.svg_text.count("<rect") >= 4
    big = network_picture("T", members, edges, max_nodes=150)
    assert big.capped and big.drawn == 150 and big.total == 200
    assert "best-connected of 200" in big.description
    layout = force_layout(("a", "b", "c"), (("a", "b", 1.0),))
    assert all(0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 for x, y in layout.values())
