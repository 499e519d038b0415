"""The places page (/places and its JSON twin) on the 400-person synthetic partnership.

The figures are checked against the release's own tables, recomputed here in Python:
children per small area from ``person_concern`` and ``missing_episode`` (checked first
against ``place_hotspot``, place by place), and the hotspots against ``place_hotspot``.
"""

from __future__ import annotations

import datetime as dt
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


def _since(reference: dt.date, months: int | None) -> dt.date | None:
    if months is None:
        return None
    y, m = divmod(reference.month - 1 - months, 12)
    day = reference.day
    while True:
        try:
            return dt.date(reference.year + y, m + 1, day)
        except ValueError:
            day -= 1


def _children_by(release, window: str, level: str, place_type: str | None = None):
    """Raw children per area and overall (Python sets over the release's rows)."""
    reference = dt.date.fromisoformat(
        release.execute("SELECT value FROM release_info WHERE key='reference_date'").fetchone()[0]
    )
    since = _since(reference, {"all": None, "12 months": 12, "3 months": 3}[window])
    places = {
        r[0]: r[1:]
        for r in release.execute(
            f"SELECT place_id, {level}, place_type, postcode FROM place"
        ).fetchall()
    }
    rows = release.execute(
        "SELECT person_id, place_id, event_date, age_at_event, role FROM person_concern "
        "WHERE place_id IS NOT NULL"
    ).fetchall()
    rows += release.execute(
        "SELECT m.person_id, e.place_id, e.event_date, m.age_at_event, 'missing' FROM "
        "missing_episode m JOIN event e USING (event_id) WHERE e.place_id IS NOT NULL"
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
        if date is not None and (date > reference or (since is not None and date <= since)):
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
    for window in ("all", "12 months", "3 months"):
        _, by_place, _ = _children_by(release, window, "small_area")
        hot = release.execute(
            "SELECT place_id, children FROM place_hotspot WHERE time_window = ?", [window]
        ).fetchall()
        assert hot
        for place, children in hot:
            assert len(by_place.get(place, set())) == children, (window, place)


@pytest.mark.parametrize("window", ["all", "12 months"])
def test_map_figures_at_strategic(clients, release, window) -> None:
    data = clients["board_member"].get("/places.json", params={"window": window}).json()
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
        assert shown >= 3  # the figures are not all hidden: the check above has teeth
        assert areas["total"] == len(everyone)


def test_place_type_narrows_map_and_hotspots(clients, release) -> None:
    data = (
        clients["board_member"]
        .get("/places.json", params={"window": "all", "place_type": "takeaway"})
        .json()
    )
    assert data["choices"]["place_type"] == "takeaway"
    assert data["hotspots"] and all(h["place_type"] == "takeaway" for h in data["hotspots"])
    by_area, _, everyone = _children_by(release, "all", "small_area", "takeaway")
    for row in data["areas"]["rows"]:
        assert _agrees(row["children"], len(by_area.get(row["code"], set())), 5)
    assert _agrees(data["areas"]["total"], len(everyone), 5)


@pytest.mark.parametrize("window", ["all", "3 months"])
def test_hotspots_match_place_hotspot(clients, release, window) -> None:
    data = clients["board_member"].get("/places.json", params={"window": window}).json()
    raw = release.execute(
        "SELECT place_rank, label, place_type, residential, children, persons_of_concern, "
        "events FROM place_hotspot WHERE time_window = ? ORDER BY place_rank LIMIT ?",
        [window, HOTSPOT_LIMIT],
    ).fetchall()
    assert len(data["hotspots"]) == len(raw) > 0
    for row, (rank, label, ptype, residential, children, poc, events) in zip(
        data["hotspots"], raw, strict=True
    ):
        assert row["rank"] == str(rank)
        assert row["label"] == label and row["place_type"] == ptype
        assert row["children"] == (SUPPRESSED if 1 <= children <= 5 else children)
        assert row["persons_of_concern"] == (SUPPRESSED if 1 <= poc <= 5 else poc)
        assert row["events"] == (SUPPRESSED if 1 <= events <= 5 else events)
        assert "place_id" not in row
        if residential:
            assert label.startswith("Residential address in ")
    assert any(r["residential"] for r in data["hotspots"]) or window != "all"


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
    data = clients["community_viewer"].get("/places.json").json()
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
    for window in ("all", "12 months", "3 months"):
        data = clients["board_member"].get("/places.json", params={"window": window}).json()
        assert not [n for n in _people_counts(data) if 1 <= n <= 5], window


def test_page_shows_the_json_figures_with_an_accessible_map(clients) -> None:
    client = clients["board_member"]
    data = client.get("/places.json", params={"window": "12 months"}).json()
    page = client.get("/places", params={"window": "12 months"}).text
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
    assert hot == [h["rank"] for h in data["hotspots"]]
    assert 'value="12 months" checked' in page


def test_bad_choices_and_no_release(clients, tmp_path: Path) -> None:
    client = clients["board_member"]
    r = client.get("/places.json", params={"window": "forever"})
    assert r.status_code == 422 and "time window" in r.json()["error"]["detail"]
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
