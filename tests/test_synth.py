"""The synthetic partnership: determinism, truth that matches the extracts, planted
scenarios, promised encodings, valid identifiers and the refusal to overwrite."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook

from joinedup.config import load_config, resolve_source_file
from joinedup.errors import ConfigError
from joinedup.synth import SynthSummary, generate

PEOPLE = 300
SEED = 11


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("synth") / "partnership"
    return out, generate(out, people=PEOPLE, seed=SEED)


@pytest.fixture(scope="module")
def folder(made: tuple[Path, SynthSummary]) -> Path:
    return made[0]


def _truth(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / "truth" / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _rows(folder: Path, source) -> list[dict[str, str]]:  # noqa: ANN001 - a SourceConfig
    """The data rows of a source as the mapping sees them (header at header_row). Rows
    written malformed on purpose (issue 13) are read as the truth says they were made: an
    unquoted address is joined back into its column, a cut-short row keeps the fields it
    has. Each row carries its number as a spreadsheet shows it, under ``#row``."""
    path = resolve_source_file(folder, source)
    assert path is not None, source.id
    if source.format == "xlsx":
        wb = load_workbook(path, read_only=True)
        ws = wb[source.sheet] if isinstance(source.sheet, str) else wb.worksheets[source.sheet]
        values = list(ws.iter_rows(values_only=True))
        wb.close()
        header = [str(h) for h in values[source.header_row - 1]]
        return [
            {h: "" if v is None else str(v) for h, v in zip(header, row, strict=False)}
            for row in values[source.header_row :]
        ]
    text = path.read_bytes().decode(source.encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    lines = list(reader)
    header = lines[source.header_row - 1]
    out = []
    for number, line in enumerate(lines[source.header_row :], start=source.header_row + 1):
        if len(line) > len(header):  # an address written unquoted: join it back
            at = header.index("LocationAddress")
            extra = len(line) - len(header)
            line = [*line[:at], ",".join(line[at : at + extra + 1]), *line[at + extra + 1 :]]
        row = dict(zip(header, line, strict=False))  # a cut-short row has fewer fields
        row["#row"] = str(number)
        out.append(row)
    return out


def _record_id(source, row: dict[str, str]) -> str:  # noqa: ANN001
    spec = source.record.id
    if spec.columns:
        return "-".join(row[c] for c in spec.columns)
    if spec.parts:
        return "|".join(row[c] for c in spec.parts)
    if spec.row_number:
        return row["#row"]
    return row[spec.column]


def _filtered(source, row: dict[str, str]) -> bool:  # noqa: ANN001
    for f in source.filters:
        if f.equals is not None and row.get(f.column) == f.equals:
            return True
        if f.in_ is not None and row.get(f.column) in f.in_:
            return True
    return False


def nhs_valid(number: str) -> bool:
    if len(number) != 10 or not number.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(number[9])


def upn_valid(upn: str) -> bool:
    letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
    if len(upn) != 13 or not upn[1:].isdigit():
        return False
    total = sum(int(ch) * w for ch, w in zip(upn[1:], range(2, 14), strict=True))
    return upn[0] == letters[total % 23]


def test_same_seed_gives_same_bytes_and_another_seed_differs(tmp_path: Path, folder: Path) -> None:
    again = tmp_path / "again"
    generate(again, people=PEOPLE, seed=SEED)
    files = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert any(str(f).endswith(".xlsx") for f in files)
    for rel in files:
        assert (folder / rel).read_bytes() == (again / rel).read_bytes(), rel
    other = tmp_path / "other"
    generate(other, people=PEOPLE, seed=SEED + 1)
    for rel in ("truth/record_person.csv", "extracts/police/crimes_incidents_20261031.csv"):
        assert (folder / rel).read_bytes() != (other / rel).read_bytes()


def test_config_loads_and_maps_every_extract(folder: Path) -> None:
    cfg = load_config(folder)
    mapped = {resolve_source_file(folder, s) for s in cfg.sources}
    extracts = {p for p in (folder / "extracts").rglob("*") if p.is_file()}
    assert extracts == mapped
    assert len({a.id for a in cfg.agencies}) >= 8
    sheets = {s.sheet for s in cfg.sources if s.format == "xlsx"}
    assert sheets == {"Contacts", "Assessments", "Return home interviews"}


def test_truth_names_every_record_exactly_once(made: tuple[Path, SynthSummary]) -> None:
    folder, summary = made
    cfg = load_config(folder)
    truth = _truth(folder, "record_person.csv")
    keys = Counter((t["source"], t["source_record_id"]) for t in truth)
    assert max(keys.values()) == 1
    problems = _truth(folder, "planted_problems.csv")
    tests = {
        (p["source"], p["source_record_id"]) for p in problems if p["problem"] == "test_record"
    }
    seen: set[tuple[str, str]] = set()
    for source in cfg.sources:
        rows = _rows(folder, source)
        assert len(rows) == summary.sources[source.id]
        n_tests = 0
        for row in rows:
            key = (source.id, _record_id(source, row))
            if _filtered(source, row):
                n_tests += 1
                assert key in tests, key
                assert key not in keys
            else:
                assert key in keys, key
                assert key not in seen, key
                seen.add(key)
        assert n_tests >= 1, f"{source.id} has no test record for its filter to remove"
    assert seen == set(keys)
    assert summary.total_records == sum(summary.sources.values())


def test_scenarios_are_planted_with_their_people_and_places(folder: Path) -> None:
    members = _truth(folder, "scenario_members.csv")
    people = {t["person_id"] for t in _truth(folder, "record_person.csv")}
    assert {m["person_id"] for m in members} <= people
    types = Counter(m["scenario_type"] for m in {m["scenario_id"]: m for m in members}.values())
    assert types["county_lines"] >= 2 and types["cse_network"] >= 2
    assert types["online"] >= 1 and types["transition"] >= 1
    roles = {(m["scenario_type"], m["role"]) for m in members}
    assert ("county_lines", "person_of_concern") in roles
    assert ("cse_network", "victim") in roles

    crimes = [r for r in _rows(folder, load_config(folder).source("police_crimes")) if "Flags" in r]
    missing = _rows(folder, load_config(folder).source("police_missing"))
    place_rows = {(r.get("LocationName"), r.get("LocationPostcode")) for r in crimes}
    place_rows |= {(r["FoundLocation"], r["FoundPostcode"]) for r in missing}
    places = _truth(folder, "scenario_places.csv")
    assert places and list(places[0]) == ["scenario_id", "place name", "postcode"]
    for place in places:
        assert (place["place name"], place["postcode"]) in place_rows, place["scenario_id"]

    assert any("CL" in r["Flags"].split(";") and r["GroupType"] == "County Line" for r in crimes)
    assert any(r["LocationType"] == "Fast Food Outlet" and "CSE" in r["Flags"] for r in crimes)
    assert any(r["LocationType"] == "Online/Cyber" and "ONL" in r["Flags"] for r in crimes)
    assert any(r["FoundPostcode"].startswith("EY") for r in missing)  # found out of area


def test_transitions_are_known_as_children_and_as_adults(folder: Path) -> None:
    members = _truth(folder, "scenario_members.csv")
    transition = {m["person_id"] for m in members if m["scenario_type"] == "transition"}
    truth = _truth(folder, "record_person.csv")
    by_person: dict[str, set[str]] = {}
    for t in truth:
        by_person.setdefault(t["person_id"], set()).add(t["source"])
    assert transition
    for pid in transition:
        assert "asc_concerns" in by_person[pid]
        assert by_person[pid] & {"wexbury_csc_assessments", "ashdown_csc"}


def test_encodings_are_as_promised(folder: Path) -> None:
    crimes = (folder / "extracts/police/crimes_incidents_20261031.csv").read_bytes()
    crimes.decode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        crimes.decode("utf-8")
    missing = (folder / "extracts/police/missing_episodes_20261031.csv").read_bytes()
    assert missing.startswith(b"\xef\xbb\xbf")
    missing.decode("utf-8")
    assert (
        not (folder / "extracts/health/ae_attendances_20261031.csv")
        .read_bytes()
        .startswith(b"\xef\xbb\xbf")
    )


def test_identifiers_have_valid_check_digits_unless_planted_bad(folder: Path) -> None:
    cfg = load_config(folder)
    bad = {
        (p["source"], p["source_record_id"], p["column"])
        for p in _truth(folder, "planted_problems.csv")
    }
    counted = Counter()
    for source in cfg.sources:
        for kind, spec in (("nhs", source.identity.nhs_number), ("upn", source.identity.upn)):
            if spec is None:
                continue
            for row in _rows(folder, source):
                value = row.get(spec.column, "").replace(" ", "")
                if not value or _filtered(source, row):
                    continue
                planted = (source.id, _record_id(source, row), spec.column) in bad
                valid = nhs_valid(value) if kind == "nhs" else upn_valid(value)
                assert valid != planted, (source.id, kind)
                counted[(kind, planted)] += 1
    assert counted[("nhs", False)] > 100 and counted[("upn", False)] > 100
    assert counted[("nhs", True)] >= 1 and counted[("upn", True)] >= 1
    problems = Counter(p["problem"] for p in _truth(folder, "planted_problems.csv"))
    assert problems["impossible_date"] >= 1


def test_records_carry_the_mess_of_real_extracts(folder: Path) -> None:
    cfg = load_config(folder)
    truth = {
        (t["source"], t["source_record_id"]): t["person_id"]
        for t in _truth(folder, "record_person.csv")
    }
    source = cfg.source("police_crimes")
    forenames: dict[str, set[str]] = {}
    nominals: dict[str, set[str]] = {}
    for row in _rows(folder, source):
        pid = truth.get(("police_crimes", row["InvolvementID"]))
        if pid:
            forenames.setdefault(pid, set()).add(row["Forename"])
            nominals.setdefault(pid, set()).add(row.get("NominalID", ""))
    assert any(len(v) > 1 for v in forenames.values())  # nicknames, typos, swaps
    assert any(len(v) > 1 for v in nominals.values())  # duplicate registrations


def test_refuses_unrelated_non_empty_folder_and_too_few_people(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="not empty"):
        generate(tmp_path, people=60, seed=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    with pytest.raises(ConfigError, match="at least 50"):
        generate(tmp_path / "new", people=49, seed=1)


def test_regenerates_over_its_own_output(tmp_path: Path) -> None:
    first = generate(tmp_path / "p", people=60, seed=1)
    second = generate(tmp_path / "p", people=70, seed=2)
    assert second.people == 70 and first.total_records != second.total_records
    rows = (tmp_path / "p/truth/record_person.csv").read_text(encoding="utf-8").count("\n") - 1
    tests = sum(
        1 for p in _truth(tmp_path / "p", "planted_problems.csv") if p["effect"] == "filtered"
    )
    assert rows + tests == second.total_records
