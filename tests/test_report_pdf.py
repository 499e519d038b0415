"""The board report as an accessible PDF (issue 16, item 8).

The PDF is checked as a screen reader and a PDF/UA checker read it (pikepdf): marked and
tagged, in a language, one H1 and a H2 a section, tables with header cells, and every
chart a figure with alternative text that reads its values, a hidden value as hidden.
Its pages are checked as a reader sees them: no word runs off the page. Charts draw a
hidden "c" as a hatched stub, never an empty bar; long charts keep the largest bars.
The web download works in real Chromium for a board member, is refused to a community
viewer, and is written to the audit log.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright

from conftest import sign_in
from joinedup.access import Role, create_user
from joinedup.disclosure import Tier
from joinedup.present.charts import HIDDEN_SPOKEN, bar_chart, grouped_bar_chart
from joinedup.present.messages import weakest_sources
from joinedup.present.pdf import launch_chromium
from joinedup.present.profile import MAX_BARS, top_bars
from joinedup.report import gather_report, write_report
from joinedup.report.pdf import html_to_pdf as old_name
from joinedup.web import create_app
from joinedup.web.live import live_server

PASSWORD = "report-pdf-test-password-synthetic"


@pytest.fixture(scope="module")
def partnership(synth_insight: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report_pdf") / "partnership"
    shutil.copytree(synth_insight, root)
    return root


@pytest.fixture(scope="module")
def pdf(partnership: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pdf") / "children.pdf"
    return write_report(partnership, board="children", fmt="pdf", out=out)


def _structure(pdf_path: Path) -> tuple[pikepdf.Pdf, list[pikepdf.Dictionary]]:
    """The PDF and every structure element of its tag tree, in reading order."""
    doc = pikepdf.open(pdf_path)
    out: list[pikepdf.Dictionary] = []

    def walk(node) -> None:
        if isinstance(node, pikepdf.Array):
            for kid in node:
                walk(kid)
        elif isinstance(node, pikepdf.Dictionary):
            if "/S" in node:
                out.append(node)
            if "/K" in node:
                walk(node.K)

    walk(doc.Root.StructTreeRoot.K)
    return doc, out


def _kind(element) -> str:
    return str(element.S)[1:]


def test_the_pdf_is_tagged_with_language_headings_and_alternative_text(pdf):
    doc, elements = _structure(pdf)
    root = doc.Root
    assert "/StructTreeRoot" in root
    assert bool(root.MarkInfo.Marked) is True
    assert str(root.Lang) == "en-GB"
    assert "/Outlines" in root  # bookmarks from the headings
    kinds = [_kind(e) for e in elements]
    assert kinds.count("H1") == 1
    # A H2 for the key messages, the contents, the trends and every section.
    assert kinds.count("H2") >= 6
    assert kinds.index("H1") < kinds.index("H2")
    figures = [e for e in elements if _kind(e) == "Figure"]
    assert len(figures) >= 5
    alts = [str(f.get("/Alt", "")) for f in figures]
    assert all(len(a) > 20 for a in alts), alts
    assert any(HIDDEN_SPOKEN in a for a in alts)  # a hidden value is read as hidden
    assert kinds.count("Table") >= 5 and kinds.count("TH") > kinds.count("Table")
    # The document's title is shown, not its file name.
    assert bool(root.ViewerPreferences.DisplayDocTitle) is True


def test_the_first_page_gives_key_messages_from_the_figures(pdf, partnership):
    first = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True
    ).stdout
    assert "Key messages" in first
    report = gather_report(partnership, board="children", tier=Tier.STRATEGIC)
    kinds = [m.kind for m in report.messages]
    assert kinds[0] == "headline" and "change" in kinds and "data" in kinds
    head = report.messages[0]
    lead = report.trends[0]
    assert head.title == lead.question
    # The headline is the lead question's protected count, written as a number.
    assert re.match(r"^\d[\d,]* children in the 12 months to ", head.text), head.text
    # A first release has nothing to compare with, and says so.
    change = next(m for m in report.messages if m.kind == "change")
    assert "no previous release" in change.text
    weakest = next(m for m in report.messages if m.kind == "data")
    assert weakest.title.startswith("Weakest data: ") and "%" in weakest.text
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", weakest.text), weakest.text  # no source ids
    for m in report.messages:
        assert " c " not in f" {m.text} "  # a hidden value is never written into a sentence


def test_trends_are_line_charts_with_incomplete_quarters_marked(partnership):
    report = gather_report(partnership, board="children", tier=Tier.STRATEGIC)
    assert report.trends
    lead = report.trends[0]
    assert lead.question_id == "children_with_concern"
    assert len(lead.quarters) >= 4 and lead.series[-1][0] == "All areas"
    assert lead.chart.spec["layer"] and any(
        layer.get("mark", {}).get("type") == "line" for layer in lead.chart.spec["layer"]
    )
    # The last quarter runs past the reference date: marked incomplete, starred.
    assert lead.quarters[-1] in lead.incomplete
    assert f"{lead.quarters[-1]}*" in lead.table.labels
    assert "<svg" in str(lead.chart.svg)


def test_pages_carry_ink_and_no_word_runs_off_the_page(pdf, tmp_path):
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', out, re.S)
    assert len(pages) >= 6
    for n, (width, _height, body) in enumerate(pages, start=1):
        xs = [float(x) for x in re.findall(r'xMax="([\d.]+)"', body)]
        assert xs, f"page {n} is blank"
        # Inside the right margin (15 mm is 42.5 pt), with a point to spare.
        assert max(xs) <= float(width) - 41.5, (n, max(xs), width)
    subprocess.run(["pdftoppm", "-r", "20", "-gray", str(pdf), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p-*.pgm"))) == len(pages)


def test_a_hidden_value_is_a_hatched_stub_never_an_empty_bar():
    chart = bar_chart("Children by type", ["A", "B", "C"], [7, "c", 0], chart_id="t-bar")
    svg = str(chart.svg)
    assert '<pattern id="t-bar-hatch"' in svg
    assert svg.count('fill="url(#t-bar-hatch)"') == 1  # one stub: B, not the zero
    assert "c (hidden)" in svg
    assert "B: " + HIDDEN_SPOKEN in chart.description and "C: 0" in chart.description
    plain = str(bar_chart("No hidden", ["A"], [3], chart_id="t-plain").svg)
    assert "pattern" not in plain
    grouped = grouped_bar_chart(
        "Side by side", ["A", "B"], [("X", [5, "c"]), ("Y", ["c", 0])], chart_id="t-grp"
    )
    assert str(grouped.svg).count('fill="url(#t-grp-hatch)"') == 2


def test_a_long_chart_keeps_the_largest_bars():
    labels = [f"Place {i}" for i in range(45)]
    values = [i if i % 7 else "c" for i in range(45)]
    shown, counts, rest = top_bars(labels, values)
    assert len(shown) == MAX_BARS and rest == 45 - MAX_BARS
    assert counts == sorted(counts, reverse=True) and counts[0] == 44
    assert top_bars(labels[:5], values[:5]) == (labels[:5], values[:5], 0)


def test_weakest_sources_skip_hidden_shares_and_name_no_ids():
    quality = {
        "sources": [
            {
                "source": "a_src",
                "agency_name": "Agency A",
                "dataset": "Contacts",
                "dimensions": {"completeness": {"share": 0.6}, "validity": {"share": None}},
            },
            {
                "source": "b_src",
                "agency_name": "Agency B",
                "dataset": "Crimes",
                "dimensions": {"completeness": {"share": 0.9}, "timeliness": {"share": 0.8}},
            },
            {"source": "c_src", "dimensions": {"completeness": {"share": 1.0}}},
        ],
        "advice": [
            {"ranked": [{"source": "a_src", "advice": "Record the UPN (UPN in a_src): 40% blank."}]}
        ],
    }
    weak = weakest_sources(quality)
    assert [w["source"] for w in weak] == ["a_src", "b_src"]
    assert weak[1]["dimension"] == "timeliness"
    assert weak[0]["advice"] == "Record the UPN: 40% blank."


def test_the_old_import_path_still_works():
    from joinedup.present.pdf import html_to_pdf

    assert old_name is html_to_pdf


# --- the web download -----------------------------------------------------------------


@pytest.fixture(scope="module")
def app(partnership: Path):
    app = create_app(partnership)
    state = app.state.governance.state
    for role in (Role.BOARD_MEMBER, Role.COMMUNITY_VIEWER):
        create_user(
            state,
            username=f"{role.value}-user",
            display_name="Test user",
            agency="police",
            roles=[role.value],
            password=PASSWORD,
            actor="test",
        )
    yield app
    app.state.governance.close()


def test_a_board_member_downloads_the_report_in_a_browser(app, partnership, tmp_path):
    with live_server(app) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context(java_script_enabled=False, accept_downloads=True)
            page = context.new_page()
            page.goto(f"{url}/sign-in")
            page.fill("#username", "board_member-user")
            page.fill("#password", PASSWORD)
            page.click("#sign-in-button")
            page.wait_for_url(f"{url}/")
            page.goto(f"{url}/report")
            assert page.locator("h1").inner_text() == "Board reports"
            with page.expect_download(timeout=120_000) as info:
                page.click("#download-children")
            download = info.value
            assert download.suggested_filename.startswith("children-strategic-")
            saved = tmp_path / "downloaded.pdf"
            download.save_as(saved)
            page.screenshot(path=str(tmp_path / "report-page.png"))
        finally:
            browser.close()
    doc, elements = _structure(saved)
    assert str(doc.Root.Lang) == "en-GB" and [_kind(e) for e in elements].count("H1") == 1
    # Audited: who, what, which board and release.
    entries = app.state.governance.state.audit.entries(limit=20)
    mine = [e for e in entries if e.target == "report" and e.actor == "board_member-user"]
    assert mine and mine[0].action == "export" and mine[0].detail["board"] == "children"
    # Kept for the next download of the same release.
    assert list((partnership / "reports" / "web").glob("children-*.pdf"))


def test_the_report_is_refused_to_a_community_viewer_and_a_bad_board_is_a_404(app):
    with TestClient(app) as client:
        anonymous = client.get("/report.pdf", follow_redirects=False)
        assert anonymous.status_code in (302, 303, 401, 403)
        sign_in(client, "community_viewer", username="viewer-report")
        assert client.get("/report.pdf?board=children").status_code == 403
        assert client.get("/report.json").status_code == 403
    with TestClient(app) as client:
        sign_in(client, "analyst", username="analyst-report")
        listing = client.get("/report.json").json()
        assert [r["board"] for r in listing["reports"]] == [
            "children",
            "adults",
            "community-safety",
        ]
        bad = client.get("/report.pdf?board=police", headers={"accept": "application/json"})
        assert bad.status_code == 404 and "children" in bad.json()["error"]["detail"]
