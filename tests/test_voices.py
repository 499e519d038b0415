"""Voices beside figures (issue 20, item 1): which scrubbed notes are quoted, to whom."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from joinedup.disclosure import SourceScope, Tier, policy_for
from joinedup.disclosure.sharing import ExcludedSource
from joinedup.views.voices import MIN_NOTES, quotes


def _release(notes: list[tuple[str, str, str, str, str, int, str]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE source (source VARCHAR, agency_type VARCHAR)")
    con.execute("INSERT INTO source VALUES ('vol', 'voluntary'), ('csc', 'childrens_social_care')")
    con.execute(
        "CREATE TABLE note_scrubbed (note_id VARCHAR, person_id VARCHAR, source VARCHAR, "
        "note_month VARCHAR, theme VARCHAR, text VARCHAR, redactions INTEGER, tier VARCHAR)"
    )
    con.executemany("INSERT INTO note_scrubbed VALUES (?, 'P1', ?, ?, ?, ?, ?, ?)", notes)
    return con


def _notes(
    n: int,
    *,
    source: str = "vol",
    month: str = "2026-05",
    theme: str = "places",
    tier: str = "strategic",
    start: int = 0,
) -> list:
    return [
        (
            f"N{start + i}",
            source,
            month,
            theme,
            f"Note number {start + i} about {theme}.",
            i % 3,
            tier,
        )
        for i in range(n)
    ]


STRATEGIC = policy_for(Tier.STRATEGIC)


def test_too_few_notes_are_never_quoted() -> None:
    con = _release(_notes(MIN_NOTES - 1))
    got = quotes(
        con, Tier.STRATEGIC, themes=["places"], policy=STRATEGIC, scope=SourceScope(Tier.STRATEGIC)
    )
    assert got["quotes"] == [] and "Too few notes" in got["note"]


def test_quotes_follow_tier_theme_period_and_scope() -> None:
    notes = _notes(12)  # strategic, places, May 2026
    notes += _notes(12, tier="operational", start=100)  # never quoted at strategic
    notes += _notes(12, theme="online", start=200)
    notes += _notes(12, month="2024-01", start=300)
    notes += _notes(12, source="csc", start=400)
    con = _release(notes)
    scope = SourceScope(Tier.STRATEGIC)
    got = quotes(
        con,
        Tier.STRATEGIC,
        themes=["places"],
        policy=STRATEGIC,
        scope=scope,
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 12, 31),
        limit=50,
    )
    ids = {int(q["text"].split()[2]) for q in got["quotes"]}
    assert ids == set(range(12)) | set(range(400, 412))
    assert {q["agency_type"] for q in got["quotes"]} == {"voluntary", "childrens social care"}
    # the fewest replacements first, then a fixed order: the same quotes every time
    again = quotes(
        con,
        Tier.STRATEGIC,
        themes=["places"],
        policy=STRATEGIC,
        scope=scope,
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 12, 31),
    )
    assert again["quotes"] == got["quotes"][:3]
    # a source its agreement leaves out at the tier is never quoted
    excluded = SourceScope(
        Tier.STRATEGIC, (ExcludedSource("csc", "csc", "childrens_social_care", "Contacts", "isa"),)
    )
    got = quotes(
        con,
        Tier.STRATEGIC,
        themes=["places"],
        policy=STRATEGIC,
        scope=excluded,
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 12, 31),
        limit=50,
    )
    assert {int(q["text"].split()[2]) for q in got["quotes"]} == set(range(12))
    # operational sees its own notes too; the community tier sees none of these
    op = quotes(
        con,
        Tier.OPERATIONAL,
        themes=["*"],
        policy=policy_for(Tier.OPERATIONAL),
        scope=SourceScope(Tier.OPERATIONAL),
        limit=100,
    )
    assert len(op["quotes"]) == 60
    community = quotes(
        con,
        Tier.COMMUNITY,
        themes=["*"],
        policy=policy_for(Tier.COMMUNITY),
        scope=SourceScope(Tier.COMMUNITY),
    )
    assert community["quotes"] == []


@pytest.fixture(scope="module")
def built(synth_built: Path) -> Path:
    return synth_built


def test_a_question_page_quotes_the_synthetic_young_peoples_words(built: Path) -> None:
    from joinedup.views.questions import current_question

    data = current_question(built, "children_with_concern", tier=Tier.STRATEGIC, period="all")
    voices = data["voices"]
    assert voices is not None and len(voices["quotes"]) == 3
    for q in voices["quotes"]:
        assert q["agency_type"] == "voluntary" and q["month"]
        assert "[" not in q["text"] or "]" in q["text"]
    # a question with no voices quotes none
    none = current_question(built, "missing_episodes_rhi", tier=Tier.STRATEGIC)
    assert none["voices"] is None


def test_the_question_page_and_timeline_show_the_words(built: Path, tmp_path: Path) -> None:
    import shutil

    from fastapi.testclient import TestClient

    from conftest import sign_in
    from joinedup.web import create_app

    root = tmp_path / "p"
    shutil.copytree(built, root)
    app = create_app(root)
    try:
        board = TestClient(app)
        sign_in(board, "board_member", username="voices-board")
        page = board.get("/questions/children_with_concern?period=all").text
        assert (
            'id="voices-heading"' in page and page.count('class="govuk-inset-text app-quote"') == 3
        )
        panel = TestClient(app)
        sign_in(panel, "panel_member", username="voices-panel")
        import duckdb

        from joinedup.release import open_current

        con = duckdb.connect(str(open_current(root).db_path), read_only=True)
        pid = con.execute(
            "SELECT person_id FROM note_scrubbed WHERE length(text) > 0 AND person_id IS NOT NULL "
            "ORDER BY note_id LIMIT 1"
        ).fetchone()[0]
        con.close()
        data = panel.get(f"/people/{pid}.json").json()
        assert data["notes"] and all(n["month_label"] for n in data["notes"] if n["month"])
        assert 'id="notes-heading"' in panel.get(f"/people/{pid}").text
    finally:
        app.state.governance.close()
