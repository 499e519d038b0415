"""Geography as partnerships receive it (issue 13, item 3).

Each case is a small file made here: a postcode directory cut with ONSPD's column names,
an areas CSV with parents and centroids, a population file by single year of age in long
form, a column that is not in its file (the exact message, from ``check`` and from the
build alike), and a partnership with no geography, whose figures say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from joinedup.config import load_config
from joinedup.errors import SourceError
from joinedup.insight import overview_figures
from joinedup.pipeline import build
from joinedup.pipeline.check import check_partnership
from joinedup.pipeline.geography import read_geography
from joinedup.release import current_release_id
from joinedup.release.schema import create_schema_sql
from joinedup.sources.parsers import install_macros
from joinedup.views.release import release_facts

OLD_GEOGRAPHY = "geography:\n  postcodes: geography/postcodes.csv\n"

# ONSPD's own names; one postcode has no grid reference (99.999999), one is not a postcode
ONSPD = """\
pcd7,pcds,doterm,oslaua,osward,lsoa21,lat,long
WX1 2AB,WX1 2AB,,XA0000001,XW001,XS001,51.500000,-1.200000
WX1 3AB,WX1 3AB,,XA0000001,XW001,XS001,51.510000,-1.210000
WX2 1AB,WX2 1AB,,XA0000001,XW002,XS002,99.999999,0.000000
QY1 1AB,QY1 1AB,,XA0000002,XW003,XS003,51.400000,-1.300000
QY1 2AB,QY1 2AB,,XA0000002,XW003,XS003,51.410000,-1.310000
NOTAPC,not a postcode,,XA0000002,XW003,XS003,51.4,-1.3
"""
ONSPD_YAML = """\
geography:
  postcodes:
    file: geography/onspd.csv
    columns:
      {postcode: pcds, small_area: lsoa21, ward: osward, authority: oslaua, lat: lat, lon: long}
"""

AREAS = """\
code,name,type,parent,lat,long
XA0000001,Northtown,LAD,,51.55,-1.15
XA0000002,Southtown,LAD,,51.40,-1.30
XW001,North Ward,WD,XA0000001,51.5,-1.2
XW002,"Quay, East",WD,XA0000001,51.6,-1.1
XW003,South Ward,WD,XA0000002,51.4,-1.3
XS001,North 001A,LSOA,XW001,51.50,-1.20
XS002,North 002A,LSOA,XW002,51.60,-1.10
XS003,South 001A,LSOA,XW003,,
E12000001,A region,RGN,,54.9,-1.9
"""
AREAS_YAML = """\
geography:
  postcodes: geography/postcodes.csv
  areas:
    file: geography/areas.csv
    columns: {lon: long}
    types: {LAD: authority, WD: ward, LSOA: small_area, RGN: ""}
"""

POPULATION = """\
LSOA code,Sex,Age,Ethnic group,Count
XS001,2,0,White British,10
XS001,1,0,White British,12
XS001,2,17,Asian,3
XS001,1,90+,Any other,"1,002"
XS001,2,All ages,White British,999
XS002,0,5,White British,40
"""
POPULATION_YAML = """\
  population:
    file: geography/population.csv
    columns: {area: LSOA code, sex: Sex, age: Age, ethnicity: Ethnic group, count: Count}
    sex_codes: {1: M, 2: F, 0: ""}
    ethnicity_groups: {White British: White}
"""


def use_geography(mini: Path, block: str, files: dict[str, str]) -> None:
    """Replace mini's geography section with ``block`` and write ``files``."""
    cfg = mini / "partnership.yaml"
    text = cfg.read_text(encoding="utf-8")
    assert OLD_GEOGRAPHY in text
    cfg.write_text(text.replace(OLD_GEOGRAPHY, block), encoding="utf-8")
    for name, body in files.items():
        (mini / "geography" / name).write_text(body, encoding="utf-8")


def read(mini: Path) -> tuple[duckdb.DuckDBPyConnection, object]:
    """The geography read into an empty release schema, as the build reads it."""
    con = duckdb.connect()
    for sql in create_schema_sql():
        con.execute(sql)
    install_macros(con)
    rep = read_geography(con, load_config(mini), mini, groups=frozenset({"White", "Asian"}))
    return con, rep


def test_onspd_cut_with_its_own_column_names(mini: Path) -> None:
    use_geography(mini, ONSPD_YAML, {"onspd.csv": ONSPD})
    con, rep = read(mini)
    assert rep.problems == []
    assert con.execute("SELECT * FROM postcode_lookup ORDER BY postcode").fetchall() == [
        ("QY1 1AB", "XS003", "XW003", "XA0000002", 51.4, -1.3),
        ("QY1 2AB", "XS003", "XW003", "XA0000002", 51.41, -1.31),
        ("WX1 2AB", "XS001", "XW001", "XA0000001", 51.5, -1.2),
        ("WX1 3AB", "XS001", "XW001", "XA0000001", 51.51, -1.21),
        ("WX2 1AB", "XS002", "XW002", "XA0000001", None, None),  # 99.999999: no grid ref
    ]
    assert rep.postcodes == 5 and rep.placed == 5 and rep.unplaced is None
    assert rep.notes == [
        "  geography/onspd.csv: 1 row(s) whose pcds is not a full postcode are left out"
    ]
    # the build places people and places by it: no one with a directory postcode is lost
    with build(mini).release.connect() as con:
        places = con.execute(
            "SELECT postcode, ward, authority FROM place ORDER BY postcode"
        ).fetchall()
        info = dict(con.execute("SELECT key, value FROM release_info").fetchall())
    assert ("WX1 3AB", "XW001", "XA0000001") in places
    assert ("QY1 2AB", "XW003", "XA0000002") in places
    assert info["geography"] == (
        "postcode directory geography/onspd.csv: 5 postcodes, 5 placed in an authority; "
        "no population, so no rates per resident"
    )
    assert "geography_unplaced" not in info


def test_areas_csv_with_parents_and_centroids(mini: Path) -> None:
    use_geography(mini, AREAS_YAML, {"areas.csv": AREAS})
    con, rep = read(mini)
    assert rep.problems == []
    rows = con.execute("SELECT * FROM area ORDER BY area_code").fetchall()
    assert [r[:4] for r in rows] == [
        ("XA0000001", "Northtown", "authority", None),
        ("XA0000002", "Southtown", "authority", None),
        ("XS001", "North 001A", "small_area", "XW001"),
        ("XS002", "North 002A", "small_area", "XW002"),
        ("XS003", "South 001A", "small_area", "XW003"),
        ("XW001", "North Ward", "ward", "XA0000001"),
        ("XW002", "Quay, East", "ward", "XA0000001"),
        ("XW003", "South Ward", "ward", "XA0000002"),
    ]  # the region is left out ("" in types)
    shapes = {r[0]: r[4] for r in rows}
    assert json.loads(shapes["XS001"]) == {"type": "Point", "coordinates": [-1.2, 51.5]}
    assert shapes["XS003"] is None  # no centroid given
    # the old-style directory (small areas only) reaches wards and authorities by parents
    assert con.execute(
        "SELECT postcode, ward, authority FROM postcode_lookup ORDER BY postcode"
    ).fetchall() == [
        ("QY1 1AB", "XW003", "XA0000002"),
        ("QY1 2AB", "XW003", "XA0000002"),
        ("WX1 2AB", "XW001", "XA0000001"),
        ("WX1 3AB", "XW001", "XA0000001"),
        ("WX2 1AB", "XW002", "XA0000001"),
    ]
    assert rep.areas == {"authority": 2, "ward": 3, "small_area": 3}


def test_areas_with_unknown_types_are_refused_with_the_types_listed(mini: Path) -> None:
    use_geography(mini, AREAS_YAML.replace(', RGN: ""', ""), {"areas.csv": AREAS})
    _, rep = read(mini)
    assert [str(p) for p in rep.problems] == [
        "geography.areas.types: column 'type' of geography/areas.csv holds area types "
        "joinedup does not know: 'RGN'; map each under geography.areas.types to authority, "
        'ward or small_area (or "" to leave such areas out), e.g. '
        "{LAD: authority, WD: ward, LSOA: small_area}"
    ]


def test_population_single_year_of_age_long_form(mini: Path) -> None:
    use_geography(mini, OLD_GEOGRAPHY + POPULATION_YAML, {"population.csv": POPULATION})
    con, rep = read(mini)
    assert rep.problems == []
    assert con.execute("SELECT * FROM population ORDER BY area_code, age, sex").fetchall() == [
        ("XS001", 0, "F", "White", 10),
        ("XS001", 0, "M", "White", 12),
        ("XS001", 17, "F", "Asian", 3),
        ("XS001", 90, "M", "Any other", 1002),
    ]  # "All ages" is not a single year; sex code 0 (all persons) is left out as asked
    assert rep.residents == 1027
    assert rep.notes == [
        "  geography/postcodes.csv: 5 of 5 postcodes are in no authority (name the "
        "directory's authority column under geography.postcodes.columns.authority, or give "
        "areas whose parents lead to one)",
        "  geography/population.csv: 1 row(s) whose Age is not a single year of age are left "
        "out (e.g. 'All ages')",
        "  geography/population.csv: ethnic groups not among those people are counted in "
        "(Asian, White): 'Any other'; map them under geography.population.ethnicity_groups, "
        "or rates by ethnic group leave them out",
    ]


def test_population_sex_codes_are_never_guessed(mini: Path) -> None:
    yaml = POPULATION_YAML.replace('    sex_codes: {1: M, 2: F, 0: ""}\n', "")
    use_geography(mini, OLD_GEOGRAPHY + yaml, {"population.csv": POPULATION})
    _, rep = read(mini)
    assert [str(p) for p in rep.problems] == [
        "geography.population.sex_codes: column 'Sex' of geography/population.csv holds sex "
        "codes joinedup does not know: '0', '1', '2'; map each under "
        'geography.population.sex_codes to F or M (or "" to leave such rows out, e.g. '
        'totals), e.g. {"1": M, "2": F}'
    ]


MISSING = [
    (
        ONSPD_YAML.replace("postcode: pcds", "postcode: pcd"),
        {"onspd.csv": ONSPD},
        "geography.postcodes.columns.postcode: column 'pcd' is not in geography/onspd.csv; "
        "columns in the file: doterm, lat, long, lsoa21, oslaua, osward, pcd7, pcds. Name "
        "the file's column under geography.postcodes.columns.postcode in partnership.yaml",
    ),
    (
        AREAS_YAML.replace("{lon: long}", "{lon: lng}"),
        {"areas.csv": AREAS},
        "geography.areas.columns.lon: column 'lng' is not in geography/areas.csv; columns in "
        "the file: code, lat, long, name, parent, type. Name the file's column under "
        "geography.areas.columns.lon in partnership.yaml",
    ),
    (
        OLD_GEOGRAPHY + POPULATION_YAML.replace("count: Count", "count: Persons"),
        {"population.csv": POPULATION},
        "geography.population.columns.count: column 'Persons' is not in "
        "geography/population.csv; columns in the file: Age, Count, Ethnic group, LSOA code, "
        "Sex. Name the file's column under geography.population.columns.count in "
        "partnership.yaml",
    ),
    (  # today's defaults against a file with ONSPD's names
        "geography:\n  postcodes: geography/onspd.csv\n",
        {"onspd.csv": ONSPD},
        "geography.postcodes.columns.postcode: column 'postcode' is not in "
        "geography/onspd.csv; columns in the file: doterm, lat, long, lsoa21, oslaua, "
        "osward, pcd7, pcds. Name the file's column under "
        "geography.postcodes.columns.postcode in partnership.yaml",
    ),
]


@pytest.mark.parametrize("block,files,message", MISSING, ids=["onspd", "areas", "pop", "old"])
def test_a_missing_column_is_named_by_check_and_build_alike(
    mini: Path, block: str, files: dict[str, str], message: str
) -> None:
    use_geography(mini, block, files)
    with pytest.raises(SourceError) as checked:
        check_partnership(mini)
    assert [str(p) for p in checked.value.problems] == [message]
    with pytest.raises(SourceError) as built:
        build(mini)
    assert [str(p) for p in built.value.problems] == [message]
    assert str(built.value).startswith("1 problem(s) with the geography files; nothing was")
    assert "BinderException" not in str(built.value)
    assert current_release_id(mini) is None
    assert not list((mini / "releases").glob(".building-*"))


def test_no_geography_figures_say_so(mini: Path) -> None:
    use_geography(mini, "", {})
    lines = check_partnership(mini)
    assert lines[1] == (
        "geography: none: partnership.yaml names no postcode directory, areas or population "
        "(geography), so no one is placed in an area"
    )
    assert lines[2] == (
        "  warning: geography: no geography configured, so no person or place is placed in "
        'an authority and figures by area say "Not known — no geography configured"; name a '
        "postcode directory under geography.postcodes (see docs/geography.md)"
    )
    with build(mini).release.connect() as con:
        info = dict(con.execute("SELECT key, value FROM release_info").fetchall())
        ov = overview_figures(con)
        facts = release_facts(con)  # what the pages show beside every figure
        placed = con.execute("SELECT count(home_authority) FROM person").fetchone()
    assert info["geography_unplaced"] == "no geography configured"
    assert info["geography"].startswith("none: partnership.yaml names no postcode directory")
    assert placed == (0,)
    assert facts["geography_unplaced"] == "no geography configured"
    assert facts["geography"] == info["geography"]
    # one column, saying why, holding everyone: never a zero in each authority
    table = ov.concerns
    assert [(a.code, a.name) for a in table.authorities] == [
        (None, "Not known — no geography configured")
    ]
    assert table.total > 0 and table.by_authority == {None: table.total}


def test_todays_plain_paths_keep_working(mini: Path) -> None:
    cfg = load_config(mini)
    assert cfg.geography.postcodes is not None
    assert cfg.geography.postcodes.file == "geography/postcodes.csv"
    assert cfg.geography.postcodes.columns.postcode == "postcode"
    con, rep = read(mini)
    assert rep.problems == [] and rep.postcodes == 5
    assert rep.unplaced == "the geography places no postcode in an authority"
    assert con.execute(
        "SELECT count(*) FROM postcode_lookup WHERE small_area = 'XS001'"
    ).fetchone() == (2,)
