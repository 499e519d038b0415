"""The places page (/places and its JSON twin) on the 400-person synthetic partnership.

The figures are checked against the release's own tables, recomputed here in Python:
children per small area from ``person_concern`` (checked first against ``place_hotspot``,
place by place), where missing children are found from ``missing_episode``, and the
rankings against ``place_hotspot``.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.disclosure import SUPPRESSED, Tier, policy_for
from joinedup.present.format import format_count
from joinedup.release import open_current
from joinedup.views.places import HOTSPOT_LIMIT
from joinedup.web import create_app
from joinedup.web.maps import MapArea, choropleth, map_classes


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web-places") / "partnership"
    shutil.copytree(synth_built, root)
    return root


@pytest.fixture(scope="module")
def clients(partnership: Path):
    app = create_app(partnership)
    out = {}
    for role in ("board_member", "community_viewer", "panel_member"):
        client = TestClient(app)
        sign_in(client, role, username=f"places-{role}")
        out[role] = client
    yield out
    app.state.governance.close()


@pytest.fixture(scope="module")
def release(partnership: Path):
    con = duckdb.connect(str(open_current(partnership).db_path), read_only=True)
    yield con
    con.close()


def _bounds(release, period: str) -> tuple[dt.date | None, dt.date | None]:
    """First and last day of a stored period ("all" or "default")."""
    if period == "all":
        return None, None
    row = release.execute(
        "SELECT date_from, date_to FROM question_period WHERE period = 'default'"
    ).fetchone()
    return row[0], row[1]


def _children_by(release, period: str, level: str, place_type: str | None = None, found=False):
    """Raw children per area and per place, and overall (Python sets over the release's
    rows): on concern events, or (``found``) found at the end of a missing episode."""
    start, end = _bounds(release, period)
    places = {
        r[0]: r[1:]
        for r in release.execute(
            f"SELECT place_id, {level}, place_type, postcode FROM place"
        ).fetchall()
    }
    if found:
        rows = release.execute(
            "SELECT m.person_id, e.place_id, e.event_date, m.age_at_event, 'missing' FROM "
            "missing_episode m JOIN event e USING (event_id) WHERE e.place_id IS NOT NULL"
        ).fetchall()
    else:
        rows = release.execute(
            "SELECT person_id, place_id, event_date, age_at_event, role FROM person_concern "
            "WHERE place_id IS NOT NULL"
        ).fetchall()
    by_area: dict[object, set[str]] = defaultdict(set)
    by_place: dict[str, set[str]] = defaultdict(set)
    everyone: set[str] = set()
    for person, place, date, age, role in rows:
        area, ptype, postcode = places[place]
        if role == "witness" or age is None or age >= 18:
            continue
        if ptype in ("home", "other_residential") and postcode is None:
            continue
        if start is not None and (date is None or not start <= date <= end):
            continue
        if place_type and ptype != place_type:
            continue
        by_area[area].add(person)
        by_place[place].add(person)
        everyone.add(person)
    return by_area, by_place, everyone


def _agrees(published, raw: int, threshold: int) -> bool:
    """A published cell is the raw count, or "c" (always when 1..threshold)."""
    if 1 <= raw <= threshold:
        return published == SUPPRESSED
    return published == raw or published == SUPPRESSED


def test_recomputation_matches_place_hotspot(release) -> None:
    # The independent recomputation counts the same children as the release, per place.
    for period in ("all", "default"):
        for ranking in ("concern", "found"):
            _, by_place, _ = _children_by(release, period, "small_area", found=ranking == "found")
            hot = release.execute(
                "SELECT place_id, children FROM place_hotspot WHERE time_window = ? "
                "AND ranking = ?",
                [period, ranking],
            ).fetchall()
            assert hot or period == "default"
            assert {p for p, _ in hot} == {p for p, kids in by_place.items() if kids}
            for place, children in hot:
                assert len(by_place[place]) == children, (period, ranking, place)


@pytest.mark.parametrize("window", ["all", "default"])
def test_map_figures_at_strategic(clients, release, window) -> None:
    data = clients["board_member"].get("/places.json", params={"period": window}).json()
    assert data["tier"] == "strategic"
    areas = data["areas"]
    assert areas["level"] == "small_area"
    by_area, _, everyone = _children_by(release, window, "small_area")
    codes = {
        r[0]
        for r in release.execute(
            "SELECT area_code FROM area WHERE area_type = 'small_area'"
        ).fetchall()
    }
    assert {r["code"] for r in areas["rows"]} == codes
    shown = 0
    for row in areas["rows"]:
        raw = len(by_area.get(row["code"], set()))
        assert _agrees(row["children"], raw, 5), row
        shown += isinstance(row["children"], int) and row["children"] > 5
    assert _agrees(areas["total"], len(everyone), 5)
    if window == "all":
        assert shown >= 1  # the figures are not all hidden: the check above has teeth
        assert areas["total"] == len(everyone)


def test_place_type_narrows_map_and_hotspots(clients, release) -> None:
    data = (
        clients["board_member"]
        .get("/places.json", params={"period": "all", "place_type": "takeaway"})
        .json()
    )
    assert data["choices"]["place_type"] == "takeaway"
    assert data["hotspots"] and all(h["place_type"] == "takeaway" for h in data["hotspots"])
    by_area, _, everyone = _children_by(release, "all", "small_area", "takeaway")
    for row in data["areas"]["rows"]:
        assert _agrees(row["children"], len(by_area.get(row["code"], set())), 5)
    assert _agrees(data["areas"]["total"], len(everyone), 5)


@pytest.mark.parametrize("window", ["all", "default"])
@pytest.mark.parametrize("ranking", ["concern", "found"])
def test_hotspots_match_place_hotspot(clients, release, window, ranking) -> None:
    data = clients["board_member"].get("/places.json", params={"period": window}).json()
    raw = release.execute(
        "SELECT place_rank, label, area_label, named, place_type, residential, children, "
        "persons_of_concern, events, place_id FROM place_hotspot WHERE time_window = ? "
        "AND ranking = ? ORDER BY place_rank LIMIT ?",
        [window, ranking, HOTSPOT_LIMIT],
    ).fetchall()
    ever = dict(
        release.execute(
            "SELECT place_id, children FROM place_hotspot WHERE time_window = 'all' "
            "AND ranking = ?",
            [ranking],
        ).fetchall()
    )
    shown_rows = data["hotspots" if ranking == "concern" else "found"]
    assert len(shown_rows) == len(raw) > 0
    for row, (
        rank,
        label,
        area_label,
        named,
        ptype,
        residential,
        children,
        poc,
        events,
        pid,
    ) in zip(shown_rows, raw, strict=True):
        assert row["rank"] == str(rank)
        assert row["place_type"] == ptype
        # 1 to 5 fewer than over all time (the default period only), or 1 to 5: hidden
        changed = window == "default" and 1 <= ever[pid] - children <= 5
        hidden = changed or 1 <= children <= 5
        assert row["children"] == (SUPPRESSED if hidden else children)
        # a place is named at the strategic tier only beside a count of children shown
        assert row["label"] == (label if named and not hidden else area_label)
        assert row["persons_of_concern"] in (SUPPRESSED, poc)
        assert not 1 <= poc <= 5 or row["persons_of_concern"] == SUPPRESSED
        assert window == "default" or row["persons_of_concern"] == (
            SUPPRESSED if 1 <= poc <= 5 else poc
        )
        assert row["events"] in (SUPPRESSED, events)
        assert events > 5 or row["events"] == SUPPRESSED
        assert "place_id" not in row
        if residential:
            assert label.startswith("Residential address in ")
    assert any(r["residential"] for r in shown_rows) or window != "all"


def test_residential_places_are_never_named(clients, release) -> None:
    names = [
        r[0]
        for r in release.execute(
            "SELECT name FROM place WHERE place_type IN ('home', 'other_residential') "
            "AND nullif(trim(name), '') IS NOT NULL"
        ).fetchall()
    ]
    postcodes = [r[0] for r in release.execute("SELECT postcode FROM place").fetchall() if r[0]]
    for role in ("board_member", "panel_member", "community_viewer"):
        text = clients[role].get("/places.json").text + clients[role].get("/places").text
        for value in names + postcodes:
            assert value not in text, role


def _people_counts(value, key=None):
    if key in ("release", "disclosure"):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _people_counts(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _people_counts(v, key)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield value


def test_community_tier_sees_wards_at_its_threshold(clients, release) -> None:
    data = clients["community_viewer"].get("/places.json", params={"period": "all"}).json()
    assert data["tier"] == "community"
    assert data["areas"]["level"] == "ward"
    assert data["hotspots"] is None and "not listed" in data["hotspots_note"]
    threshold = policy_for(Tier.COMMUNITY).threshold
    assert threshold == 10
    assert not [n for n in _people_counts(data) if 1 <= n <= threshold]
    by_ward, _, _ = _children_by(release, "all", "ward")
    for row in data["areas"]["rows"]:
        assert _agrees(row["children"], len(by_ward.get(row["code"], set())), threshold)
    page = clients["community_viewer"].get("/places").text
    assert 'id="hotspots-note"' in page and 'id="hotspots"' not in page


def test_strategic_json_has_no_small_counts(clients) -> None:
    for window in ("all", "default"):
        data = clients["board_member"].get("/places.json", params={"period": window}).json()
        assert not [n for n in _people_counts(data) if 1 <= n <= 5], window


def test_page_shows_the_json_figures_with_an_accessible_map(clients) -> None:
    client = clients["board_member"]
    data = client.get("/places.json", params={"period": "all"}).json()
    page = client.get("/places", params={"period": "all"}).text
    assert page.count("<h1") == 1
    svg = re.search(r"<svg [^>]*id=\"places-map\"[^>]*>", page)
    assert svg and 'role="img"' in svg.group(0)
    assert '<title id="places-map-title">' in page and '<desc id="places-map-desc">' in page
    # every area drawn carries its published figure; the table holds the non-zero ones
    for row in data["areas"]["rows"]:
        assert f'data-area="{row["code"]}" data-value="{format_count(row["children"])}"' in page
        cell = re.search(
            rf'<tr class="govuk-table__row" data-area="{row["code"]}">.*?</tr>', page, re.S
        )
        if row["children"] == 0:
            assert cell is None
        else:
            assert cell and f">{format_count(row['children'])}</td>" in cell.group(0)
    hot = re.findall(r'<tr class="govuk-table__row" data-rank="([0-9]+)">', page)
    assert hot == [h["rank"] for h in data["hotspots"] + data["found"]]
    assert 'id="period-all" name="period" type="radio" value="all" checked' in page
    assert 'id="found"' in page and "Where missing children are found" in page


def test_bad_choices_and_no_release(clients, tmp_path: Path) -> None:
    client = clients["board_member"]
    r = client.get("/places.json", params={"from": "2026-01-15"})
    assert r.status_code == 422 and "first day of a month" in r.json()["error"]["detail"]
    r = client.get("/places.json", params={"period": "forever"})
    assert r.status_code == 422
    r = client.get("/places.json", params={"place_type": "nowhere"})
    assert r.status_code == 422
    empty = create_app(tmp_path)
    c = TestClient(empty)
    sign_in(c, "board_member", username="places-empty")
    r = c.get("/places")
    assert r.status_code == 503 and "joinedup build" in r.text
    empty.state.governance.close()


def test_map_classes_and_hatching() -> None:
    assert map_classes([0, "c", 7, 9, 12, 40, 41, 100]) == [
        (7, 7),
        (9, 9),
        (12, 12),
        (40, 40),
        (41, 100),
    ]
    square = {"type": "Polygon", "coordinates": [[[0, 50], [1, 50], [1, 51], [0, 51], [0, 50]]]}
    shaded = choropleth(
        "T",
        [MapArea("a", "A", "c"), MapArea("b", "B", 0), MapArea("x", "X", 9)],
        {"a": square, "b": square},
        map_id="m",
    )
    assert shaded is not None and shaded.drawn == 2
    assert 'fill="url(#m-hatch)"' in shaded.svg_text and 'fill="#ffffff"' in shaded.svg_text
    assert choropleth("T", [MapArea("x", "X", 9)], {}, map_id="m") is None


# --- issue 16: boundaries and names on the map, tables by count, the rest behind "show all"


def _rows_of(page: str, table_id: str) -> list[str]:
    table = re.search(rf'<table [^>]*id="{table_id}".*?</table>', page, re.S)
    assert table is not None, table_id
    return re.findall(r'<tr class="govuk-table__row" data-(?:area|rank)="([^"]+)"', table.group(0))


def test_map_draws_ward_and_authority_boundaries_with_names(clients, release) -> None:
    page = clients["board_member"].get("/places", params={"period": "all"}).text
    svg = re.search(r'<svg [^>]*id="places-map".*?</svg>', page, re.S)
    assert svg is not None
    drawn = svg.group(0)
    areas = {
        kind: dict(
            release.execute(
                "SELECT area_code, area_name FROM area WHERE area_type = ? "
                "AND geometry IS NOT NULL",
                [kind],
            ).fetchall()
        )
        for kind in ("ward", "authority")
    }
    # Every ward and authority is outlined over the small areas, an authority heavier.
    for kind, names in areas.items():
        outlined = set(re.findall(rf'data-outline="{kind}" data-area="([^"]+)"', drawn))
        assert outlined == set(names), kind
    assert 'stroke-width="3.0" stroke-linejoin="round" data-outline="authority"' in drawn
    # Names: every authority's, and the wards whose names fit (most of them here).
    named = [
        (k, html.unescape(n)) for k, n in re.findall(r'data-label="(\w+)">([^<]+)</text>', drawn)
    ]
    assert {n for k, n in named if k == "authority"} == set(areas["authority"].values())
    wards = {n for k, n in named if k == "ward"}
    assert wards <= set(areas["ward"].values()) and len(wards) >= len(areas["ward"]) // 2
    # Labels never overlap: each label's box is placed once (no two at one point).
    spots = re.findall(r'<text x="([\d.]+)" y="([\d.]+)" font-size="1[15]"', drawn)
    assert len(spots) == len(set(spots))


def test_community_map_names_its_wards(clients, release) -> None:
    page = clients["community_viewer"].get("/places").text
    svg = re.search(r'<svg [^>]*id="places-map".*?</svg>', page, re.S)
    assert svg is not None
    outlined = set(re.findall(r'data-outline="(\w+)"', svg.group(0)))
    assert outlined == {"authority"}  # wards are the shaded areas themselves
    wards = dict(
        release.execute("SELECT area_code, area_name FROM area WHERE area_type = 'ward'").fetchall()
    )
    named = {
        html.unescape(n) for n in re.findall(r'data-label="base">([^<]+)</text>', svg.group(0))
    }
    assert named and named <= set(wards.values())


def test_area_table_by_count_top_20_then_show_all(clients) -> None:
    from joinedup.web.routes.places import TOP_ROWS, by_count

    client = clients["board_member"]
    data = client.get("/places.json", params={"period": "all"}).json()
    page = client.get("/places", params={"period": "all"}).text
    listed = [r for r in data["areas"]["rows"] if r["children"] != 0]
    assert len(listed) > TOP_ROWS  # so that "show all" is exercised
    ordered = by_count(listed)
    shown = [r["code"] for r in ordered]
    top = [c for c in _rows_of(page, "areas") if c not in ("unknown", "all")]
    rest = _rows_of(page, "areas-rest")
    assert top == shown[:TOP_ROWS] and rest == shown[TOP_ROWS:]
    # most first: the numbers shown descend, then the hidden ones
    values = [r["children"] for r in ordered]
    numbers = [v for v in values if isinstance(v, int)]
    assert numbers == sorted(numbers, reverse=True)
    assert values[: len(numbers)] == numbers
    # the rest is behind a <details> (no script), the total stays in the first table
    details = re.search(r'<details class="govuk-details" id="areas-more">.*?</details>', page, re.S)
    assert details and f"the other {len(shown) - TOP_ROWS}" in details.group(0)
    assert 'data-area="all"' in page.split('id="areas-more"')[0]


def test_rankings_show_20_then_the_rest(clients) -> None:
    from joinedup.web.routes.places import TOP_ROWS

    client = clients["panel_member"]
    data = client.get("/places.json", params={"period": "all"}).json()
    page = client.get("/places", params={"period": "all"}).text
    for key, table in (("hotspots", "hotspots"), ("found", "found")):
        ranks = [h["rank"] for h in data[key]]
        assert _rows_of(page, table) == ranks[:TOP_ROWS]
        if len(ranks) > TOP_ROWS:
            assert _rows_of(page, f"{table}-rest") == ranks[TOP_ROWS:]
            assert f'<details class="govuk-details" id="{table}-more">' in page
        else:
            assert f'id="{table}-rest"' not in page


def test_by_count_orders_numbers_then_hidden_then_names() -> None:
    from joinedup.web.routes.places import by_count

    rows = [
        {"name": "b", "children": SUPPRESSED},
        {"name": "a", "children": 3},
        {"name": "c", "children": 12},
        {"name": "a", "children": SUPPRESSED},
        {"name": "d", "children": 12},
    ]
    assert [(r["name"], r["children"]) for r in by_count(rows)] == [
        ("c", 12),
        ("d", 12),
        ("a", 3),
        ("a", SUPPRESSED),
        ("b", SUPPRESSED),
    ]
