"""What to look for, the glossary, the language guide and the community briefing
(issue 20, items 3 to 6)."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.disclosure import Tier
from joinedup.taxonomy import load_taxonomy
from joinedup.taxonomy.guidance import (
    UNCOVERED,
    load_glossary,
    load_guidance,
    load_language_guide,
)

# --- the taxonomy data ----------------------------------------------------------------


def test_every_exploitation_type_has_exactly_one_section() -> None:
    guidance = load_guidance()
    covered = [t for s in guidance.sections for t in s.types]
    codes = set(load_taxonomy().lists["exploitation_type"])
    assert len(covered) == len(set(covered))
    assert set(covered) == codes - UNCOVERED
    for s in guidance.sections:
        assert s.children and len(s.what_it_is) > 80, s.id


def test_glossary_links_are_known_and_find_a_figures_terms() -> None:
    glossary = load_glossary()
    ids = {t.id for t in glossary.terms}
    assert all(set(t.see) <= ids for t in glossary.terms)
    found = [
        t.id
        for t in glossary.terms_in(
            "Children with a CCE concern by local authority, rates per 10,000 with 95% "
            "confidence intervals, in the default period"
        )
    ]
    assert {"child", "exploitation-concern", "cce", "rate", "interval", "period"} <= set(found)
    assert glossary.terms_in("Nothing of note here.") == []


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("She is a child prostitute", "child-prostitute"),
        ("He keeps putting himself at risk by going out", "putting-themselves-at-risk"),
        ("It is a lifestyle choice", "lifestyle-choice"),
        ("she consented to sex with him", "consented"),
        ("has an older boyfriend aged 24", "boyfriend"),
        ("known locally as a drug runner", "drug-runner"),
        ("He absconded from the placement", "absconded"),
        ("Refused to engage with the worker", "non-engagement"),
    ],
)
def test_the_language_guide_finds_words_that_blame(text: str, term: str) -> None:
    matches = load_language_guide().find(text)
    assert [m.term.id for m in matches] == [term]
    assert matches[0].term.say_instead


@pytest.mark.parametrize(
    "text",
    [
        "The child is at risk of criminal exploitation by adults in the area.",
        "Went missing on Friday and was found at the station; a return interview was offered.",
        "Recorded as a suspect on a county-lines occurrence: a child criminally exploited.",
        "The risk assessment was reviewed with the family.",
    ],
)
def test_the_language_guide_leaves_plain_words_alone(text: str) -> None:
    assert load_language_guide().find(text) == []


def test_joinedups_own_words_follow_the_guide() -> None:
    """The default questions, the report and page templates and the taxonomy's own
    guidance use none of the words the guide advises against."""
    from joinedup.pipeline.language import check_language

    assert check_language(None) == []
    guide = load_language_guide()
    root = Path(__file__).parent.parent / "src" / "joinedup"
    texts = list(root.rglob("templates/*.html"))
    texts += [root / "taxonomy" / "data" / "2026.1" / n for n in ("guidance.yaml", "glossary.yaml")]
    found = {
        str(p.relative_to(root)): [
            m.words for m in guide.find(re.sub(r"<[^>]+>", " ", p.read_text()))
        ]
        for p in texts
    }
    assert {k: v for k, v in found.items() if v} == {}


# --- the check and the quality count ----------------------------------------------------


def test_check_warns_with_file_and_line(mini: Path) -> None:
    from joinedup.cli import cli
    from joinedup.pipeline.language import check_language

    (mini / "questions").mkdir(exist_ok=True)
    src = Path(__file__).parent.parent / "src/joinedup/insight/questions/children_with_concern.yaml"
    text = src.read_text().replace("id: children_with_concern", "id: local_concern", 1)
    text = text.replace("question: ", "question: Children putting themselves at risk? ", 1)
    (mini / "questions" / "local_concern.yaml").write_text(text)
    (mini / "narrative").mkdir(exist_ok=True)
    (mini / "narrative" / "01-story.md").write_text(
        "# The year\n\nMost children were found quickly.\n\nSome were called runaways.\n"
    )
    found = check_language(mini)
    assert [(f.file, f.line, f.words) for f in found] == [
        ("questions/local_concern.yaml", 2, "putting themselves at risk"),
        ("narrative/01-story.md", 5, "runaways"),
    ]
    result = CliRunner().invoke(cli, ["check", str(mini)])
    assert result.exit_code == 0, result.output
    assert 'warning: narrative/01-story.md line 5 (narrative): "runaways"' in result.output
    assert "Say instead: went missing" in result.output


def test_free_text_counts_notes_per_source_and_term() -> None:
    from joinedup.pipeline.language import free_text_language

    con = duckdb.connect()
    con.execute("CREATE TABLE note (source VARCHAR, text VARCHAR)")
    con.executemany(
        "INSERT INTO note VALUES (?, ?)",
        [
            ("csc", "Absconded again, refused to engage."),
            ("csc", "Absconded from placement."),
            ("csc", "Seen at school, settled."),
            ("police", "Found at the station."),
        ],
    )
    assert free_text_language(con) == {"csc": {"absconded": 2, "non-engagement": 1}}


# --- the pages ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(synth_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("guidance") / "partnership"
    shutil.copytree(synth_built, root)
    with open(root / "partnership.yaml", "a", encoding="utf-8") as fh:
        fh.write(
            "pathway:\n"
            "  introduction: If you think a child is being exploited, act today.\n"
            "  contacts:\n"
            "    - {name: Children's front door, phone: 01000 000001, for: Referrals}\n"
            "  routes:\n"
            "    - {title: Refer to children's social care, detail: Through the front door}\n"
        )
    return root


@pytest.fixture(scope="module")
def app(site: Path):
    from joinedup.web import create_app

    app = create_app(site)
    yield app
    app.state.governance.close()


def test_every_role_reads_what_to_look_for_and_the_pathway(app) -> None:
    for role in ("community_viewer", "board_member", "panel_member"):
        client = TestClient(app)
        sign_in(client, role, username=f"look-{role}")
        page = client.get("/what-to-look-for")
        assert page.status_code == 200
        text = html.unescape(page.text)
        assert "Children's front door" in text and "01000 000001" in text
        data = client.get("/what-to-look-for.json").json()
        assert [s["id"] for s in data["sections"]] == [s.id for s in load_guidance().sections]
        one = client.get("/what-to-look-for/cce")
        assert "Child criminal exploitation and county lines" in one.text
        assert "Refer to children's social care" in html.unescape(one.text)
        assert client.get("/what-to-look-for/nothing").status_code == 404
        glossary = client.get("/glossary")
        assert 'id="exploitation-concern"' in glossary.text


def test_the_community_briefing_shows_only_community_tier_figures(app, site: Path) -> None:
    from joinedup.views.questions import current_question

    client = TestClient(app)
    sign_in(client, "community_viewer", username="community-one")
    data = client.get("/community.json").json()
    shown = {f["answer"]["question"]["id"]: f["answer"] for f in data["figures"]}
    assert "places_of_concern" in shown
    for qid, answer in shown.items():
        assert answer["tier"] == "community"
        same = current_question(site, qid, by=answer["by"][0], tier=Tier.COMMUNITY)
        assert answer["rows"] == same["answer"]["rows"]  # exactly as its own page protects it
        threshold = answer["disclosure"]["threshold"]
        for row in answer["rows"]:
            assert row["count"] == "c" or row["count"] == 0 or row["count"] > threshold
    for x in data["left_out"]:
        assert "community tier" in x["reason"]  # said, with the reason, not silently dropped
    # a board member sees the same briefing: it is what may be shared
    board = TestClient(app)
    sign_in(board, "board_member", username="community-board")
    assert board.get("/community.json").json()["figures"] == data["figures"]


def test_a_briefing_downloads_as_a_tagged_one_page_pdf(app) -> None:
    import io

    import pikepdf

    client = TestClient(app)
    sign_in(client, "community_viewer", username="pdf-reader")
    response = client.get("/what-to-look-for/cse.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = pikepdf.open(io.BytesIO(response.content))
    assert len(pdf.pages) == 1  # a one-page briefing
    root = pdf.Root
    assert str(root.Lang) == "en-GB"
    assert bool(root.MarkInfo.Marked) and "/StructTreeRoot" in root
    kinds = set()

    def walk(node) -> None:
        if isinstance(node, pikepdf.Dictionary) and "/S" in node:
            kinds.add(str(node.S))
        kids = node.get("/K") if isinstance(node, pikepdf.Dictionary) else None
        if isinstance(kids, pikepdf.Array):
            for k in kids:
                walk(k)
        elif isinstance(kids, pikepdf.Dictionary):
            walk(kids)

    walk(root.StructTreeRoot)
    assert {"/H1", "/H2", "/L"} <= kinds


def test_a_community_viewer_finds_the_briefing_in_a_browser(app) -> None:
    """Real Chromium, JavaScript off: sign in through the form as a community viewer,
    follow the navigation to the briefing, then the glossary and what to look for."""
    from playwright.sync_api import sync_playwright

    from joinedup.access import create_user
    from joinedup.present.pdf import launch_chromium
    from joinedup.web.live import live_server

    create_user(
        app.state.governance.state,
        username="browser-community",
        display_name="Community reader",
        agency="police",
        roles=["community_viewer"],
        password="browser-community-password",
        actor="test",
    )
    reader = TestClient(app)
    sign_in(reader, "community_viewer", username="threshold-reader")
    figures = reader.get("/community.json").json()["figures"]
    threshold = figures[0]["answer"]["disclosure"]["threshold"]
    with live_server(app) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(f"{url}/sign-in")
            page.fill("#username", "browser-community")
            page.fill("#password", "browser-community-password")
            page.click("#sign-in-button")
            page.wait_for_url(f"{url}/")
            page.click("nav >> text=Community briefing")
            assert page.locator("main h1").inner_text() == "Community briefing"
            cells = page.locator("table[data-question] td").all_inner_texts()
            assert cells, "the briefing shows at least one figure"
            for cell in cells:
                value = cell.strip().replace(",", "")
                assert value == "c" or int(value) == 0 or int(value) > threshold
            page.click("footer >> text=Glossary")
            assert page.locator("main h1").inner_text() == "Glossary"
            page.click("footer >> text=What to look for")
            assert page.locator("main h1").inner_text() == "What to look for"
            page.click("#sections >> text=Online exploitation")
            assert page.locator("#signs-children li").count() >= 3
        finally:
            browser.close()


def test_the_quality_page_counts_language_as_protected_records(app, site: Path) -> None:
    """The synthetic voluntary service's notes use words the guide advises against
    ("absconded", "not engaging"); the quality page counts notes per source and term,
    protected as records: a count at or under the threshold is "c"."""
    from joinedup.views.guidance import language_use

    data = language_use(site, Tier.STRATEGIC)
    terms = {t["term"] for s in data["sources"] for t in s["terms"]}
    assert {"absconded", "non-engagement"} <= terms
    threshold = data["disclosure"]["threshold"]
    for s in data["sources"]:
        for t in s["terms"]:
            assert t["notes"] == "c" or t["notes"] > threshold
            assert t["say_instead"] and t["words"]
    client = TestClient(app)
    sign_in(client, "analyst", username="language-analyst")
    page = client.get("/quality")
    assert 'id="details-language"' in page.text
    community = TestClient(app)
    sign_in(community, "community_viewer", username="language-community")
    assert "language" not in community.get("/quality.json").json()


def test_a_question_links_its_terms_and_the_list_marks_community_questions(app) -> None:
    client = TestClient(app)
    sign_in(client, "board_member", username="terms-board")
    data = client.get("/questions/children_with_concern.json").json()
    ids = {t["id"] for t in data["terms"]}
    assert {"child", "exploitation-concern"} <= ids
    page = client.get("/questions/children_with_concern").text
    assert 'href="/glossary#exploitation-concern"' in page
    glossary = client.get("/glossary").text
    assert all(f'id="{i}"' in glossary for i in ids)  # every link lands on a term
    listing = client.get("/questions").text
    marked = set(
        re.findall(
            r'data-question="([a-z0-9_]+)"(?:(?!data-question).)*?data-community="yes"',
            listing,
            re.S,
        )
    )
    assert "places_of_concern" in marked and "children_with_concern" not in marked
