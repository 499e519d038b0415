"""Reading JSON row by row when DuckDB could not read the file whole.

* JSON lines (``jsonl``): each non-blank line is a row, numbered from 1. A line that is not
  valid JSON, or not an object, is set aside with its row number; the last line, cut
  short with no line end, marks the file as cut short.
* A JSON array (``json``): the file must parse as a whole (a broken array has no row
  boundaries to trust), and is refused with the position of the first error otherwise;
  elements that are not objects are set aside.

The good rows are written, with their row number, to a JSON-lines copy that DuckDB reads
as it reads any JSON file, so values become text exactly as on the fast path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

import duckdb

from joinedup.errors import SourceError
from joinedup.sources.readreport import RejectSink

__all__ = ["ROW_KEY", "json_rows_sql"]

ROW_KEY = "__ju_row"


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


def _bad_line(sink: RejectSink, row: int, exc: ValueError, last_cut: bool) -> None:
    if isinstance(exc, json.JSONDecodeError):
        why = f"{exc.msg} at character {exc.colno}"
    else:
        why = "NaN and Infinity are not JSON values"
    if last_cut:
        sink.report.truncated_last_row = True
        sink.reject(
            row,
            "truncated_row",
            "the last line is cut short (not complete JSON, and no line end): the file looks "
            "cut short; export it again",
        )
        return
    sink.reject(
        row,
        "bad_json",
        f"the line is not valid JSON ({why}); correct it in the extract",
    )


def _not_object(sink: RejectSink, row: int, value: object) -> None:
    kind = {list: "a list", str: "a string", bool: "true or false", type(None): "null"}.get(
        type(value), "a number"
    )
    sink.reject(
        row,
        "not_an_object",
        f"the row is {kind}, not a JSON object; each row must be an object of column names "
        "and values",
    )


def json_rows_sql(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str, workdir: Path, sink: RejectSink
) -> str:
    """Write the readable rows of ``path`` to a JSON-lines copy; a SELECT over it giving
    ``_row`` and every key as text."""
    out = workdir / (path.name + ".rows.jsonl")
    try:
        wrote = _write_rows(path, fmt, out, sink)
    except UnicodeDecodeError:
        raise SourceError(
            f"{path.name}: holds bytes that are not valid UTF-8, and JSON is always UTF-8; "
            "export the file again as UTF-8."
        ) from None
    if not wrote:
        return f"SELECT NULL::BIGINT AS _row WHERE false -- {out.name}"
    reader = (
        f"read_json('{str(out).replace(chr(39), chr(39) * 2)}', format = 'newline_delimited', "
        "sample_size = -1, records = true)"
    )
    return (
        f'SELECT "{ROW_KEY}"::BIGINT AS _row, COLUMNS(* EXCLUDE ("{ROW_KEY}"))::VARCHAR '
        f"FROM {reader}"
    )


def _write_rows(path: Path, fmt: str, out: Path, sink: RejectSink) -> int:
    wrote = 0
    with out.open("w", encoding="utf-8") as dst:
        if fmt == "jsonl":
            with path.open(encoding="utf-8-sig", newline="") as src:
                row = 0
                prev: tuple[int, str] | None = None
                for line in src:
                    if not line.strip():
                        continue
                    if prev is not None:
                        wrote += _one_line(dst, sink, *prev, last_cut=False)
                    row += 1
                    prev = (row, line)
                if prev is not None:
                    cut = not prev[1].endswith(("\n", "\r"))
                    wrote += _one_line(dst, sink, *prev, last_cut=cut)
        else:
            try:
                with path.open(encoding="utf-8-sig") as src:
                    data = json.load(src, parse_constant=_no_constant)
            except json.JSONDecodeError as exc:
                end = exc.pos >= len(exc.doc.rstrip())
                why = "it ends part-way, so the file looks cut short" if end else exc.msg
                raise SourceError(
                    f"{path.name}: could not be read as json: it is not valid JSON at line "
                    f"{exc.lineno}, column {exc.colno} ({why}); check it with a JSON "
                    "validator, or export it again."
                ) from None
            except ValueError:
                raise SourceError(
                    f"{path.name}: could not be read as json: it holds NaN or Infinity, "
                    "which JSON does not have; export it again with those values left blank."
                ) from None
            if not isinstance(data, list):
                data = [data]
            for i, value in enumerate(data, start=1):
                if isinstance(value, dict):
                    dst.write(json.dumps({**value, ROW_KEY: i}) + "\n")
                    wrote += 1
                else:
                    _not_object(sink, i, value)
    return wrote


def _one_line(dst: TextIO, sink: RejectSink, row: int, line: str, *, last_cut: bool) -> int:
    try:
        value = json.loads(line.rstrip("\r\n"), parse_constant=_no_constant)
    except ValueError as exc:
        _bad_line(sink, row, exc, last_cut)
        return 0
    if not isinstance(value, dict):
        _not_object(sink, row, value)
        return 0
    dst.write(json.dumps({**value, ROW_KEY: row}) + "\n")
    return 1
