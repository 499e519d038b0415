"""Reading a CSV file row by row, when the bulk reader (:mod:`joinedup.sources.csvbulk`)
cannot number its rows (a quoted value spanning lines, or an empty line, among bad rows).

Each record is parsed with Python's ``csv`` module in strict RFC 4180 mode, and each is
either loaded or set aside with its row number and a reason:

* a row with the header's number of fields is loaded (a stray NUL byte sets it aside);
* too many fields: recovered when one free-text column explains them
  (:mod:`joinedup.sources.recovery`), else set aside;
* too few fields: set aside; when it is the last row and the file has no line end after
  it, the file was cut short (``truncated_last_row``);
* a quote that is never closed, a stray quote after a closing one, or a quoted value
  spanning lines whose row then has the wrong number of fields while the next line is a
  row of its own: the row where the quote opened is set aside and reading starts again
  on the next line, so one bad quote costs one row, not the rest of the file. A quoted
  value may span at most :data:`MAX_RECORD_LINES` lines.

Rows are numbered as :mod:`joinedup.sources.readers` describes (blank lines are skipped
and not counted, as DuckDB does). The good rows are copied into a clean file, each
prefixed with its row number, which DuckDB then reads.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import duckdb

from joinedup.sources.csvdialect import Dialect
from joinedup.sources.readreport import RejectSink
from joinedup.sources.recovery import PROFILE_ROWS as _PROFILE_ROWS
from joinedup.sources.recovery import Profile

__all__ = [
    "MAX_RECORD_LINES",
    "MAX_ROW_CHARS",
    "NUL_REASON",
    "RowJudge",
    "is_blank",
    "parse_line",
    "stage_csv_rows",
]

MAX_RECORD_LINES = 1000
MAX_ROW_CHARS = 10_000_000
_EOL = "\r\n"
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


class _TooManyLines(Exception):
    pass


@dataclass
class _Record:
    fields: list[str] | None  # None when the record could not be parsed
    problem: str | None  # bad_quote, eof_in_quote or row_too_long when fields is None
    ends_line: bool  # its last line ends with a line break
    lines: list[str]  # the record as written in the file


class _Feed:
    """The file's lines, with the lines of the record being read kept for a re-read."""

    def __init__(self, fh: TextIO) -> None:
        self._it = iter(fh)
        self.pending: deque[str] = deque()
        self.current: list[str] = []

    def lines(self) -> Iterator[str]:
        while True:
            if self.pending:
                line = self.pending.popleft()
            else:
                nxt = next(self._it, None)
                if nxt is None:
                    return
                line = nxt
            self.current.append(line)
            if len(self.current) > MAX_RECORD_LINES:
                raise _TooManyLines
            yield line


def _records(fh: TextIO, delimiter: str, n: int) -> Iterator[_Record]:
    feed = _Feed(fh)

    def reader() -> Iterator[list[str]]:
        return csv.reader(feed.lines(), delimiter=delimiter, quotechar='"', strict=True)

    rd = reader()
    while True:
        feed.current = []
        try:
            fields = next(rd)
        except StopIteration:
            return
        except (csv.Error, _TooManyLines) as exc:
            lines = feed.current
            text = str(exc)
            if "field larger" in text:
                problem = "row_too_long"
            elif "unexpected end of data" in text and len(lines) <= 1:
                problem = "eof_in_quote"
            else:
                problem = "bad_quote"
            ends = bool(lines) and lines[-1].endswith(("\n", "\r"))
            yield _Record(None, problem, ends, lines)
            # read again from the line after the one the bad record started on
            feed.pending.extendleft(reversed(lines[1:]))
            rd = reader()
            continue
        if is_blank(fields):
            continue  # a blank line
        lines = feed.current
        if len(lines) > 1 and len(fields) != n and _fits_alone(lines[1], delimiter, n):
            # a quote opened in the first line closed lines later, the fields do not fit, and
            # the next line is a row of its own: the quote was stray, not a value spanning
            # lines; one row is set aside, not every row it swallowed
            yield _Record(None, "bad_quote", lines[-1].endswith(("\n", "\r")), lines)
            feed.pending.extendleft(reversed(lines[1:]))
            rd = reader()
            continue
        yield _Record(fields, None, lines[-1].endswith(("\n", "\r")), lines)


class RowJudge:
    """Decides one parsed row: loaded as written, recovered, or set aside (into the sink).

    Shared by the row-by-row reader here and by :mod:`~joinedup.sources.csvbulk`, which
    asks it only about the lines DuckDB's reader did not take.
    """

    def __init__(self, sink: RejectSink, names: list[str], delimiter: str, has_nul: bool) -> None:
        self.sink = sink
        self.names = names
        self.n = len(names)
        self.delimiter = delimiter
        self.has_nul = has_nul
        self.profile = Profile(names, delimiter)
        self.profile_ready = False  # True once the profile holds all it will learn
        self.deferred: list[tuple[int, list[str]]] = []  # too many fields, decided later

    def learn(self, fields: list[str]) -> None:
        if self.profile.rows < _PROFILE_ROWS:
            self.profile.learn(fields)

    def judge(
        self,
        row: int,
        fields: list[str] | None,
        problem: str | None,
        ends_line: bool,
        last: bool,
    ) -> list[str] | None:
        """The row's values to load (``fields`` itself when it loads as written, a new list
        when recovered), or ``None`` when it is set aside or deferred."""
        n, sink = self.n, self.sink
        if fields is None:
            if problem == "eof_in_quote" and last and not ends_line:
                sink.report.truncated_last_row = True
                sink.reject(
                    row,
                    "truncated_row",
                    "the last row is cut short inside a quoted value: the file looks cut "
                    "short; export it again",
                )
            elif problem == "row_too_long":
                sink.reject(
                    row,
                    "row_too_long",
                    "the row is longer than 10 MB; check the delimiter and how values are quoted",
                )
            else:
                sink.reject(row, "bad_quote", _BAD_QUOTE)
            return None
        k = len(fields)
        if k >= n and self.has_nul and any("\x00" in f for f in fields):
            sink.reject(row, "nul_byte", NUL_REASON)
            return None
        if k == n:
            return fields
        if k < n:
            if last and not ends_line:
                sink.report.truncated_last_row = True
                sink.reject(
                    row,
                    "truncated_row",
                    f"the last row is cut short ({k} of {n} fields, and no line end): the "
                    "file looks cut short; export it again",
                )
            else:
                sink.reject(row, "too_few_fields", _reason_short(k, n))
            return None
        if self.profile_ready or self.profile.rows >= _PROFILE_ROWS:
            return self.resolve(row, fields)
        self.deferred.append((row, fields))  # decided once good rows teach the columns
        return None

    def resolve(self, row: int, fields: list[str]) -> list[str] | None:
        """A row with too many fields: recovered values, or ``None`` (set aside)."""
        fixed = self.profile.recover(fields)
        if fixed is None:
            d = self.delimiter
            self.sink.reject(
                row,
                "too_many_fields",
                f"the row has {len(fields)} fields where the header has {self.n}, and no one "
                "free-text column explains the extra ones; quote values that hold a "
                f"{_DELIM_NAMES.get(d, repr(d))} in the extract",
            )
            return None
        values, column = fixed
        if column >= 0:
            self.sink.recovered(row, self.names[column], len(fields) - self.n + 1)
        return values


_BAD_QUOTE = (
    "a quoted value in this row is never closed, or a quote character is stray; quote "
    'values the standard way ("a ""quoted"" word") in the extract'
)
NUL_REASON = (
    "the row holds a NUL byte (character 0), which text does not have; correct the row in "
    "the extract"
)


def parse_line(line: str, delimiter: str) -> tuple[list[str] | None, str | None]:
    """One physical line parsed alone (RFC 4180, strict): (fields, None) or (None, problem)."""
    old_limit = csv.field_size_limit(MAX_ROW_CHARS)
    try:
        fields = next(csv.reader([line], delimiter=delimiter, quotechar='"', strict=True), [])
    except csv.Error as exc:
        text = str(exc)
        if "field larger" in text:
            return None, "row_too_long"
        return None, "eof_in_quote" if "unexpected end of data" in text else "bad_quote"
    finally:
        csv.field_size_limit(old_limit)
    return fields, None


def is_blank(fields: list[str]) -> bool:
    """A blank line: skipped, and not counted as a row."""
    return not fields or (len(fields) == 1 and not fields[0].strip())


def stage_csv_rows(
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
) -> int:
    """Read ``path`` (UTF-8) into ``data_table`` (``_row`` and one text column per name);
    rows that cannot be used go to ``sink``. Returns the number of rows loaded.

    The good rows are copied, as written and prefixed with their row number, into a clean
    file that DuckDB then reads in strict mode; recovered rows are written anew.
    """
    d = dialect.delimiter
    clean = workdir / (path.name + ".clean.csv")
    judge = RowJudge(sink, names, d, has_nul)
    loaded = 0
    out = clean.open("w", encoding="utf-8", newline="")
    writer = csv.writer(out, delimiter=d, quotechar='"', lineterminator="\n")

    def one(row: int, rec: _Record, last: bool) -> None:
        nonlocal loaded
        values = judge.judge(row, rec.fields, rec.problem, rec.ends_line, last)
        if values is None:
            return
        if values is rec.fields:  # as written: copy the line(s)
            lines = rec.lines
            text = lines[0] if len(lines) == 1 else "".join(lines)
            out.write(f"{row}{d}{text.rstrip(_EOL)}\n")
            judge.learn(values)
        else:
            writer.writerow([row, *values])
        loaded += 1

    old_limit = csv.field_size_limit(MAX_ROW_CHARS)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for _ in range(skip_lines):
                if not fh.readline():
                    break
            row = first_row - 1
            prev: tuple[int, _Record] | None = None
            for rec in _records(fh, d, len(names)):
                if prev is not None:
                    one(prev[0], prev[1], False)
                row += 1
                prev = (row, rec)
            if prev is not None:
                sink.report.ends_without_newline = not prev[1].ends_line
                one(prev[0], prev[1], True)
    except BaseException:
        out.close()
        raise
    finally:
        csv.field_size_limit(old_limit)

    deferred = judge.deferred
    for row_no, fields in deferred:
        values = judge.resolve(row_no, fields)
        if values is not None:
            writer.writerow([row_no, *values])
            loaded += 1
    out.close()
    _load_clean(con, clean, names, d, data_table, ordered=bool(deferred) and loaded > len(deferred))
    return loaded


def _load_clean(
    con: duckdb.DuckDBPyConnection,
    clean: Path,
    names: list[str],
    delimiter: str,
    data_table: str,
    *,
    ordered: bool,
) -> None:
    def lit(s: str) -> str:
        return "'" + s.replace("'", "''") + "'"

    columns = ", ".join(f"{lit(c)}: 'VARCHAR'" for c in names)
    order = " ORDER BY _row" if ordered else ""

    table = '"' + data_table.replace('"', '""') + '"'

    def load(file: Path, parallel: bool) -> None:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * "
            f"FROM read_csv({lit(str(file))}, auto_detect = false, columns = {{'_row': "
            f"'BIGINT', {columns}}}, header = false, delim = {lit(delimiter)}, quote = '\"', "
            "escape = '\"', strict_mode = true, null_padding = false, "
            f"max_line_size = 10000000, parallel = {str(parallel).lower()}){order}"
        )

    try:
        load(clean, True)
        return
    except (duckdb.Error, UnicodeDecodeError):
        pass
    try:  # DuckDB's parallel scanner can stumble on values holding line breaks
        load(clean, False)
        return
    except (duckdb.Error, UnicodeDecodeError):
        pass
    # a row Python's csv reads that DuckDB's strict reader does not: write every value
    # anew, each in quotes and with plain line breaks, which both read the same way
    again = clean.with_suffix(".quoted.csv")
    with (
        clean.open(encoding="utf-8", newline="") as src,
        again.open("w", encoding="utf-8", newline="") as dst,
    ):
        out = csv.writer(dst, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
        out.writerows(
            [v.replace("\r\n", "\n").replace("\r", "\n") for v in r]
            for r in csv.reader(src, delimiter=delimiter, quotechar='"')
        )
    load(again, False)


def _reason_short(k: int, n: int) -> str:
    return (
        f"the row has {k} fields where the header has {n}; correct the row in the extract "
        "(a value may hold an unquoted line break)"
    )


def _fits_alone(line: str, delimiter: str, n: int) -> bool:
    """Whether ``line`` read on its own is a row of ``n`` fields."""
    try:
        fields = next(csv.reader([line], delimiter=delimiter, quotechar='"'), [])
    except csv.Error:
        return False
    return len(fields) == n
