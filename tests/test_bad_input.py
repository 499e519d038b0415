"""Malformed files at every reader: no crash, a clear error or quarantine, nothing published."""

from __future__ import annotations

import io
import json
import os
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joinedup.config.model import SourceConfig
from joinedup.errors import SourceError
from joinedup.pipeline import build as build_release
from joinedup.release import current_release_id, list_releases
from joinedup.sources import stage

SETTINGS = settings(
    max_examples=int(os.environ.get("JU_HYPOTHESIS_EXAMPLES", "25")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def source(fmt: str) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "id": "s",
            "agency": "a",
            "dataset": "d",
            "file": "x",
            "format": fmt,
            "sharing_agreement": "isa",
            "record": {"id": "ID"},
        }
    )


@cache
def good_bytes(fmt: str) -> bytes:
    """A small valid file of the format, for mutating."""
    recs = [{"ID": str(i), "Name": f"N{i}", "DOB": "01/02/2010"} for i in range(5)]
    if fmt == "csv":
        return (
            "ID,Name,DOB\n" + "".join(f"{r['ID']},{r['Name']},{r['DOB']}\n" for r in recs)
        ).encode()
    if fmt == "json":
        return json.dumps(recs).encode()
    if fmt == "jsonl":
        return "\n".join(json.dumps(r) for r in recs).encode()
    buf = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(recs), buf)
        return buf.getvalue()
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["ID", "Name", "DOB"])
    for r in recs:
        ws.append([r["ID"], r["Name"], r["DOB"]])
    wb.save(buf)
    return buf.getvalue()


@st.composite
def mangled(draw: st.DrawFn, fmt: str) -> bytes:
    """Valid bytes cut short, with bytes flipped or inserted, or plain noise."""
    base = good_bytes(fmt)
    how = draw(st.sampled_from(["truncate", "flip", "insert", "noise", "prefix"]))
    if how == "truncate":
        return base[: draw(st.integers(0, len(base)))]
    if how == "flip":
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 5))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "insert":
        i = draw(st.integers(0, len(base)))
        junk = draw(
            st.sampled_from([b'"', b"\x00", b"\xff\xfe", b"=1+2,", b"\r", b",,,,", b"\xe9"])
        )
        return base[:i] + junk + base[i:]
    if how == "prefix":
        return (
            draw(st.sampled_from([b"\xef\xbb\xbf", b"PK\x03\x04", b"PAR1", b"\xd0\xcf\x11\xe0"]))
            + base
        )
    return draw(st.binary(max_size=300))


def _try_stage(tmp: Path, fmt: str, data: bytes) -> None:
    path = tmp / f"f.{fmt}"
    path.write_bytes(data)
    con = duckdb.connect()
    try:
        staged = stage(con, path, source(fmt), "raw")
    except SourceError as exc:
        text = str(exc)
        assert path.name in text  # the message names the file
        return
    # a file that reads gives rows of text with row numbers
    n = con.execute("SELECT count(*), count(_row) FROM raw").fetchone()
    assert n is not None and n[0] == n[1] == staged.rows


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "parquet", "xlsx"])
def test_mangled_files_never_crash_a_reader(tmp_path: Path, fmt: str) -> None:
    @SETTINGS
    @given(data=mangled(fmt))
    def check(data: bytes) -> None:
        _try_stage(tmp_path, fmt, data)

    check()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"PK\x03\x04 not really a workbook",
        b"AttendanceID,PatientName\n\x00\x01\x02\x03",
        b"AttendanceID,PatientName,DOB,Sex,Postcode,NHSNumber,Arrived,Arrived\n",
    ],
    ids=["empty", "zip", "binary", "duplicate-header"],
)
def test_fatal_problems_publish_nothing_and_list_every_problem(mini: Path, data: bytes) -> None:
    first = build_release(mini)
    (mini / "extracts" / "ae.csv").write_bytes(data)
    # a second, independent problem in the other source: both must be reported at once
    cfg = mini / "partnership.yaml"
    cfg.write_text(cfg.read_text().replace("pnc_id: PNC", "pnc_id: PNCNumber"))
    with pytest.raises(SourceError) as info:
        build_release(mini)
    text = str(info.value)
    assert "nothing was published" in text
    assert "ae.csv" in text and "column 'PNCNumber' is not in" in text
    assert current_release_id(mini) == first.release.release_id
    assert len(list_releases(mini)) == 1
    assert not list((mini / "releases").glob(".building-*"))


def test_formula_like_and_ragged_rows_are_read_not_fatal(mini: Path) -> None:
    ae = mini / "extracts" / "ae.csv"
    ae.write_text(
        "AttendanceID,PatientName,DOB,Sex,Postcode,NHSNumber,Arrived\n"
        'A1,"=HYPERLINK(""x""), Amy",20100403,2,WX1 2AB,943 476 5919,2026-09-02\n'
        'A2,"SMITH, Jo",20100403,2\n'  # a short row: set aside by the reader (issue 13)
        'A3,"@SUM(1), Bo",not a date,1,QY1 1AB,,2026-09-04\n',
        encoding="utf-8",
    )
    rel = build_release(mini).release
    with rel.connect() as con:
        fq = dict(
            con.execute(
                "SELECT field, formula_like FROM field_quality WHERE source = 'health_ae'"
            ).fetchall()
        )
        q = con.execute(
            "SELECT row_number, column_name, problem FROM quarantine WHERE source = 'health_ae'"
        ).fetchall()
        loaded = con.execute("SELECT count(*) FROM record WHERE source = 'health_ae'").fetchone()
    assert fq["identity.full_name"] == 2
    assert q == [(3, "", "too_few_fields"), (4, "DOB", "bad_date")]
    assert loaded == (1,)
    # the quarantine reason never quotes the value
    with rel.connect() as con:
        reasons = [r[0] for r in con.execute("SELECT reason FROM quarantine").fetchall()]
    assert not any("not a date" in r and "not a date in any" not in r for r in reasons)
