"""Indicator pages (issue 16, item 1) and people's words (item 9): the view's figures
against the crossed answers they are cut from and against the release itself, rates and
intervals, comparisons, downloads, error pages, and the board member's task in real
Chromium: "children with a CCE concern, by authority, by quarter, with intervals" in at
most three choices from the overview."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.disclosure import SUPPRESSED, Tier
from joinedup.present.format import (
    field_label,
    format_date,
    format_datetime,
    format_number,
    format_percent,
    release_name,
)
from joinedup.release import open_current
from joinedup.views.indicators import (
    PER,
    IndicatorError,
    compare,
    current_indicator,
    current_indicators,
    rate_of,
)
from joinedup.views.questions import QuestionNotFound, QuestionRefused, current_answer
from joinedup.web import create_app

Q = "children_with_concern"
CCE = "CCE and county lines"


@pytest.fixture(scope="module")
def root(synth_built: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("indicators") / "partnership"
    shutil.copytree(synth_built, root)
    return root


@pytest.fixture(scope="module")
def app(root: Path):
    app = create_app(root)
    yield app
    app.state.governance.close()


def client_as(app, role: str) -> TestClient:
    client = TestClient(app)
    sign_in(client, role, username=f"ind-{role.replace('_', '-')}")
    return client


@pytest.fixture(scope="module")
def board(app) -> TestClient:
    return client_as(app, "board_member")


@pytest.fixture(scope="module")
def analyst(app) -> TestClient:
    return client_as(app, "analyst")


def _grid(data) -> dict[tuple[str, str], object]:
    return {(a["name"], s["period"]): s["count"] for a in data["areas"] for s in a["series"]}


# --- the view ----------------------------------------------------------------------


def test_without_a_type_the_grid_is_the_crossed_answer(root):
    data = current_indicator(root, Q, area="authority", period="all")
    crossed = current_answer(root, Q, by=("authority", "quarter"), period="all")
    table = crossed["table"]
    expected = {
        (r, c): table["cells"][i][j]
        for i, r in enumerate(table["rows"])
        for j, c in enumerate(table["columns"])
    }
    assert _grid(data) == expected
    assert [a["count"] for a in data["areas"]] == table["row_totals"]
    assert [p["period"] for p in data["periods"]] == table["columns"]
    # the partnership is the published totals, per resident of its own areas
    partnership = data["partnership"]
    assert partnership["count"] == table["total"]
    assert [p["count"] for p in partnership["series"]] == table["column_totals"]
    people = sum(a["population"] or 0 for a in data["areas"])
    assert partnership["population"] == people
    if isinstance(partnership["count"], int):
        assert partnership["rate"] == round(partnership["count"] / people * PER, 1)


def test_a_type_is_a_slice_whose_margins_are_the_published_crossed_answers(root):
    data = current_indicator(root, Q, kind=CCE, area="authority", period="all")
    by_area = current_answer(root, Q, by=("exploitation_type", "authority"), period="all")
    by_time = current_answer(root, Q, by=("exploitation_type", "quarter"), period="all")
    i = by_area["table"]["rows"].index(CCE)
    assert [a["name"] for a in data["areas"]] == by_area["table"]["columns"]
    # each area's count over the period is the type x area cell as published there
    assert [a["count"] for a in data["areas"]] == by_area["table"]["cells"][i]
    assert [p["period"] for p in data["periods"]] == by_time["table"]["columns"]
    assert data["type"] == CCE and CCE in data["title"]


def test_slice_cells_are_the_release_counts_or_hidden(root):
    """Every shown cell of the slice is the number of distinct children in the release's
    own rows; every count from 1 to the threshold is hidden."""
    data = current_indicator(root, Q, kind=CCE, area="authority", period="all")
    threshold = data["disclosure"]["threshold"]
    shown = hidden = 0
    truth = _truth(root)
    for (area, quarter), count in _grid(data).items():
        raw = truth.get((area, quarter), 0)
        if count == SUPPRESSED:
            hidden += 1
            continue
        shown += 1
        assert count == raw, (area, quarter)
        assert not 1 <= count <= threshold
    assert shown and hidden  # the small partnership has both


def _truth(root: Path) -> dict[tuple[str, str], int]:
    """Distinct children with a CCE concern by home authority and quarter, all time,
    counted from the release's stored unit rows."""
    from joinedup.insight import list_questions

    con = duckdb.connect(str(open_current(root).db_path), read_only=True)
    try:
        info = next(i for i in list_questions(con) if i.id == Q)
        cols = list(info.layout.breakdowns)
        t, a, q = (cols.index(x) + 1 for x in ("exploitation_type", "authority", "quarter"))
        found = con.execute(
            f"SELECT categories[{a}], categories[{q}], count(DISTINCT unit_id) FROM question_row "
            f"WHERE question_id = ? AND categories[{t}] = ? GROUP BY ALL",
            [Q, CCE],
        ).fetchall()
    finally:
        con.close()
    return {(str(x), str(y)): int(n) for x, y, n in found}


def test_rates_are_from_the_published_counts_with_their_intervals(root):
    data = current_indicator(root, Q, area="authority", period="all")
    assert data["rate"]["per"] == PER and tuple(data["rate"]["ages"]) == (0, 17)
    with_population = [a for a in data["areas"] if a["population"]]
    assert {a["name"] for a in with_population} == {"Ashdown", "Wexbury"}
    checked = 0
    for a in with_population:
        for point in [a, *a["series"]]:
            if point["count"] == SUPPRESSED:
                assert point["rate"] == SUPPRESSED == point["low"] == point["high"]
                continue
            assert point["rate"] == round(point["count"] / a["population"] * PER, 1)
            assert point["low"] <= point["rate"] <= point["high"]
            checked += 1
    assert checked
    # no population, no rate: children whose home is not known
    unknown = [a for a in data["areas"] if not a["population"]]
    assert all(a["rate"] is None and a["compared"] is None for a in unknown)


def test_comparison_on_the_intervals():
    assert compare({"low": 12.0, "high": 20.0}, 10.0) == "higher"
    assert compare({"low": 2.0, "high": 8.0}, 10.0) == "lower"
    assert compare({"low": 8.0, "high": 12.0}, 10.0) == "similar"
    assert compare({"low": SUPPRESSED, "high": SUPPRESSED}, 10.0) is None
    assert compare({"low": 8.0, "high": 12.0}, SUPPRESSED) is None
    assert rate_of(SUPPRESSED, 1000)["rate"] == SUPPRESSED
    assert rate_of(5, None)["rate"] is None
    assert rate_of(0, 1000) == {"rate": 0.0, "low": 0.0, "high": pytest.approx(38.3, abs=0.05)}


def test_compared_is_set_wherever_both_rates_are_known(root):
    data = current_indicator(root, Q, area="authority", period="all")
    bench = data["partnership"]["rate"]
    for a in data["areas"]:
        if a["population"] and isinstance(a["low"], float) and isinstance(bench, float):
            assert a["compared"] == compare(a, bench)
        else:
            assert a["compared"] is None


def test_the_list_and_bad_choices(root):
    listing = current_indicators(root, Tier.STRATEGIC)
    ids = [i["id"] for i in listing["indicators"]]
    assert Q in ids
    cce = next(i for i in listing["indicators"] if i["id"] == Q)
    assert CCE in [t["type"] for t in cce["types"]]
    community = [i["id"] for i in current_indicators(root, Tier.COMMUNITY)["indicators"]]
    assert Q not in community  # the question is for the strategic and operational tiers
    with pytest.raises(IndicatorError, match="no type of exploitation 'Dragons'"):
        current_indicator(root, Q, kind="Dragons")
    with pytest.raises(QuestionNotFound):
        current_indicator(root, "no_such_question")
    with pytest.raises(QuestionRefused):
        current_indicator(root, Q, tier=Tier.COMMUNITY)


def test_default_period_marks_incomplete_quarters(root):
    data = current_indicator(root, Q, kind=CCE)
    reasons = {p["period"]: p["incomplete"] for p in data["periods"]}
    last = data["periods"][-1]["period"]
    assert reasons[last] and "reference date" in reasons[last]


# --- the pages ---------------------------------------------------------------------


def test_page_json_twin_and_csv_are_exactly_what_is_shown(root, analyst, app):
    page = analyst.get(f"/indicators/{Q}", params={"type": CCE, "period": "all"})
    assert page.status_code == 200
    html = page.text
    assert "Each area compared with the partnership" in html
    assert 'role="region"' in html and 'tabindex="0"' in html
    assert "95% interval" in html and "<svg" in html
    data = analyst.get(f"/indicators/{Q}.json", params={"type": CCE, "period": "all"}).json()
    assert data == {
        **current_indicator(root, Q, kind=CCE, period="all"),
        "links": data["links"],
        "period_choice": data["period_choice"],
    }
    before = len(list(app.state.governance.state.audit.entries()))
    got = analyst.get(f"/indicators/{Q}.csv", params={"type": CCE, "period": "all"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0] == [c["label"] for c in data["columns"]]
    assert len(rows) - 1 == len(data["rows"])
    for line, row in zip(rows[1:], data["rows"], strict=True):
        assert line[0] == row["area"] and line[2] == (
            "" if row["count"] is None else str(row["count"])
        )
    entries = app.state.governance.state.audit.entries()
    assert len(entries) == before + 1 and entries[0].action == "export"


def test_people_words_on_the_page(board, root):
    html = board.get(f"/indicators/{Q}", params={"type": CCE}).text
    release = open_current(root).release_id
    assert f'title="Release {release}"' in html
    assert release_name(release) in html
    # the release id is never the text of a heading or caption
    assert f">{release}<" not in html
    assert "e-1" not in html and "Dob" not in html


def test_error_pages_are_written_for_web_users(board):
    bad_type = board.get(f"/indicators/{Q}", params={"type": "Dragons"})
    assert bad_type.status_code == 400
    assert "no type of exploitation" in bad_type.text and "--by" not in bad_type.text
    missing = board.get("/indicators/no_such_thing")
    assert missing.status_code == 404 and "list of indicators" in missing.text
    wrong_area = board.get(f"/indicators/{Q}", params={"area": "galaxy"})
    assert wrong_area.status_code == 422
    assert "query.area" not in wrong_area.text and "area" in wrong_area.text
    bad_by = board.get(f"/questions/{Q}", params={"by": "planet"})
    assert bad_by.status_code == 400 and "--by" not in bad_by.text


def test_board_member_may_not_download_but_sees_the_json(board):
    assert board.get(f"/indicators/{Q}.csv").status_code == 403
    assert board.get(f"/indicators/{Q}.json").status_code == 200


# --- people's words ------------------------------------------------------------------


def test_formats():
    assert format_date("2026-12-04") == "4 December 2026"
    assert format_date("2026-12-04T13:28:47Z") == "4 December 2026"
    assert format_datetime("2026-12-04T13:28:47+00:00") == "4 December 2026 at 1:28pm"
    assert release_name("20261104T132847Z-1f9fd5") == "November 2026 release"
    assert release_name("hand-made") == "hand-made"
    assert format_number(1.134e-14) == "0"
    assert format_number(-1e-9) == "0"
    assert format_number(12345.678) == "12,345.7"
    assert format_number(12.0) == "12"
    assert format_number("c") == "c" and format_number(None) == ""
    assert format_percent(12.5) == "12.5%" and format_percent("c") == "c"
    assert field_label("dob") == "Date of birth" and field_label("home_ward") == "Home ward"


# --- the board member's task in real Chromium ----------------------------------------


def test_board_member_reaches_cce_by_authority_by_quarter_in_three_choices(app):
    from playwright.sync_api import sync_playwright

    from joinedup.access import create_user
    from joinedup.report.pdf import launch_chromium
    from joinedup.web.live import live_server

    password = "indicator-test-password-synthetic"
    create_user(
        app.state.governance.state,
        username="task-board",
        display_name="Board member",
        agency="police",
        roles=["board_member"],
        password=password,
        actor="test",
    )
    with live_server(app) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_context(java_script_enabled=False).new_page()
        page.goto(f"{url}/sign-in")
        page.fill("#username", "task-board")
        page.fill("#password", password)
        page.click("#sign-in-button")
        page.wait_for_url(f"{url}/")
        choices = 0
        page.click("#navigation >> text=Indicators")  # choice 1: the indicators
        choices += 1
        page.click(f"#indicator-{Q} >> text={CCE}")  # choice 2: CCE, for every child
        choices += 1
        assert choices <= 3
        title = page.locator("h1").inner_text()
        assert CCE in title and "home local authority" in title and "quarter" in title
        headers = page.locator("#compared thead th").all_inner_texts()
        assert "95% interval" in headers and "Compared with the partnership" in headers
        areas = page.locator("#compared tbody th").all_inner_texts()
        assert {"Ashdown", "Wexbury"} <= set(areas)
        quarters = page.locator("#series thead th").all_inner_texts()[1:]
        assert len(quarters) >= 4 and all(" Q" in q for q in quarters)
        assert page.locator("svg[role=img] title").count() == 1
        assert "95% intervals" in page.locator("svg[role=img] title").text_content()
        # the incomplete quarter is marked in the table and explained
        assert any("incomplete" in q for q in quarters)
        assert page.locator("#incomplete-periods li").count() >= 1
        # and the choice of area and period is on the same page
        assert page.locator("#choose-area option").count() == 2
        page.select_option("#choose-period", "all")  # choice 3 (optional): all time
        page.click("#show-indicator")
        assert "period=all" in page.url and CCE in page.locator("h1").inner_text()
        browser.close()


def test_a_question_over_time_is_a_line_with_incomplete_periods_marked(board):
    html = board.get(f"/questions/{Q}", params={"by": "quarter", "period": "all"}).text
    svg = html[html.index('<svg role="img"') :]
    svg = svg[: svg.index("</svg>")]
    assert "<path" in svg and "app-chart__svg" in svg
    assert "Periods marked * are incomplete" in svg  # in the chart's description
    assert 'class="mark-line' in svg  # a line, not bars
