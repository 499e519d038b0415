"""Twins or one person: the twin level's weight against what the data show (issue 15)."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import pytest

from joinedup.linkage.settings import TWIN_WEIGHT, person_settings

_TWIN = "Twins: one family, another first name"
# first names that are not one name: no shared group, part or sound, far apart in spelling
_NAMES = ("DANIELLA", "LACHLAN")


def _data(con: duckdb.DuckDBPyConnection, *, linked: int, apart: int, alike: int = 0) -> None:
    """``linked`` pairs with the twin pattern that an identifier links (one person),
    ``apart`` pairs with the pattern in one source and no identifier in common (two
    people), ``alike`` identifier-linked pairs with one first name (no pattern)."""
    rows = []
    uid = 0
    for kind, n in (("linked", linked), ("apart", apart), ("alike", alike)):
        for i in range(n):
            second = _NAMES[0] if kind == "alike" else _NAMES[1]
            ids = [f"nhs:{kind}{i}"] if kind != "apart" else None
            src_r = "b" if kind == "linked" else "a"
            for side, (name, src, id_) in enumerate(
                ((_NAMES[0], "a", ids), (second, src_r, ids if kind != "apart" else [f"nhs:x{i}"]))
            ):
                rows.append((uid + side, src, name, f"SURNAME{kind}{i}", "2001-02-03", id_))
            uid += 2
    con.execute(
        "CREATE TEMP TABLE _ju_lk_input (unique_id BIGINT, source VARCHAR, forename VARCHAR, "
        "surname VARCHAR, dob_str VARCHAR, id_keys VARCHAR[])"
    )
    con.executemany("INSERT INTO _ju_lk_input VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.execute(
        "CREATE TEMP TABLE _ju_lk_input2 AS SELECT *, [forename] AS forename_groups, "
        "[forename] AS forename_parts, forename AS forename_dm1, NULL::VARCHAR AS forename_dm2, "
        "surname AS surname_core FROM _ju_lk_input"
    )
    con.execute("DROP TABLE _ju_lk_input")
    con.execute("ALTER TABLE _ju_lk_input2 RENAME TO _ju_lk_input")
    con.execute(
        "CREATE TEMP TABLE _ju_lk_exact AS SELECT a.unique_id AS unique_id_l, "
        "b.unique_id AS unique_id_r, 'nhs_number' AS rule FROM _ju_lk_input a "
        "JOIN _ju_lk_input b ON list_has_any(a.id_keys, b.id_keys) AND a.unique_id < b.unique_id"
    )


def _weight(con: duckdb.DuckDBPyConnection) -> tuple[float, dict[str, object]]:
    import math

    from joinedup.linkage.model import twins_from_identifiers

    settings = person_settings().get_settings("duckdb")  # type: ignore[no-untyped-call]
    notes = twins_from_identifiers(
        SimpleNamespace(con=con),  # type: ignore[arg-type]
        SimpleNamespace(_settings_obj=settings),
    )
    twins = next(c for c in settings.comparisons if c.output_column_name == "twins")
    level = next(lv for lv in twins.comparison_levels if lv.label_for_charts == _TWIN)
    return math.log2(level.m_probability / level.u_probability), notes


def test_data_without_twins_make_the_pattern_neutral() -> None:
    """FEBRL's shape: one person's records often carry another first name, and no source
    holds two people of one surname and birth date."""
    with duckdb.connect() as con:
        _data(con, linked=40, apart=2, alike=100)
        weight, notes = _weight(con)
    assert weight == 0.0
    assert notes == {"twin_pattern_linked": 40, "twin_pattern_two_people": 2, "twin_weight": 0.0}


def test_twins_in_the_data_keep_the_fixed_penalty() -> None:
    """A partnership's shape: twins in one school or one social care system outnumber the
    records of one child whose first name was replaced."""
    with duckdb.connect() as con:
        _data(con, linked=40, apart=60, alike=100)
        weight, notes = _weight(con)
    assert weight == pytest.approx(TWIN_WEIGHT)
    assert notes == {"twin_pattern_linked": 40, "twin_pattern_two_people": 60}


def test_too_little_evidence_keeps_the_fixed_penalty() -> None:
    with duckdb.connect() as con:
        _data(con, linked=10, apart=0, alike=100)
        weight, notes = _weight(con)
    assert weight == pytest.approx(TWIN_WEIGHT)
    assert notes["twin_pattern_linked"] == 10


def test_street_key_is_the_house_number_and_the_word_after_it() -> None:
    """The household key of the 'surname/forename and street address' blocking rules."""
    from joinedup.linkage.features import INPUT_TABLE, prepare_input
    from joinedup.release.schema import create_schema_sql

    addresses = {
        "1": ("12 ELM ROAD ASHDOWN WX1 2AB", "WX1 2AB"),
        "2": ("FLAT 3  12  ELM ROAD ASHDOWN", None),  # the flat's number, then the house's
        "3": ("12A  MCKINLEYCIRCUIT SOLITAIRE 3943 NSW", None),
        "4": ("ROSE COTTAGE MILL LANE", None),  # no house number: no key
    }
    with duckdb.connect() as con:
        for sql in create_schema_sql():
            con.execute(sql)
        for rid, (address, postcode) in addresses.items():
            con.execute(
                "INSERT INTO record (source, source_record_id, agency) VALUES ('a', ?, 'x')", [rid]
            )
            con.execute(
                "INSERT INTO identity (source, source_record_id, forename, surname) "
                "VALUES ('a', ?, 'SAM', 'HOLT')",
                [rid],
            )
            con.execute(
                "INSERT INTO identity_address (source, source_record_id, address, postcode) "
                "VALUES ('a', ?, ?, ?)",
                [rid, address, postcode],
            )
        prepare_input(con)
        got = dict(
            con.execute(f"SELECT source_record_id, street_key FROM {INPUT_TABLE}").fetchall()
        )
    assert got == {"1": "12 ELM", "2": "12 ELM", "3": "12A MCKINLEYCIRCUIT", "4": None}
