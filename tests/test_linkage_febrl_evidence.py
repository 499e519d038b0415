"""Evidence added to reach FEBRL4's F1 0.999 (issue 15), checked on hand-made records.

- the prior's recall measured on the pairs trusted identifiers link;
- an address that is one address whatever its spacing (``MCKINLEY CIRCUIT`` and
  ``MCKINLEYCIRCUIT``): its own level, above "house number and three words";
- a blocking rule on both names with the street name (the word after the house number).
"""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import pytest

from joinedup.linkage.features import INPUT_TABLE, prepare_input
from joinedup.linkage.model import (
    LABELLED_PAIRS_MIN,
    PRIOR_RECALL_MIN,
    prior_recall_from_identifiers,
)
from joinedup.linkage.settings import BLOCKING_RULES, PRIOR_RECALL, person_settings
from joinedup.release.schema import create_schema_sql

# --- the prior's recall ---------------------------------------------------------------


def _linked_pairs(con: duckdb.DuckDBPyConnection, pairs: int, alike: int) -> None:
    """``pairs`` identifier-linked pairs, of which ``alike`` agree on forename, surname and
    date of birth; the others have the first name replaced."""
    con.execute(
        "CREATE TEMP TABLE _ju_lk_input AS SELECT range AS unique_id, "
        f"CASE WHEN range % 2 = 1 AND range // 2 >= {alike} THEN 'OTHER' ELSE 'SAM' END "
        "AS forename, 'HOLT' || (range // 2) AS surname, '2010-01-02' AS dob_str "
        f"FROM range({2 * pairs})"
    )
    con.execute(
        "CREATE TEMP TABLE _ju_lk_exact AS SELECT range * 2 AS unique_id_l, "
        f"range * 2 + 1 AS unique_id_r, 'nhs_number' AS rule FROM range({pairs})"
    )


def _prior_notes(pairs: int, alike: int) -> dict[str, object]:
    with duckdb.connect() as con:
        _linked_pairs(con, pairs, alike)
        return prior_recall_from_identifiers(SimpleNamespace(con=con))  # type: ignore[arg-type]


def test_messy_names_lower_the_prior_recall() -> None:
    """FEBRL's shape: four in ten identifier-linked pairs agree on all three fields."""
    notes = _prior_notes(2000, 840)
    assert notes["prior_recall"] == pytest.approx(0.42)
    assert notes["prior_labelled_pairs"] == 2000


def test_well_recorded_identifier_pairs_keep_the_assumed_recall() -> None:
    """Records that carry identifiers are the better-recorded ones: a share above the
    assumed 0.7 is noted, not used (the prior would fall for every record)."""
    notes = _prior_notes(2000, 1800)
    assert "prior_recall" not in notes
    assert notes["prior_recall_measured"] == pytest.approx(0.9)
    assert PRIOR_RECALL == 0.7


def test_prior_recall_needs_enough_pairs_and_has_a_floor() -> None:
    assert _prior_notes(LABELLED_PAIRS_MIN - 1, 10) == {
        "prior_labelled_pairs": LABELLED_PAIRS_MIN - 1
    }
    assert _prior_notes(2000, 0)["prior_recall"] == PRIOR_RECALL_MIN
    with duckdb.connect() as con:  # no identifier links at all
        assert prior_recall_from_identifiers(SimpleNamespace(con=con)) == {}  # type: ignore[arg-type]


# --- addresses and blocking --------------------------------------------------------------


def _input(rows: list[tuple[str, str, str, str | None, str | None]]) -> duckdb.DuckDBPyConnection:
    """A connection holding ``_ju_lk_input`` for ``(id, forename, surname, dob, address)``."""
    con = duckdb.connect()
    for sql in create_schema_sql():
        con.execute(sql)
    for rid, forename, surname, dob, address in rows:
        con.execute(
            "INSERT INTO record (source, source_record_id, agency) VALUES ('a', ?, 'x')", [rid]
        )
        con.execute(
            "INSERT INTO identity (source, source_record_id, forename, surname, dob) "
            "VALUES ('a', ?, ?, ?, ?::DATE)",
            [rid, forename, surname, dob],
        )
        if address is not None:
            con.execute(
                "INSERT INTO identity_address (source, source_record_id, address, postcode) "
                "VALUES ('a', ?, ?, NULL)",
                [rid, address],
            )
    prepare_input(con)
    return con


_SAME = "The same address, spacing and punctuation aside"


def _address_levels(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """The address level of every pair of records, by the model's own SQL in DuckDB."""
    settings = person_settings().get_settings("duckdb").as_dict()  # type: ignore[no-untyped-call]
    comp = next(c for c in settings["comparisons"] if c["output_column_name"] == "address")
    levels = comp["comparison_levels"]
    case = " ".join(
        f"WHEN {lv['sql_condition']} THEN {i}"
        for i, lv in enumerate(levels)
        if lv["sql_condition"] != "ELSE"
    )
    cols = ", ".join(
        f"{side}.{c} AS {c}_{s}"
        for side, s in (("a", "l"), ("b", "r"))
        for c in ("address_tokens", "house_number", "address_compact")
    )
    rows = con.execute(
        f"SELECT id_l, id_r, CASE {case} ELSE {len(levels) - 1} END FROM (SELECT "
        f"a.source_record_id AS id_l, b.source_record_id AS id_r, {cols} FROM {INPUT_TABLE} a "
        f"JOIN {INPUT_TABLE} b ON a.source_record_id < b.source_record_id)"
    ).fetchall()
    return {(a, b): str(levels[i]["label_for_charts"]) for a, b, i in rows}


def test_one_address_whatever_its_spacing() -> None:
    con = _input(
        [
            ("1", "SAM", "HOLT", None, "2 MCKINLEY CIRCUIT SOLITAIRE 3943 NSW"),
            ("2", "SAM", "HOLT", None, "2 MCKINLEYCIRCUIT SOLITAIRE 3943 NSW"),
            ("3", "SAM", "HOLT", None, "2 MCKINLEY CIRCUIT, SOLITAIRE 3943 NSW"),
            ("4", "SAM", "HOLT", None, "3 MCKINLEY CIRCUIT SOLITAIRE 3943 NSW"),
            ("5", "SAM", "HOLT", None, "ROSE COTTAGE MILL LANE"),
            ("6", "SAM", "HOLT", None, "ROSE COTTAGE MILL LANE"),
        ]
    )
    with con:
        compact = dict(
            con.execute(f"SELECT source_record_id, address_compact FROM {INPUT_TABLE}").fetchall()
        )
        levels = _address_levels(con)
    assert compact["1"] == compact["2"] == compact["3"] == "2MCKINLEYCIRCUITSOLITAIRE3943NSW"
    assert levels[("1", "2")] == levels[("1", "3")] == levels[("2", "3")] == _SAME
    # another house number: a neighbour, or a mistyped number, not the same address
    assert levels[("1", "4")] == "Three words or more, not the house number"
    # without a house number an address is not enough to say one home
    assert levels[("5", "6")] != _SAME


def _pairs_of(con: duckdb.DuckDBPyConnection, rule: str) -> set[tuple[str, str]]:
    sql = dict(BLOCKING_RULES)[rule]
    return {
        (a, b)
        for a, b in con.execute(
            f"SELECT l.source_record_id, r.source_record_id FROM {INPUT_TABLE} l "
            f"JOIN {INPUT_TABLE} r ON {sql} AND l.source_record_id < r.source_record_id"
        ).fetchall()
    }


def test_blocking_finds_both_names_on_one_street_with_a_house_number_mistyped() -> None:
    con = _input(
        [
            # date of birth replaced, house number mistyped
            ("1", "DAMIEN", "GARNETT", "1948-01-29", "4 NARRABUNDAH LANE PENOLA"),
            ("2", "DAMIEN", "GARNETT", "1990-07-10", "9 NARRABUNDAH LANE PENOLA"),
            ("3", "DAMIEN", "GARNETT", "1990-07-11", "9 ELM ROAD PENOLA"),  # another street
            ("4", "DAMIEN", "GARNET", "1990-07-12", "4 NARRABUNDAH LANE PENOLA"),  # a typo
            ("5", "DAMIEN", "GARNETT", "1990-07-13", "ROSE COTTAGE NARRABUNDAH LANE"),
        ]
    )
    with con:
        street = dict(
            con.execute(f"SELECT source_record_id, street_name FROM {INPUT_TABLE}").fetchall()
        )
        pairs = _pairs_of(con, "forename, surname and street name")
    # the word after the house number; none without a house number
    assert street == {"1": "NARRABUNDAH", "2": "NARRABUNDAH", "3": "ELM", "4": "NARRABUNDAH",
                      "5": None}  # fmt: skip
    assert pairs == {("1", "2")}
