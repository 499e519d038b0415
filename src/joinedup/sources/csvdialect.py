"""CSV dialect: which delimiter, and the header row's names, read by joinedup itself.

DuckDB's sniffer judges a whole dialect from a sample and, on a file with a few ragged
rows, can settle on a delimiter that makes the header one long column (whose name then
lists every real column: "column 'Surname' is not in the file; columns in the file:
OccurrenceRef,...,Surname,..."). Here each candidate delimiter is scored on the header and
the first rows, and a ragged row counts against a delimiter only as one row among many.
Quoting is always RFC 4180: ``"`` quotes, ``""`` inside quotes is one ``"``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CANDIDATES", "Dialect", "detect_dialect", "unique_names"]

CANDIDATES = (",", ";", "\t", "|")
_SAMPLE_CHARS = 1 << 16
_SAMPLE_ROWS = 200


@dataclass(frozen=True)
class Dialect:
    """How a CSV file is laid out, as found (or declared)."""

    delimiter: str
    header: tuple[str, ...]  # the header row's cells as written (trimmed)
    header_lines: int  # physical lines the header row takes (more if a name holds a newline)
    single_column: bool  # no candidate delimiter separates the header's names


def _skip_lines(fh: io.TextIOBase, n: int) -> None:
    for _ in range(n):
        if not fh.readline():
            return


def detect_dialect(path: Path, header_row: int, declared: str | None) -> Dialect:
    """The delimiter (``declared``, else the best candidate) and the header row's names.

    ``path`` is UTF-8 (a legacy encoding has been transcoded). Lines above ``header_row``
    are title rows and are skipped.
    """
    with path.open(encoding="utf-8-sig", newline="") as fh:
        _skip_lines(fh, header_row - 1)
        sample = fh.read(_SAMPLE_CHARS)
        if len(sample) == _SAMPLE_CHARS:  # do not judge a row cut at the sample's end
            cut = max(sample.rfind("\n"), sample.rfind("\r"))
            sample = sample[: cut + 1] if cut > 0 else sample
    delim = declared if declared is not None else _best_delimiter(sample)
    header, lines = _first_record(sample, delim)
    names = tuple(h.strip() for h in header)
    while len(names) > 1 and names[-1] == "":  # "ID,Name," has two columns, not three
        names = names[:-1]
    return Dialect(delim, names, lines, len(names) <= 1)


def _records(sample: str, delim: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delim, quotechar='"')
    out: list[list[str]] = []
    try:
        for rec in reader:
            if rec:
                out.append(rec)
            if len(out) > _SAMPLE_ROWS:
                break
    except csv.Error:
        pass
    return out


def _best_delimiter(sample: str) -> str:
    """The candidate that splits the header into most columns that the rows then match.

    Score: share of the sampled rows with exactly the header's number of fields, then the
    number of columns. A delimiter that leaves the header one column scores nothing.
    """
    best, best_score = ",", (-1.0, 0)
    for delim in CANDIDATES:
        recs = _records(sample, delim)
        if not recs or len(recs[0]) < 2:
            continue
        n = len(recs[0])
        rows = recs[1:]
        share = sum(len(r) == n for r in rows) / len(rows) if rows else 1.0
        score = (share, n)
        if score > best_score:
            best, best_score = delim, score
    return best


def _first_record(sample: str, delim: str) -> tuple[list[str], int]:
    """The first record's cells and how many physical lines it takes."""
    buf = io.StringIO(sample, newline="")
    lines = 0

    def feed() -> object:
        nonlocal lines
        for line in buf:
            lines += 1
            yield line

    reader = csv.reader(feed(), delimiter=delim, quotechar='"')  # type: ignore[arg-type]
    try:
        for rec in reader:
            if rec and any(c.strip() for c in rec):
                return rec, lines
    except csv.Error:
        pass
    return [], max(lines, 1)


def unique_names(header: list[str]) -> tuple[list[str], dict[str, list[int]], tuple[int, ...]]:
    """Column names made unique as DuckDB does (``Name``, ``Name_1``; blanks ``columnN``),
    the repeated headers (name -> 1-based columns) and the blank ones (1-based)."""
    names: list[str] = []
    seen: dict[str, list[int]] = {}
    blanks: list[int] = []
    taken: set[str] = set()
    for i, h in enumerate(header):
        if not h:
            blanks.append(i + 1)
            h = f"column{i}"
        seen.setdefault(h, []).append(i + 1)
        name, k = h, 0
        while name in taken:
            k += 1
            name = f"{h}_{k}"
        taken.add(name)
        names.append(name)
    dups = {h: cols for h, cols in seen.items() if len(cols) > 1}
    return names, dups, tuple(blanks)
