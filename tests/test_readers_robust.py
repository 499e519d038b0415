"""Reading that survives real files (issue 13 item 1; issue 11 items 3, 4 and 10).

Each case is a small file made here; each asserts what is loaded, what is set aside (row
numbers and reasons) and the exact message.
"""

from __future__ import annotations

import io
import json
import time
import tracemalloc
import zipfile
from pathlib import Path

import duckdb
import pytest

from joinedup.config.model import SourceConfig
from joinedup.errors import SourceError
from joinedup.pipeline import build
from joinedup.pipeline.check import check_partnership, check_source_file
from joinedup.sources import ReadReport, Staged, stage
from joinedup.sources.workbook import MAX_CELLS

HEADER = "Ref,Surname,DOB,Address,Postcode,Flags\n"
GOOD = [f"R{i},SMITH,01/02/2010,{i} High Street,WX1 {i % 9}AB,CSE\n" for i in range(1, 9)]

TOO_FEW = (
    "the row has {k} fields where the header has {n}; correct the row in the extract "
    "(a value may hold an unquoted line break)"
)
TOO_MANY = (
    "the row has {k} fields where the header has {n}, and no one free-text column explains "
    "the extra ones; quote values that hold a comma in the extract"
)
BAD_QUOTE = (
    "a quoted value in this row is never closed, or a quote character is stray; quote values "
    'the standard way ("a ""quoted"" word") in the extract'
)
NUL = (
    "the row holds a NUL byte (character 0), which text does not have; correct the row in "
    "the extract"
)


def source(fmt: str = "csv", **kw: object) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "id": "s",
            "agency": "a",
            "dataset": "d",
            "file": "x",
            "format": fmt,
            "sharing_agreement": "isa",
            "record": {"id": "Ref"},
            **kw,
        }
    )


def read(
    tmp: Path, text: str | bytes, name: str = "f.csv", **kw: object
) -> tuple[list[tuple[object, ...]], list[tuple[int, str, str]], ReadReport]:
    """(rows loaded as (_row, Ref, Address), rows set aside as (row, problem, reason), report)."""
    path = tmp / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    con = duckdb.connect()
    st = stage(con, path, source(name.rsplit(".", 1)[1], **kw), "raw")
    cols = [c for c in ("Ref", "Address") if c in st.columns]
    got = con.execute(f"SELECT _row, {', '.join(cols)} FROM raw ORDER BY _row").fetchall()
    assert st.report.rejects_table is not None
    rejected = con.execute(
        f'SELECT row_number, problem, reason FROM "{st.report.rejects_table}" ORDER BY 1'
    ).fetchall()
    assert st.rows == len(got) == st.report.rows_loaded
    assert st.report.rows_quarantined == len(rejected)
    return got, rejected, st.report


def refs(rows: list[tuple[object, ...]]) -> list[object]:
    return [r[1] for r in rows]


def test_unquoted_commas_in_one_free_text_column_are_joined_back(tmp_path: Path) -> None:
    bad = "R9,JONES,03/04/2011,12 High Street, Wexbury, Kent,WX2 1AB,CL\n"
    got, rejected, rep = read(tmp_path, HEADER + "".join(GOOD[:3]) + bad + "".join(GOOD[3:]))
    assert rejected == []
    assert [r[0] for r in got] == list(range(2, 11))
    assert got[3] == (5, "R9", "12 High Street, Wexbury, Kent")
    assert [(r.row, r.column, r.pieces) for r in rep.recovered] == [(5, "Address", 3)]
    assert rep.notes() == [
        "  read: 1 row(s) recovered, an unquoted delimiter inside one column joined back: "
        "row 5 (Address)"
    ]


def test_extra_fields_no_column_explains_are_set_aside(tmp_path: Path) -> None:
    # the extra field is in the date of birth's place: no free-text column explains it
    bad = "R9,JONES,03/04/2011,1 Low Road,WX2 1AB,CL,,x\n"
    got, rejected, rep = read(tmp_path, HEADER + "".join(GOOD[:3]) + bad + "".join(GOOD[3:]))
    assert refs(got) == [f"R{i}" for i in range(1, 9)]
    assert rejected == [(5, "too_many_fields", TOO_MANY.format(k=8, n=6))]
    assert rep.recovered == []


def test_trailing_empty_fields_are_dropped(tmp_path: Path) -> None:
    got, rejected, _ = read(tmp_path, HEADER + GOOD[0].replace("\n", ",,\n") + GOOD[1])
    assert refs(got) == ["R1", "R2"] and rejected == []


def test_short_row_is_set_aside_and_the_rest_loads(tmp_path: Path) -> None:
    got, rejected, rep = read(tmp_path, HEADER + GOOD[0] + "R9,JONES\n" + GOOD[1])
    assert got == [(2, "R1", "1 High Street"), (4, "R2", "2 High Street")]
    assert rejected == [(3, "too_few_fields", TOO_FEW.format(k=2, n=6))]
    assert not rep.truncated_last_row


def test_truncated_last_row_is_set_aside_and_reported(tmp_path: Path) -> None:
    got, rejected, rep = read(tmp_path, HEADER + "".join(GOOD) + "R9,JONES,03/0")
    assert refs(got) == [f"R{i}" for i in range(1, 9)]
    assert rejected == [
        (
            10,
            "truncated_row",
            "the last row is cut short (3 of 6 fields, and no line end): the file looks cut "
            "short; export it again",
        )
    ]
    assert rep.truncated_last_row and rep.ends_without_newline
    assert rep.rows_read == 9


def test_unclosed_quote_on_the_last_row_does_not_load_silently(tmp_path: Path) -> None:
    got, rejected, rep = read(tmp_path, HEADER + "".join(GOOD) + 'R9,"JONES,03/04/2011')
    assert refs(got) == [f"R{i}" for i in range(1, 9)]
    assert rejected == [
        (
            10,
            "truncated_row",
            "the last row is cut short inside a quoted value: the file looks cut short; "
            "export it again",
        )
    ]
    assert rep.truncated_last_row


def test_unclosed_quote_costs_one_row_not_the_rest_of_the_file(tmp_path: Path) -> None:
    bad = 'R9,"JONES,03/04/2011,1 Road,WX1 1AB,CL\n'
    got, rejected, _ = read(tmp_path, HEADER + "".join(GOOD[:2]) + bad + "".join(GOOD[2:]))
    assert [r[0] for r in got] == [2, 3, 5, 6, 7, 8, 9, 10]
    assert refs(got) == [f"R{i}" for i in range(1, 9)]
    assert rejected == [(4, "bad_quote", BAD_QUOTE)]


def test_stray_quote_after_a_closing_quote_is_set_aside(tmp_path: Path) -> None:
    bad = 'R9,"JONES"x,03/04/2011,1 Road,WX1 1AB,CL\n'
    got, rejected, _ = read(tmp_path, HEADER + GOOD[0] + bad + GOOD[1])
    assert refs(got) == ["R1", "R2"]
    assert rejected == [(3, "bad_quote", BAD_QUOTE)]


def test_stray_nul_sets_its_row_aside(tmp_path: Path) -> None:
    bad = "R9,JO\x00NES,03/04/2011,1 Road,WX1 1AB,CL\n"
    got, rejected, _ = read(tmp_path, HEADER + "".join(GOOD[:2]) + bad + "".join(GOOD[2:]))
    assert refs(got) == [f"R{i}" for i in range(1, 9)]
    assert rejected == [(4, "nul_byte", NUL)]


def test_mixed_line_endings_load_every_row(tmp_path: Path) -> None:
    text = HEADER.replace("\n", "\r\n") + "".join(
        g.replace("\n", "\r\n") if i % 2 else g for i, g in enumerate(GOOD)
    )
    got, rejected, _ = read(tmp_path, text)
    assert rejected == []
    assert got == [(i + 1, f"R{i}", f"{i} High Street") for i in range(1, 9)]


def test_a_quoted_line_break_is_still_one_row_on_the_slow_path(tmp_path: Path) -> None:
    # the short row sends the file down the row-by-row path; numbering must not change
    text = HEADER + 'R1,SMITH,01/02/2010,"1 High\nStreet",WX1 1AB,CSE\n' + "R9,JONES\n" + GOOD[1]
    got, rejected, _ = read(tmp_path, text)
    assert got == [(2, "R1", "1 High\nStreet"), (4, "R2", "2 High Street")]
    assert [r[:2] for r in rejected] == [(3, "too_few_fields")]


def test_a_file_mostly_unreadable_is_refused_with_the_true_cause(tmp_path: Path) -> None:
    text = HEADER + GOOD[0] + "".join(f"R{i},JONES\n" for i in range(2, 5))
    with pytest.raises(SourceError) as info:
        read(tmp_path, text)
    assert str(info.value) == (
        "f.csv: 3 of 4 rows could not be read (3 with fewer fields than the header, first "
        "on row 3), more than 50% of the file, so it is not used: the delimiter or the "
        "header row is probably wrong: check 'delimiter:' and 'header_row:' for this source "
        "in partnership.yaml, or export the file again."
    )


def test_delimiter_is_found_despite_ragged_rows(tmp_path: Path) -> None:
    # semicolons separate; commas inside values and a ragged row must not win
    rows = [g.replace(",", ";").replace("High Street", "High St, Town") for g in GOOD]
    rows[2] = "R3;SMITH;01/02/2010;3 Low Rd; Town;WX1 1AB;CSE\n"  # one field too many
    got, rejected, rep = read(tmp_path, HEADER.replace(",", ";") + "".join(rows))
    assert refs(got) == [f"R{i}" for i in range(1, 9)]
    assert got[0][2] == "1 High St, Town"
    assert rejected == [] and [(r.row, r.column) for r in rep.recovered] == [(4, "Address")]


def test_header_with_no_delimiter_says_so(tmp_path: Path) -> None:
    passwd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/bin/sh\n"
    (tmp_path / "passwd").write_text(passwd)
    src = source(identity={"surname": "Surname"})
    with pytest.raises(SourceError) as info:
        stage(duckdb.connect(), tmp_path / "passwd", src, "raw")
    assert str(info.value) == (
        "passwd: the header row (row 1) is a single column, with no comma, semicolon, tab or "
        "vertical bar between names, but the mapping reads 2 columns. Check 'file:' points "
        "at the extract and 'header_row:' at the row of column names, and set 'delimiter:' "
        "if the file uses another separator."
    )
    assert "root" not in str(info.value)


def test_folder_missing_and_binary_paths_get_true_messages(tmp_path: Path) -> None:
    con = duckdb.connect()
    (tmp_path / "extracts").mkdir()
    with pytest.raises(SourceError) as info:
        stage(con, tmp_path / "extracts", source(), "raw")
    assert str(info.value) == (
        "extracts: is a folder, not a file. Point 'file:' at the extract itself (a pattern "
        "such as extracts/police/crimes_*.csv picks the newest file)."
    )
    with pytest.raises(SourceError) as info:
        stage(con, tmp_path / "gone.csv", source(), "raw")
    assert str(info.value) == (
        f"gone.csv: the file does not exist (looked for {tmp_path / 'gone.csv'}). Check "
        "'file:' for this source in partnership.yaml, or put the extract there."
    )
    (tmp_path / "b.csv").write_bytes(bytes(range(256)) * 8)
    with pytest.raises(SourceError) as info:
        stage(con, tmp_path / "b.csv", source(), "raw")
    assert str(info.value) == (
        "b.csv: is binary data, not text; check the file is the extract and not a damaged "
        "copy (or a program's own file format)."
    )


def test_jsonl_bad_lines_are_set_aside(tmp_path: Path) -> None:
    lines = [json.dumps({"Ref": f"R{i}", "Address": f"{i} Road"}) for i in range(1, 8)]
    lines[1] = '{"Ref": "R2", "Address": '  # not JSON
    lines[2] = "[1, 2]"  # not an object
    text = "\n".join(lines) + '\n{"Ref": "R8", "Addr'
    got, rejected, rep = read(tmp_path, text, name="f.jsonl")
    assert got == [(1, "R1", "1 Road")] + [(i, f"R{i}", f"{i} Road") for i in range(4, 8)]
    assert rejected == [
        (
            2,
            "bad_json",
            "the line is not valid JSON (Expecting value at character 26); correct it in the "
            "extract",
        ),
        (
            3,
            "not_an_object",
            "the row is a list, not a JSON object; each row must be an object of column names "
            "and values",
        ),
        (
            8,
            "truncated_row",
            "the last line is cut short (not complete JSON, and no line end): the file looks "
            "cut short; export it again",
        ),
    ]
    assert rep.truncated_last_row


def test_json_array_elements_that_are_not_objects_are_set_aside(tmp_path: Path) -> None:
    text = json.dumps([{"Ref": "R1", "Address": "1 Road"}, "R2", {"Ref": "R3"}])
    got, rejected, _ = read(tmp_path, text, name="f.json")
    assert got == [(1, "R1", "1 Road"), (3, "R3", None)]
    assert [r[:2] for r in rejected] == [(2, "not_an_object")]


# --------------------------------------------------------------------------- workbooks


def _bomb(path: Path, megabytes: int) -> None:
    """An .xlsx whose one sheet is ``megabytes`` MB of repeated cells, packed very small."""
    import openpyxl

    buf = io.BytesIO()
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Ref", "Address"])
    wb.save(buf)
    row = b"<row><c t='inlineStr'><is><t>x</t></is></c></row>"
    chunk = row * ((1 << 20) // len(row))
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(info, src.read(info))
                continue
            with dst.open("xl/worksheets/sheet1.xml", "w") as fh:
                fh.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/')
                fh.write(b'2006/main"><sheetData>')
                for _ in range(megabytes):
                    fh.write(chunk)
                fh.write(b"</sheetData></worksheet>")


def test_xlsx_zip_bomb_is_refused_quickly_and_small(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    _bomb(path, 60)
    assert path.stat().st_size < 400_000  # 60 MB of XML packed into about 190 KB
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(SourceError) as info:
            stage(duckdb.connect(), path, source("xlsx"), "raw")
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert message.startswith("bomb.xlsx: its part xl/worksheets/sheet1.xml unpacks to ")
    assert message.endswith(
        " times its packed size, over the limit of 100 times (real sheets pack far less): "
        "the workbook is damaged or built to exhaust memory; save it again from Excel, or "
        "export the sheet as CSV and set 'format: csv'."
    )
    assert seconds < 5
    assert peak < 20_000_000


def test_xlsx_declaring_too_many_cells_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    import openpyxl

    buf = io.BytesIO()
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Ref", "Address"])
    ws.append(["R1", "1 Road"])
    wb.save(buf)
    path = tmp_path / "wide.xlsx"
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'ref="A1:B2"', b'ref="A1:XFD1048576"')
            dst.writestr(info, data)
    with pytest.raises(SourceError) as info_:
        stage(duckdb.connect(), path, source("xlsx"), "raw")
    cells = 16384 * 1048576
    assert str(info_.value) == (
        f"wide.xlsx: a sheet declares 1,048,576 rows of 16,384 columns ({cells:,} cells), "
        f"over the limit of {MAX_CELLS:,} cells; save it again from Excel, or export the "
        "sheet as CSV and set 'format: csv'."
    )


# --------------------------------------------------------------------------- check = build

BAD_AE = (
    "AttendanceID,PatientName,DOB,Sex,Postcode,NHSNumber,Arrived\n"
    'A1,"SMITH, Amelie",20100403,2,WX1 2AB,943 476 5919,2026-09-02\n'
    "A2,BROWN,20110605,1\n"  # too few fields
    'A3,"WHITE, Zoe",20120101,2,WX1 2AB,4010232137,2026-09-04\n'
    "A4,GREEN\x00,20120101,2,WX1 2AB,,2026-09-04\n"  # a NUL byte
    'A5,"BLACK, Ann",20120101,2,WX1 2AB,,2026-09-05,x,y\n'  # two fields too many
    'A6,"GREY, Al",20120101,1,WX1 2AB,,2026-09-06\n'
    + "".join(f'A{i},"GREY, Al",20120101,1,WX1 2AB,,2026-09-06\n' for i in range(8, 12))
    + 'A7,"PINK, Jo",2012'  # cut short
)


def test_check_and_build_set_aside_the_same_rows(mini: Path) -> None:
    path = mini / "extracts" / "ae.csv"
    path.write_bytes(BAD_AE.encode())
    checked = check_source_file(mini, "health_ae", path, file_name="extracts/ae.csv")
    assert checked.ok
    from_check = sorted((q.row, q.problem, q.reason) for q in checked.quarantine)
    lines = check_partnership(mini)
    rel = build(mini, accept_drop=["health_ae"]).release  # it is cut short: accepted
    with rel.connect() as con:
        from_build = sorted(
            con.execute(
                "SELECT row_number, problem, reason FROM quarantine WHERE source = 'health_ae'"
            ).fetchall()
        )
        counts = con.execute(
            "SELECT rows_read, rows_loaded, rows_quarantined FROM source WHERE source = 'health_ae'"
        ).fetchone()
        files = con.execute(
            "SELECT DISTINCT file FROM quarantine WHERE source = 'health_ae'"
        ).fetchall()
    assert from_check == from_build
    assert [(r, p) for r, p, _ in from_build] == [
        (3, "too_few_fields"),
        (5, "nul_byte"),
        (6, "too_many_fields"),
        (12, "truncated_row"),
    ]
    assert counts == (11, 7, 4)
    assert files == [("extracts/ae.csv",)]
    assert checked.rows == 11 and checked.quarantined == 4
    assert "  quarantine: 1 row(s), truncated row" in lines
    assert (
        "  read: the last row is cut short, so the file looks cut short; export it again" in lines
    )


def test_check_and_build_refuse_the_same_file(mini: Path) -> None:
    path = mini / "extracts" / "ae.csv"
    path.write_text(
        "AttendanceID,PatientName,DOB,Sex,Postcode,NHSNumber,Arrived\n"
        + "".join(f"A{i},X\n" for i in range(5))
    )
    checked = check_source_file(mini, "health_ae", path, file_name="ae.csv")
    with pytest.raises(SourceError) as info:
        build(mini)
    assert [p.message for p in checked.problems] == [p.message for p in info.value.problems]
    assert checked.problems[0].message.startswith("ae.csv: 5 of 5 rows could not be read")


def test_staged_report_defaults_are_empty() -> None:
    st = Staged(table="t", rows=0, columns=())
    assert st.report.rows_read == 0 and st.report.notes() == []
