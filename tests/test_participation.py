"""Participation data (issue 20, item 2): what children and young people say in surveys and
mapping exercises, read into the release, placed in wards, and shown as the places page's
"where children feel unsafe" layer, protected at each tier.

The import is checked on hand-made files against a hand-made geography; the layer on the
400-person synthetic partnership against its truth (truth/participation_wards.csv).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
import yaml
from fastapi.testclient import TestClient
from openpyxl import Workbook

from conftest import sign_in
from joinedup.config import load_config
from joinedup.config.participation import ParticipationSource
from joinedup.disclosure import SUPPRESSED, Tier, policy_for
from joinedup.errors import ConfigError, SourceError
from joinedup.pipeline.participation import load_participation, parse_period
from joinedup.release import create_schema_sql
from joinedup.sources.participation import identifying_columns
from joinedup.views.participation import current_participation
from joinedup.web import create_app

# --- hand-made: a geography of two wards, one small area, one recorded place ---------

SURVEY = """\
Age group,Place,Postcode,Ward code,Where is it?,How safe do you feel there?,What would help?,Date
11-13,Chicken Palace,,,,Very unsafe,More adults about,2026-09-01
14-15,the park,wx1  2ab,,,unsafe,Tell Amelie's mum to call 07700 900123,02/09/2026
14-15,the bus stop,,XW2,,Safe,,2026-09-03
16-17,the shops,,,the shops near Brook Vale,not sure,,2026-09-04
16-17,online,,,,unsafe,,2026-09-05
11-13,the park,WX1 2AB,,,Unsafe,,31/02/2026
11-13,the park,WX1 2AB,,,Safe,,
"""

IDENTIFYING = """\
First name,Date of birth,Place name,How safe do you feel there?,Date
Amelie,03/04/2010,Chicken Palace,unsafe,2026-09-01
"""


def _participation_yaml(collected: str | None = None) -> list[dict[str, object]]:
    survey: dict[str, object] = {
        "id": "survey",
        "title": "Hand-made survey",
        "kind": "individual",
        "agency": "police",
        "sharing_agreement": "isa",
        "file": "extracts/participation/survey.csv",
        "columns": {
            "age_band": "Age group",
            "place": "Place",
            "postcode": "Postcode",
            "area_code": "Ward code",
            "location": "Where is it?",
            "feeling": "How safe do you feel there?",
            "what_helps": "What would help?",
            "date": "Date",
        },
    }
    if collected:
        survey["collected"] = collected
    table = {
        "id": "mapping",
        "title": "Hand-made mapping exercise",
        "kind": "aggregate",
        "agency": "police",
        "sharing_agreement": "isa",
        "file": "extracts/participation/mapping.xlsx",
        "format": "xlsx",
        "columns": {
            "area_code": "Area",
            "place_type": "Type of place",
            "responses": "Taking part",
            "unsafe": "Unsafe",
            "period": "When",
        },
    }
    return [survey, table]


def _write_mapping(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["Area", "Type of place", "Taking part", "Unsafe", "When"])
    ws.append(["XW1", "Park", 20, 12, "2026-03"])  # a ward
    ws.append(["xs001", "Shops", "8", "2", "2026"])  # a small area, in ward XW1
    ws.append(["XW2", "Bus station", 10, 1, "2026-01-01 to 2026-03-31"])
    ws.append(["XW2", "Park", "ten", 1, "2026-03"])  # set aside: not a number
    ws.append(["XW1", "Park", 3, 4, "2026-03"])  # set aside: more unsafe than responded
    ws.append(["ZZ9", "Park", 5, 0, "2026-03"])  # an unknown area: kept, not placed
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def _hand_made(root: Path, survey: str = SURVEY) -> SimpleNamespace:
    """A release database with the geography, a recorded place and a known name, and the
    partnership folder holding the survey and the mapping table; the build context the
    stage needs."""
    (root / "extracts" / "participation").mkdir(parents=True)
    (root / "extracts" / "participation" / "survey.csv").write_text(survey, encoding="utf-8")
    _write_mapping(root / "extracts" / "participation" / "mapping.xlsx")
    data = yaml.safe_load(_mini_yaml())
    data["participation"] = _participation_yaml()
    from joinedup.config.model import PartnershipConfig

    config = PartnershipConfig.model_validate(data)
    con = duckdb.connect(str(root / "release.duckdb"))
    for sql in create_schema_sql():
        con.execute(sql)
    con.executemany(
        "INSERT INTO area (area_code, area_name, area_type, parent_code) VALUES (?, ?, ?, ?)",
        [
            ("XA1", "Northtown", "authority", None),
            ("XW1", "Millbrook", "ward", "XA1"),
            ("XW2", "Brook Vale", "ward", "XA1"),
            ("XS001", "Northtown 001A", "small_area", "XW1"),
        ],
    )
    con.execute(
        "INSERT INTO postcode_lookup (postcode, small_area, ward, authority) "
        "VALUES ('WX1 2AB', 'XS001', 'XW1', 'XA1')"
    )
    con.execute(
        "INSERT INTO place (place_id, name, postcode, small_area, ward, authority) "
        "VALUES ('p1', 'Chicken Palace', 'WX1 3AB', 'XS001', 'XW1', 'XA1')"
    )
    con.execute(
        "INSERT INTO identity (source, source_record_id, forename, surname) "
        "VALUES ('s', '1', 'Amelie', 'Smith')"
    )
    return SimpleNamespace(con=con, config=config, partnership_dir=root, progress=lambda *a: None)


def _mini_yaml() -> str:
    return """\
partnership: {name: Hand-made}
authorities: [{code: XA1, name: Northtown}]
agencies: [{id: police, name: Police, type: police}]
sharing_agreements: [{key: isa, title: Agreement, tiers: [operational, strategic]}]
sources:
  - {id: crimes, agency: police, dataset: Crimes, file: x.csv, format: csv,
     sharing_agreement: isa, record: {id: Id}}
"""


def test_import_individual_and_aggregate(tmp_path: Path) -> None:
    ctx = _hand_made(tmp_path)
    load_participation(ctx)  # type: ignore[arg-type]
    con = ctx.con
    rows = con.execute(
        "SELECT row_number, age_band, place_name, postcode, small_area, ward, authority, "
        "placed_by, feeling, what_helps, redactions, response_date "
        "FROM participation_response ORDER BY row_number"
    ).fetchall()
    d = dt.date
    assert rows == [
        (2, "11-13", "Chicken Palace", None, "XS001", "XW1", "XA1", "place", "unsafe")
        + ("More adults about", 0, d(2026, 9, 1)),
        (3, "14-15", "the park", "WX1 2AB", "XS001", "XW1", "XA1", "postcode", "unsafe")
        + ("Tell [name]'s mum to call [phone]", 2, d(2026, 9, 2)),
        (4, "14-15", "the bus stop", None, None, "XW2", "XA1", "area_code", "safe")
        + (None, 0, d(2026, 9, 3)),
        (5, "16-17", "the shops", None, None, "XW2", "XA1", "location", "not_known")
        + (None, 0, d(2026, 9, 4)),
        (6, "16-17", "online", None, None, None, None, None, "unsafe", None, 0, d(2026, 9, 5)),
    ]
    # rows 7 (31 February) and 8 (no date, no 'collected:') are set aside, naming the column
    aside = con.execute(
        "SELECT source, file, row_number, column_name, problem, reason FROM quarantine "
        "ORDER BY source, row_number"
    ).fetchall()
    assert [(a[0], a[2], a[3], a[4]) for a in aside] == [
        ("mapping", 5, "Taking part", "bad_count"),
        ("mapping", 6, "Unsafe", "bad_count"),
        ("survey", 7, "Date", "bad_date"),
        ("survey", 8, "Date", "blank_date"),
    ]
    assert all("2026" not in a[5] for a in aside)  # never the value
    areas = con.execute(
        "SELECT row_number, area_code, small_area, ward, authority, place_type, responses, "
        "unsafe, period_start, period_end FROM participation_area ORDER BY row_number"
    ).fetchall()
    assert areas == [
        (2, "XW1", None, "XW1", "XA1", "Park", 20, 12, d(2026, 3, 1), d(2026, 3, 31)),
        (3, "XS001", "XS001", "XW1", "XA1", "Shops", 8, 2, d(2026, 1, 1), d(2026, 12, 31)),
        (4, "XW2", None, "XW2", "XA1", "Bus station", 10, 1, d(2026, 1, 1), d(2026, 3, 31)),
        (7, "ZZ9", None, None, None, "Park", 5, 0, d(2026, 3, 1), d(2026, 3, 31)),
    ]
    counts = con.execute(
        "SELECT ward, sum(responses), sum(unsafe) FROM participation_count GROUP BY 1 "
        "ORDER BY 1 NULLS LAST"
    ).fetchall()
    assert counts == [("XW1", 30, 16), ("XW2", 12, 1), (None, 6, 1)]
    sources = con.execute(
        "SELECT participation, kind, rows_read, rows_set_aside, responses, unplaced "
        "FROM participation_source ORDER BY 1"
    ).fetchall()
    assert sources == [("mapping", "aggregate", 6, 2, 43, 5), ("survey", "individual", 7, 2, 5, 1)]


def test_collected_date_fills_a_blank_one(tmp_path: Path) -> None:
    ctx = _hand_made(tmp_path)
    data = ctx.config.model_dump(by_alias=True)
    data["participation"] = _participation_yaml(collected="2026-09-30")
    ctx.config = type(ctx.config).model_validate(data)
    load_participation(ctx)
    got = ctx.con.execute(
        "SELECT response_date FROM participation_response WHERE row_number = 8"
    ).fetchone()
    assert got == (dt.date(2026, 9, 30),)


def test_identifying_columns_are_refused(tmp_path: Path) -> None:
    ctx = _hand_made(tmp_path, survey=IDENTIFYING)
    data = ctx.config.model_dump(by_alias=True)
    survey = _participation_yaml()[0]
    survey["columns"] = {
        "place": "Place name",
        "feeling": "How safe do you feel there?",
        "date": "Date",
    }
    data["participation"] = [survey]
    ctx.config = type(ctx.config).model_validate(data)
    with pytest.raises(SourceError) as info:
        load_participation(ctx)
    text = str(info.value)
    assert "extracts/participation/survey.csv (Hand-made survey) was refused" in text
    assert "column 'First name': looks like a name" in text
    assert "column 'Date of birth': looks like a date of birth" in text
    assert "Place name" not in text  # a place's name is not an identifier
    assert "Amelie" not in text and "03/04/2010" not in text  # never a value
    assert ctx.con.execute("SELECT count(*) FROM participation_response").fetchone() == (0,)


@pytest.mark.parametrize(
    ("header", "refused"),
    [
        ("Name", True),
        ("Child's name", True),
        ("Respondent name", True),
        ("DOB", True),
        ("Birth date", True),
        ("NHS number", True),
        ("E-mail", True),
        ("Home postcode", True),
        ("Place name", False),
        ("Name of the place", False),
        ("School name", False),
        ("Postcode", False),
        ("Ward name", False),
        ("Date", False),
    ],
)
def test_identifying_headers(header: str, refused: bool) -> None:
    assert bool(identifying_columns([header])) is refused


def test_periods() -> None:
    d = dt.date
    assert parse_period("2026") == (d(2026, 1, 1), d(2026, 12, 31))
    assert parse_period("2026-02") == (d(2026, 2, 1), d(2026, 2, 28))
    assert parse_period("03/2026") == (d(2026, 3, 1), d(2026, 3, 31))
    assert parse_period("2026-01-01 to 2026-03") == (d(2026, 1, 1), d(2026, 3, 31))
    assert parse_period("15/06/2026") == (d(2026, 6, 15), d(2026, 6, 15))
    assert parse_period("2026-05 to 2026-01") is None
    assert parse_period("summer") is None


def test_config_checks(mini: Path) -> None:
    path = mini / "partnership.yaml"
    data = yaml.safe_load(path.read_text())
    entries = _participation_yaml()
    entries[0]["agency"] = "nobody"
    entries[1]["file"] = "extracts/participation/missing.xlsx"
    entries[1]["columns"] = {"area_code": "A", "responses": "N", "unsafe": "U", "period": "P"}
    entries[1]["columns"]["feeling"] = "F"  # not a column of an aggregate table
    data["participation"] = entries
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError) as info:
        load_config(mini)
    problems = [str(p) for p in info.value.problems]
    assert any(
        p.startswith("participation[1] (mapping)")
        and "feeling do not apply to kind: aggregate" in p
        for p in problems
    ), problems
    del entries[1]["columns"]["feeling"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    (mini / "extracts" / "participation").mkdir()
    (mini / "extracts" / "participation" / "survey.csv").write_text(SURVEY, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(mini)
    problems = [str(p) for p in info.value.problems]
    assert "participation[0] (survey).agency: 'nobody' is not a declared agency" in problems[0]
    assert problems[1].startswith("participation[1] (mapping).file: no file matches")


def test_an_individual_survey_needs_a_feeling_and_a_place() -> None:
    base = {
        "id": "s",
        "title": "Survey",
        "kind": "individual",
        "agency": "a",
        "sharing_agreement": "b",
        "file": "f.csv",
        "collected": "2026-01-01",
    }
    with pytest.raises(ValueError, match="needs columns.feeling"):
        ParticipationSource.model_validate({**base, "columns": {"place": "P"}})
    with pytest.raises(ValueError, match="needs a place"):
        ParticipationSource.model_validate({**base, "columns": {"feeling": "F"}})


# --- the synthetic partnership: the layer against the truth --------------------------


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("participation") / "partnership"
    shutil.copytree(synth_built, root)
    return root


def _truth(root: Path) -> dict[str, tuple[int, int]]:
    with open(root / "truth" / "participation_wards.csv", encoding="utf-8") as fh:
        return {
            r["ward_code"] or "unknown": (int(r["responses"]), int(r["unsafe"]))
            for r in csv.DictReader(fh)
        }


def _published(data: dict) -> dict[str, tuple[object, object]]:
    out = {r["code"]: (r["responses"], r["unsafe"]) for r in data["rows"]}
    if data["unknown"] is not None:
        out["unknown"] = (data["unknown"]["responses"], data["unknown"]["unsafe"])
    return out


def test_layer_equals_truth_at_the_operational_tier(partnership: Path) -> None:
    truth = _truth(partnership)
    data = current_participation(partnership, Tier.OPERATIONAL, period="default")
    assert data["available"] and data["level"] == "ward"
    shown = _published(data)
    threshold = policy_for(Tier.OPERATIONAL).threshold
    assert set(shown) == set(truth) | {c for c in shown if truth.get(c, (0, 0)) == (0, 0)}
    for code, (responses, unsafe) in shown.items():
        want = truth.get(code, (0, 0))
        for got, true in ((responses, want[0]), (unsafe, want[1])):
            if got == SUPPRESSED:
                continue
            assert got == true, code
        if 1 <= want[1] <= threshold:
            assert unsafe == SUPPRESSED, code
    assert data["total"] == {
        "responses": sum(r for r, _ in truth.values()),
        "unsafe": sum(u for _, u in truth.values()),
    }
    # every planted place's ward is shown, with the planted responses in it
    with open(partnership / "truth" / "participation_places.csv", encoding="utf-8") as fh:
        planted = list(csv.DictReader(fh))
    assert {p["recorded"] for p in planted} == {"yes", "no"}
    for p in planted:
        unsafe = shown[p["ward_code"]][1]
        assert isinstance(unsafe, int) and unsafe >= int(p["unsafe"]), p["place"]
    # at least one of the places recorded nowhere else is in a ward the agencies record
    # no child at a place of concern: the point of children's own maps
    recorded = {r["code"]: r["recorded_children"] for r in data["rows"]}
    assert any(recorded[p["ward_code"]] == 0 for p in planted if p["recorded"] == "no")


@pytest.mark.parametrize("tier", [Tier.STRATEGIC, Tier.COMMUNITY])
def test_layer_is_protected_at_strategic_and_community(partnership: Path, tier: Tier) -> None:
    truth = _truth(partnership)
    data = current_participation(partnership, tier, period="default")
    threshold = policy_for(tier).threshold
    hidden = 0
    for code, cells in _published(data).items():
        want = truth.get(code, (0, 0))
        for got, true in zip(cells, want, strict=True):
            assert got == SUPPRESSED or got == true
            assert not (isinstance(got, int) and 1 <= got <= threshold)
            if 1 <= true <= threshold:
                assert got == SUPPRESSED
            hidden += got == SUPPRESSED
    assert hidden >= 2  # a hidden cell never stands alone
    if tier is Tier.COMMUNITY:
        assert data["disclosure"]["threshold"] == 10


def test_layer_on_request_is_rounded(partnership: Path) -> None:
    data = current_participation(
        partnership, Tier.OPERATIONAL, start="2026-01-01", end="2026-10-31"
    )
    assert data["period"]["stored"] is False
    for cells in _published(data).values():
        for v in cells:
            assert v == SUPPRESSED or v % 5 == 0


@pytest.fixture(scope="module")
def clients(partnership: Path):
    app = create_app(partnership)
    out = {}
    for role in ("panel_member", "community_viewer"):
        client = TestClient(app)
        sign_in(client, role, username=f"participation-{role}")
        out[role] = client
    yield out
    app.state.governance.close()


def test_places_page_layer_toggle(clients, partnership: Path) -> None:
    c = clients["panel_member"]
    page = c.get("/places")
    assert page.status_code == 200
    assert 'href="/places?layer=unsafe"' in page.text and 'id="unsafe-areas"' not in page.text
    page = c.get("/places?layer=unsafe&period=all")
    assert page.status_code == 200
    assert 'id="unsafe-areas"' in page.text and 'id="unsafe-map"' in page.text
    assert 'href="/places?period=all"' in page.text  # back to recorded, period kept
    assert 'name="layer" value="unsafe"' in page.text  # the form keeps the layer
    twin = c.get("/places.json?layer=unsafe&period=all").json()
    truth = _truth(partnership)
    assert twin["participation"]["total"]["responses"] == sum(r for r, _ in truth.values())
    assert "participation" not in c.get("/places.json").json()
    assert c.get("/places?layer=other").status_code == 422


def test_community_viewer_sees_the_layer_at_the_community_threshold(clients) -> None:
    twin = clients["community_viewer"].get("/places.json?layer=unsafe").json()["participation"]
    assert twin["tier"] == "community"
    for r in twin["rows"]:
        for v in (r["responses"], r["unsafe"], r["recorded_children"]):
            assert not (isinstance(v, int) and 1 <= v <= 10)


def test_community_briefing_has_the_section(clients) -> None:
    c = clients["community_viewer"]
    page = c.get("/community")
    assert page.status_code == 200
    assert 'id="community-unsafe-table"' in page.text
    data = c.get("/community.json").json()["participation"]
    assert data["tier"] == "community" and data["rows"]
    for r in data["rows"]:
        for v in (r["responses"], r["unsafe"]):
            assert not (isinstance(v, int) and 1 <= v <= 10)
