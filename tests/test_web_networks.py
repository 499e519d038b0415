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
    # Members are links inside the picture (keyboard-reachable), so it is a labelled group.
    assert svg and 'role="group"' in svg.group(0)
    assert '<title id="network-picture-title">' in page
    drawn = set(
        re.findall(
            r'<a class="app-network__node" href="#member-[CPO]\d+" aria-label="[^"]+" '
            r'data-person="([^"]+)" data-role="([^"]+)"',
            page,
        )
    )
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


# --- issue 16: names, search, short labels, plain words, no needless suppression ----------


def test_list_names_and_sizes(clients, groups) -> None:
    data = clients["board_member"].get("/networks.json").json()
    page = clients["board_member"].get("/networks").text
    for g in data["groups"]:
        # a name in words from what the row publishes, shown under the group's link
        assert g["name"] and g["network_id"] not in g["name"]
        first = [t for t in g["exploitation_types"] if t != "Type not stated"][:1]
        assert all(t in g["name"] for t in first)
        row = re.search(
            rf'<tr class="govuk-table__row" data-network="{g["network_id"]}">.*?</tr>', page, re.S
        )
        assert (
            row
            and f'<span class="app-network__name govuk-body-s" data-name>{g["name"]}</span>'
            in row.group(0).replace("&#39;", "'")
        )
        assert f">{format_count(g['members'])}</td>" in row.group(0)
    # recorded groups' names are not given at the strategic tier
    assert all("recorded_groups" not in g for g in data["groups"])
    assert "Recorded as:" not in page
    # agencies by name, not id
    assert ">police<" not in page and ">police;" not in page


def test_search_by_name_words(clients) -> None:
    client = clients["board_member"]
    data = client.get("/networks.json").json()
    target = data["groups"][1]
    word = target["name"].split(",")[0].split(" and ")[0]
    found = client.get("/networks.json", params={"q": word.lower()}).json()["search"]
    assert found["kind"] == "name"
    expected = [
        g["network_id"]
        for g in data["groups"]
        if word.lower() in g["name"].lower()
        or any(word.lower() in t.lower() for t in g["exploitation_types"])
    ]
    assert [g["network_id"] for g in found["groups"]] == expected and target[
        "network_id"
    ] in expected
    page = client.get("/networks", params={"q": target["network_id"]}).text
    assert re.findall(r'data-network="(N\d+)"', page) == [target["network_id"]]
    assert 'id="search-result"' in page and "Show every group" in page
    none = client.get("/networks", params={"q": "zzzz nothing"}).text
    assert "No network group" in none and 'id="groups"' not in none


def test_search_by_person_id_is_operational_only_and_audited(app, clients, release) -> None:
    pid, nid = release.execute(
        "SELECT person_id, network_id FROM network_member "
        "ORDER BY network_id DESC, person_id LIMIT 1"
    ).fetchone()
    # strategic: refused in words, nothing found, nothing audited
    strategic = clients["board_member"].get("/networks.json", params={"q": pid}).json()["search"]
    assert strategic["groups"] == [] and "operational tier" in strategic["note"]
    state = app.state.governance.state
    before = state.audit.count()
    panel = clients["panel_member"]
    found = panel.get("/networks.json", params={"q": pid}).json()
    assert [g["network_id"] for g in found["search"]["groups"]] == [nid]
    # at the operational tier the list names the recorded groups too
    assert all("recorded_groups" in g for g in found["groups"])
    entries = state.audit.entries(newest_first=False, offset=before)
    views = [e for e in entries if e.action == "view_person"]
    assert [e.target for e in views] == [pid] and views[0].detail["page"] == "/networks"
    # an id that is in no group: said plainly, nothing audited
    before = state.audit.count()
    missing = panel.get("/networks", params={"q": "P" + "0" * 16}).text
    assert "not a member of any network group" in missing
    assert state.audit.count() == before


def test_operational_summary_is_exact_and_labels_are_short(clients, groups) -> None:
    client = clients["panel_member"]
    nid = next(
        n for n, g in groups.items() if 1 <= g["others"] <= 5 or 1 <= g["persons_of_concern"] <= 5
    )
    data = client.get(f"/networks/{nid}.json").json()
    g = groups[nid]
    summary = data["summary"]
    # the page lists every member, so its summary hides nothing ("c" would hide nothing)
    assert summary["exact"] is True
    assert (
        summary["members"],
        summary["children"],
        summary["persons_of_concern"],
        summary["others"],
    ) == (g["members"], g["children"], g["persons_of_concern"], g["others"])
    assert summary["places"] == sum(p["places"] for p in data["place_types"])
    page = client.get(f"/networks/{nid}").text
    assert 'id="summary-exact"' in page and 'id="suppression-note"' not in page
    dd = re.search(r'id="summary-children">([^<]+)<', page)
    assert dd and dd.group(1) == str(g["children"])
    # short labels: C1.. for children, P1.. persons of concern, O1.. others, best-connected
    # first within a role; each is a link in the picture to its row in the table
    members = data["members"]
    for role, letter in (("child", "C"), ("person_of_concern", "P"), ("other", "O")):
        mine = [m for m in members if m["role"] == role]
        assert sorted(m["label"] for m in mine) == sorted(
            f"{letter}{i}" for i in range(1, len(mine) + 1)
        )
        by_label = sorted(mine, key=lambda m: int(m["label"][1:]))
        assert [m["degree"] for m in by_label] == sorted((m["degree"] for m in mine), reverse=True)
    for m in members:
        assert f'href="#member-{m["label"]}"' in page and f'id="member-{m["label"]}"' in page
        # the full id is in the picture, shown on focus, never as the drawn label
        assert f'data-label="{m["label"]}"' in page
    svg = re.search(r'<svg [^>]*id="network-picture".*?</svg>', page, re.S).group(0)
    # the labels drawn are the short ones only; each full id is in a text shown on focus
    drawn_labels = re.findall(r'font-weight="bold"[^>]*aria-hidden="true">([^<]+)</text>', svg)
    assert sorted(drawn_labels) == sorted(m["label"] for m in members)
    full = re.findall(r'<text class="app-network__full"[^>]*>([^<]+)</text>', svg)
    assert len(full) == len(members)
    assert all(
        any(m["person_id"] in f and f.startswith(m["label"] + ":") for f in full) for m in members
    )
    assert 'class="app-network__full"' in svg
    # plain words for the measures
    assert "Betweenness" not in page and "Density" not in page
    assert (
        "Lies between others" in page and "of pairs of members have a recorded connection" in page
    )


def test_strategic_group_page_still_protects_its_summary(clients, groups) -> None:
    nid = next(
        n for n, g in groups.items() if 1 <= g["persons_of_concern"] <= 5 or 1 <= g["others"] <= 5
    )
    data = clients["board_member"].get(f"/networks/{nid}.json").json()
    assert "exact" not in data["summary"] and data["members"] is None
    assert SUPPRESSED in (data["summary"]["persons_of_concern"], data["summary"]["others"])
