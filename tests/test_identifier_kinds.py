"""Identifier kinds declared in partnership.yaml (issue 13): their checks in Python and
SQL, their configuration, and linkage on the shared ones."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from joinedup.config import load_config
from joinedup.config.values import IdentifierKind
from joinedup.errors import ConfigError
from joinedup.pipeline import build as build_release
from joinedup.sources.idkinds import (
    kind_value,
    kind_value_sql,
    luhn_valid,
    mod11_valid,
    nino_valid,
)
from joinedup.sources.parsers import install_macros


@pytest.mark.parametrize(
    ("value", "mod11", "luhn"),
    [
        ("9434765919", True, False),  # an NHS number
        ("9434765918", False, False),
        ("4010232137", True, False),
        ("79927398713", False, True),  # the Luhn example
        ("79927398710", False, False),
        ("0", False, False),
        ("12a4", False, False),
    ],
)
def test_check_digit_rules(value: str, mod11: bool, luhn: bool) -> None:
    assert mod11_valid(value) is mod11
    assert luhn_valid(value) is luhn


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("AB123456C", True),
        ("GB123456A", False),  # a prefix HMRC never issues
        ("QQ123456C", False),  # Q is never a first letter
        ("AB123456E", False),  # suffix A to D
        ("AB12345C", False),
    ],
)
def test_national_insurance_numbers(value: str, ok: bool) -> None:
    assert nino_valid(value) is ok


KINDS = [
    IdentifierKind(scope="shared"),
    IdentifierKind(scope="shared", check="mod11"),
    IdentifierKind(scope="shared", check="luhn"),
    IdentifierKind(scope="shared", check="nino"),
    IdentifierKind(scope="agency", check="regex", pattern="WX-?[0-9]{6}"),
]
TEXTS = [
    "943 476 5919",
    "943-476-5918",
    "7992 7398 713",
    "ab 12 34 56 c",
    " wx-000123 ",
    "WX000123",
    "",
    " ",
    None,
    "12a",
]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.check)
def test_python_and_sql_agree(kind: IdentifierKind) -> None:
    con = duckdb.connect()
    install_macros(con)
    sql = kind_value_sql("t", kind)
    for text in TEXTS:
        got = con.execute(f"SELECT {sql} FROM (SELECT $1::VARCHAR AS t)", [text]).fetchone()
        assert got == (kind_value(text, kind),), text


def test_values_are_compared_without_spaces_and_upper_cased() -> None:
    nino = IdentifierKind(scope="shared", check="nino")
    assert kind_value("ab 12 34 56 c", nino) == "AB123456C"
    luhn = IdentifierKind(scope="shared", check="luhn")
    assert kind_value("7992-7398-713", luhn) == "79927398713"


YAML = """\
partnership: {name: Kinds Test, reference_date: 2026-10-31}
authorities: [{code: XA0000001, name: Northtown}]
agencies:
  - {id: police, name: Police, type: police}
  - {id: school, name: School, type: education}
sharing_agreements:
  - {key: isa, title: Test agreement}
identifier_kinds:
  regional_id: {name: Wexbury child id, scope: shared, check: luhn}
  ni_number: {scope: shared, check: nino}
  case_ref: {scope: agency, check: regex, pattern: 'C[0-9]{4}'}
sources:
  - id: police_x
    agency: police
    dataset: Police
    file: police.csv
    format: csv
    sharing_agreement: isa
    record: {id: Ref}
    identity:
      forename: Forename
      ids: {regional_id: Regional, ni_number: NINo, case_ref: CaseRef}
  - id: school_x
    agency: school
    dataset: School
    file: school.csv
    format: csv
    sharing_agreement: isa
    record: {id: Ref}
    identity:
      forename: Forename
      ids: {regional_id: ChildId, ni_number: NI, case_ref: Case}
"""

POLICE = """\
Ref,Forename,Regional,NINo,CaseRef
P1,Amy,79927398713,,
P2,Bea,79927398710,,
P3,Cy,,,C1234
P4,Cyrus,,,C1234
P5,Di,,ab 12 34 56 c,
"""
SCHOOL = """\
Ref,Forename,ChildId,NI,Case
E1,Amelia,7992 7398 713,,
E2,Beatrice,79927398710,,
E3,Cyril,,,C1234
E5,Diana,,AB123456C,
"""


def _write(root: Path, yaml: str = YAML) -> Path:
    root.mkdir(parents=True)
    (root / "partnership.yaml").write_text(yaml, encoding="utf-8")
    (root / "police.csv").write_text(POLICE, encoding="utf-8")
    (root / "school.csv").write_text(SCHOOL, encoding="utf-8")
    return root


def test_shared_kinds_link_across_agencies_agency_kinds_within_one(tmp_path: Path) -> None:
    root = _write(tmp_path / "p")
    with build_release(root).release.connect() as con:
        rp = {
            rid: (pid, rule)
            for rid, pid, rule in con.execute(
                "SELECT source_record_id, person_id, rule FROM record_person"
            ).fetchall()
        }
        ids = con.execute(
            "SELECT source, source_record_id, kind, scope, value FROM identity_id ORDER BY ALL"
        ).fetchall()
        problems = con.execute(
            "SELECT source, row_number, column_name, field, problem, reason FROM field_problem "
            "ORDER BY ALL"
        ).fetchall()
    assert rp["P1"][0] == rp["E1"][0] and rp["P1"][1] == rp["E1"][1] == "regional_id"
    assert rp["P5"][0] == rp["E5"][0] and rp["E5"][1] == "ni_number"
    assert rp["P3"][0] == rp["P4"][0] and rp["P3"][1] == "case_ref"  # one agency
    assert rp["E3"] != rp["P3"] and rp["E3"][1] == "singleton"  # another agency's case
    assert rp["P2"][0] != rp["E2"][0]  # a failed check digit links nothing
    assert ids == [
        ("police_x", "P1", "regional_id", "shared", "79927398713"),
        ("police_x", "P3", "case_ref", "agency", "C1234"),
        ("police_x", "P4", "case_ref", "agency", "C1234"),
        ("police_x", "P5", "ni_number", "shared", "AB123456C"),
        ("school_x", "E1", "regional_id", "shared", "79927398713"),
        ("school_x", "E3", "case_ref", "agency", "C1234"),
        ("school_x", "E5", "ni_number", "shared", "AB123456C"),
    ]
    reason = (
        "not a valid Wexbury child id (its Luhn check digit is wrong): the value was left "
        "empty and the row kept; correct it in the extract"
    )
    assert problems == [
        ("police_x", 3, "Regional", "identity.ids.regional_id", "bad_check_digit", reason),
        ("school_x", 3, "ChildId", "identity.ids.regional_id", "bad_check_digit", reason),
    ]


def _problems(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_config(root)
    return [str(p) for p in exc.value.problems]


def test_an_undeclared_kind_is_named(tmp_path: Path) -> None:
    yaml = YAML.replace("ids: {regional_id: ChildId,", "ids: {regional: ChildId,")
    assert _problems(_write(tmp_path / "p", yaml)) == [
        "sources[1] (school_x).identity.ids.regional: no identifier kind named 'regional'; "
        "declare it under 'identifier_kinds' (declared: case_ref, ni_number, regional_id)"
    ]


def test_kind_rules_are_validated(tmp_path: Path) -> None:
    yaml = YAML.replace("check: regex, pattern: 'C[0-9]{4}'", "check: regex").replace(
        "ni_number: {scope: shared, check: nino}", "nhs_number: {scope: everywhere}"
    )
    assert _problems(_write(tmp_path / "p", yaml)) == [
        "identifier_kinds.nhs_number.scope: Input should be 'shared' or 'agency'",
        "identifier_kinds.case_ref: 'pattern' goes with 'check: regex', and 'check: regex' "
        "needs one",
    ]
