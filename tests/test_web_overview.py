"""The overview page and its JSON twin, driven through FastAPI's TestClient."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.disclosure import Tier
from joinedup.present.format import format_count
from joinedup.release import create_schema_sql
from joinedup.web import create_app
from joinedup.web.deps import get_tier

AUTHORITIES = [("E1", "Northby"), ("E2", "Southam"), ("E3", "Westbury")]
# Distinct persons with a concern: exploitation type -> authority -> persons (one each).
PEOPLE = {
    "cse": {"E1": 12, "E2": 3, "E3": 9},
    "cce": {"E1": 20, "E2": 15, "E3": 11},
    "online": {"E1": 6, "E2": 7, "E3": 0},
    "radicalisation": {"E1": 8, "E2": 10, "E3": 6},
}


def write_release(partnership: Path, release_id: str, *, people=PEOPLE) -> Path:
    """A release in the store's layout: DIR/releases/<id>/release.duckdb and CURRENT."""
    folder = partnership / "releases" / release_id
    folder.mkdir(parents=True)
    con = duckdb.connect(str(folder / "release.duckdb"))
    for sql in create_schema_sql():
        con.execute(sql)
    con.executemany(
        "INSERT INTO release_info VALUES (?, ?)",
        [
            ("release_id", release_id),
            ("built_at", "2026-10-31T12:00:00Z"),
            ("partnership", "Test Partnership"),
            ("reference_date", "2026-10-31"),
        ],
    )
    con.executemany(
        "INSERT INTO area (area_code, area_name, area_type) VALUES (?, ?, 'authority')",
        AUTHORITIES,
    )
    con.execute(
        "INSERT INTO source (source, agency, dataset, rows_read, rows_loaded, rows_quarantined,"
        " extracted_at) VALUES ('police_crimes', 'police', 'Crimes', 1234, 1230, 4, '2026-10-01')"
    )
    n = 0
    for code, by_la in people.items():
        for la, count in by_la.items():
            for _ in range(count):
                n += 1
                pid, rec, ev = f"p{n}", f"r{n}", f"e{n}"
                age = 14 if n % 2 else 20
                con.execute(
                    "INSERT INTO person (person_id, age, home_authority) VALUES (?, ?, ?)",
                    [pid, age, la],
                )
                con.execute(
                    "INSERT INTO record_person (source, source_record_id, person_id)"
                    " VALUES ('police_crimes', ?, ?)",
                    [rec, pid],
                )
                con.execute("INSERT INTO event (event_id) VALUES (?)", [ev])
                con.execute("INSERT INTO event_exploitation VALUES (?, ?, ?)", [ev, code, code])
                con.execute(
                    "INSERT INTO event_person VALUES (?, 'police_crimes', ?, 'victim')", [ev, rec]
                )
    con.close()
    (partnership / "releases" / "CURRENT").write_text(release_id + "\n")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("web") / "partnership"
    write_release(root, "20261031T120000Z-aaaaaa")
    return root


@pytest.fixture(scope="module")
def client(built) -> TestClient:
    client = TestClient(create_app(built))
    sign_in(client, "board_member")
    return client


class Tables(HTMLParser):
    """Text of every cell of every table with an id, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.by_id: dict[str, str] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._id: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "dd" and attrs.get("id"):
            self._id, self._cell = attrs["id"], []

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "dd" and self._id:
            self.by_id[self._id] = "".join(self._cell or []).strip()
            self._id, self._cell = None, None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Tables:
    p = Tables()
    p.feed(html)
    return p


def test_overview_page_shows_figures_with_suppression(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = parse(r.text)
    headline = page.tables["headline"]
    assert headline[0] == ["Type", "Northby", "Southam", "Westbury", "All areas"]
    cse = headline[1]
    assert cse[0] == "CSE"
    assert cse[2] == "c"  # 3 children in Southam
    assert cse[4] == "24"
    assert "c" not in headline[2]  # CCE: 20, 15, 11
    assert headline[2] == ["CCE and county lines", "20", "15", "11", "46"]
    for row in headline[1:]:
        for cell in row[1:]:
            assert cell == "c" or not 1 <= int(cell.replace(",", "")) <= 5
    assert 'id="suppression-note">“c” means the number is hidden' in r.text
    # people's words (issue 16): the release by its month, its id on hover; dates written out
    assert page.by_id["release-id"] == "October 2026 release"
    assert 'title="Release 20261031T120000Z-aaaaaa"' in r.text
    assert page.by_id["built-at"] == "31 October 2026 at 12:00pm"
    assert page.by_id["persons-all"] == "107"
    # 4 rows quarantined is a small count of records (issue 11): hidden, and the rows loaded
    # with it (1,234 read = 1,230 loaded + 4 quarantined would give it away).
    assert page.tables["sources"][1] == ["police", "Crimes", "1 October 2026", "1,234", "c", "c"]


def test_chart_is_accessible_svg_beside_a_table(client):
    html = client.get("/").text
    assert '<svg role="img"' in html
    assert (
        '<title id="chart-by-type-title">People with an exploitation concern, by type</title>'
        in html
    )
    assert 'id="by-type"' in html
    assert "<script" not in html


def test_json_twin_has_the_same_numbers_as_the_page(client):
    data = client.get("/overview.json").json()
    assert data["tier"] == "strategic"
    assert data["release"]["release_id"] == "20261031T120000Z-aaaaaa"
    page = parse(client.get("/").text)
    headline = page.tables["headline"]
    concerns = data["concerns"]
    assert [a["name"] for a in concerns["authorities"]] == headline[0][1:-1]
    for row, html_row in zip(concerns["rows"], headline[1:], strict=False):
        assert [
            row["group"],
            *map(format_count, row["cells"]),
            format_count(row["total"]),
        ] == html_row
    assert headline[-1][1:] == [
        *map(format_count, concerns["totals"]),
        format_count(concerns["total"]),
    ]
    assert concerns["rows"][0]["cells"][1] == "c"
    assert page.by_id["persons-children"] == format_count(data["persons"]["children"])
    assert page.by_id["persons-young-adults"] == format_count(data["persons"]["young_adults"])
    assert data["sources"][0]["rows_quarantined"] == "c"


def test_no_release_is_a_503_page_that_says_what_to_do(tmp_path):
    client = TestClient(create_app(tmp_path))
    sign_in(client)
    r = client.get("/")
    assert r.status_code == 503
    assert "No release to show yet" in r.text
    assert "joinedup build DIR" in r.text
    j = client.get("/overview.json")
    assert j.status_code == 503
    assert j.json()["error"]["status"] == 503
    assert "joinedup build" in j.json()["error"]["detail"]


def test_unreadable_release_is_a_503_too(tmp_path):
    folder = tmp_path / "releases" / "broken"
    folder.mkdir(parents=True)
    duckdb.connect(str(folder / "release.duckdb")).close()  # no tables
    (tmp_path / "releases" / "CURRENT").write_text("broken\n")
    client = TestClient(create_app(tmp_path))
    sign_in(client)
    r = client.get("/overview.json")
    assert r.status_code == 503
    assert "cannot be read" in r.json()["error"]["detail"]


def test_error_json_has_one_shape(client):
    r = client.get("/no-such-page.json")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"status", "title", "detail"}
    assert body["error"]["status"] == 404
    assert body["error"]["title"] == "Not Found"
    assert isinstance(body["error"]["detail"], str) and body["error"]["detail"]


def test_unknown_page_is_an_html_404(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Not Found" in r.text


def test_server_error_json_has_the_same_shape(tmp_path):
    def explode(_: Path):
        raise RuntimeError("boom")

    client = TestClient(create_app(tmp_path, open_release=explode), raise_server_exceptions=False)
    sign_in(client)
    r = client.get("/overview.json")
    assert r.status_code == 500
    assert set(r.json()["error"]) == {"status", "title", "detail"}
    assert "boom" not in r.text


def test_a_new_build_is_visible_without_restart(tmp_path):
    write_release(tmp_path, "r1", people={"cse": {"E1": 7}})
    client = TestClient(create_app(tmp_path))
    sign_in(client)
    assert client.get("/overview.json").json()["release"]["release_id"] == "r1"
    write_release(tmp_path, "r2", people={"cse": {"E1": 8}})
    data = client.get("/overview.json").json()
    assert data["release"]["release_id"] == "r2"
    assert data["concerns"]["rows"][0]["total"] == 8


def test_tier_comes_from_one_dependency(built):
    app = create_app(built)
    app.dependency_overrides[get_tier] = lambda: Tier.COMMUNITY
    client = TestClient(app)
    data = client.get("/overview.json").json()
    assert data["tier"] == "community"
    assert "concerns" not in data and "sources" not in data
    assert data["areas"]["persons_with_concern"] == [46, 35, 26]
    page = parse(client.get("/").text)
    assert page.tables["by-area"][1] == ["Northby", "46"]
    assert "sources" not in page.tables


def test_healthz_and_static(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    css = client.get("/static/joinedup.css")
    assert css.status_code == 200
    assert ".app-table" in css.text
