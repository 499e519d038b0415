"""Mappings: estimated dates, unmapped codes counted and listed, one row to many tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from joinedup.pipeline import build as build_release
from joinedup.sources import parsers as p


@pytest.mark.parametrize(
    ("text", "rules", "expected"),
    [
        ("01/01/2010", ["jan_1"], (date(2010, 1, 1), True)),
        ("02/01/2010", ["jan_1"], (date(2010, 1, 2), False)),
        ("01/05/2010", ["first_of_month"], (date(2010, 5, 1), True)),
        ("2010", ["year_only"], (date(2010, 1, 1), True)),
        ("2010", [], (date(1905, 7, 2), False)),  # without the rule: an Excel serial
        ("03/2010", ["month_year"], (date(2010, 3, 1), True)),
        ("2010-03", ["month_year"], (date(2010, 3, 1), True)),
        (" 2010-03-04 ", ["jan_1", "year_only"], (date(2010, 3, 4), False)),
        ("13/2010", ["month_year"], (None, False)),
        (None, ["jan_1"], (None, False)),
    ],
)
def test_estimated_dates_python_and_sql_agree(
    text: str | None, rules: list[str], expected: tuple[date | None, bool]
) -> None:
    assert p.parse_date_estimated(text, None, rules) == expected
    con = duckdb.connect()
    p.install_macros(con)
    value, flag = p.estimated_date_sql("s", None, rules)
    got = con.execute(f"SELECT {value}, {flag} FROM (SELECT $1::VARCHAR AS s)", [text]).fetchone()
    assert got == (expected[0], expected[1] if expected[0] is not None else None)


def _edit(mini: Path, old: str, new: str) -> None:
    cfg = mini / "partnership.yaml"
    text = cfg.read_text()
    assert old in text
    cfg.write_text(text.replace(old, new))


def test_estimated_dob_is_flagged_in_identity(mini: Path) -> None:
    _edit(
        mini,
        'dob: {column: DOB, parse: date, formats: ["%Y%m%d"]}',
        'dob: {column: DOB, parse: date, formats: ["%Y%m%d"], estimated: [jan_1, year_only]}',
    )
    ae = mini / "extracts" / "ae.csv"
    ae.write_text(
        ae.read_text().replace("20100403", "2010").replace("20120101", "20120101"),
        encoding="utf-8",
    )
    with build_release(mini).release.connect() as con:
        got = dict(
            con.execute(
                "SELECT source_record_id, (dob, dob_estimated) FROM identity "
                "WHERE source = 'health_ae'"
            ).fetchall()
        )
    assert got["A1"] == (date(2010, 1, 1), True)  # a bare year
    assert got["A2"] == (date(2011, 6, 5), False)
    assert got["A3"] == (date(2012, 1, 1), True)  # 1 January


def test_unmapped_codes_are_counted_and_listed_never_dropped_silently(mini: Path) -> None:
    crimes = next((mini / "extracts").glob("crimes_*.csv"))
    text = crimes.read_bytes().decode("cp1252")
    text = text.replace(",CCE;CL,Flat 3", ",CCE;XYZ,Flat 3").replace(",V,Kai", ",Q,Kai")
    crimes.write_bytes(text.encode("cp1252"))
    with build_release(mini).release.connect() as con:
        unmapped = con.execute(
            "SELECT field, column_name, local_code, rows FROM unmapped_code ORDER BY ALL"
        ).fetchall()
        fq = dict(
            con.execute(
                "SELECT field, (filled, valid, unmapped) FROM field_quality "
                "WHERE source = 'police_crimes'"
            ).fetchall()
        )
        roles = con.execute(
            "SELECT ep.role FROM event_person ep WHERE source_record_id = '3'"
        ).fetchall()
    assert unmapped == [
        ("event.exploitation", "Flags", "XYZ", 2),  # rows 3 and 5
        ("role", "Role", "Q", 1),
    ]
    assert fq["role"] == (7, 6, 1)  # 7 rows kept by the filters
    # a split cell with one known code is valid; the unknown one is still listed
    assert fq["event.exploitation"] == (6, 6, 2)
    assert roles == [("subject",)]  # the default role, counted above as not valid


def test_one_police_row_gives_record_identity_event_person_and_place(mini: Path) -> None:
    with build_release(mini).release.connect() as con:
        rec = con.execute(
            "SELECT r.source_row, i.forename, i.postcode_district, e.event_type, ep.role, "
            "p.name, p.place_type, x.exploitation_type FROM record r "
            "JOIN identity i USING (source, source_record_id) "
            "JOIN event_person ep USING (source, source_record_id) "
            "JOIN event e USING (event_id) JOIN place p USING (place_id) "
            "JOIN event_exploitation x USING (event_id) "
            "WHERE r.source = 'police_crimes' AND r.source_record_id = '1'"
        ).fetchall()
        people_in_c1 = con.execute(
            "SELECT count(*) FROM event_person WHERE event_id = 'police_crimes:C1'"
        ).fetchone()
    assert rec == [(2, "AMÉLIE", "WX1", "crime", "victim", "Chicken Palace", "takeaway", "cse")]
    assert people_in_c1 == (2,)  # two rows sharing a reference are one event
