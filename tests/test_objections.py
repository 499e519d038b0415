"""Objections (issue 19): kept as keyed hashes, matching records left out at build where
the lawful basis allows objection, counted but never listed."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from conftest import write_mini
from joinedup.cli import cli
from joinedup.cli.governance import excluded_summary
from joinedup.config.model import SharingAgreement
from joinedup.config.purposes import allows_objection
from joinedup.pipeline import build
from joinedup.release import open_current


def _partnership(root: Path) -> Path:
    write_mini(root)
    path = root / "partnership.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "  - {key: isa, title: Test agreement, tiers: [operational, strategic]}\n",
        "  - {key: isa, title: Police, tiers: [operational, strategic], "
        "lawful_basis: 'DPA 2018 Part 3 law enforcement'}\n"
        "  - {key: health_isa, title: Health, tiers: [operational, strategic], "
        "lawful_basis: 'UK GDPR 6(1)(e) public task'}\n",
    )
    head, tail = text.split("  - id: health_ae", 1)
    tail = tail.replace("sharing_agreement: isa", "sharing_agreement: health_isa", 1)
    path.write_text(head + "  - id: health_ae" + tail, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = _partnership(tmp_path_factory.mktemp("objections") / "p")
    runner = CliRunner()
    # NHS 9434765919 is on police record 1 and health A1; the police agreement's basis
    # (law enforcement) allows no objection, the health one (public task) does
    added = runner.invoke(
        cli,
        ["objection", "add", str(root), "--kind", "nhs_number", "--reference", "OBJ-1"],
        input="943 476 5919\n",
    )
    assert added.exit_code == 0, added.output
    again = runner.invoke(
        cli, ["objection", "add", str(root), "--kind", "nhs_number"], input="9434765919\n"
    )
    assert "already on the list" in again.output
    named = runner.invoke(
        cli,
        ["objection", "add", str(root), "--kind", "name_dob"],
        input="zoe\nWhite\n2012-01-01\n",
    )
    assert named.exit_code == 0, named.output
    build(root)
    return root


def test_file_holds_hashes_never_identifiers(built: Path) -> None:
    text = (built / "objections.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "kind,hash,added,reference"
    assert len(text.splitlines()) == 3
    for value in ("9434765919", "943 476 5919", "ZOE", "zoe", "WHITE", "2012-01-01"):
        assert value not in text


def test_matching_records_left_out_where_the_basis_allows(built: Path) -> None:
    with duckdb.connect(str(open_current(built).db_path), read_only=True) as con:
        health = con.execute(
            "SELECT source_record_id FROM record WHERE source = 'health_ae' ORDER BY 1"
        ).fetchall()
        police = con.execute(
            "SELECT count(*) FROM identity WHERE source = 'police_crimes' "
            "AND nhs_number = '9434765919'"
        ).fetchone()
        lineage = con.execute(
            "SELECT name, rows, detail FROM lineage WHERE kind = 'objection'"
        ).fetchall()
    assert health == [("A2",)]  # A1 (NHS number) and A3 (name and date of birth) left out
    assert police == (1,)  # law enforcement: no right to object
    assert [(n, r) for n, r, _ in lineage] == [("health_ae", 2)]
    assert "never listed" in lineage[0][2]


def test_count_is_protected_in_the_build_summary(built: Path) -> None:
    line = excluded_summary(open_current(built).db_path)
    assert line == "Governance: records of people who objected left out: c."
    assert excluded_summary(open_current(built).db_path, threshold=2) == (
        "Governance: records of people who objected left out: 2."
    )


def test_bad_input_is_refused_and_nothing_stored(tmp_path: Path) -> None:
    root = _partnership(tmp_path / "p")
    result = CliRunner().invoke(
        cli, ["objection", "add", str(root), "--kind", "nhs_number"], input="12345\n"
    )
    assert result.exit_code == 2
    assert "not a valid nhs number; nothing was stored" in result.output
    assert "12345" not in result.output.split("\n", 1)[1]
    assert not (root / "objections.csv").exists()
    (root / "objections.csv").write_text("kind,hash\nnhs_number,9434765919\n", encoding="utf-8")
    failed = CliRunner().invoke(cli, ["build", str(root)])
    assert failed.exit_code == 1
    assert "row 2: kind must be one of" in failed.output
    assert "9434765919" not in failed.output


@pytest.mark.parametrize(
    ("basis", "expected"),
    [
        ("UK GDPR 6(1)(e) public task", True),
        ("Legitimate interests", True),
        ("Consent of the young person", True),
        ("UK GDPR 6(1)(c) legal obligation", False),
        ("DPA 2018 Part 3", False),
        (None, False),
    ],
)
def test_right_to_object_follows_the_lawful_basis(basis: str | None, expected: bool) -> None:
    a = SharingAgreement(key="a", title="A", lawful_basis=basis)
    assert allows_objection(a) is expected
    assert allows_objection(a.model_copy(update={"right_to_object": not expected})) is not expected
