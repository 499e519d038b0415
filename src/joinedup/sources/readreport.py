"""What reading a file found: rows read, rows set aside and why, rows recovered, a cut end.

A row the reader cannot use (too many or too few fields, a quote never closed, a NUL
byte, a line that is not JSON) is *quarantined*: its row number and a reason go to a
small table beside the staged data, ``<table>_rejects``, and :func:`record_read_quarantine`
copies them into the release's ``quarantine`` table (same shape as the mapping's
quarantine: source, file, row_number, column_name, reason, problem), so ``build`` and
``check`` show the same rows. The value is never kept: the data is about children.

A file is refused (a :class:`SourceError` with the true cause) only when more than
:data:`REFUSE_SHARE` of its rows cannot be read.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import duckdb

from joinedup.errors import SourceError

__all__ = [
    "PROBLEMS",
    "REFUSE_SHARE",
    "ReadProblem",
    "ReadReport",
    "Recovered",
    "RejectSink",
    "record_read_quarantine",
]

REFUSE_SHARE = 0.5
"""A file is refused when more than this share of its rows cannot be read."""

_KEEP = 20  # rows of each list kept in the report itself (all are in the rejects table)

PROBLEMS = {
    "too_many_fields": "more fields than the header",
    "too_few_fields": "fewer fields than the header",
    "truncated_row": "the last row cut short",
    "bad_quote": "a quote never closed or a stray quote",
    "nul_byte": "a NUL byte",
    "row_too_long": "a row longer than 10 MB",
    "bad_json": "a line that is not valid JSON",
    "not_an_object": "a JSON value that is not an object",
    "cell_too_long": "a cell longer than Excel allows",
    "missing_field": "a field the return requires missing",  # issue 13: national returns
}
"""The reader's quarantine kinds (``quarantine.problem``) in words."""

_ADVICE = {
    "too_many_fields": "the delimiter or the header row is probably wrong: check 'delimiter:' "
    "and 'header_row:' for this source in partnership.yaml, or export the file again with "
    "values quoted",
    "too_few_fields": "the delimiter or the header row is probably wrong: check 'delimiter:' "
    "and 'header_row:' for this source in partnership.yaml, or export the file again",
    "truncated_row": "the file looks cut short: export it again",
    "bad_quote": "its quote characters do not pair up: export it again with values quoted "
    'the standard way ("a ""quoted"" word")',
    "nul_byte": "it holds NUL bytes: it may be damaged, or UTF-16 without a byte-order mark; "
    "export it again as UTF-8",
    "row_too_long": "check 'delimiter:' and how values are quoted",
    "bad_json": "check it with a JSON validator, or export it again",
    "not_an_object": "each row must be a JSON object of column names and values",
    "cell_too_long": "save the workbook again from Excel",
    "missing_field": "check 'file:' points at the return 'format:' names, and export it again",
}


class _HasRow(Protocol):
    @property
    def row(self) -> int: ...


_T = TypeVar("_T", bound=_HasRow)


@dataclass(frozen=True)
class ReadProblem:
    """A row set aside by the reader: where and why, never the value."""

    row: int
    problem: str  # a key of PROBLEMS
    reason: str
    column: str = ""  # empty when the whole row is at fault


@dataclass(frozen=True)
class Recovered:
    """A row whose extra fields were joined back into one free-text column and loaded."""

    row: int
    column: str  # the column the pieces were joined into
    pieces: int  # how many fields it was split into


@dataclass
class ReadReport:
    """Per-file reading report. ``rows_read`` = ``rows_loaded`` + ``rows_quarantined``."""

    file: str
    rows_loaded: int = 0
    rows_quarantined: int = 0
    by_problem: dict[str, int] = field(default_factory=dict)
    quarantined: list[ReadProblem] = field(default_factory=list)  # the first rows only
    recovered: list[Recovered] = field(default_factory=list)  # the first rows only
    rows_recovered: int = 0
    truncated_last_row: bool = False  # the last row was cut short (and quarantined)
    ends_without_newline: bool = False  # the last line has no line end (often harmless)
    rejects_table: str | None = None  # every quarantined row, for record_read_quarantine

    @property
    def rows_read(self) -> int:
        return self.rows_loaded + self.rows_quarantined

    def notes(self) -> list[str]:
        """Lines for ``check`` beyond the quarantine counts: rows recovered, a cut end."""
        out = []
        if self.rows_recovered:
            shown = ", ".join(f"row {r.row} ({r.column})" for r in self.recovered[:5])
            more = " ..." if self.rows_recovered > 5 else ""
            out.append(
                f"  read: {self.rows_recovered:,} row(s) recovered, an unquoted delimiter "
                f"inside one column joined back: {shown}{more}"
            )
        if self.truncated_last_row:
            out.append(
                "  read: the last row is cut short, so the file looks cut short; export it again"
            )
        return out


class RejectSink:
    """Collects quarantined and recovered rows while a file is read."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str, file: str) -> None:
        self.con = con
        self.table = f"{table}_rejects"
        self.report = ReadReport(file=file, rejects_table=self.table)
        self._batch: list[tuple[int, str, str, str]] = []
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{self.table}" (row_number BIGINT, column_name VARCHAR, '
            "reason VARCHAR, problem VARCHAR)"
        )

    def reject(self, row: int, problem: str, reason: str, column: str = "") -> None:
        rep = self.report
        rep.rows_quarantined += 1
        rep.by_problem[problem] = rep.by_problem.get(problem, 0) + 1
        _keep_first(rep.quarantined, ReadProblem(row, problem, reason, column), _KEEP * 5)
        self._batch.append((row, column, reason, problem))
        if len(self._batch) >= 10_000:
            self.flush()

    def recovered(self, row: int, column: str, pieces: int) -> None:
        self.report.rows_recovered += 1
        _keep_first(self.report.recovered, Recovered(row, column, pieces), _KEEP)

    def flush(self) -> None:
        if self._batch:
            rows, columns, reasons, problems = (list(c) for c in zip(*self._batch, strict=True))
            self.con.execute(
                f'INSERT INTO "{self.table}" SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), '
                "unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
                [rows, columns, reasons, problems],
            )
            self._batch.clear()

    def finish(self, loaded: int) -> ReadReport:
        """Close the report; refuse the file if most of it could not be read."""
        self.flush()
        rep = self.report
        rep.rows_loaded = loaded
        rep.quarantined.sort(key=lambda p: p.row)
        rep.recovered.sort(key=lambda r: r.row)
        if rep.rows_quarantined and rep.rows_quarantined > REFUSE_SHARE * rep.rows_read:
            raise refusal(rep)
        return rep


def _keep_first(kept: list[_T], item: _T, limit: int) -> None:
    """Keep the ``limit`` items of lowest row (rows mostly arrive in order, not always)."""
    if len(kept) < limit:
        kept.append(item)
        if len(kept) == limit:
            kept.sort(key=lambda k: k.row)
        return
    if item.row < kept[-1].row:  # kept is sorted once full
        kept.pop()
        at = bisect.bisect_right([k.row for k in kept], item.row)
        kept.insert(at, item)


def refusal(rep: ReadReport) -> SourceError:
    """The message for a file most of whose rows cannot be read: the true cause first."""
    firsts: dict[str, int] = {}
    for p in sorted(rep.quarantined, key=lambda p: p.row):
        firsts.setdefault(p.problem, p.row)
    # the most frequent problem first; of as frequent ones, the one met first in the file
    counts = sorted(
        rep.by_problem.items(), key=lambda kv: (-kv[1], firsts.get(kv[0], 1 << 62), kv[0])
    )
    parts = []
    for problem, n in counts:
        first = firsts.get(problem)
        where = f", first on row {first}" if first is not None else ""
        parts.append(f"{n:,} with {PROBLEMS[problem]}{where}")
    main = counts[0][0]
    return SourceError(
        f"{rep.file}: {rep.rows_quarantined:,} of {rep.rows_read:,} rows could not be read "
        f"({'; '.join(parts)}), more than {REFUSE_SHARE:.0%} of the file, so it is not used: "
        f"{_ADVICE[main]}."
    )


def record_read_quarantine(
    con: duckdb.DuckDBPyConnection, report: ReadReport, source_id: str, file_name: str
) -> int:
    """Copy the rows the reader set aside into ``quarantine``; the number copied."""
    if not report.rows_quarantined or report.rejects_table is None:
        return 0
    con.execute(
        "INSERT INTO quarantine SELECT ?, ?, row_number, column_name, reason, problem "
        f'FROM "{report.rejects_table}" ORDER BY row_number',
        [source_id, file_name],
    )
    return report.rows_quarantined
