"""Output: extract files in their native encodings and formats, and the truth files.

Rows are streamed: nothing holds a whole extract in memory. Every row written through a
``SourceOut`` is recorded in truth/record_person.csv (or, for a planted test record, in
truth/planted_problems.csv), so the truth cannot drift from the extracts.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook

from joinedup.synth.mess import Recorded
from joinedup.synth.people import Person

__all__ = [
    "EFFECTS",
    "QUARANTINE_BAD_DATES",
    "CsvOut",
    "SourceOut",
    "Truth",
    "XlsxBook",
    "date_text",
    "dob_text",
]

_FIXED_ZIP_TIME = (2026, 10, 31, 0, 0, 0)
_TEST_EVERY = 4000  # about 0.025% of rows are test records

#: Sources whose mapping says ``bad_dates: quarantine``: their impossible dates of birth
#: set the row aside; everywhere else the date is emptied and the row kept (issue 13).
QUARANTINE_BAD_DATES = frozenset({"nrm_referrals"})

#: What each planted problem does to its row in a build (truth/planted_problems.csv,
#: column ``effect``): ``filtered`` (removed by the source's filters, not a person),
#: ``quarantined`` (set aside: not loaded), ``recovered`` (put right by the reader and
#: loaded), ``value_emptied`` (the value is left empty, the row loaded).
EFFECTS = {
    "test_record": "filtered",
    "impossible_date": "value_emptied",
    "invalid_nhs_check_digit": "value_emptied",
    "invalid_upn_check_letter": "value_emptied",
    "invalid_foreign_id": "value_emptied",
    "unquoted_address": "recovered",
    "cut_short_row": "quarantined",
    "repeated_row": "quarantined",
}


def _effect(source: str, problem: str) -> str:
    if problem == "impossible_date" and source in QUARANTINE_BAD_DATES:
        return "quarantined"
    return EFFECTS[problem]


class Truth:
    """truth/record_person.csv and truth/planted_problems.csv, written as rows arrive."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._rp_file = open(folder / "record_person.csv", "w", encoding="utf-8", newline="")
        self._pp_file = open(folder / "planted_problems.csv", "w", encoding="utf-8", newline="")
        self.record_person = csv.writer(self._rp_file, lineterminator="\n")
        self.problems = csv.writer(self._pp_file, lineterminator="\n")
        self.record_person.writerow(["source", "source_record_id", "person_id"])
        self.problems.writerow(["source", "source_record_id", "column", "problem", "effect"])
        # issue 20: the identifying values planted in notes, for measuring the scrubber
        self._nv_file = open(folder / "planted_note_values.csv", "w", encoding="utf-8", newline="")
        self.note_values = csv.writer(self._nv_file, lineterminator="\n")
        self.note_values.writerow(["source", "source_record_id", "kind", "value", "held_back"])

    def problem(self, source: str, record_id: str, column: str, problem: str) -> None:
        self.problems.writerow([source, record_id, column, problem, _effect(source, problem)])

    def close(self) -> None:
        self._rp_file.close()
        self._pp_file.close()
        self._nv_file.close()


class SourceOut:
    """One source's rows: counts them, records truth, plants test records on schedule."""

    def __init__(
        self, truth: Truth, source: str, file: str, columns: dict[str, str], test_column: str
    ) -> None:
        self.truth = truth
        self.source = source
        self.file = file
        self.columns = columns  # mess field (dob, nhs, upn) -> this source's column name
        self.test_column = test_column
        self.rows = 0
        self._test_at = -1

    def want_test(self) -> bool:
        """True when the next row should be a test record (one early, then every few thousand)."""
        due = self.rows == 3 or (self.rows > 0 and self.rows % _TEST_EVERY == 0)
        if due and self._test_at != self.rows:
            self._test_at = self.rows
            return True
        return False

    def _put(self, values: Sequence[Any]) -> None:
        raise NotImplementedError

    def write(
        self,
        values: Sequence[Any],
        record_id: str,
        person: Person,
        rec: Recorded | None = None,
        extra_problems: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._put(values)
        self.rows += 1
        if person.kind == "test":
            self.truth.problem(self.source, record_id, self.test_column, "test_record")
            return
        self.truth.record_person.writerow([self.source, record_id, person.pid])
        for field, problem in rec.problems if rec else []:
            column = self.columns.get(field)
            if column:
                self.truth.problem(self.source, record_id, column, problem)
        for column, problem in extra_problems:
            self.truth.problem(self.source, record_id, column, problem)


class CsvOut(SourceOut):
    def __init__(
        self,
        root: Path,
        truth: Truth,
        source: str,
        file: str,
        header: Sequence[str],
        *,
        encoding: str = "utf-8",
        columns: dict[str, str] | None = None,
        test_column: str = "Surname",
    ) -> None:
        super().__init__(truth, source, file, columns or {}, test_column)
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] = open(path, "w", encoding=encoding, newline="", errors="strict")
        self._csv = csv.writer(self._fh, lineterminator="\r\n")
        self._csv.writerow(header)
        self.delimiter = ","
        self._raw: tuple[str, int] | None = None  # the next row's malformation

    def malform(self, how: str, column: int) -> None:
        """Write the next row malformed, as exports sometimes are: ``unquoted`` writes the
        value of ``column`` without quotes (its commas split it into several fields);
        ``cut_short`` writes only the fields before ``column``, as if the export stopped
        part-way through the row and went on with the next."""
        self._raw = (how, column)

    def _put(self, values: Sequence[Any]) -> None:
        if self._raw is None:
            self._csv.writerow(values)
            return
        how, column = self._raw
        self._raw = None
        if how == "cut_short":
            cells = [_quoted(v) for v in values[:column]]
        else:
            cells = [str(v) if i == column else _quoted(v) for i, v in enumerate(values)]
        self._fh.write(self.delimiter.join(cells) + "\r\n")

    def close(self) -> None:
        self._fh.close()


def _quoted(value: Any) -> str:
    """One CSV field as the csv module's minimal quoting writes it."""
    text = "" if value is None else str(value)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class XlsxBook:
    """A workbook written in openpyxl's streaming mode, saved reproducibly."""

    def __init__(self, root: Path, file: str) -> None:
        self.path = root / file
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = file
        self.wb = Workbook(write_only=True)
        fixed = datetime(*_FIXED_ZIP_TIME)
        self.wb.properties.created = fixed
        self.wb.properties.modified = fixed
        self.wb.properties.creator = "Wexbury Children's Services reporting"

    def sheet(
        self,
        truth: Truth,
        source: str,
        title: str,
        header: Sequence[str],
        *,
        preamble: Sequence[Sequence[str]] = (),
        columns: dict[str, str] | None = None,
        test_column: str = "Surname",
    ) -> XlsxSheet:
        ws = self.wb.create_sheet(title)
        for row in preamble:
            ws.append(list(row))
        ws.append(list(header))
        return XlsxSheet(ws, truth, source, self.file, columns or {}, test_column)

    def save(self) -> None:
        self.wb.save(self.path)
        _normalise_zip(self.path)


class XlsxSheet(SourceOut):
    def __init__(
        self,
        ws: Any,
        truth: Truth,
        source: str,
        file: str,
        columns: dict[str, str],
        test_column: str,
    ) -> None:
        super().__init__(truth, source, file, columns, test_column)
        self.ws = ws

    def _put(self, values: Sequence[Any]) -> None:
        self.ws.append(list(values))


def _normalise_zip(path: Path) -> None:
    """Rewrite the xlsx with fixed entry times and creation dates, so equal data gives equal
    bytes (openpyxl stamps the current time into docProps/core.xml and the zip entries)."""
    stamp = "2026-10-31T00:00:00Z"
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in entries:
            if name == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*", rf"\g<1>{stamp}", text)
                data = text.encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            out.writestr(info, data)
    path.write_bytes(buf.getvalue())


def date_text(day: date | datetime | None, fmt: str) -> str:
    return day.strftime(fmt) if day else ""


def dob_text(rec: Recorded, person: Person, fmt: str) -> str:
    """The recorded date of birth in a source's format; 31 February when planted bad."""
    if rec.dob_bad:
        year = (rec.dob or person.dob).year
        return (
            fmt.replace("%d", "31")
            .replace("%m", "02")
            .replace("%b", "Feb")
            .replace("%Y", str(year))
        )
    return rec.dob.strftime(fmt) if rec.dob else ""
