"""Local profile reports: HTML (self-contained), Excel, and PDF checked as page images."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from joinedup.cli import cli
from joinedup.disclosure import Tier
from joinedup.report import (
    BOARD_QUESTIONS,
    ReportError,
    gather_report,
    read_narrative,
    render_html,
    render_markdown,
    write_report,
)
from joinedup.views.questions import current_questions

INTRO = """# Our partnership

This is **our** profile. <script>alert(1)</script>

[bad](javascript:alert(1)) and [good](https://example.org/)
"""


@pytest.fixture(scope="module")
def partnership(synth_insight: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic partnership, built with answers, with narrative written by hand."""
    root = tmp_path_factory.mktemp("report") / "partnership"
    shutil.copytree(synth_insight, root)
    (root / "narrative").mkdir()
    (root / "narrative" / "introduction.md").write_text(INTRO, encoding="utf-8")
    (root / "narrative" / "overview.md").write_text(
        "# What we see\n\nPractitioners describe more *online* grooming.\n", encoding="utf-8"
    )
    (root / "narrative" / "voice-of-children.md").write_text(
        "# The voice of children\n\n> Nobody asked me what was going on.\n", encoding="utf-8"
    )
    return root


@pytest.fixture(scope="module")
def children(partnership):
    """The children's board report, gathered once for the tests that only read it."""
    return gather_report(partnership, board="children", tier=Tier.STRATEGIC)


def test_markdown_is_rendered_safely():
    html = str(render_markdown(INTRO))
    assert "<strong>our</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert '<a href="https://example.org/">good</a>' in html


def test_narrative_files_are_keyed_by_name_with_their_heading_as_title(partnership):
    narrative = read_narrative(partnership)
    assert list(narrative) == ["introduction", "overview", "voice_of_children"]
    assert narrative["voice_of_children"].title == "The voice of children"
    assert "<blockquote>" in narrative["voice_of_children"].html


def test_sections_follow_the_boards_questions_then_data_quality(partnership, children):
    report = children
    ids = [s.id for s in report.sections]
    assert ids[0] == "overview" and ids[-1] == "data_quality"
    answered = {
        q["id"]
        for q in current_questions(partnership, Tier.STRATEGIC)["questions"]
        if q["available"]
    }
    expected = [q for q in BOARD_QUESTIONS["children"] if q in answered]
    assert expected and ids[1 : 1 + len(expected)] == expected
    assert "voice_of_children" in ids  # a narrative file of its own is a section
    assert report.introduction is not None and report.introduction.title == "Our partnership"
    overview = report.sections[0]
    assert overview.narrative is not None and "online" in overview.narrative.html
    # A regional partnership: each authority side by side.
    assert len(overview.tables[1].columns) >= 4
    assert any("side by side" in c.title for c in overview.charts)
    adults = [s.id for s in gather_report(partnership, board="adults").sections]
    assert "young_adults_with_concern" in adults and "children_with_concern" not in adults


def test_unknown_board_is_refused(partnership):
    with pytest.raises(ReportError, match="children, adults, community-safety"):
        gather_report(partnership, board="police")


def test_html_is_self_contained_with_accessible_charts(children):
    html = render_html(children)
    assert "<script" not in html
    assert "<link" not in html
    assert not re.search(
        r"""\b(src|href)=["']?(https?:)?//""", html.replace('href="https://example.org/"', "")
    )
    # Only references inside the document itself: the hatch pattern of a hidden value.
    assert not re.search(r"url\((?!#)", html) and "@font-face" not in html
    assert html.count('<svg role="img"') >= 3
    assert '<title id="chart-overview-type-title">' in html
    assert "&lt;script&gt;alert(1)" in html


def test_excel_report_has_a_sheet_per_table_and_no_merged_cells(partnership, children, tmp_path):
    path = write_report(partnership, board="children", fmt="xlsx", out=tmp_path / "r.xlsx")
    wb = load_workbook(path)
    report = children
    n_tables = sum(len(s.tables) for s in report.sections)
    assert len(wb.sheetnames) == n_tables + 1 and wb.sheetnames[-1] == "Notes"
    assert "children_with_concern_authority" in wb.sheetnames
    for ws in wb.worksheets:
        assert not ws.merged_cells.ranges
    cells = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert "c" in cells  # suppressed counts are written as c


def _page_images(pdf: Path, folder: Path) -> list[Path]:
    subprocess.run(
        ["pdftoppm", "-r", "30", "-gray", str(pdf), str(folder / "page")],
        check=True,
        timeout=120,
    )
    return sorted(folder.glob("page-*.pgm"))


def _ink(pgm: Path) -> float:
    """The share of a page's pixels that are not white (binary PGM, P5)."""
    data = pgm.read_bytes()
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P5"
    width, height = int(parts[1]), int(parts[2])
    pixels = parts[4][-width * height :]
    return sum(1 for p in pixels if p < 200) / (width * height)


def test_pdf_pages_are_not_blank_and_carry_the_headings(partnership, tmp_path):
    pdf = tmp_path / "profile.pdf"
    result = CliRunner().invoke(
        cli,
        ["report", str(partnership), "--board", "children", "--format", "pdf", "--out", str(pdf)],
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("profile.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    pages = _page_images(pdf, tmp_path)
    assert len(pages) >= 4
    inks = [_ink(p) for p in pages]
    assert all(ink > 0.002 for ink in inks), inks
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for heading in [
        "local profile",
        "Contents",
        "Our partnership",
        "People with an exploitation concern",
        "How many children have an exploitation concern recorded by any agency?",
        "The voice of children",
        "Data quality",
    ]:
        assert heading in text, heading
    first = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True
    ).stdout
    assert "Children's safeguarding partnership" in first


def test_report_command_default_path_and_bad_format(partnership):
    runner = CliRunner()
    result = runner.invoke(cli, ["report", str(partnership), "--board", "adults"])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().splitlines()[-1])
    assert path.parent == partnership / "reports" and path.name.startswith("adults-strategic-")
    assert path.suffix == ".html" and path.is_file()
    result = runner.invoke(cli, ["report", str(partnership), "--format", "docx"])
    assert result.exit_code == 2 and "docx" in result.output
