"""Fuzz: mangle rows of every reader's input; every row is loaded or set aside by number.

For CSV (four dialects and encodings), Excel, JSON lines, JSON arrays and Parquet, a file
of good rows is written with some rows mangled the ways real extracts are (a field too
few or too many, a quote never closed, a stray NUL, the last row cut short, a value that
is not an object, a cell past Excel's limit). Reading must never raise: every row that was
not mangled is loaded with exactly its values, every mangled one is set aside with its
row number (or, for a field too many, recovered), and together they number every row.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joinedup.config.model import SourceConfig
from joinedup.sources import stage

SETTINGS = settings(
    max_examples=int(os.environ.get("JU_HYPOTHESIS_EXAMPLES", "15")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COLUMNS = ["Ref", "Name", "DOB", "Address", "Code"]
DIALECTS = [(",", "utf-8"), (";", "cp1252"), ("\t", "utf-16"), ("|", "utf-8-sig")]

word = st.text(alphabet="abcdeéfgHIJK", min_size=1, max_size=8)
address = st.lists(
    st.text(alphabet="abc dé9,;|\t\n", min_size=1, max_size=6).filter(lambda s: s.strip()),
    min_size=1,
    max_size=3,
).map(" ".join)


@st.composite
def table(draw: st.DrawFn) -> list[list[str]]:
    n = draw(st.integers(3, 12))
    return [
        [
            f"R{i}",
            draw(word),
            f"{draw(st.integers(1, 28)):02d}/0{draw(st.integers(1, 9))}/2010",
            draw(address),
            draw(word),
        ]
        for i in range(n)
    ]


def source(fmt: str, **kw: object) -> SourceConfig:
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


def _read(path: Path, src: SourceConfig) -> tuple[dict[int, tuple[object, ...]], dict[int, str]]:
    """Rows loaded by number (their values) and rows set aside by number (their problem)."""
    con = duckdb.connect()
    staged = stage(con, path, src, "raw")
    cols = ", ".join(f'"{c}"' for c in COLUMNS if c in staged.columns)
    loaded = {r[0]: tuple(r[1:]) for r in con.execute(f"SELECT _row, {cols} FROM raw").fetchall()}
    assert len(loaded) == staged.rows  # row numbers are unique
    table_ = staged.report.rejects_table
    aside = dict(con.execute(f'SELECT row_number, problem FROM "{table_}"').fetchall())
    assert len(aside) == staged.report.rows_quarantined
    assert not set(loaded) & set(aside)
    return loaded, aside


def _check(
    loaded: dict[int, tuple[object, ...]],
    aside: dict[int, str],
    rows: list[list[str]],
    first: int,
    mangled: dict[int, str],
) -> None:
    numbers = set(range(first, first + len(rows)))
    assert set(loaded) | set(aside) == numbers
    for i, values in enumerate(rows):
        n = first + i
        how = mangled.get(i)
        if how is None:
            assert loaded.get(n) == tuple(values), (n, aside.get(n))
        elif how == "extra":  # recovered, or set aside: never silently wrong elsewhere
            assert n in aside or n in loaded
        elif how == "bad_quote":  # a stray quote may pair with another on its line
            assert aside.get(n) in ("bad_quote", "too_few_fields"), (n, aside.get(n))
        else:
            assert aside.get(n) == how, (n, how, aside.get(n), loaded.get(n))


# --------------------------------------------------------------------------- CSV

CSV_MANGLES = {
    "short": "too_few_fields",
    "extra": "extra",
    "nul": "nul_byte",
    "quote": "bad_quote",
}


@st.composite
def csv_case(draw: st.DrawFn) -> tuple[str, str, list[list[str]], dict[int, str], str]:
    delim, encoding = draw(st.sampled_from(DIALECTS))
    rows = draw(table())
    count = draw(st.integers(0, len(rows) // 3))
    picked = draw(st.lists(st.integers(0, len(rows) - 1), min_size=count, max_size=count))
    mangles = {i: draw(st.sampled_from(sorted(CSV_MANGLES))) for i in picked}
    cut_last = draw(st.booleans()) and (len(rows) - 1) not in mangles and count < len(rows) // 3
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    w.writerow(COLUMNS)
    out = buf.getvalue()
    expected: dict[int, str] = {}
    for i, values in enumerate(rows):
        one = io.StringIO()
        rw = csv.writer(one, delimiter=delim, lineterminator="\r\n" if i % 3 == 0 else "\n")
        how = mangles.get(i)
        if how == "short":
            rw.writerow(values[:3])
        elif how == "extra":
            rw.writerow([*values, "zz 9"])
        elif how == "nul":
            rw.writerow([values[0], values[1][:1] + "\x00" + values[1][1:], *values[2:]])
        else:
            rw.writerow(values)
        line = one.getvalue()
        if how == "quote" and '"' in line:  # it could pair with a quote on its own line
            how = mangles[i] = "short"
            line = line.split(delim)[0] + delim + values[1] + "\n"
        if how == "quote":  # an opening quote before the name, never closed
            line = line.replace(f"{values[0]}{delim}", f'{values[0]}{delim}"', 1)
        if cut_last and i == len(rows) - 1:
            line = f"{values[0]}{delim}{values[1]}{delim}{values[2][:3]}"
            how = "cut"
        if how is not None:
            expected[i] = "truncated_row" if how == "cut" else CSV_MANGLES[how]
        out += line
    return delim, encoding, rows, expected, out


def test_csv_rows_mangled_are_set_aside_and_the_rest_load(tmp_path: Path) -> None:
    @SETTINGS
    @given(case=csv_case())
    def check(case: tuple[str, str, list[list[str]], dict[int, str], str]) -> None:
        delim, encoding, rows, expected, text = case
        path = tmp_path / "f.csv"
        path.write_bytes(text.encode(encoding))
        declared = {"delimiter": delim} if delim == "|" else {}  # the others are detected
        loaded, aside = _read(path, source("csv", **declared))
        _check(loaded, aside, rows, 2, expected)

    check()


# --------------------------------------------------------------------------- Excel


@st.composite
def xlsx_case(draw: st.DrawFn) -> tuple[list[list[str]], dict[int, str], list[int]]:
    rows = draw(table())
    picked = draw(st.lists(st.integers(0, len(rows) - 1), max_size=len(rows) // 3, unique=True))
    blanks = draw(st.lists(st.integers(1, len(rows)), max_size=2, unique=True))
    return rows, dict.fromkeys(picked, "cell_too_long"), blanks


def test_xlsx_rows_mangled_are_set_aside_and_the_rest_load(tmp_path: Path) -> None:
    import openpyxl

    @SETTINGS
    @given(case=xlsx_case())
    def check(case: tuple[list[list[str]], dict[int, str], list[int]]) -> None:
        rows, mangled, blanks = case
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.append(COLUMNS)
        numbers = []
        n = 1
        for i, values in enumerate(rows):
            if i in blanks:  # a blank row: skipped, but it keeps its number
                ws.append([None] * len(COLUMNS))
                n += 1
            cells = list(values)
            if i in mangled:  # openpyxl cuts long cells on writing: put it in afterwards
                cells[3] = "LONGCELL"
            ws.append(cells)
            n += 1
            numbers.append(n)
        buf = io.BytesIO()
        wb.save(buf)
        path = tmp_path / "f.xlsx"
        with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, src.read(info).replace(b"LONGCELL", b"x" * 32_768))
        loaded, aside = _read(path, source("xlsx"))
        assert set(loaded) | set(aside) == set(numbers)
        for i, values in enumerate(rows):
            if i in mangled:
                assert aside[numbers[i]] == "cell_too_long"
            else:
                assert loaded[numbers[i]] == tuple(values)

    check()


# --------------------------------------------------------------------------- JSON


@st.composite
def jsonl_case(draw: st.DrawFn) -> tuple[list[list[str]], dict[int, str], str]:
    rows = draw(table())
    picked = draw(st.lists(st.integers(0, len(rows) - 1), max_size=len(rows) // 3, unique=True))
    lines, expected = [], {}
    for i, values in enumerate(rows):
        line = json.dumps(dict(zip(COLUMNS, values, strict=True)))
        if i in picked:
            how = draw(st.sampled_from(["cut", "list", "number", "junk"]))
            if how == "cut":
                line = line[: draw(st.integers(1, len(line) - 1))]
            elif how == "junk":
                line = line[:-1] + ", oops}"
            else:
                line = "[1, 2]" if how == "list" else "42"
            last = i == len(rows) - 1 and how in ("cut", "junk")
            expected[i] = "not_an_object" if how in ("list", "number") else "bad_json"
            if last:
                expected[i] = "truncated_row"
        lines.append(line)
        if draw(st.booleans()):
            lines.append("")  # blank lines are not rows
    end = "" if (len(rows) - 1) in expected and expected[len(rows) - 1] == "truncated_row" else "\n"
    return rows, expected, "\n".join(lines).rstrip("\n") + end


def test_jsonl_lines_mangled_are_set_aside_and_the_rest_load(tmp_path: Path) -> None:
    @SETTINGS
    @given(case=jsonl_case())
    def check(case: tuple[list[list[str]], dict[int, str], str]) -> None:
        rows, expected, text = case
        path = tmp_path / "f.jsonl"
        path.write_text(text, encoding="utf-8")
        loaded, aside = _read(path, source("jsonl"))
        _check(loaded, aside, rows, 1, expected)

    check()


def test_json_array_elements_mangled_are_set_aside(tmp_path: Path) -> None:
    @SETTINGS
    @given(rows=table(), data=st.data())
    def check(rows: list[list[str]], data: st.DataObject) -> None:
        picked = data.draw(
            st.lists(st.integers(0, len(rows) - 1), max_size=len(rows) // 3, unique=True)
        )
        values: list[object] = [
            dict(zip(COLUMNS, r, strict=True)) if i not in picked else [r[0]]
            for i, r in enumerate(rows)
        ]
        path = tmp_path / "f.json"
        path.write_text(json.dumps(values), encoding="utf-8")
        loaded, aside = _read(path, source("json"))
        _check(loaded, aside, rows, 1, dict.fromkeys(picked, "not_an_object"))

    check()


# --------------------------------------------------------------------------- Parquet


def test_parquet_rows_of_any_values_all_load(tmp_path: Path) -> None:
    @SETTINGS
    @given(rows=table(), odd=st.lists(st.sampled_from(["", " ", "=1+2", "\x00", "é\n"])))
    def check(rows: list[list[str]], odd: list[str]) -> None:
        for i, value in enumerate(odd[: len(rows)]):
            rows[i][4] = value
        path = tmp_path / "f.parquet"
        pq.write_table(pa.table({c: [r[k] for r in rows] for k, c in enumerate(COLUMNS)}), path)
        loaded, aside = _read(path, source("parquet"))
        assert aside == {}
        assert loaded == {i + 1: tuple(r) for i, r in enumerate(rows)}

    check()
