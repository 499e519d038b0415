"""Readers: any agency extract into a DuckDB table of text columns with file row numbers.

Every reader produces the same shape: a table of VARCHAR columns, one per header in the
file, and a view over it adding ``_row``: the row number as a person would count it in a
spreadsheet (with the header on row ``header_row``, the first data row is
``header_row + 1``; a quoted value spanning several lines is still one row; blank lines
are skipped and not counted). Values are kept as text; the mapping parses them.

Reading is columnar and streaming, with a fast path for clean files:

* CSV: the encoding is checked (and a legacy one transcoded to UTF-8 in 1 MB chunks), the
  delimiter and header are found by joinedup (:mod:`~joinedup.sources.csvdialect`), then
  DuckDB reads the file in parallel in strict RFC 4180 mode, setting aside the lines it
  cannot take (:mod:`~joinedup.sources.csvbulk`); only those lines are read again in
  Python: each bad row is set aside, a row split by an unquoted delimiter in one
  free-text column is recovered, and the rest loads. A row with a NUL byte is found in
  SQL and set aside. When the row numbers cannot be worked out from where the bad lines
  are (a quoted value spanning lines, or an empty line, in a file with bad rows), the
  file is read row by row in Python instead (:mod:`~joinedup.sources.csvrows`), with the
  same result.
* JSON and JSON lines: DuckDB reads the file; if it cannot, it is read row by row
  (:mod:`~joinedup.sources.jsonrows`).
* Parquet: DuckDB, columnar.
* Excel: checked for size before it is opened, then streamed row by row into Parquet
  (:mod:`~joinedup.sources.workbook`).

What reading found is in :attr:`Staged.report` (:class:`~joinedup.sources.readreport.
ReadReport`): rows loaded and set aside by reason, rows recovered, whether the last row
was cut short. Set-aside rows wait in ``<table>_rejects`` until :func:`record_read_quarantine`
copies them into ``quarantine``. A file is refused only when it cannot be used at all, or
when most of its rows cannot be read; each refusal is a :class:`SourceError` that names
the file and says what to do, and never quotes a value from the file.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from joinedup.config import SourceConfig
from joinedup.errors import SourceError
from joinedup.sources.csvbulk import NotUtf8, stage_csv_bulk
from joinedup.sources.csvdialect import detect_dialect, unique_names
from joinedup.sources.csvrows import stage_csv_rows
from joinedup.sources.filecheck import (
    JSON_HINT,
    check_utf8,
    detect_encoding,
    has_nul_byte,
    scan_text,
    sniff_bytes,
    transcode_to_utf8,
)
from joinedup.sources.jsonrows import json_rows_sql
from joinedup.sources.readreport import ReadReport, RejectSink, record_read_quarantine
from joinedup.sources.returns import (  # issue 13: national returns
    TABLE_FORMATS,
    return_columns_sql,
    return_table_columns,
    stage_cin_census,
)
from joinedup.sources.workbook import xlsx_to_parquet

__all__ = [
    "ReadReport",
    "Staged",
    "detect_encoding",
    "drop_staged",
    "read_source_sql",
    "record_read_quarantine",
    "stage",
    "stage_source",
]

_DUCKDB_NATIVE = {"utf-8", "utf-8-sig"}
# every row must be an object (else DuckDB makes one "json" column of whatever it finds)
_JSON_OPTIONS = "sample_size = -1, records = true"


@dataclass(frozen=True)
class Staged:
    """What staging a file found: rows, headers as written, encoding and native types."""

    table: str  # the view with ``_row`` and one text column per header
    rows: int  # rows loaded (report.rows_quarantined more were set aside)
    columns: tuple[str, ...]  # column names as the mapping sees them
    duplicates: dict[str, list[int]] = field(default_factory=dict)  # header -> 1-based cols
    blank_headers: tuple[int, ...] = ()  # 1-based columns with no header
    encoding: str | None = None  # CSV: the encoding read (declared or detected)
    native_dates: frozenset[str] = frozenset()  # columns typed as dates in the file
    report: ReadReport = field(default_factory=lambda: ReadReport(file=""))


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def read_source_sql(path: Path, source: SourceConfig) -> str:
    """A SELECT giving a parquet or JSON file's rows as text columns (no ``_row``).

    CSV has no such one-statement reader: its columns and dialect come from
    :func:`~joinedup.sources.csvdialect.detect_dialect` (see :func:`stage`).
    """
    if source.format == "parquet":
        reader = f"read_parquet({_quote(str(path))})"
    elif source.format == "json":
        reader = f"read_json({_quote(str(path))}, format = 'array', {_JSON_OPTIONS})"
    elif source.format == "jsonl":
        reader = f"read_json({_quote(str(path))}, format = 'newline_delimited', {_JSON_OPTIONS})"
    else:
        raise SourceError(f"format {source.format} has no one-statement SQL reader")
    return f"SELECT COLUMNS(*)::VARCHAR FROM {reader}"


def _read_error(
    path: Path, source: SourceConfig, exc: duckdb.Error | UnicodeDecodeError
) -> SourceError:
    text = str(exc)
    low = text.lower()
    if "no space left" in low or "disk is full" in low:
        why = "the disk is full (DuckDB could not write its working files)"
        what = "Free space in the temporary folder, or set build.temp_directory."
    else:
        if "malformed json" in low or "json" in low and "parse" in low:
            why = "it is not valid JSON (or is cut short); check it with a JSON validator"
        elif "invalid unicode" in low or "utf" in low:
            why = "it holds bytes that are not valid UTF-8; declare 'encoding:' for this source"
        else:
            why = _safe(text.splitlines()[0] if text else type(exc).__name__)
        what = "Check the format and encoding declared for this source."
    return SourceError(f"{path.name}: could not be read as {source.format}: {why}. {what}")


def _needed_columns(source: SourceConfig) -> set[str]:
    cols = {c for spec in source.field_specs().values() for c in spec.source_columns()}
    return cols | {f.column for f in source.filters}


class _NotUtf8Yet(Exception):  # noqa: N818 (a finding, not a failure)
    """A file read as UTF-8 on trust turned out not to be: check it byte by byte first."""


def _stage_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: SourceConfig,
    data: str,
    workdir: Path,
    sink: RejectSink,
) -> tuple[list[str], dict[str, list[int]], tuple[int, ...], str, str, str, int]:
    """(names, repeated headers, blank headers, encoding, _row expression, row filter, rows
    loaded)."""
    declared = source.encoding
    with path.open("rb") as fh:
        utf16 = fh.read(2) in (b"\xff\xfe", b"\xfe\xff")
    if (declared == "auto" or declared in _DUCKDB_NATIVE) and not utf16:
        # UTF-8 on trust: DuckDB checks every byte as it reads, so the file is not decoded
        # in Python first; if DuckDB meets a byte that is not UTF-8, start again below
        trusted: str = "utf-8" if declared == "auto" else declared
        try:
            return _stage_csv_from(
                con, path, path, source, data, workdir, sink, trusted, has_nul_byte(path)
            )
        except _NotUtf8Yet:
            pass
    if declared == "auto":
        facts = scan_text(path)
        encoding, has_nul = facts.encoding, facts.has_nul
    else:
        encoding, has_nul = declared, False
    read_path = path
    if encoding in _DUCKDB_NATIVE:
        if declared != "auto":  # detection has already decoded every byte
            has_nul = check_utf8(path)
    else:
        read_path, has_nul = transcode_to_utf8(path, encoding, workdir)
    return _stage_csv_from(
        con, path, read_path, source, data, workdir, sink, encoding, has_nul, checked=True
    )


def _stage_csv_from(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    read_path: Path,
    source: SourceConfig,
    data: str,
    workdir: Path,
    sink: RejectSink,
    encoding: str,
    has_nul: bool,
    *,
    checked: bool = False,
) -> tuple[list[str], dict[str, list[int]], tuple[int, ...], str, str, str, int]:
    """:func:`_stage_csv` of ``read_path`` (UTF-8: ``checked`` byte by byte already, or
    on trust, raising :class:`_NotUtf8Yet` when it is not)."""
    try:
        dialect = detect_dialect(read_path, source.header_row, source.delimiter)
    except UnicodeDecodeError:
        if checked:
            raise
        raise _NotUtf8Yet from None
    if not dialect.header or not any(dialect.header):
        raise SourceError(
            f"{path.name}: no columns could be read; check the header row "
            f"(row {source.header_row}) and the delimiter."
        )
    needed = _needed_columns(source)
    if dialect.single_column and len(needed - set(dialect.header)) > 0 and len(needed) > 1:
        raise SourceError(
            f"{path.name}: the header row (row {source.header_row}) is a single column, with "
            f"no comma, semicolon, tab or vertical bar between names, but the mapping reads "
            f"{len(needed)} columns. Check 'file:' points at the extract and 'header_row:' "
            "at the row of column names, and set 'delimiter:' if the file uses another "
            "separator."
        )
    names, dups, blanks = unique_names(list(dialect.header))
    first_row = source.header_row + 1
    skip = source.header_row - 1 + dialect.header_lines
    if len(names) > 1 and dialect.header_lines == 1:
        try:
            bulk = stage_csv_bulk(
                con, read_path, dialect, names, first_row, skip, data, sink, has_nul, workdir
            )
        except NotUtf8:
            if checked:  # DuckDB and Python disagree: let Python read it row by row
                bulk = None
            else:
                raise _NotUtf8Yet from None
        except (duckdb.Error, UnicodeDecodeError) as exc:
            raise _read_error(path, source, exc) from None
        if bulk is not None:
            return names, dups, blanks, encoding, bulk.row_sql, bulk.where_sql, bulk.loaded
    if not checked:  # Python reads it: check every byte first
        if source.encoding != "auto":
            has_nul = check_utf8(path)  # raises, naming the byte, if it is not UTF-8
        elif scan_text(path).encoding != "utf-8":
            raise _NotUtf8Yet
    loaded = stage_csv_rows(
        con, read_path, dialect, names, first_row, skip, data, sink, has_nul, workdir
    )
    return names, dups, blanks, encoding, "_row", "", loaded


def stage(con: duckdb.DuckDBPyConnection, path: Path, source: SourceConfig, table: str) -> Staged:
    """Load one source file: text columns in ``{table}_data``, the view ``table`` adding
    ``_row``. Raises :class:`SourceError` for a file that cannot be used."""
    returned = source  # issue 13: a national return's CSV table is read as a CSV
    if source.format in TABLE_FORMATS:
        source = source.model_copy(update={"format": "csv"})
    head = sniff_bytes(path, source)
    data = f"{table}_data"
    encoding: str | None = None
    native_dates: set[str] = set()
    dups: dict[str, list[int]] = {}
    blanks: tuple[int, ...] = ()
    where = ""
    sink = RejectSink(con, table, path.name)
    with tempfile.TemporaryDirectory(prefix="joinedup-") as tmp:
        workdir = Path(tmp)
        if source.format == "xlsx":
            pq_path, header, dups, blanks, loaded = xlsx_to_parquet(path, source, workdir, sink)
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {_ident(data)} AS "
                f"SELECT * FROM read_parquet({_quote(str(pq_path))})"
            )
            row_sql = "_row"
        elif source.format == "csv":
            names, dups, blanks, encoding, row_sql, where, loaded = _stage_csv(
                con, path, source, data, workdir, sink
            )
        elif source.format == "cin_census_xml":  # issue 13: streamed, sources/returns/
            loaded = stage_cin_census(con, path, data, sink)
            row_sql = "_row"
        else:
            read_path = path
            if source.format in ("json", "jsonl"):
                check_utf8(path, JSON_HINT)  # say so, with the byte, before DuckDB reads
                if head.startswith(b"\xef\xbb\xbf"):
                    read_path, _ = transcode_to_utf8(path, "utf-8-sig", workdir)
            if source.format == "parquet":
                try:
                    native_dates = _parquet_dates(con, read_path)
                except (duckdb.Error, UnicodeDecodeError) as exc:
                    raise _read_error(path, source, exc) from None
            row_sql = "rowid + 1"
            try:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {_ident(data)} AS "
                    f"{read_source_sql(read_path, source)}"
                )
            except (duckdb.Error, UnicodeDecodeError) as exc:
                if source.format == "parquet":
                    raise _read_error(path, source, exc) from None
                sql = json_rows_sql(con, read_path, source.format, workdir, sink)
                try:
                    con.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(data)} AS {sql}")
                except (duckdb.Error, UnicodeDecodeError) as exc2:
                    raise _read_error(path, source, exc2) from None
                row_sql = "_row"
            n = con.execute(f"SELECT count(*) FROM {_ident(data)}").fetchone()
            loaded = int(n[0]) if n else 0
    try:
        report = sink.finish(loaded)
    except SourceError:
        drop_staged(con, table)
        raise
    described = [r[0] for r in con.execute(f"DESCRIBE {_ident(data)}").fetchall()]
    names = [c for c in described if c != "_row"] if row_sql == "_row" else described
    if not names:
        drop_staged(con, table)
        raise SourceError(
            f"{path.name}: no columns could be read; check the header row "
            f"(row {source.header_row}) and the delimiter."
        )
    cols = ", ".join(_ident(c) for c in names)
    if returned.format in TABLE_FORMATS:  # issue 13: named as the return names them
        try:
            pairs = return_table_columns(returned, path.name, names)
        except SourceError:
            drop_staged(con, table)
            raise
        names, cols = [name for _, name in pairs], return_columns_sql(pairs)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {_ident(table)} AS SELECT {row_sql} AS _row, {cols} "
        f"FROM {_ident(data)}{where}"
    )
    return Staged(
        table=table,
        rows=loaded,
        columns=tuple(names),
        duplicates=dups,
        blank_headers=blanks,
        encoding=encoding,
        native_dates=frozenset(native_dates),
        report=report,
    )


def _parquet_dates(con: duckdb.DuckDBPyConnection, path: Path) -> set[str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quote(str(path))})").fetchall()
    return {r[0] for r in rows if str(r[1]).startswith(("DATE", "TIMESTAMP"))}


def drop_staged(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Remove a staged source's view, data table and set-aside rows."""
    con.execute(f"DROP VIEW IF EXISTS {_ident(table)}")
    con.execute(f"DROP TABLE IF EXISTS {_ident(table + '_data')}")
    con.execute(f"DROP TABLE IF EXISTS {_ident(table + '_rejects')}")


def stage_source(
    con: duckdb.DuckDBPyConnection, path: Path, source: SourceConfig, table: str
) -> int:
    """Load one source file as :func:`stage` does; return its row count."""
    return stage(con, path, source, table).rows


def _safe(message: str) -> str:
    """DuckDB error text can quote a line of the file: keep only the part before any quote."""
    for marker in ("Original Line", '"', "'", "\n"):
        cut = message.find(marker)
        if cut > 0:
            message = message[:cut]
    return message.strip().rstrip(":").strip()
