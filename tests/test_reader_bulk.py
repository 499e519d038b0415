"""DuckDB reads a CSV file in bulk and Python reads only the lines it sets aside (issue 13).

The bulk reader (:mod:`joinedup.sources.csvbulk`) must give exactly what the row-by-row
reader gives: the same rows with the same numbers and values, the same rows set aside
with the same reasons, the same rows recovered. Each test compares the two on a file made
for it; a hypothesis test compares them on mangled files.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import joinedup.sources.csvbulk as csvbulk
import joinedup.sources.readers as readers
from joinedup.config.model import SourceConfig
from joinedup.errors import SourceError
from joinedup.sources import stage

HEADER = "Ref,Surname,DOB,Address,Postcode,Flags\n"
COLUMNS = ["Ref", "Surname", "DOB", "Address", "Postcode", "Flags"]

Result = tuple[list[tuple[object, ...]], list[tuple[object, ...]], tuple[object, ...]]


def source(**kw: object) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "id": "s",
            "agency": "a",
            "dataset": "d",
            "file": "x",
            "format": "csv",
            "sharing_agreement": "isa",
            "record": {"id": "Ref"},
            **kw,
        }
    )


def good(i: int, flags: str = "CSE") -> str:
    return f"R{i},SMITH,01/02/2010,{i} High Street,WX1 {i % 9}AB,{flags}\n"


def _stage(path: Path, src: SourceConfig, *, bulk: bool) -> tuple[Result, bool]:
    """(rows, rows set aside, report facts) and whether the bulk reader staged the file."""
    used = []
    real = csvbulk.stage_csv_bulk

    def spy(*args: object, **kw: object) -> csvbulk.BulkRead | None:
        got = real(*args, **kw) if bulk else None  # type: ignore[arg-type]
        used.append(got is not None)
        return got

    old = getattr(readers, "stage_csv_bulk")  # noqa: B009
    setattr(readers, "stage_csv_bulk", spy)  # noqa: B010
    try:
        con = duckdb.connect()
        st_ = stage(con, path, src, "raw")
    finally:
        setattr(readers, "stage_csv_bulk", old)  # noqa: B010
    cols = ", ".join(f'"{c}"' for c in st_.columns)
    rows = con.execute(f"SELECT _row, {cols} FROM raw ORDER BY _row").fetchall()
    rows = [tuple(v.replace("\r\n", "\n") if isinstance(v, str) else v for v in r) for r in rows]
    aside = con.execute("SELECT * FROM raw_rejects ORDER BY row_number").fetchall()
    rep = st_.report
    facts = (
        rep.rows_loaded,
        rep.rows_quarantined,
        rep.rows_recovered,
        tuple((r.row, r.column, r.pieces) for r in rep.recovered),
        rep.truncated_last_row,
        rep.ends_without_newline,
    )
    assert st_.rows == len(rows) == rep.rows_loaded
    assert len({r[0] for r in rows}) == len(rows)  # row numbers are unique
    return (rows, aside, facts), bool(used and used[-1])


def both(tmp: Path, data: str | bytes, *, expect_bulk: bool = True, **kw: object) -> Result:
    """Stage ``data`` with the bulk reader and row by row; they must agree exactly."""
    path = tmp / "f.csv"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    src = source(**kw)
    fast, used_bulk = _stage(path, src, bulk=True)
    slow, _ = _stage(path, src, bulk=False)
    assert fast == slow
    assert used_bulk == expect_bulk
    return fast


def test_unquoted_delimiter_before_a_blank_last_column_is_recovered_not_shifted(
    tmp_path: Path,
) -> None:
    # the last column is blank, so DuckDB would take the extra field for a trailing comma
    bad = "R9,JONES,03/04/2011,12 High Street, Wexbury,WX2 1AB,\n"
    rows, aside, facts = both(tmp_path, HEADER + good(1, "") + bad + good(2, ""))
    assert aside == []
    assert rows[1] == (3, "R9", "JONES", "03/04/2011", "12 High Street, Wexbury", "WX2 1AB", None)
    assert facts[3] == ((3, "Address", 2),)


def test_trailing_delimiters_with_nothing_after_them_are_dropped(tmp_path: Path) -> None:
    rows, aside, _ = both(tmp_path, HEADER + good(1).replace("\n", ",,\n") + good(2))
    assert [r[:2] for r in rows] == [(2, "R1"), (3, "R2")] and aside == []
    assert rows[0][-1] == "CSE"


def test_a_line_duckdb_refuses_but_python_reads_is_loaded(tmp_path: Path) -> None:
    # a quote inside an unquoted value: DuckDB's strict reader refuses it, RFC 4180 readers
    # (and the row-by-row reader) keep it as written
    odd = 'R9,O"BRIEN,03/04/2011,1 Road,WX1 1AB,CL\n'
    rows, aside, _ = both(tmp_path, HEADER + good(1) + odd + good(2))
    assert [r[:3] for r in rows] == [(2, "R1", "SMITH"), (3, "R9", 'O"BRIEN'), (4, "R2", "SMITH")]
    assert aside == []


def test_blank_and_whitespace_lines_are_not_counted(tmp_path: Path) -> None:
    text = HEADER + good(1) + "   \n" + "R9,JONES\n" + good(2) + "\n\n"
    rows, aside, _ = both(tmp_path, text)
    assert [r[:2] for r in rows] == [(2, "R1"), (4, "R2")]
    assert [a[0] for a in aside] == [3]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_bad_rows_among_many_are_numbered_by_where_they_are(tmp_path: Path, eol: str) -> None:
    # enough rows for DuckDB to read in parallel; its byte positions must still place rows
    lines = [good(i).replace("\n", eol) for i in range(1, 30_001)]
    for i in range(5, 30_000, 7_001):
        lines[i] = f"R{i + 1},JONES,03/04/2011{eol}"  # too few fields
    lines[20_000] = f"R20001,JONES,03/04/2011,2 Low Road, Wexbury,WX2 1AB,CL{eol}"
    lines[-1] = lines[-1][:20]  # cut short
    rows, aside, facts = both(tmp_path, HEADER.replace("\n", eol) + "".join(lines))
    assert [(a[0], a[3]) for a in aside] == [
        (7, "too_few_fields"),
        (7008, "too_few_fields"),
        (14009, "too_few_fields"),
        (21010, "too_few_fields"),
        (28011, "too_few_fields"),
        (30001, "truncated_row"),
    ]
    assert all(r[1] == f"R{int(str(r[0])) - 1}" for r in rows)  # every row keeps its number
    assert facts[2:4] == (1, ((20002, "Address", 2),))


def test_many_bad_rows_get_their_numbers_written_into_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [good(i) for i in range(1, 200)]
    for i in range(3, 199, 5):
        lines[i] = f"R{i + 1},JONES\n"
    lines[50] = "R51,JO\x00NES,03/04/2011,1 Road,WX1 1AB,CL\n"
    lines[60] = "R61,JONES,03/04/2011,1 Road, Wexbury,WX1 1AB,CL\n"
    text = HEADER + "".join(lines)
    in_view = both(tmp_path, text)
    monkeypatch.setattr(csvbulk, "VIEW_LIMIT", 3)
    in_table = both(tmp_path, text)
    assert in_view == in_table
    rows, aside, _ = in_table
    assert (62, "R61", "JONES", "03/04/2011", "1 Road, Wexbury", "WX1 1AB", "CL") in rows
    assert (52, "", NUL_REASON, "nul_byte") in aside


NUL_REASON = (
    "the row holds a NUL byte (character 0), which text does not have; correct the row in "
    "the extract"
)


def test_mixed_line_ends_with_bad_rows_are_read_in_bulk(tmp_path: Path) -> None:
    lines = [good(i).replace("\n", "\r\n") if i % 2 else good(i) for i in range(1, 12)]
    lines[4] = "R5,JONES\r\n"
    rows, aside, _ = both(tmp_path, HEADER + "".join(lines))
    assert [r[0] for r in rows] == [2, 3, 4, 5, 7, 8, 9, 10, 11, 12]
    assert [(a[0], a[3]) for a in aside] == [(6, "too_few_fields")]


def test_a_quoted_line_break_sends_a_file_with_bad_rows_row_by_row(tmp_path: Path) -> None:
    text = HEADER + 'R1,SMITH,01/02/2010,"1 High\nStreet",WX1 1AB,CSE\n' + "R9,JONES\n" + good(2)
    rows, aside, _ = both(tmp_path, text, expect_bulk=False)
    assert [r[:2] for r in rows] == [(2, "R1"), (4, "R2")] and [a[0] for a in aside] == [3]


def test_a_clean_file_with_quoted_line_breaks_is_read_in_bulk(tmp_path: Path) -> None:
    text = HEADER + 'R1,SMITH,01/02/2010,"1 High\r\nStreet",WX1 1AB,CSE\n' + good(2)
    rows, aside, _ = both(tmp_path, text)
    assert [r[:2] for r in rows] == [(2, "R1"), (3, "R2")] and aside == []


# --------------------------------------------------------------------------- fuzz

SETTINGS = settings(
    max_examples=int(os.environ.get("JU_HYPOTHESIS_EXAMPLES", "15")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
word = st.text(alphabet="abcéHIJ", min_size=0, max_size=6)
MANGLES = ["short", "extra", "extra_blank", "split", "nul", "quote", "mid_quote", "blank"]


@st.composite
def mangled_csv(draw: st.DrawFn) -> str:
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    out = io.StringIO()
    w = csv.writer(out, lineterminator=eol)
    w.writerow(COLUMNS)
    n = draw(st.integers(2, 40))
    for i in range(n):
        values = [f"R{i}", draw(word), "01/02/2010", draw(word) + " Road", "WX1 1AB"]
        values.append(draw(st.sampled_from(["", "CSE", "CL"])))
        how = draw(st.sampled_from([None] * 6 + MANGLES))
        one = io.StringIO()
        cw = csv.writer(one, lineterminator=eol)
        if how == "short":
            cw.writerow(values[:3])
        elif how == "extra":
            cw.writerow([*values, "zz"])
        elif how == "extra_blank":
            cw.writerow([*values, "", ""])
        elif how == "split":  # an unquoted comma in the address
            values[3] = values[3] + "; Town"
            cw.writerow(values)
        elif how == "nul":
            values[1] = "a\x00b"
            cw.writerow(values)
        else:
            cw.writerow(values)
        line = one.getvalue()
        if how == "split":
            line = line.replace("; Town", ", Town")
        elif how == "quote":
            line = line.replace("R", '"R', 1)
        elif how == "mid_quote":
            line = line.replace("Road", 'Ro"ad', 1)
        elif how == "blank":
            line = draw(st.sampled_from(["", " ", ",,,,,"])) + eol + line
        out.write(line)
    text = out.getvalue()
    if draw(st.booleans()):
        text = text[: -len(eol)]  # no line end after the last row
        if draw(st.booleans()):
            text = text[: draw(st.integers(len(text) // 2, len(text)))]
    return text


def test_bulk_and_row_by_row_readers_agree_on_mangled_files(tmp_path: Path) -> None:
    @SETTINGS
    @given(text=mangled_csv())
    def check(text: str) -> None:
        path = tmp_path / "f.csv"
        path.write_text(text, encoding="utf-8", newline="")
        try:
            fast, _ = _stage(path, source(), bulk=True)
        except Exception as exc:  # a refusal must be the same too
            with pytest.raises(type(exc)) as info:
                _stage(path, source(), bulk=False)
            assert str(info.value) == str(exc)
            return
        slow, _ = _stage(path, source(), bulk=False)
        assert fast == slow

    check()


def test_bulk_and_row_by_row_agree_with_title_rows_a_bom_and_semicolons(tmp_path: Path) -> None:
    @SETTINGS
    @given(text=mangled_csv(), titles=st.integers(0, 2), bom=st.booleans())
    def check(text: str, titles: int, bom: bool) -> None:
        text = text.replace(",", ";")
        text = "".join(f"Police extract {i};;\n" for i in range(titles)) + text
        path = tmp_path / "f.csv"
        path.write_text(text, encoding="utf-8-sig" if bom else "utf-8", newline="")
        src = source(header_row=titles + 1, delimiter=";")
        try:
            fast, _ = _stage(path, src, bulk=True)
        except Exception as exc:
            with pytest.raises(type(exc)) as info:
                _stage(path, src, bulk=False)
            assert str(info.value) == str(exc)
            return
        slow, _ = _stage(path, src, bulk=False)
        assert fast == slow

    check()


# --------------------------------------------------------------------------- encodings


def _legacy(tmp: Path, short_row: bool) -> Path:
    """A Windows-1252 file whose first 100 KB are ASCII (all DuckDB sees before the é)."""
    rows = [good(i) for i in range(1, 2000)]
    rows.append("R2000,ZO\xcb,01/02/2010,1 Road,WX1 1AB,CSE\n")
    if short_row:
        rows.insert(10, "R9,JONES\n")
    path = tmp / "f.csv"
    path.write_bytes((HEADER + "".join(rows)).encode("cp1252"))
    return path


@pytest.mark.parametrize("short_row", [False, True])
def test_a_legacy_byte_late_in_the_file_is_found_and_transcoded(
    tmp_path: Path, short_row: bool
) -> None:
    path = _legacy(tmp_path, short_row)
    con = duckdb.connect()
    st_ = stage(con, path, source(), "raw")
    assert st_.encoding == "cp1252"
    last = con.execute("SELECT _row, Surname FROM raw ORDER BY _row DESC LIMIT 1").fetchone()
    assert last == (2001 + short_row, "ZO\u00cb")
    assert st_.report.rows_quarantined == short_row


def test_a_file_declared_utf8_with_a_legacy_byte_late_is_refused(tmp_path: Path) -> None:
    path = _legacy(tmp_path, True)
    offset = path.read_bytes().index(b"\xcb")
    with pytest.raises(SourceError) as info:
        stage(duckdb.connect(), path, source(encoding="utf-8"), "raw")
    assert str(info.value) == (
        f"f.csv: byte {offset} is not valid UTF-8. The file is probably in Windows-1252 "
        "(Excel's CSV on Windows): set 'encoding: cp1252' or 'encoding: auto' for this "
        "source in partnership.yaml."
    )
