"""Reading a CSV file with DuckDB's own reader, and only its bad lines in Python.

DuckDB reads the file in strict RFC 4180 mode, in parallel, setting aside each line it
cannot take (``store_rejects``: too many or too few fields, a quote never closed or
stray) with the byte where that line starts. Only those lines are then read again in
Python, one by one, by the same :class:`~joinedup.sources.csvrows.RowJudge` as the
row-by-row reader: each is set aside with its row number and reason, recovered (an
unquoted delimiter in one free-text column), or loaded (a line Python's reader takes). A
row holding a NUL byte is found in SQL and set aside.

Row numbers are worked out from where the set-aside lines are, so this is used only when
every line of the file is exactly one row (no quoted value spans lines, no empty line
inside the file, one kind of line end): the number of lines must equal the rows DuckDB
loaded plus the lines it set aside, and each set-aside line must start a line. Otherwise,
or if DuckDB cannot read the file at all, ``None`` is returned and the file is read row by
row (:func:`~joinedup.sources.csvrows.stage_csv_rows`), which handles every case.

The staged table keeps DuckDB's rows where they are; the view over it numbers them
(``rowid`` plus the set-aside lines before each) and leaves out the NUL rows, so a file
of a million rows with a hundred bad lines costs about what a clean one does. With more
than :data:`VIEW_LIMIT` lines to account for, the numbers are written into the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from joinedup.sources.csvdialect import Dialect
from joinedup.sources.csvrows import MAX_ROW_CHARS, NUL_REASON, RowJudge, is_blank, parse_line
from joinedup.sources.filecheck import CHUNK, has_carriage_return, normalise_line_ends
from joinedup.sources.readreport import RejectSink
from joinedup.sources.recovery import PROFILE_ROWS

__all__ = ["VIEW_LIMIT", "BulkRead", "NotUtf8", "csv_sql", "insert_columns", "stage_csv_bulk"]

VIEW_LIMIT = 2000
"""Set-aside, NUL and re-read lines up to which row numbers are computed in the view."""


@dataclass(frozen=True)
class BulkRead:
    """What :func:`stage_csv_bulk` staged: the ``_row`` expression, a filter, rows loaded."""

    row_sql: str  # over the data table's columns (and rowid)
    where_sql: str  # "" or " WHERE ..." leaving out rows set aside after loading
    loaded: int


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


_NO_NULL = "\x01joinedup:never-null\x01"
"""DuckDB's ``nullstr``: with empty fields read as ``''`` rather than NULL, DuckDB's reader
sets aside a row whose extra fields are empty instead of dropping them (a row split by an
unquoted delimiter whose last column is blank would otherwise load shifted by one)."""


def csv_sql(path: Path, names: list[str], delimiter: str, skip: int, rejects: str = "") -> str:
    """DuckDB's strict reader over ``path``: every column text (blank as NULL), named
    ``names``.

    With ``rejects`` (a table name prefix), lines that do not fit are set aside in the
    temporary table ``{rejects}_errors`` instead of failing the read.
    """
    columns = "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names) + "}"
    store = (
        f", store_rejects = true, rejects_table = {_lit(rejects + '_errors')}, "
        f"rejects_scan = {_lit(rejects + '_scans')}, rejects_limit = 0"
        if rejects
        else ""
    )
    values = ", ".join(f"nullif({_ident(n)}, '') AS {_ident(n)}" for n in names)
    return (
        f"SELECT {values} FROM read_csv({_lit(str(path))}, auto_detect = false, "
        f"columns = {columns}, header = false, skip = {skip}, delim = {_lit(delimiter)}, "
        "quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
        f"nullstr = {_lit(_NO_NULL)}, max_line_size = {MAX_ROW_CHARS}{store})"
    )


@dataclass
class _Line:
    """A line DuckDB set aside: where it starts, its line index, its text, its fields."""

    at: int  # byte offset DuckDB gave (the line's start, or a byte or so into it)
    errors: frozenset[str]  # DuckDB's error types for it
    index: int = -1  # 0-based line index in the file
    start: int = -1  # byte offset of the line's start
    text: str = ""
    fields: list[str] | None = None
    problem: str | None = None


def _fatal(exc: BaseException) -> bool:
    low = str(exc).lower()
    return "no space left" in low or "out of memory" in low or "disk is full" in low


def stage_csv_bulk(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    dialect: Dialect,
    names: list[str],
    first_row: int,
    skip_lines: int,
    data_table: str,
    sink: RejectSink,
    has_nul: bool,
    workdir: Path,
) -> BulkRead | None:
    """Stage ``path`` (UTF-8) into ``data_table`` with DuckDB; ``None`` when the file must
    be read row by row instead (nothing has then gone to ``sink``). Raises
    :class:`NotUtf8` when DuckDB meets a byte that is not UTF-8 (nothing has gone to
    ``sink`` either), and DuckDB's error only when the machine is out of disk or memory."""
    data = _ident(data_table)
    if not _same_line_ends(path, skip_lines + 2):
        # DuckDB takes the line end of the lines it skips for the whole file (and then
        # finds no rows at all): read a copy with one kind of line end
        path = normalise_line_ends(path, workdir)
    got = _read(con, path, names, dialect.delimiter, skip_lines, data_table)
    if got is None and has_carriage_return(path):
        # DuckDB's strict reader takes one kind of line end: read a copy with one
        path = normalise_line_ends(path, workdir)
        got = _read(con, path, names, dialect.delimiter, skip_lines, data_table)
    if got is None:
        return None
    found, good = got
    if good == 0 and not found and _has_rows(path, skip_lines):
        return None  # DuckDB read nothing from a file with rows: let Python say why
    nul_ids: list[int] = []
    if has_nul:
        any_nul = " OR ".join(f"contains({_ident(c)}, chr(0))" for c in names)
        found_nul = con.execute(f"SELECT rowid FROM {data} WHERE {any_nul} ORDER BY 1")
        nul_ids = [int(r[0]) for r in found_nul.fetchall()]
    if not found:
        _mark_end(path, sink)
        for k in nul_ids:
            sink.reject(first_row + k, "nul_byte", NUL_REASON)
        return _finish(con, data_table, names, first_row, good, [], [], nul_ids)
    marks = [_Line(at, frozenset(kinds)) for at, kinds in found if at is not None]
    lines = _locate(path, marks, skip_lines, good) if len(marks) == len(found) else None
    if lines is None or not _agree(lines, dialect.delimiter, len(names)):
        # not one row per line, or DuckDB and Python see a line differently: row numbers
        # and values come from reading the file row by row
        con.execute(f"DROP TABLE IF EXISTS {data}")
        return None

    judge = RowJudge(sink, names, dialect.delimiter, has_nul)
    if any(line.fields is not None and len(line.fields) > len(names) for line in lines):
        _learn(con, judge, data, names, nul_ids)  # only a row too long needs the shapes
    steps: list[int] = []  # per set-aside row: DuckDB rows before it
    extra: list[tuple[int, list[str]]] = []  # (row, values) read here and loaded
    blanks = 0
    for j, line in enumerate(lines):
        if line.fields is not None and is_blank(line.fields):
            blanks += 1
            continue
        row = first_row + line.index - skip_lines - blanks
        steps.append(line.index - skip_lines - j)
        ends = line.text.endswith(("\n", "\r"))
        values = judge.judge(row, line.fields, line.problem, ends, not ends)
        if values is not None:
            extra.append((row, values))
    _mark_end(path, sink)
    for k in nul_ids:
        sink.reject(first_row + k + sum(1 for q in steps if q <= k), "nul_byte", NUL_REASON)
    return _finish(con, data_table, names, first_row, good, steps, extra, nul_ids)


def _read(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    names: list[str],
    delimiter: str,
    skip_lines: int,
    data_table: str,
) -> tuple[list[tuple[int | None, list[str]]], int] | None:
    """DuckDB's read into ``data_table``: (each set-aside line's byte offset and error
    types, rows loaded), or ``None`` if DuckDB could not read the file."""
    data = _ident(data_table)
    rejects = f"{data_table}_dk"
    errors, scans = _ident(rejects + "_errors"), _ident(rejects + "_scans")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {data} AS "
            f"{csv_sql(path, names, delimiter, skip_lines, rejects)}"
        )
        found = con.execute(
            f"SELECT line_byte_position, list(DISTINCT error_type::VARCHAR) FROM {errors} "
            "GROUP BY ALL ORDER BY 1"
        ).fetchall()
        n = con.execute(f"SELECT count(*) FROM {data}").fetchone()
    except (duckdb.Error, UnicodeDecodeError) as exc:
        if _fatal(exc):
            raise
        low = str(exc).lower()
        if isinstance(exc, UnicodeDecodeError) or "unicode" in low or "encoding" in low:
            raise NotUtf8 from None
        return None
    finally:
        con.execute(f"DROP TABLE IF EXISTS {errors}")
        con.execute(f"DROP TABLE IF EXISTS {scans}")
    if any(_BAD_ENCODING & set(r[1]) for r in found):
        raise NotUtf8
    return [(r[0], list(r[1])) for r in found], int(n[0]) if n else 0


_BAD_ENCODING = {"INVALID ENCODING", "INVALID UNICODE"}


class NotUtf8(Exception):  # noqa: N818 (a finding, not a failure)
    """DuckDB met bytes that are not UTF-8 while reading the file."""


def _first_lines(path: Path, count: int) -> list[bytes]:
    with path.open("rb") as fh:
        head = fh.read(CHUNK)
    lines = head.splitlines(keepends=True)
    return lines[:count] if len(lines) > count else lines[:-1]  # whole lines only


def _same_line_ends(path: Path, count: int) -> bool:
    """Whether the first ``count`` lines all end the same way (CRLF, LF or CR)."""
    ends = {line[len(line.rstrip(b"\r\n")) :] for line in _first_lines(path, count)}
    return len(ends) <= 1


def _has_rows(path: Path, skip_lines: int) -> bool:
    """Whether any line after the first ``skip_lines`` holds more than blanks."""
    with path.open("rb") as fh:
        head = fh.read(CHUNK)
    rest = head.splitlines()[skip_lines:]
    return any(line.strip() for line in rest) or len(head) == CHUNK


def _agree(lines: list[_Line], delimiter: str, n: int) -> bool:
    """Parse each set-aside line; whether Python's reader sees the fault DuckDB reported
    (a line that is fine to Python is one only a quote rule of DuckDB's refused)."""
    for line in lines:
        line.fields, line.problem = parse_line(line.text, delimiter)
        if line.fields is None or is_blank(line.fields):
            continue
        k = len(line.fields)
        seen = "MISSING COLUMNS" if k < n else "TOO MANY COLUMNS" if k > n else "UNQUOTED VALUE"
        if seen not in line.errors:
            return False
    return True


def _mark_end(path: Path, sink: RejectSink) -> None:
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(size - 1, 0))
        sink.report.ends_without_newline = fh.read(1) not in (b"\n", b"\r")


def _locate(path: Path, lines: list[_Line], skip_lines: int, good: int) -> list[_Line] | None:
    """Each set-aside line's index, start and text, or ``None`` unless every line of the
    file is one row."""
    newlines = 0
    pos = 0
    i = 0
    last_nl = -1  # offset of the last line feed before the current chunk
    last = b""
    tail = b""  # the file's trailing run of line-end bytes
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            while i < len(lines) and lines[i].at < pos + len(chunk):
                cut = lines[i].at - pos
                r = chunk.rfind(b"\n", 0, cut)
                lines[i].start = pos + r + 1 if r >= 0 else last_nl + 1
                lines[i].index = newlines + chunk.count(b"\n", 0, cut)
                i += 1
            newlines += chunk.count(b"\n")
            r = chunk.rfind(b"\n")
            last_nl = pos + r if r >= 0 else last_nl
            pos += len(chunk)
            last = chunk
            stripped = chunk.rstrip(b"\r\n")
            tail = chunk[len(stripped) :] if stripped else tail + chunk
    if i < len(lines):
        return None
    unique = {line.start: line for line in lines}  # one line may be reported twice
    lines = [unique[k] for k in sorted(unique)]
    ends_with_break = last[-1:] in (b"\n", b"\r")
    physical = newlines + (0 if ends_with_break else 1)
    empty_at_end = max(tail.count(b"\n") - 1, 0) if ends_with_break else 0
    if physical - skip_lines - empty_at_end != good + len(lines):
        return None  # a quoted value spans lines, or DuckDB skipped an empty line
    if lines[0].index < skip_lines:
        return None
    with path.open("rb") as fh:
        for line in lines:
            fh.seek(line.start)
            raw = fh.readline(MAX_ROW_CHARS + 1)
            try:
                line.text = raw.decode("utf-8")
            except UnicodeDecodeError:
                return None
    return lines


def _learn(
    con: duckdb.DuckDBPyConnection,
    judge: RowJudge,
    data: str,
    names: list[str],
    nul_ids: list[int],
) -> None:
    """Teach the recovery profile the first good rows, as the row-by-row reader would."""
    skip = set(nul_ids)
    cols = ", ".join(_ident(c) for c in names)
    limit = PROFILE_ROWS + len(skip)
    rel = con.execute(f"SELECT rowid, {cols} FROM {data} WHERE rowid < {limit} ORDER BY rowid")
    for rec in rel.fetchall():
        if rec[0] not in skip:
            judge.learn([v or "" for v in rec[1:]])
    judge.profile_ready = True


def _case_tree(steps: list[int], lo: int, hi: int) -> str:
    """How many of ``steps[lo:hi]`` are at most ``rowid`` (``steps`` sorted), as a CASE tree."""
    if lo >= hi:
        return str(lo)
    mid = (lo + hi) // 2
    return (
        f"CASE WHEN rowid < {steps[mid]} THEN {_case_tree(steps, lo, mid)} "
        f"ELSE {_case_tree(steps, mid + 1, hi)} END"
    )


def _finish(
    con: duckdb.DuckDBPyConnection,
    data_table: str,
    names: list[str],
    first_row: int,
    good: int,
    steps: list[int],
    extra: list[tuple[int, list[str]]],
    nul_ids: list[int],
) -> BulkRead:
    """Put rows read in Python into the table and say how the view numbers each row."""
    data = _ident(data_table)
    loaded = good - len(nul_ids) + len(extra)
    if len(steps) + len(extra) + len(nul_ids) <= VIEW_LIMIT:
        if extra:
            insert_columns(con, data, _value_columns(extra, len(names)))
        row = f"rowid + {first_row}"
        if steps:
            row += f" + {_case_tree(steps, 0, len(steps))}"
        if extra:
            rows = "[" + ", ".join(str(r) for r, _ in extra) + "]"
            row = f"CASE WHEN rowid >= {good} THEN {rows}[rowid - {good - 1}] ELSE {row} END"
        where = f" WHERE rowid NOT IN ({', '.join(map(str, nul_ids))})" if nul_ids else ""
        return BulkRead(row, where, loaded)
    # many lines to account for: write each row's number into the table
    cols = ", ".join(_ident(c) for c in names)
    side = _ident(data_table + "_side")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {side} (q BIGINT, n BIGINT)")
    insert_columns(con, side, [steps, list(range(1, len(steps) + 1))], "BIGINT")
    skip = _ident(data_table + "_skip")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {skip} (k BIGINT)")
    insert_columns(con, skip, [nul_ids], "BIGINT")
    numbered = _ident(data_table + "_numbered")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {numbered} AS SELECT d._k + {first_row} + "
        f"coalesce(s.n, 0) AS _row, {cols} FROM (SELECT rowid AS _k, * FROM {data} "
        f"WHERE rowid NOT IN (SELECT k FROM {skip})) d "
        f"ASOF LEFT JOIN (SELECT q, max(n) AS n FROM {side} GROUP BY q) s ON d._k >= s.q"
    )
    if extra:
        insert_columns(con, numbered, [[r for r, _ in extra], *_value_columns(extra, len(names))])
    con.execute(f"DROP TABLE {data}")
    con.execute(f"DROP TABLE {side}")
    con.execute(f"DROP TABLE {skip}")
    con.execute(f"ALTER TABLE {numbered} RENAME TO {data}")
    return BulkRead("_row", "", loaded)


def _value_columns(extra: list[tuple[int, list[str]]], n: int) -> list[list[object]]:
    """The rows read in Python, column by column, blank as NULL (as DuckDB reads them)."""
    return [[values[i] or None for _, values in extra] for i in range(n)]


def insert_columns(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[Sequence[object]], kind: str = ""
) -> None:
    """Append rows given column by column (lists of equal length) in one statement: the
    first column BIGINT when ``kind`` is empty and the values are ints, else ``kind`` or
    VARCHAR."""
    if not columns or not columns[0]:
        return
    casts = []
    for col in columns:
        if kind:
            casts.append(kind)
        else:
            casts.append("BIGINT" if all(isinstance(v, int) for v in col) else "VARCHAR")
    select = ", ".join(f"unnest(?::{c}[])" for c in casts)
    con.execute(f"INSERT INTO {table} SELECT {select}", [list(c) for c in columns])
