"""Exports: protected tables to CSV, Excel, Parquet, GeoJSON and i2 entity/link CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from conftest import build_insight_release
from joinedup.disclosure import Tier
from joinedup.export import export_overview
from joinedup.present.files import area_boundaries
from joinedup.present.i2 import I2_COLUMNS, links_csv, network_links, table_links
from joinedup.present.tables import Column, ProtectedTable, answer_table, overview_tables
from joinedup.present.writers import neutralise, to_csv, to_geojson, to_parquet, to_xlsx
from joinedup.views import current_overview

# A protected overview as joinedup.disclosure returns it (strategic tier).
PROTECTED = {
    "tier": "strategic",
    "release": {
        "release_id": "R1",
        "built_at": "2026-10-31T12:00:00Z",
        "partnership": "Test",
        "reference_date": "2026-10-31",
    },
    "disclosure": {"threshold": 5, "rounding_base": None, "suppressed": "c", "footnote": "FOOT"},
    "sources": [
        {
            "source": "police_crimes",
            "agency": "police",
            "dataset": '=HYPERLINK("http://x")',
            "rows_read": 10,
            "rows_loaded": 9,
            "rows_quarantined": 1,
            "extracted_at": "2026-10-01",
        }
    ],
    "persons": {"all": 107, "children": 60, "young_adults": "c"},
    "concerns": {
        "authorities": [{"code": "E1", "name": "Northby"}, {"code": "E2", "name": "Southam"}],
        "rows": [
            {"group": "CSE", "cells": [12, "c"], "total": 15},
            {"group": "Online", "cells": [0, 7], "total": 7},
        ],
        "totals": [12, 10],
        "total": 22,
    },
}


def by_name(tables):
    return {t.name: t for t in tables}


def test_overview_tables_lay_out_the_protected_figures_unchanged():
    tables = by_name(overview_tables(PROTECTED))
    assert set(tables) == {
        "release",
        "people",
        "concerns_by_type",
        "concerns_by_authority",
        "sources",
    }
    wide = tables["concerns_by_type"]
    assert wide.labels == ["Type of exploitation", "Northby", "Southam", "All areas"]
    assert wide.rows[0] == ("CSE", 12, "c", 15)
    assert wide.rows[-1][1:] == (12, 10, 22)
    long = tables["concerns_by_authority"]
    assert long.area_column == "area_code"
    assert long.records()[1] == {
        "area_code": "E2",
        "area_name": "Southam",
        "cse": "c",
        "online": 7,
        "all_types": 10,
    }
    assert tables["people"].column("people") == [107, 60, "c"]
    assert all(
        "FOOT" in t.notes for t in tables.values() if t.name != "release" and t.name != "sources"
    )


def test_a_protected_table_refuses_a_figure_that_is_not_a_protected_count():
    with pytest.raises(ValueError, match="not a protected count"):
        ProtectedTable("t", "T", (Column("n", "N", "count"),), ((3.5,),), "strategic", "R1")
    with pytest.raises(ValueError, match="has 2 cells"):
        ProtectedTable("t", "T", (Column("n", "N", "count"),), ((1, 2),), "strategic", "R1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44 1234", "'+44 1234"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("|cmd", "'|cmd"),
        ("Northby", "Northby"),
        (-2, -2),
        ("c", "c"),
    ],
)
def test_neutralise_formula_injection(value, expected):
    assert neutralise(value) == expected


def test_csv_is_utf8_with_formulas_neutralised_and_c_kept():
    t = by_name(overview_tables(PROTECTED))
    rows = list(csv.reader(io.StringIO(to_csv(t["sources"]))))
    assert rows[0][0] == "Source"
    assert rows[1][2] == '\'=HYPERLINK("http://x")'
    rows = list(csv.reader(io.StringIO(to_csv(t["concerns_by_type"]))))
    assert rows[1] == ["CSE", "12", "c", "15"]


def test_excel_has_a_sheet_per_table_no_merged_cells_and_c_for_suppressed(tmp_path):
    path = to_xlsx(overview_tables(PROTECTED), tmp_path / "o.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == [
        "release",
        "people",
        "concerns_by_type",
        "concerns_by_authority",
        "sources",
        "Notes",
    ]
    for ws in wb.worksheets:
        assert not ws.merged_cells.ranges
    ws = wb["concerns_by_type"]
    assert [c.value for c in ws[2]] == ["CSE", 12, "c", 15]
    assert isinstance(ws["B2"].value, int)
    assert ws["C2"].value == "c"
    assert ws.tables  # an Excel table that Power Query picks up
    assert wb["sources"]["C2"].value.startswith("'=")
    notes = [[c.value for c in r] for r in wb["Notes"].iter_rows(min_row=2)]
    assert notes[1][:4] == ["people", "People in the release", "strategic", "R1"]
    assert "FOOT" in notes[1][4]


def test_parquet_keeps_types_and_flags_suppressed_counts(tmp_path):
    t = by_name(overview_tables(PROTECTED))["concerns_by_type"]
    table = pq.read_table(to_parquet(t, tmp_path / "t.parquet"))
    assert table.column("E1").to_pylist() == [12, 0, 12]
    assert table.column("E2").to_pylist() == [None, 7, 10]
    assert table.column("E2_suppressed").to_pylist() == [True, False, False]
    meta = table.schema.metadata
    assert meta[b"joinedup.tier"] == b"strategic"
    assert json.loads(meta[b"joinedup.notes"]) == ["FOOT"]


def test_geojson_joins_areas_to_boundaries_by_code_or_name():
    t = by_name(overview_tables(PROTECTED))["concerns_by_authority"]
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    boundaries = {
        "E1": {"name": "Northby", "type": "authority", "geometry": square},
        "X9": {"name": "Southam", "type": "authority", "geometry": square},
    }
    doc = to_geojson(t, boundaries)
    assert [f["properties"]["area_code"] for f in doc["features"]] == ["E1", "X9"]
    assert doc["features"][1]["properties"]["cse"] == "c"
    assert doc["features"][0]["geometry"] == square
    assert doc["joinedup"]["unmatched_rows"] == 0
    doc = to_geojson(t, {"E1": boundaries["E1"]})
    assert doc["joinedup"]["unmatched_rows"] == 1


def test_i2_links_from_a_table_skip_zeros_and_keep_c():
    t = by_name(overview_tables(PROTECTED))["concerns_by_authority"]
    links = table_links(
        t,
        from_column="area_code",
        label_column="area_name",
        from_type="Area",
        to_type="Exploitation type",
        to_columns=["cse", "online"],
    )
    rows = list(csv.reader(io.StringIO(links_csv(links))))
    assert tuple(rows[0]) == I2_COLUMNS
    # Northby: CSE 12, Online 0 (no link); Southam: CSE c, Online 7.
    assert [(r[1], r[4], r[8]) for r in rows[1:]] == [
        ("area:E1", "12", "exploitation_type:cse"),
        ("area:E2", "c", "exploitation_type:cse"),
        ("area:E2", "7", "exploitation_type:online"),
    ]


def test_i2_network_links_refuse_unknown_nodes():
    nodes = [("P-1a2b", "Person", "P-1a2b"), ("PL-9", "Place", "Takeaway, WX1")]
    links = network_links(nodes, [("P-1a2b", "PL-9", "seen at", "2026-03-10")])
    assert links[0].to_label == "Takeaway, WX1" and links[0].date == "2026-03-10"
    with pytest.raises(ValueError, match="not in it"):
        network_links(nodes, [("P-1a2b", "P-unknown", "associate", "")])


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet", "geojson", "i2"])
def test_export_overview_of_a_built_partnership(synth_built, tmp_path, fmt):
    paths = export_overview(synth_built, fmt, tmp_path / fmt, tier=Tier.STRATEGIC)
    assert paths and all(p.stat().st_size > 0 for p in paths)
    protected = current_overview(synth_built, Tier.STRATEGIC)
    if fmt == "geojson":
        (path,) = paths
        doc = json.loads(path.read_text())
        # every authority with a boundary; "Not known" (no code) has no shape to draw
        codes = {a["code"] for a in protected["concerns"]["authorities"] if a["code"]}
        assert {f["properties"]["area_code"] for f in doc["features"]} == codes
        assert all(f["geometry"]["type"] == "Polygon" for f in doc["features"])
        assert set(area_boundaries(synth_built)) >= codes
    if fmt == "csv":
        text = (tmp_path / "csv" / "concerns_by_type.csv").read_bytes()
        assert text.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
        rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
        last = protected["concerns"]["total"]
        assert rows[-1][-1] == str(last)


def test_community_tier_exports_only_what_the_community_tier_sees(synth_built, tmp_path):
    (path,) = export_overview(synth_built, "xlsx", tmp_path / "c.xlsx", tier=Tier.COMMUNITY)
    wb = load_workbook(path)
    assert "sources" not in wb.sheetnames and "concerns_by_type" not in wb.sheetnames
    protected = current_overview(synth_built, Tier.COMMUNITY)
    ws = wb["concerns_by_authority"]
    assert [r[2].value for r in ws.iter_rows(min_row=2)] == protected["areas"][
        "persons_with_concern"
    ]


def test_a_question_answer_plugs_in_as_a_protected_table(tmp_path):
    from joinedup.views.questions import current_answer

    db = build_insight_release(tmp_path / "r.duckdb")

    class Handle:
        release_id = "R-TEST"

        def connect(self):
            return duckdb.connect(str(db), read_only=True)

    answer = current_answer(
        tmp_path, "children_with_concern", by="exploitation_type", open_release=lambda _: Handle()
    )
    t = answer_table(answer)
    assert t.name == "children_with_concern_exploitation_type"
    assert t.labels[:2] == ["Type of exploitation", "Children"]
    assert [r[1] for r in t.rows] == [r["count"] for r in answer["rows"]]
    assert any("linked into one person" in n for n in t.notes)
    rows = list(csv.reader(io.StringIO(to_csv(t))))
    assert len(rows) == len(answer["rows"]) + 1


def test_export_never_opens_a_release_itself():
    src = Path(__file__).parent.parent / "src" / "joinedup" / "export"
    for path in src.glob("*.py"):
        text = path.read_text()
        assert "from joinedup.release" not in text and "import duckdb" not in text, path.name
