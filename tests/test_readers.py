"""Readers: every format, encoding and shape an agency might send, read into text rows."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from joinedup.config.model import SourceConfig
from joinedup.errors import SourceError
from joinedup.sources import detect_encoding, stage


def source(fmt: str = "csv", **kw: object) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "id": "s",
            "agency": "a",
            "dataset": "d",
            "file": "x",
            "format": fmt,
            "sharing_agreement": "isa",
            "record": {"id": "ID"},
            **kw,
        }
    )


def rows(tmp: Path, name: str, data: bytes, src: SourceConfig) -> tuple[list[tuple], object]:
    path = tmp / name
    path.write_bytes(data)
    con = duckdb.connect()
    st = stage(con, path, src, "raw")
    cols = ", ".join(f'"{c}"' for c in st.columns)
    return con.execute(f"SELECT _row, {cols} FROM raw ORDER BY _row").fetchall(), st


TEXT = "ID,Name\n1,Zoë\n2,Łukasz\n"


@pytest.mark.parametrize(
    ("encoding", "data", "detected"),
    [
        ("utf-8", "ID,Name\n1,Zoë\n2,Renée\n".encode(), "utf-8"),
        ("utf-8-sig", "ID,Name\n1,Zoë\n2,Renée\n".encode("utf-8-sig"), "utf-8"),
        ("cp1252", "ID,Name\n1,Zoë\n2,Renée – Smith\n".encode("cp1252"), "cp1252"),
        ("latin-1", "ID,Name\n1,Zoë\n2,Ren\x81e\n".encode("latin-1"), "latin-1"),
        ("utf-16", "ID,Name\n1,Zoë\n2,Renée\n".encode("utf-16"), "utf-16"),
    ],
)
def test_encodings_declared_and_detected(
    tmp_path: Path, encoding: str, data: bytes, detected: str
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert detect_encoding(path) == detected
    want = data.decode(encoding).lstrip("\ufeff").splitlines()[1:]
    for enc in (encoding, "auto"):
        got, st = rows(tmp_path, "f.csv", data, source(encoding=enc))
        assert [f"{r[1]},{r[2]}" for r in got] == want
        assert st.columns == ("ID", "Name")  # type: ignore[attr-defined]


def test_wrong_declared_encoding_is_explained(tmp_path: Path) -> None:
    data = "ID,Name\n1,Zoë\n".encode("cp1252")
    with pytest.raises(SourceError, match=r"byte 12 is not valid UTF-8.*encoding: cp1252"):
        rows(tmp_path, "f.csv", data, source(encoding="utf-8"))


@pytest.mark.parametrize("delim", [";", "|", "\t", ","])
def test_delimiter_and_quoting_sniffed_with_quoted_newlines(tmp_path: Path, delim: str) -> None:
    lines = [
        delim.join(["ID", "Note", "Name"]),
        delim.join(["1", '"first line\nsecond line"', "Amy"]),
        delim.join(["2", f'"has {delim} and ""quotes"""', "Bo"]),
        delim.join(["3", "plain", "Cy"]),
    ]
    got, _ = rows(tmp_path, "f.csv", ("\n".join(lines) + "\n").encode(), source())
    # rows are counted as a spreadsheet shows them: a quoted newline stays in its row
    assert got == [
        (2, "1", "first line\nsecond line", "Amy"),
        (3, "2", f'has {delim} and "quotes"', "Bo"),
        (4, "3", "plain", "Cy"),
    ]


def test_header_row_offset_skips_title_rows(tmp_path: Path) -> None:
    data = b"Monthly extract,,\nRun 2026-10-31,,\nID,Name,DOB\n1,Amy,01/02/2010\n"
    got, _ = rows(tmp_path, "f.csv", data, source(header_row=3))
    assert got == [(4, "1", "Amy", "01/02/2010")]


def test_duplicate_and_blank_headers_are_found(tmp_path: Path) -> None:
    _, st = rows(tmp_path, "f.csv", b"ID,Name,,Name\n1,a,b,c\n", source())
    assert st.duplicates == {"Name": [2, 4]}  # type: ignore[attr-defined]
    assert st.blank_headers == (3,)  # type: ignore[attr-defined]


def _xlsx(path: Path) -> None:
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Contacts"
    ws.append(["Contacts extract"])
    ws.append([])
    ws.append(["ID", "DOB", "NHS", "When"])
    ws.append([1, dt.datetime(2010, 4, 3), 9434765919, dt.datetime(2026, 9, 1, 10, 30)])
    ws.append([None, None, None, None])  # a blank row is skipped, numbering kept
    ws.append(["2", "2011-01-02", None, None])
    other = wb.create_sheet("Assessments")
    other.append(["AssessmentID", "Outcome"])
    other.append(["A1", "NFA"])
    wb.save(path)


def test_xlsx_sheets_by_name_and_index_with_header_offset(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    _xlsx(path)
    data = path.read_bytes()
    got, _ = rows(tmp_path, "w.xlsx", data, source("xlsx", sheet="Contacts", header_row=3))
    assert got == [
        (4, "1", "2010-04-03", "9434765919", "2026-09-01 10:30:00"),
        (6, "2", "2011-01-02", None, None),
    ]
    got, _ = rows(tmp_path, "w.xlsx", data, source("xlsx", sheet=1))
    assert got == [(2, "A1", "NFA")]
    with pytest.raises(
        SourceError, match="no sheet named 'Missing'. Sheets: Contacts, Assessments"
    ):
        rows(tmp_path, "w.xlsx", data, source("xlsx", sheet="Missing"))


def test_parquet_typed_columns_become_text_and_dates_are_known(tmp_path: Path) -> None:
    import datetime as dt

    path = tmp_path / "p.parquet"
    pq.write_table(
        pa.table({"ID": [1, 2], "DOB": [dt.date(2010, 4, 3), None], "Name": ["Amy", "Bo"]}), path
    )
    got, st = rows(tmp_path, "p.parquet", path.read_bytes(), source("parquet"))
    assert got == [(1, "1", "2010-04-03", "Amy"), (2, "2", None, "Bo")]
    assert st.native_dates == frozenset({"DOB"})  # type: ignore[attr-defined]


def test_json_and_jsonl(tmp_path: Path) -> None:
    recs = [{"ID": 1, "Name": "Amy", "Flags": ["CSE"]}, {"ID": 2, "Name": "Bo"}]
    got, _ = rows(tmp_path, "a.json", json.dumps(recs).encode(), source("json"))
    assert [(r[0], r[1], r[2]) for r in got] == [(1, "1", "Amy"), (2, "2", "Bo")]
    lines = "\n".join(json.dumps(r) for r in recs).encode()
    got, _ = rows(tmp_path, "a.jsonl", lines, source("jsonl"))
    assert [(r[0], r[1], r[2]) for r in got] == [(1, "1", "Amy"), (2, "2", "Bo")]


@pytest.mark.parametrize(
    ("fmt", "data", "message"),
    [
        ("csv", b"", "the file is empty"),
        ("csv", b"\n\n  \n", "the file is empty"),
        ("csv", b"PK\x03\x04rest of a zip", "set 'format: xlsx'"),
        ("csv", b"ID,Name\n1,\x00\x01\x02binary", "binary data"),
        ("xlsx", b"ID,Name\n1,Amy\n", "not an Excel .xlsx workbook"),
        ("xlsx", b"PK\x03\x04truncated", "cannot be opened as an Excel workbook"),
        ("parquet", b"ID,Name\n", "is not a Parquet file"),
        ("parquet", b"PAR1\x00\x00truncated", "could not be read as parquet"),
        ("json", b'[{"ID": 1}, {"ID": ', "could not be read as json"),
    ],
)
def test_unusable_files_are_explained(tmp_path: Path, fmt: str, data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message) as info:
        rows(tmp_path, f"f.{fmt}", data, source(fmt))
    assert f"f.{fmt}" in str(info.value)
