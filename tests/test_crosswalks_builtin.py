"""The built-in crosswalks: CIN census factors and referral sources, NRM types, Home Office
offence classifications and DfE exclusion reasons, by code or label, in a mapping and in
`joinedup check` (issue 13)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import duckdb
import pytest

from conftest import map_partnership
from joinedup.config import load_config
from joinedup.pipeline.check import check_partnership
from joinedup.sources import resolve_crosswalks
from joinedup.sources.crosswalks import builtin_table
from joinedup.taxonomy import load_taxonomy, normalise_local_code

ROOT = Path(__file__).resolve().parents[1]
BUILTIN = (
    "cin_factor",
    "cin_referral_source",
    "dfe_exclusion_reason",
    "home_office_offence",
    "home_office_violence",  # issue 21: offence codes to the violence list
    "nrm_type",
)


@pytest.fixture(scope="module")
def tax():
    return load_taxonomy()


def _lookup(tax, name: str, value: str) -> str | None:
    return builtin_table(tax, name).get(normalise_local_code(value))


def test_the_builtin_crosswalks_are_the_six_named(tax) -> None:
    assert tax.builtin_crosswalks() == BUILTIN
    assert tax.info["cin_referral_source"].maps_to_list == "cin_referral_source"
    assert tax.info["home_office_offence"].maps_to_list == "exploitation_type"
    assert tax.info["home_office_violence"].maps_to_list == "violence_type"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("cin_factor", "11A", "cse"),
        ("cin_factor", "24a", "cce"),
        ("cin_factor", "12A", "trafficking"),
        ("cin_factor", " child  SEXUAL exploitation ", "cse"),  # by label
        ("cin_factor", "10A", ""),  # known: missing, no exploitation type
        ("cin_factor", "3A", ""),
        ("cin_factor", "99Z", None),
        ("nrm_type", "criminal", "cce"),
        ("nrm_type", "child_criminal", "cce"),
        ("nrm_type", "adult_criminal", "trafficking"),
        ("nrm_type", "adult_sexual", "trafficking"),
        ("nrm_type", "Domestic servitude", "domestic_servitude"),
        ("nrm_type", "organ_harvesting", "organ_harvesting"),
        ("home_office_offence", "92A", "cce"),  # supply or possession with intent to supply
        ("home_office_offence", "106", "trafficking"),  # modern slavery
        ("home_office_offence", "Modern slavery", "trafficking"),
        ("home_office_offence", "71", "cse"),
        ("home_office_offence", "88a", "cse"),  # sexual grooming
        ("home_office_offence", "10D", ""),  # article with a blade or point: flagged only
        ("home_office_offence", "19D", ""),  # a child sexual offence: flagged only
        ("home_office_offence", "46", ""),
        ("home_office_offence", "999", None),
        ("cin_referral_source", "5a", "5A"),
        ("cin_referral_source", "Police", "6"),
        ("cin_referral_source", "10", "10"),
        ("cin_referral_source", "11", None),
        ("dfe_exclusion_reason", "pd", "PD"),
        ("dfe_exclusion_reason", "Drug and alcohol related", "DA"),
        ("dfe_exclusion_reason", "OW", "OW"),
        ("dfe_exclusion_reason", "XX", None),
    ],
)
def test_builtin_crosswalks_match_code_or_label(tax, name, value, expected) -> None:
    assert _lookup(tax, name, value) == expected


def test_flags_mark_what_sits_beside_exploitation_without_a_type(tax) -> None:
    assert "weapons" in tax.entry("home_office_offence", "10D").flags
    assert "child_sexual_offence" in tax.entry("home_office_offence", "21").flags
    assert "drug_supply" in tax.entry("home_office_offence", "92A").flags
    assert "drugs" in tax.entry("dfe_exclusion_reason", "DA").flags
    assert tax.entry("cin_factor", "10A").flags == ("missing",)


def test_a_label_two_entries_share_is_not_a_key(tax) -> None:
    # NRM "sexual" and "child_sexual" have different labels; every label kept maps one way
    table = builtin_table(tax, "nrm_type")
    for code, entry in tax.lists["nrm_type"].items():
        assert table[normalise_local_code(code)] == ";".join(tax.crosswalk("nrm_type")[code])
        label = normalise_local_code(entry.label)
        if label in table:
            assert table[label] == ";".join(tax.crosswalk("nrm_type")[code])


def test_docs_name_only_builtin_crosswalks_that_work(tax) -> None:
    text = (ROOT / "docs" / "taxonomy.md").read_text(encoding="utf-8")
    section = text[text.index("### Built-in crosswalks") : text.index("## Local extensions")]
    named = set(re.findall(r"^- `([a-z_]+)`:", section, flags=re.M))
    assert named == set(BUILTIN)
    config = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for name in BUILTIN:
        assert f"`{name}`" in config
        assert builtin_table(tax, name)


# --- in a partnership ------------------------------------------------------------------

YAML = """\
partnership: {name: Built-in crosswalks}
authorities: [{code: XA1, name: Town}]
agencies: [{id: school, name: Schools, type: education}]
sharing_agreements: [{key: isa, title: Agreement}]
sources:
  - id: exclusions
    agency: school
    dataset: Suspensions and exclusions
    file: exclusions.csv
    format: csv
    sharing_agreement: isa
    record: {id: Ref}
    identity: {forename: Forename, surname: Surname}
    event:
      id: Ref
      type: {value: suspension}
      date: Start
      detail: {column: Reason, crosswalk: dfe_exclusion_reason}
"""

EXCLUSIONS = """\
Ref,Forename,Surname,Start,Reason
E1,Amy,Lee,01/03/2026,da
E2,Bo,Ray,02/03/2026,Persistent disruptive behaviour
E3,Cy,Dee,03/03/2026,XX
E4,Di,Eve,30/02/2026,PP
"""


def _map(base: Path) -> duckdb.DuckDBPyConnection:
    """Every source of the partnership through the map stage, into a fresh schema."""
    con, _ = map_partnership(base)
    return con


def _partnership(tmp_path: Path, yaml_text: str = YAML) -> Path:
    (tmp_path / "partnership.yaml").write_text(yaml_text, encoding="utf-8")
    (tmp_path / "exclusions.csv").write_text(textwrap.dedent(EXCLUSIONS), encoding="utf-8")
    return tmp_path


def test_a_code_list_crosswalk_checks_and_spells_codes_in_a_build_map(tmp_path: Path) -> None:
    con = _map(_partnership(tmp_path))
    assert con.execute("SELECT event_id, detail FROM event ORDER BY 1").fetchall() == [
        ("exclusions:E1", "DA"),
        ("exclusions:E2", "PD"),
        ("exclusions:E3", None),
        ("exclusions:E4", "PP"),  # its impossible start date is left empty, the row kept
    ]
    assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(0,)]
    assert con.execute("SELECT field, local_code, rows FROM unmapped_code").fetchall() == [
        ("event.detail", "XX", 1)
    ]


def test_check_reports_codes_a_builtin_crosswalk_does_not_know(tmp_path: Path) -> None:
    lines = check_partnership(_partnership(tmp_path))
    start = next(i for i, line in enumerate(lines) if line.startswith("exclusions: "))
    notes = [line for line in lines[start + 1 :] if line.startswith("  event.detail")]
    assert notes == [
        "  event.detail (Reason): 1 rows with 1 code(s) the crosswalk does not know: 'XX'; "
        "add them to the crosswalk",
    ]


def test_a_declared_crosswalk_replaces_the_builtin_of_its_name(tmp_path: Path) -> None:
    text = YAML.replace(
        "sources:",
        "crosswalks:\n  dfe_exclusion_reason:\n    list: event_type\n"
        "    codes: {XX: suspension}\nsources:",
    )
    base = _partnership(tmp_path, text)
    cw = resolve_crosswalks(load_config(base), base)
    assert cw.tables["dfe_exclusion_reason"] == {"xx": "suspension"}
    assert "da" in cw.tables["home_office_offence"] or "92a" in cw.tables["home_office_offence"]
