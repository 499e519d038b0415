"""The questions pages, their JSON twins and downloads, and the overview's "what changed
since the last release", driven through FastAPI's TestClient on the built 400-person
synthetic partnership (and a second release made from it)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from conftest import sign_in
from joinedup.config import load_config
from joinedup.disclosure import Tier
from joinedup.insight import compute_answers, default_period, load_questions
from joinedup.present.format import format_count
from joinedup.release import open_current
from joinedup.views.questions import (
    current_answer,
    current_changes,
    current_questions,
    headline_change,
)
from joinedup.web import create_app


class Page(HTMLParser):
    """Each table with an id as rows of cell texts (and suppressed-cell classes), and
    the text of elements with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.suppressed: dict[str, int] = {}
        self.ids: set[str] = set()
        self.links: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
            self.suppressed[self._table] = 0
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
            if "app-table__cell--suppressed" in (a.get("class") or ""):
                self.suppressed[self._table] += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Page:
    p = Page()
    p.feed(html)
    return p


def shown(value, key: str) -> str:
    """A protected answer's cell as the page shows it."""
    if value is None:
        return ""
    if value == "c":
        return "c"
    if isinstance(value, float):
        return f"{value:,.2f}" if key.startswith("rate") else f"{value:,.1f}"
    if key == "change" and isinstance(value, int) and value > 0:
        return "+" + format_count(value)
    return format_count(value)


def expected_rows(answer: dict) -> list[list[str]]:
    keys = [c["key"] for c in answer["columns"]]
    labelled = keys[0] in ("split", "category")
    rows = []
    for r in answer["rows"]:
        cells = [shown(r.get(k), k) if i or not labelled else str(r[k]) for i, k in enumerate(keys)]
        rows.append(cells if labelled else ["Total", *cells])
    return rows


@pytest.fixture(scope="module")
def root(synth_built: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("questions") / "partnership"
    shutil.copytree(synth_built, root)
    return root


@pytest.fixture(scope="module")
def app(root: Path):
    return create_app(root)


def client_as(app, role: str, username: str) -> TestClient:
    client = TestClient(app)
    sign_in(client, role, username=username)
    return client


@pytest.fixture(scope="module")
def analyst(app) -> TestClient:
    return client_as(app, "analyst", "q-analyst")


@pytest.fixture(scope="module")
def board(app) -> TestClient:
    return client_as(app, "board_member", "q-board")


@pytest.fixture(scope="module")
def community(app) -> TestClient:
    return client_as(app, "community_viewer", "q-community")


def test_list_shows_every_question_grouped_with_its_headline(root, analyst, community):
    data = analyst.get("/questions.json").json()
    listing = current_questions(root, Tier.STRATEGIC)
    assert data["tier"] == "strategic" and data["release_id"] == listing["release_id"]
    assert data["previous_release_id"] is None  # the first release
    by_id = {q["id"]: q for g in data["groups"] for q in g["questions"]}
    assert set(by_id) == {q["id"] for q in listing["questions"]}
    for q in listing["questions"]:
        assert by_id[q["id"]]["headline"] == q["headline"]
    titles = [g["title"] for g in data["groups"]]
    assert titles[0] == "Children" and "Events and referrals" in titles
    assert all(q["unit"] == "children" for q in data["groups"][0]["questions"])
    page = parse(analyst.get("/questions").text)
    table = page.tables["group-children-table"]
    assert table[0] == ["Question", "This release"]  # no previous release: no change column
    for row, q in zip(table[1:], data["groups"][0]["questions"], strict=True):
        assert row[0].startswith(q["question"]) and row[1] == format_count(q["headline"])
    assert "/questions/children_with_concern" in page.links

    # the community tier: only the questions it may see, the others say why not
    cdata = community.get("/questions.json").json()
    cq = {q["id"]: q for g in cdata["groups"] for q in g["questions"]}
    assert cq["places_of_concern"]["available"]
    # themes may be seen at community tier, but rests on data its agreements keep out
    assert not cq["themes"]["available"] and "sharing agreement" in cq["themes"]["why_not"]
    refused = cq["children_with_concern"]
    assert not refused["available"] and refused["headline"] is None
    assert "strategic and operational tiers" in refused["why_not"]
    html = community.get("/questions").text
    assert 'id="why-children_with_concern"' in html and "Not available at this tier" in html


def test_question_page_equals_current_answer_and_its_json_twin(root, analyst):
    for by in ("authority", "quarter"):
        expected = current_answer(root, "children_with_concern", by=by, tier=Tier.STRATEGIC)
        data = analyst.get(f"/questions/children_with_concern.json?by={by}").json()
        assert data["answer"] == expected
        assert data["breakdown"] == by
        page = parse(analyst.get(f"/questions/children_with_concern?by={by}").text)
        table = page.tables["answer"]
        assert table[0] == [c["label"] for c in expected["columns"]]
        assert table[1:] == expected_rows(expected)
        assert "chart-answer" in page.ids and "quality-heading" in page.ids
    # over-time choices are the period breakdowns; the default is the first other one
    data = analyst.get("/questions/children_with_concern.json").json()
    assert data["breakdown"] == "exploitation_type"
    # the question's own quarter, and the monthly series every dated question gets
    assert [c["value"] for c in data["choices"]["over_time"]] == ["quarter", "month"]
    assert "quarter" not in [c["value"] for c in data["choices"]["breakdowns"]]
    assert data["answer"]["question"]["caveats"] == list(
        current_answer(root, "children_with_concern")["question"]["caveats"]
    )


def test_breakdown_switch_changes_the_table(analyst):
    by_sex = parse(analyst.get("/questions/children_with_concern?by=sex").text).tables["answer"]
    by_la = parse(analyst.get("/questions/children_with_concern?by=authority").text).tables[
        "answer"
    ]
    total = parse(analyst.get("/questions/children_with_concern?by=none").text).tables["answer"]
    assert by_sex[0][0] == "Sex" and by_la[0][0] == "Home local authority"
    assert [r[0] for r in by_sex[1:]] != [r[0] for r in by_la[1:]]
    assert by_sex[-1][1] == by_la[-1][1] == total[-1][1]  # the same total every way
    assert total[0][0] == "All" and len(total) == 2


def test_suppressed_cells_rates_and_intervals(root, analyst):
    expected = current_answer(root, "disproportionality", by="ethnicity", tier=Tier.STRATEGIC)
    hidden = [r for r in expected["rows"] if r["count"] == "c"]
    assert hidden, "the synthetic release should have small groups"
    html = analyst.get("/questions/disproportionality?by=ethnicity").text
    page = parse(html)
    rows = {r[0]: r for r in page.tables["answer"][1:]}
    for r in hidden:
        assert rows[r["category"]][1] == "c"
        assert rows[r["category"]][3:6] == ["c", "c", "c"]  # rate and its interval hidden
    assert page.suppressed["answer"] >= 5 * len(hidden)
    shown_rate = next(r for r in expected["rows"] if isinstance(r["rate"], float))
    assert rows[shown_rate["category"]][3:6] == [
        f"{shown_rate['rate']:,.2f}",
        f"{shown_rate['rate_low']:,.2f}",
        f"{shown_rate['rate_high']:,.2f}",
    ]
    assert "chart-rate" in page.ids and "rate-note" in page.ids
    assert "suppression-note" in page.ids and "caveats" in page.ids


def test_source_quality_is_from_the_release_as_percentages(root, analyst, community):
    data = analyst.get("/questions/missing_children.json").json()
    assert [s["source"] for s in data["sources"]] == ["police_crimes", "police_missing"]
    con = duckdb.connect(str(open_current(root).db_path), read_only=True)
    usable, lag = con.execute(
        "SELECT max(value) FILTER (WHERE measure = 'rows_usable'), "
        "max(value) FILTER (WHERE measure = 'extract_lag_days') FROM quality_measure "
        "WHERE source = 'police_missing' AND field = ''"
    ).fetchone()
    con.close()
    missing = data["sources"][1]
    measures = {m["measure"]: m["percent"] for m in missing["measures"]}
    # a share of records is shown exactly where the quality page shows it at this tier
    quality = analyst.get("/quality.json").json()
    shown = next(
        m["value"]
        for s in quality["sources"]
        if s["source"] == "police_missing"
        for m in s["measures"]
        if m["measure"] == "rows_usable" and not m["field"]
    )
    expected = "c" if shown == "c" else round(100 * usable, 1)
    assert measures["rows_usable"] == expected
    assert all(v in (None, "c") or 0 <= v <= 100 for v in measures.values())
    assert missing["extract_lag_days"] == float(round(lag))
    page = parse(analyst.get("/questions/missing_children").text)
    row = next(r for r in page.tables["source-quality"][1:] if r[0].startswith("Missing"))
    assert row[1] == ("c" if expected == "c" else f"{expected:.1f}%")
    # the community tier sees the sources a question rests on, not their measures
    cdata = community.get("/questions/places_of_concern.json").json()
    assert cdata["sources"] and all("measures" not in s for s in cdata["sources"])
    assert not cdata["quality_measures_shown"]


def test_refusals_and_unknowns_are_proper_pages(community, analyst):
    r = community.get("/questions/children_with_concern")
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    page = parse(r.text)
    assert "error-detail" in page.ids
    assert "It can be seen at the strategic and operational tiers." in r.text
    j = community.get("/questions/children_with_concern.json")
    assert j.status_code == 403 and set(j.json()) == {"error"}
    assert "strategic and operational" in j.json()["error"]["detail"]
    assert community.get("/questions/places_of_concern").status_code == 200
    assert analyst.get("/questions/no_such_question").status_code == 404
    assert analyst.get("/questions/no_such_question.json").json()["error"]["status"] == 404
    bad = analyst.get("/questions/children_with_concern.json?by=shoe_size")
    assert bad.status_code == 400 and "shoe_size" in bad.json()["error"]["detail"]
    assert analyst.get("/questions/children_with_concern?by=DROP%20TABLE").status_code == 422


def _audit(app, action: str) -> list:
    state = app.state.governance.state
    return [e for e in state.audit.entries(newest_first=False) if e.action == action]


def test_downloads_are_protected_neutralised_and_audited(root, app, analyst, board):
    # a category that a spreadsheet would run as a formula, planted in the release
    con = duckdb.connect(str(open_current(root).db_path))
    con.execute(
        "UPDATE question_result SET category = '=HYPERLINK(\"http://x\")' "
        "WHERE question_id = 'disproportionality' AND breakdown = 'ethnicity' "
        "AND category = 'Mixed'"
    )
    con.close()
    before = len(_audit(app, "export"))
    expected = current_answer(root, "disproportionality", by="ethnicity", tier=Tier.STRATEGIC)
    r = analyst.get("/questions/disproportionality.csv?by=ethnicity")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [c["label"] for c in expected["columns"]]
    planted = next(row for row in rows if "HYPERLINK" in row[0])
    assert planted[0].startswith("'=")  # neutralised
    assert planted[1] == "c"
    assert len(rows) == len(expected["rows"]) + 1

    x = analyst.get("/questions/disproportionality.xlsx?by=ethnicity")
    assert x.status_code == 200
    wb = load_workbook(io.BytesIO(x.content))
    sheet = wb[wb.sheetnames[0]]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == [c["label"] for c in expected["columns"]]
    assert "c" in [row[1] for row in values[1:]]
    assert not any(isinstance(v, str) and v.startswith("=") for row in values for v in row)
    assert not sheet.merged_cells.ranges
    assert "Notes" in wb.sheetnames

    p = analyst.get("/questions/disproportionality.parquet?by=ethnicity")
    assert p.status_code == 200 and p.content[:4] == b"PAR1"
    g = analyst.get("/questions/children_with_concern.geojson?by=ward")
    assert g.status_code == 200
    features = g.json()["features"]
    assert features and all(f["geometry"] for f in features)
    assert analyst.get("/questions/children_with_concern.geojson?by=sex").status_code == 404

    entries = _audit(app, "export")[before:]
    assert [e.detail["format"] for e in entries] == ["csv", "xlsx", "parquet", "geojson"]
    first = entries[0]
    assert first.actor == "q-analyst" and first.target == "disproportionality"
    assert first.detail["by"] == "ethnicity" and first.detail["tier"] == "strategic"
    assert "police" in first.agencies
    assert "HYPERLINK" not in json.dumps(first.detail)

    # the page offers downloads to those who may export, and only area breakdowns as GeoJSON
    links = parse(analyst.get("/questions/children_with_concern?by=ward").text).links
    assert any(h.startswith("/questions/children_with_concern.geojson?by=ward") for h in links)
    links = parse(analyst.get("/questions/children_with_concern?by=sex").text).links
    assert not any(".geojson" in h for h in links) and any(".xlsx" in h for h in links)

    # a role without the export permission: no links, and 403 on every download
    assert not any(".csv" in h for h in parse(board.get("/questions/themes").text).links)
    for fmt in ("csv", "xlsx", "parquet", "geojson"):
        assert board.get(f"/questions/children_with_concern.{fmt}?by=ward").status_code == 403
    assert len(_audit(app, "export")) == before + 4


def test_headline_change():
    assert headline_change(12, 10) == {"change": "+2", "percent": 20.0}
    assert headline_change(8, 10) == {"change": "-2", "percent": -20.0}
    assert headline_change(7, 0) == {"change": "+7", "percent": None}
    assert headline_change(10, 10) == {"change": "0", "percent": 0.0}
    assert headline_change("c", 10) is None and headline_change(10, None) is None


def _second_release(root: Path) -> tuple[str, str]:
    """A release after the current one with a third of concerns gone, answered with the
    current one attached as the previous release (as a build does)."""
    old = open_current(root)
    new_id = old.release_id + "-next"
    shutil.copytree(old.path, root / "releases" / new_id)
    con = duckdb.connect(str(root / "releases" / new_id / "release.duckdb"))
    for table in ("question", "question_result", "question_unit", "question_row", "question_cross"):
        con.execute(f"DELETE FROM {table}")
    con.execute("DELETE FROM person_concern WHERE hash(person_id) % 3 = 0")
    con.execute("UPDATE release_info SET value = ? WHERE key = 'release_id'", [new_id])
    con.execute(f"ATTACH '{old.db_path}' AS prev (READ_ONLY)")
    cfg = load_config(root, check_files=False)
    types = {a.id: a.type for a in cfg.agencies}
    by_type: dict[str, list[str]] = {}
    for src in cfg.sources:
        by_type.setdefault(types.get(src.agency, "other"), []).append(src.id)
    ref = con.execute("SELECT value FROM release_info WHERE key = 'reference_date'").fetchone()
    default = default_period(cfg.insight.default_period, dt.date.fromisoformat(ref[0]))
    compute_answers(
        con,
        load_questions(root),
        sources_by_type=by_type,
        previous=("prev", old.release_id),
        periods=[default],
    )
    con.close()
    (root / "releases" / "CURRENT").write_text(new_id + "\n")
    return old.release_id, new_id


def test_what_changed_since_the_last_release(root, board):
    """Last in the module: it makes a new release current in the module's partnership."""
    client = board
    first = client.get("/overview.json").json()["changes"]
    assert first["previous_release_id"] is None and first["questions"] == []
    assert "no previous release" in first["note"]
    assert "There is no previous release to compare with" in client.get("/").text

    old_id, new_id = _second_release(root)
    data = client.get("/overview.json").json()
    changes = data["changes"]
    assert data["release"]["release_id"] == new_id
    assert changes["release_id"] == new_id and changes["previous_release_id"] == old_id
    assert changes == current_changes(root, Tier.STRATEGIC)
    listing = {q["id"]: q for q in current_questions(root, Tier.STRATEGIC)["questions"]}
    assert 0 < len(changes["questions"]) <= 5
    sizes = []
    for q in changes["questions"]:
        mine = listing[q["id"]]
        assert (q["headline"], q["previous"]) == (mine["headline"], mine["previous"])
        assert isinstance(q["headline"], int) and isinstance(q["previous"], int)
        diff = q["headline"] - q["previous"]
        assert q["change"] == f"{diff:+d}"
        sizes.append(abs(diff) / max(q["previous"], 1))
    assert sizes == sorted(sizes, reverse=True)
    # a question whose headline moved and is shown in both releases (in the default
    # period of 12 months some small headlines are hidden)
    moved = next(
        q
        for q in listing.values()
        if isinstance(q["headline"], int)
        and isinstance(q["previous"], int)
        and q["headline"] != q["previous"]
    )
    page = parse(client.get("/").text)
    assert "what-changed" in page.ids and "releases-compared" in page.ids
    table = page.tables["changes"]
    assert [r[0] for r in table[1:]] == [
        f"{q['question']} ({q['unit']})" for q in changes["questions"]
    ]
    assert table[1][3].startswith(changes["questions"][0]["change"])
    # the questions list shows the change too, against the same release
    qdata = client.get("/questions.json").json()
    assert qdata["previous_release_id"] == old_id
    row = next(q for g in qdata["groups"] for q in g["questions"] if q["id"] == moved["id"])
    assert row["change"] == f"{moved['headline'] - moved['previous']:+d}"
    answer = client.get("/questions/children_with_concern.json?by=none").json()
    assert answer["comparison"]["previous_release_id"] == old_id
    assert [c["key"] for c in answer["answer"]["columns"]][:3] == ["count", "previous", "change"]


def test_a_long_answer_shows_its_first_rows_and_the_rest_behind_show_all(root, analyst):
    """More than 40 rows (places, wards): the first 20 by count and the total in the
    table, the others in "show all" (issue 16: tables sorted by count, the top 20 first);
    together they are the whole answer. An answer by period is never cut."""
    from starlette.requests import Request

    from joinedup.web.templating import cached_body

    data = analyst.get("/questions/places_of_concern.json?by=place").json()
    rows = data["answer"]["rows"]
    assert rows[-1]["category"] == "Total" and len(rows) > 2
    # the 400-person partnership has a dozen places: the page of one with 55
    many = [dict(r, category=f"Place {i:02d}") for i, r in enumerate((rows[:-1] * 55)[:55])]
    data["answer"]["rows"] = [*many, rows[-1]]
    request = Request({"type": "http", "method": "GET", "scheme": "http", "path": "/",
                       "server": ("testserver", 80), "root_path": "", "query_string": b"",
                       "headers": [(b"host", b"testserver")], "app": None})  # fmt: skip
    context = {"data": data, "charts": [], "tier_param": None}
    page = parse(str(cached_body(request, "question_body.html", {"data": data}, lambda: context)))
    want = expected_rows(data["answer"])
    assert page.tables["answer"][1:] == want[:20] + want[-1:]
    assert page.tables["answer"][-1][0] == "Total"
    assert page.tables["answer-rest"][1:] == want[20:-1]
    assert "answer-more" in page.ids
    # by period: never cut, however long
    data["breakdown"] = "month"
    page = parse(str(cached_body(request, "question_body.html", {"data": data}, lambda: context)))
    assert page.tables["answer"][1:] == want and "answer-rest" not in page.tables
    # a short answer as it was
    page = parse(analyst.get("/questions/places_of_concern?by=place").text)
    assert page.tables["answer"][1:] == expected_rows(
        current_answer(root, "places_of_concern", by="place", tier=Tier.STRATEGIC)
    )
    assert "answer-rest" not in page.tables
