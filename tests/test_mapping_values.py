"""Derived values, addresses, place keywords, record ids, repeated rows and field problems
(issue 13, "a mapping language for real extracts": values and records).

Each test maps a small file made for it (in memory, as ``joinedup check`` does) and
asserts what is loaded, what is quarantined and the exact message.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import duckdb
import pytest

from conftest import map_partnership
from joinedup.config import load_config
from joinedup.errors import ConfigError, SourceError
from joinedup.pipeline.check import check_partnership
from joinedup.sources.derive import keyword_type

HEAD = """\
partnership: {name: Values Test, reference_date: 2026-10-31}
authorities: [{code: XA0000001, name: Northtown}]
agencies:
  - {id: school, name: A School, type: education}
sharing_agreements:
  - {key: isa, title: Test agreement}
"""
TERMS = 'term_dates: {autumn: "09-01", Spring: "01-05", summer: "04-20"}\n'
KEPT = "the value was left empty and the row kept"


def _partnership(root: Path, source: str, csv: str, top: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "s.csv").write_text(csv, encoding="utf-8")
    src = (
        "sources:\n  - id: s\n    agency: school\n    dataset: Test\n    file: s.csv\n"
        "    format: csv\n    sharing_agreement: isa\n    extracted_at: 2026-10-31\n"
        + textwrap.indent(textwrap.dedent(source), "    ")
    )
    (root / "partnership.yaml").write_text(HEAD + top + src, encoding="utf-8")
    return root


def _map(root: Path) -> tuple[duckdb.DuckDBPyConnection, dict[str, int]]:
    """Map the source's every row into an in-memory release, as check does."""
    con, counts = map_partnership(root)
    return con, counts["s"]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return con.execute(sql).fetchall()


def test_first_of_concat_split_item_and_value_maps(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        """\
        record: {id: Ref}
        identity:
          forename: {first_of: [KnownAs, Forename]}
          surname: {column: Names, split: ';', item: -1}
        event:
          id: Ref
          type: {value: absence}
          outcome: {concat: [Outcome1, Outcome2], sep: ' / '}
          detail: {column: Code, values: {1: Unauthorised, U: Unauthorised, 2: ''}}
        """,
        "Ref,KnownAs,Forename,Names,Outcome1,Outcome2,Code\n"
        "R1,,Amy,Smith;Jones,Fine,Letter,1\n"
        "R2, Bea ,Beatrice,Brown,,Letter,2\n"
        "R3,,Cy,Green; ,,,u\n"
        "R4,,Di,Black,,,M\n",
    )
    con, counts = _map(root)
    assert counts == {"read": 4, "filtered": 0, "loaded": 4, "quarantined": 0}
    got = _rows(
        con,
        "SELECT i.source_record_id, forename, surname, outcome, detail FROM identity i "
        "JOIN event e ON e.event_id = 's:' || i.source_record_id ORDER BY 1",
    )
    assert got == [
        ("R1", "AMY", "JONES", "Fine / Letter", "Unauthorised"),
        ("R2", "BEA", "BROWN", "Letter", None),  # '' in the map empties the value
        ("R3", "CY", None, None, "Unauthorised"),  # the last item is blank; codes any case
        ("R4", "DI", "BLACK", None, "M"),  # a value the map does not list passes through
    ]


def test_dates_from_academic_year_and_term_and_from_parts(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        """\
        record: {id: Ref}
        identity:
          dob: {date_parts: {year: BirthYear, month: BirthMonth, day: BirthDay}}
        event:
          id: Ref
          type: {value: absence}
          date: {academic_year: AcademicYear, term: Term}
        """,
        "Ref,BirthYear,BirthMonth,BirthDay,AcademicYear,Term\n"
        "R1,2010,3,4,2025/26,Autumn\n"
        "R2,2011,Feb,28,2025-26, spring \n"
        "R3,2010,February,31,2025/2026,Summer\n"
        "R4,,,,2025,Winter\n",
        top=TERMS,
    )
    con, counts = _map(root)
    assert counts["loaded"] == 4 and counts["quarantined"] == 0  # no row is lost
    got = _rows(
        con,
        "SELECT i.source_record_id, i.dob, e.event_date FROM identity i "
        "JOIN event e ON e.event_id = 's:' || i.source_record_id ORDER BY 1",
    )
    assert got == [
        ("R1", dt.date(2010, 3, 4), dt.date(2025, 9, 1)),
        ("R2", dt.date(2011, 2, 28), dt.date(2026, 1, 5)),  # spring: the year after
        ("R3", None, dt.date(2026, 4, 20)),  # 31 February: no date
        ("R4", None, None),  # a term partnership.yaml does not list
    ]
    assert _rows(con, "SELECT * FROM field_problem ORDER BY row_number") == [
        (
            "s",
            "s.csv",
            4,
            "BirthYear, BirthMonth, BirthDay",
            "identity.dob",
            "bad_date",
            f"the year, month and day do not make a date: {KEPT}; correct them in the extract",
        ),
        (
            "s",
            "s.csv",
            5,
            "AcademicYear, Term",
            "event.date",
            "bad_date",
            "the academic year and term do not give a date (a term not under term_dates in "
            f"partnership.yaml, or a year that is not one): {KEPT}; add the term to "
            "term_dates or correct the extract",
        ),
    ]


@pytest.mark.parametrize(
    ("address", "postcode"),
    [
        ("12 High St, Wexbury wx12ab", "WX1 2AB"),
        ("Flat 3, QY1  2AB", "QY1 2AB"),
        ("Unit B12, Park Lane, W1A 1AA, London", "W1A 1AA"),
        ("ex WX1 1AA now wx2 3bd", "WX2 3BD"),  # the last one in the text
        ("no postcode here, WX1", None),
        ("", None),
    ],
)
def test_a_postcode_is_taken_from_free_text(tmp_path: Path, address: str, postcode: str) -> None:
    root = _partnership(
        tmp_path / "p",
        "record: {id: Ref}\nidentity:\n  postcode: {column: Address, pattern: postcode}\n",
        f'Ref,Address\nR1,"{address}"\n',
    )
    con, _ = _map(root)
    assert _rows(con, "SELECT postcode FROM identity") == [(postcode,)]


def test_address_is_restricted_fills_the_postcode_and_tells_home(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        """\
        record: {id: Ref}
        identity:
          forename: Forename
          address: HomeAddress
        event:
          id: Ref
          type: {value: missing_episode}
        place:
          address: FoundAt
          type: {column: FoundAt, keywords: true}
        """,
        "Ref,Forename,HomeAddress,FoundAt\n"
        'R1,Amy,"12 High St, Wexbury wx12ab","12 High St Wexbury WX1 2AB"\n'
        'R2,Bea,"4 Low Rd, QY1 2AB","McDonalds, 1 Market St, WX1 3AB"\n'
        'R3,Cy,"4 Low Rd, QY1 2AB","Wexbury bus station"\n'
        'R4,Di,no fixed abode,"5 Low Rd, QY1 2AB"\n',
    )
    con, counts = _map(root)
    assert counts["loaded"] == 4
    assert _rows(con, "SELECT * FROM identity_address ORDER BY 2") == [
        ("s", "R1", "12 HIGH ST WEXBURY WX12AB", "WX1 2AB"),
        ("s", "R2", "4 LOW RD QY1 2AB", "QY1 2AB"),
        ("s", "R3", "4 LOW RD QY1 2AB", "QY1 2AB"),
        ("s", "R4", "NO FIXED ABODE", None),
    ]
    # the postcode found in the address counts for linkage and the home area
    assert _rows(con, "SELECT postcode, postcode_district FROM identity ORDER BY 1") == [
        ("QY1 2AB", "QY1"),
        ("QY1 2AB", "QY1"),
        ("WX1 2AB", "WX1"),
        (None, None),
    ]
    places = _rows(
        con,
        "SELECT e.event_id, p.name, p.place_type, p.postcode FROM event e "
        "JOIN _ju_places p USING (place_id) ORDER BY 1",
    )
    assert places == [
        ("s:R1", None, "home", "WX1 2AB"),  # the home address, written another way
        ("s:R2", None, "takeaway", "WX1 3AB"),
        ("s:R3", None, "transport", None),
        ("s:R4", None, "street", "QY1 2AB"),  # another address: its street, not home
    ]
    # the address never reaches a column an output shows
    shown = _rows(con, "SELECT count(*) FROM _ju_places WHERE name IS NOT NULL")
    assert shown == [(0,)]


def test_a_place_at_the_persons_own_address_is_home(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        """\
        record: {id: Ref}
        identity:
          address: HomeAddress
          postcode: HomePostcode
        event:
          id: Ref
          type: {value: crime}
        place:
          address: Location
          type: {column: LocationType, crosswalk: places}
        """,
        "Ref,HomeAddress,HomePostcode,Location,LocationType\n"
        'R1,"12 High St, Wexbury, WX1 2AB",,"12 high st wexbury wx12ab",Dwelling\n'
        'R2,"12 High St, Wexbury, WX1 2AB",,"14 High St, Wexbury, WX1 2AB",Dwelling\n'
        'R3,,QY1 2AB,"Flat 2, QY1 2AB",\n'
        'R4,"12 High St, WX1 2AB",,"12 High St, WX1 2AB",Takeaway\n',
        top="crosswalks:\n  places:\n    list: place_type\n"
        "    codes: {Dwelling: other_residential, Takeaway: takeaway}\n",
    )
    con, _ = _map(root)
    got = _rows(
        con,
        "SELECT e.event_id, p.place_type, p.postcode FROM event e "
        "JOIN _ju_places p USING (place_id) ORDER BY 1",
    )
    assert got == [
        ("s:R1", "home", "WX1 2AB"),  # the same address, however written
        ("s:R2", "other_residential", "WX1 2AB"),  # a neighbour's: same postcode, not home
        ("s:R3", "home", "QY1 2AB"),  # no home address: the same postcode
        ("s:R4", "takeaway", "WX1 2AB"),  # a type the crosswalk gives is kept
    ]


@pytest.mark.parametrize(
    ("text", "place_type"),
    [
        ("McDonald's, High Street", "takeaway"),
        ("outside KFC", "takeaway"),
        ("Wexbury railway station", "transport"),
        ("Premier Inn, Ring Road", "hotel"),
        ("Snapchat", "online"),
        ("Northtown skate park", "leisure"),
        ("Victoria Park", "park"),
        ("multi-storey car park", "street"),
        ("Children's Home, Elm Road", "other_residential"),
        ("at home", "home"),
        ("somewhere", None),
        ("Parkside", None),  # whole words only
    ],
)
def test_place_type_keywords(text: str, place_type: str | None) -> None:
    assert keyword_type(text) == place_type


def test_own_place_keywords_come_first_and_builtin_can_be_left_out(tmp_path: Path) -> None:
    csv = "Ref,Where\nR1,Chicken Palace\nR2,Wexbury bus station\nR3,the den\n"
    source = (
        "record: {id: Ref}\nevent: {id: Ref, type: {value: crime}}\n"
        "place: {name: Where, type: {column: Where, keywords: true}}\n"
    )
    own = "place_keywords:\n  keywords: {shop: [chicken palace], park: [the den]}\n"
    con, _ = _map(_partnership(tmp_path / "a", source, csv, top=own))
    sql = "SELECT name, place_type FROM _ju_places ORDER BY 1"
    assert _rows(con, sql) == [
        ("Chicken Palace", "shop"),
        ("Wexbury bus station", "transport"),
        ("the den", "park"),
    ]
    only = own.replace("place_keywords:\n", "place_keywords:\n  builtin: false\n")
    con, _ = _map(_partnership(tmp_path / "b", source, csv, top=only))
    assert _rows(con, sql)[1] == ("Wexbury bus station", "unknown")


def test_row_numbers_as_ids_and_exact_repeats_loaded_once(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        "record: {id: {row_number: true}}\nidentity: {forename: Forename}\n",
        "Forename,Seen\nAmy,2026-01-01\nBea,2026-01-02\nAmy,2026-01-01\nAmy,2026-01-03\n",
    )
    con, counts = _map(root)
    assert counts == {"read": 4, "filtered": 0, "loaded": 3, "quarantined": 1}
    assert _rows(con, "SELECT source_record_id, source_row FROM record ORDER BY 2") == [
        ("2", 2),
        ("3", 3),
        ("5", 5),
    ]
    assert _rows(con, "SELECT row_number, column_name, reason, problem FROM quarantine") == [
        (
            4,
            "",
            "the row repeats row 2 exactly (every column): it was loaded once, from row 2; "
            "remove the repeat from the extract",
            "duplicate_row",
        )
    ]


def test_a_repeated_id_is_a_duplicate_row_only_when_every_column_repeats(
    tmp_path: Path,
) -> None:
    root = _partnership(
        tmp_path / "p",
        "record: {id: Ref}\nidentity: {forename: Forename}\n",
        "Ref,Forename\nR1,Amy\nR1,Amy\nR1,Amie\nR2,Bea\n",
    )
    con, counts = _map(root)
    assert counts == {"read": 4, "filtered": 0, "loaded": 2, "quarantined": 2}
    assert _rows(con, "SELECT row_number, column_name, problem FROM quarantine ORDER BY 1") == [
        (3, "", "duplicate_row"),
        (4, "Ref", "duplicate_id"),
    ]


def test_composite_ids_keep_every_part(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        "record: {id: {parts: [School, Pupil, Term]}}\n",
        "School,Pupil,Term\nA-B,C,1\nA,B-C,1\nX,,Y\nX,Y,\nP|Q,R,1\n,,\n",
    )
    con, counts = _map(root)
    ids = [r[0] for r in _rows(con, "SELECT source_record_id FROM record ORDER BY source_row")]
    assert ids == ["A-B|C|1", "A|B-C|1", "X||Y", "X|Y|", "P\\|Q|R|1"]
    assert counts["quarantined"] == 1  # every part blank: no id
    assert _rows(con, "SELECT row_number, problem FROM quarantine") == [(7, "blank_id")]


def test_invalid_values_are_emptied_recorded_and_the_row_kept(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        """\
        record: {id: Ref}
        identity:
          forename: Forename
          dob: {column: DOB, parse: date, formats: ['%d/%m/%Y']}
          nhs_number: NHS
          upn: UPN
        """,
        "Ref,Forename,DOB,NHS,UPN\n"
        "R1,Amy,31/02/2010,943 476 5918,A12345678901B\n"
        "R2,Bea,01/02/2010,9434765919,\n",
    )
    con, counts = _map(root)
    assert counts == {"read": 2, "filtered": 0, "loaded": 2, "quarantined": 0}
    assert _rows(con, "SELECT forename, dob, nhs_number, upn FROM identity ORDER BY 1") == [
        ("AMY", None, None, None),
        ("BEA", dt.date(2010, 2, 1), "9434765919", None),
    ]
    problems = _rows(
        con, "SELECT row_number, column_name, field, problem, reason FROM field_problem"
    )
    assert problems == [
        (
            2,
            "DOB",
            "identity.dob",
            "bad_date",
            f"not a date in any accepted format: {KEPT}; correct it in the extract, or list "
            "its format under formats: for this field in partnership.yaml",
        ),
        (
            2,
            "NHS",
            "identity.nhs_number",
            "bad_check_digit",
            "not a valid NHS number (10 digits, the last a modulus-11 check digit): "
            f"{KEPT}; correct it in the extract",
        ),
        (
            2,
            "UPN",
            "identity.upn",
            "bad_check_digit",
            "not a valid unique pupil number (13 characters, the first a check letter): "
            f"{KEPT}; correct it in the extract",
        ),
    ]
    # the field quality counts them too, and no record holds the value
    fq = dict(_rows(con, "SELECT field, (filled, valid) FROM field_quality"))
    assert fq["identity.dob"] == (2, 1) and fq["identity.nhs_number"] == (2, 1)
    assert not _rows(con, "SELECT * FROM field_problem WHERE reason LIKE '%31/02%'")


def test_bad_dates_quarantine_keeps_the_old_behaviour(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        "bad_dates: quarantine\nrecord: {id: Ref}\nidentity: {dob: DOB}\n",
        "Ref,DOB\nR1,31/02/2010\nR2,01/02/2010\n",
    )
    con, counts = _map(root)
    assert counts == {"read": 2, "filtered": 0, "loaded": 1, "quarantined": 1}
    assert _rows(con, "SELECT row_number, column_name, problem FROM quarantine") == [
        (2, "DOB", "bad_date")
    ]
    assert _rows(con, "SELECT count(*) FROM field_problem") == [(0,)]


# --- check validates the configuration ---------------------------------------------


def _problems(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_config(root)
    return [str(p) for p in exc.value.problems]


def test_check_names_a_bad_pattern(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        "record: {id: Ref}\nidentity: {postcode: {column: Address, pattern: '([A-Z]+'}}\n",
        "Ref,Address\nR1,x\n",
    )
    assert _problems(root) == [
        "sources[0] (s).identity.postcode.pattern: 'pattern' not a valid regular expression "
        "(missing ), unterminated subpattern at position 0); or use a built-in pattern: "
        "postcode"
    ]


def test_check_names_missing_term_dates(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        "record: {id: Ref}\nevent:\n  id: Ref\n  type: {value: absence}\n"
        "  date: {academic_year: Year, term: Term}\n",
        "Ref,Year,Term\nR1,2025/26,Autumn\n",
    )
    assert _problems(root) == [
        "sources[0] (s).event.date.term: a date from an academic year and a term needs the "
        "term dates: declare them under 'term_dates' in partnership.yaml (e.g. autumn: "
        "'09-01', spring: '01-05', summer: '04-20')"
    ]


def test_check_names_bad_term_dates_and_options(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        "record: {id: Ref}\nidentity: {forename: {column: Name, sep: '-'}}\n",
        "Ref,Name\nR1,x\n",
        top='term_dates: {autumn: "09-31"}\n',
    )
    assert _problems(root) == [
        "term_dates.autumn: '09-31' is not a month and day: write the day a term starts as "
        "'MM-DD', e.g. '09-01' for 1 September",
        "sources[0] (s).identity.forename: 'sep' applies only with 'concat' or 'parts'",
    ]


def test_check_names_an_unknown_column_in_a_derivation(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        "record: {id: Ref}\nidentity:\n  forename: {first_of: [KnownAs, Forname]}\n",
        "Ref,KnownAs,Forename\nR1,,Amy\n",
    )
    with pytest.raises(SourceError) as exc:
        check_partnership(root)
    assert [str(p) for p in exc.value.problems] == [
        "sources (s).identity.forename: column 'Forname' is not in s.csv; columns in the "
        "file: Forename, KnownAs, Ref"
    ]


def test_check_lists_field_problems_and_repeated_rows(tmp_path: Path) -> None:
    root = _partnership(
        tmp_path / "p",
        "record: {id: Ref}\nidentity: {dob: DOB}\n",
        "Ref,DOB\nR1,31/02/2010\nR2,01/02/2010\nR2,01/02/2010\n",
    )
    lines = check_partnership(root)
    assert (
        "s: s.csv, 3 rows (read as utf-8); sample of 3: 2 mapped, 0 filtered, 1 to quarantine, "
        "1 value(s) to be left empty" in lines
    )
    assert "  quarantine: 1 row(s), duplicate row" in lines
    assert (
        "  field problems: 1 value(s) of identity.dob (DOB) left empty, bad date; the rows are kept"
    ) in lines
