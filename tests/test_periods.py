"""Periods and crossed answers (issue 14): the default period filters by event date,
series mark their incomplete months and quarters, sources' history is shown, and a
crossed table is protected with its margins so that no hidden count can be solved for."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import duckdb
import pytest

from conftest import INSIGHT_AGENCIES, build_insight_release
from joinedup.disclosure import SUPPRESSED, DisclosurePolicy, Relation, Tier, determined_cells
from joinedup.disclosure.cube import protect_cross, table_bridges
from joinedup.insight import (
    PeriodError,
    SourceSpan,
    compute_insight,
    custom_period,
    default_pack_ids,
    default_period,
    load_questions,
    read_answer,
    read_cross,
)
from joinedup.insight.answers import ALL
from joinedup.insight.periods import incomplete
from joinedup.views.answers import _one_way, protect_answer
from joinedup.views.crosses import protect_crossed

REFERENCE = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    """The hand-made release answered with a default period of 12 months."""
    path = build_insight_release(
        tmp_path_factory.mktemp("periods") / "release.duckdb", with_insight=False
    )
    db = duckdb.connect(str(path))
    by_type: dict[str, list[str]] = {}
    for agency, kind in INSIGHT_AGENCIES.items():
        by_type.setdefault(kind, []).append(agency)
    compute_insight(
        db,
        questions=load_questions(None),
        agency_types=INSIGHT_AGENCIES,
        sources_by_type=by_type,
        reference=REFERENCE,
        period="12 months",
    )
    yield db
    db.close()


def test_default_period_is_whole_months_to_the_reference_date() -> None:
    p = default_period("12 months", REFERENCE)
    assert (p.start, p.end) == (dt.date(2025, 11, 1), dt.date(2026, 10, 31))
    p = default_period("2 years", dt.date(2026, 10, 15))
    assert (p.start, p.end) == (dt.date(2024, 11, 1), dt.date(2026, 10, 31))
    assert default_period("all time", REFERENCE).all_time


def test_default_period_filters_out_older_events(con) -> None:
    # Y1's only concern as a child is E10 on 2024-01-01: counted over all time, not in
    # the 12 months to 31 October 2026; the other four children's concerns are in 2026
    default = read_answer(con, "children_with_concern")
    whole = read_answer(con, "children_with_concern", period=ALL)
    assert default.period.key == "default" and default.stored
    assert (default.total.units, whole.total.units) == (4, 5)
    # events: E10 is the one concern event before November 2025
    assert read_answer(con, "concern_events").total.units == 8
    assert read_answer(con, "concern_events", period=ALL).total.units == 9
    # a period asked for is counted on request from the stored rows, the same way
    p = custom_period("2026-03-01", "2026-05-31")
    asked = read_answer(con, "children_with_concern", by="month", period=p)
    assert not asked.stored and asked.total.units == 3  # C1, C2 (March), C3 (May)
    assert {c: asked.cells[(None, c)].units for c in asked.categories} == {
        "2026-03": 2,
        "2026-05": 1,
    }
    # the same window as the stored default is read from the store
    same = read_answer(
        con, "children_with_concern", period=custom_period("2025-11-01", "2026-10-31")
    )
    assert same.stored and same.total.units == 4


def test_every_default_question_has_a_date_but_the_networks() -> None:
    from joinedup.release.schema import create_schema_sql

    con = duckdb.connect()
    for sql in create_schema_sql():
        con.execute(sql)
    undated = set()
    assert {q.id for q in load_questions(None)} == set(default_pack_ids())
    for q in load_questions(None):
        cols = [d[0] for d in con.execute(f"SELECT * FROM ({q.spec.sql}) LIMIT 0").description]
        if "event_date" not in cols:
            undated.add(q.id)
    assert undated == {"network_groups", "network_members"}


def test_undated_question_answers_for_all_time(con) -> None:
    a = read_answer(con, "network_groups", period=custom_period("2026-01-01", "2026-01-31"))
    assert (
        not a.dated and a.total.units == read_answer(con, "network_groups", period=ALL).total.units
    )
    shown = protect_answer(a, Tier.OPERATIONAL)
    assert "no date" in shown["period"]["note"]


def test_incomplete_periods_marked(con) -> None:
    spans = [
        SourceSpan("police", "police", "Police crimes", dt.date(2024, 1, 1), dt.date(2026, 8, 1), 6)
    ]
    shown = protect_answer(
        read_answer(con, "concern_events", by="quarter", period=ALL),
        Tier.OPERATIONAL,
        spans=spans,
    )
    assert shown["columns"][-1]["key"] == "incomplete"
    marks = {r["category"]: r["incomplete"] for r in shown["rows"] if r["category"] != "Total"}
    assert marks["2026 Q2"] is None  # fully covered, before the reference date
    assert "not every extract covers all of it: Police crimes" in marks["2026 Q3"]
    # a quarter that runs past the reference date, and one the chosen period cuts
    assert "past the reference date" in incomplete(
        "quarter", "2026 Q4", reference=REFERENCE, period=ALL, spans=[]
    )
    cut = custom_period("2026-02-01", "2026-06-30")
    assert "only part" in incomplete(
        "quarter", "2026 Q1", reference=REFERENCE, period=cut, spans=[]
    )
    assert incomplete("month", "2026-03", reference=REFERENCE, period=cut, spans=[]) is None
    # each source's history, as stored at build
    stored = con.execute("SELECT first_event, last_event FROM source_span WHERE source = 'police'")
    assert stored.fetchone() == (dt.date(2024, 1, 1), dt.date(2026, 8, 1))


def test_bad_periods_are_clear_errors() -> None:
    with pytest.raises(PeriodError, match="--from 2025-12-01 is later than --to 2025-01-31"):
        custom_period("2025-12-01", "2025-01-31")
    with pytest.raises(PeriodError, match="--from '2025-13-01' is not a date"):
        custom_period("2025-13-01", None)
    with pytest.raises(PeriodError, match="not the first day of a month"):
        custom_period("2025-01-15", None)
    with pytest.raises(PeriodError, match="not the last day of a month.*--to 2025-02-28"):
        custom_period(None, "2025-02-15")


def test_cross_margins_are_the_one_way_answers(con) -> None:
    cross = read_cross(con, "children_with_concern", ("exploitation_type", "sex"), period=ALL)
    # hand-worked: CSE C1 C2 (F) Y1 (F); CCE C3 (M); Online C4 (M)
    assert {k: c.units for k, c in cross.cells.items()} == {
        ("CSE", "Female"): 3,
        ("CCE and county lines", "Male"): 1,
        ("Online", "Male"): 1,
    }
    shown = protect_crossed(cross, Tier.OPERATIONAL, policy=DisclosurePolicy(threshold=0))
    one_a = protect_answer(cross.by_a, Tier.OPERATIONAL, policy=DisclosurePolicy(threshold=0))
    rows = {(r["category"], r["category_b"]): r["count"] for r in shown["rows"]}
    for r in one_a["rows"]:
        assert rows[(r["category"], "Total")] == r["count"]
    assert rows[("Total", "Total")] == 5 and shown["table"]["total"] == 5


def _published(table, rows, cols):
    """Every number a reader sees of a crossed table with its margins: {key: value}."""
    out = {("cell", r, c): table.cells[(r, c)] for r in rows for c in cols}
    out.update({("row", r): table.row_totals[r] for r in rows})
    out.update({("col", c): table.col_totals[c] for c in cols})
    out[("all",)] = table.total
    return out


def _relations(rows, cols):
    rels = [Relation(("row", r), tuple(("cell", r, c) for c in cols)) for r in rows]
    rels += [Relation(("col", c), tuple(("cell", r, c) for r in rows)) for c in cols]
    rels.append(Relation(("all",), tuple(("col", c) for c in cols)))
    rels.append(Relation(("all",), tuple(("row", r) for r in rows)))
    return rels


def _solvable(published, rels):
    """Hidden cells whose value follows from what is shown, by exact elimination."""
    hidden = [k for k, v in published.items() if v == SUPPRESSED]
    values = {k: (0 if v == SUPPRESSED else v) for k, v in published.items()}
    return determined_cells(values, hidden, rels)


def test_hidden_crossed_cell_is_not_recoverable_from_margins_and_other_cells() -> None:
    rng = random.Random(14)
    policy = DisclosurePolicy(threshold=5)
    for _ in range(60):
        rows = [f"r{i}" for i in range(rng.randint(2, 5))]
        cols = [f"c{j}" for j in range(rng.randint(2, 6))]
        cells = {(r, c): rng.choice([0, 1, 2, 3, 7, 9, 12, 20]) for r in rows for c in cols}
        rt = {r: sum(cells[(r, c)] for c in cols) for r in rows}
        ct = {c: sum(cells[(r, c)] for r in rows) for c in cols}
        total = sum(rt.values())
        # the margins as the one-way tables publish them (each protected on its own)
        pub_r, _ = _one_way(
            {(None, r): v for r, v in rt.items()}, ((None, None), total), policy, set()
        )
        pub_c, _ = _one_way(
            {(None, c): v for c, v in ct.items()}, ((None, None), total), policy, set()
        )
        table = protect_cross(
            cells,
            policy,
            rows=rows,
            cols=cols,
            row_totals=rt,
            col_totals=ct,
            total=total,
            published_rows={r: pub_r[(None, r)] for r in rows},
            published_cols={c: pub_c[(None, c)] for c in cols},
            published_total=total,
        )
        # the margins are exactly what the one-way tables show
        assert table.row_totals == {r: pub_r[(None, r)] for r in rows}
        assert table.col_totals == {c: pub_c[(None, c)] for c in cols}
        published = _published(table, rows, cols)
        # every small crossed count is hidden, and nothing hidden can be solved for
        assert all(table.cells[k] == SUPPRESSED for k, v in cells.items() if 1 <= v <= 5)
        assert _solvable(published, _relations(rows, cols)) == set()


def test_a_single_hidden_cell_would_be_recovered_without_the_cube() -> None:
    # the check above can fail: hide one cell of a row whose margin is shown
    rows, cols = ["a", "b"], ["x", "y"]
    published = {
        ("cell", "a", "x"): SUPPRESSED,
        ("cell", "a", "y"): 10,
        ("cell", "b", "x"): 8,
        ("cell", "b", "y"): 9,
        ("row", "a"): 13,
        ("row", "b"): 17,
        ("col", "x"): 11,
        ("col", "y"): 19,
        ("all",): 30,
    }
    assert _solvable(published, _relations(rows, cols)) == {("cell", "a", "x")}


def test_bridges_are_exactly_the_determined_cells() -> None:
    rng = random.Random(3)
    margin = ("m",)
    for _ in range(200):
        rows, cols = list(range(rng.randint(1, 5))), list("abcde"[: rng.randint(1, 5)])
        nodes = {("cell", r, c): (r, c) for r in rows for c in cols}
        nodes.update({("row", r): (r, margin) for r in rows})
        nodes.update({("col", c): (margin, c) for c in cols})
        nodes[("all",)] = (margin, margin)
        hidden = {k for k in nodes if rng.random() < 0.5}
        exact = determined_cells(dict.fromkeys(nodes, 1), hidden, _relations(rows, cols))
        assert table_bridges((k, *nodes[k]) for k in hidden) == exact


def test_on_request_periods_are_rounded(con) -> None:
    p = custom_period("2025-01-01", "2026-10-31")
    shown = protect_answer(
        read_answer(con, "concern_events", by="agency", period=p), Tier.OPERATIONAL
    )
    assert shown["disclosure"]["rounding_base"] == 5
    assert all(r["count"] in (SUPPRESSED, 0) or r["count"] % 5 == 0 for r in shown["rows"])
    assert "rounded to the nearest 5" in shown["period"]["note"]


def test_release_tables_documented() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "data-model.md").read_text()
    for name in ("question_row", "question_cross", "question_period", "source_span"):
        assert f"## `{name}`" in doc


def test_question_page_takes_a_period_and_two_breakdowns(synth_insight: Path) -> None:
    from fastapi.testclient import TestClient

    from conftest import sign_in
    from joinedup.views import current_answer
    from joinedup.web import create_app

    client = TestClient(create_app(synth_insight))
    sign_in(client, "analyst", username="period-analyst")
    query = "by=exploitation_type&by=authority&from=2025-01-01&to=2025-12-31"
    page = client.get(f"/questions/children_with_concern?{query}")
    assert page.status_code == 200
    assert 'id="answer-cross"' in page.text and 'id="period-form"' in page.text
    assert "January 2025 to December 2025" in page.text
    data = client.get(f"/questions/children_with_concern.json?{query}").json()
    expected = current_answer(
        synth_insight,
        "children_with_concern",
        by=("exploitation_type", "authority"),
        start="2025-01-01",
        end="2025-12-31",
        names=("from", "to"),
    )
    assert data["answer"] == expected and data["by"] == ["exploitation_type", "authority"]
    assert data["cross"]["total"] == expected["table"]["total"]
    whole = client.get("/questions/concern_events.json?by=quarter&period=all").json()
    assert whole["period"]["key"] == "all"
    assert any(r.get("incomplete") for r in whole["answer"]["rows"])
    assert whole["history"] and "data from" in whole["history"][0]["text"]
    bad = client.get("/questions/children_with_concern.json?from=2025-12-01&to=2025-01-31")
    assert bad.status_code == 400 and "from 2025-12-01 is later than to" in bad.text
