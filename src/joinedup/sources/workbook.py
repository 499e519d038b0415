"""Excel workbooks: checked before they are opened, then streamed row by row into Parquet.

An ``.xlsx`` file is a zip of XML parts; a few hundred KB can unpack to gigabytes (a zip
bomb: one such file took a server to 3.3 GB). Before openpyxl reads anything,
:func:`guard_workbook` reads only the zip's directory and the first bytes of each sheet,
and refuses a workbook (naming the file and the limit) when:

* its parts unpack to more than :data:`MAX_UNPACKED` bytes in all;
* a part over 1 MB unpacks to more than :data:`MAX_RATIO` times its packed size (real
  sheets pack far less);
* a sheet declares (``<dimension ref="A1:T1000"/>``) more than :data:`MAX_CELLS` cells.

While the sheet is streamed the cells are counted again (a declaration can lie), and a row
with a cell longer than Excel's own limit of 32,767 characters is set aside.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.config import SourceConfig
from joinedup.errors import SourceError
from joinedup.sources.csvdialect import unique_names
from joinedup.sources.readreport import RejectSink

__all__ = ["MAX_CELLS", "MAX_CELL_CHARS", "MAX_RATIO", "MAX_UNPACKED", "guard_workbook"]

MAX_UNPACKED = 2 * 1024**3
"""Bytes a workbook's parts may unpack to, in all (2 GiB: about 1M rows of 20 columns)."""
MAX_RATIO = 100
"""How many times its packed size a part over 1 MB may unpack to."""
MAX_CELLS = 50_000_000
"""Cells a sheet may declare or hold (Excel's 1,048,576 rows of 48 columns)."""
MAX_CELL_CHARS = 32_767
"""Excel's limit on the characters in one cell."""

_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?\"")
_MB = 1024 * 1024


def _col_number(letters: bytes) -> int:
    n = 0
    for c in letters:
        n = n * 26 + (c - 64)
    return n


def guard_workbook(path: Path) -> None:
    """Refuse a workbook whose declared sizes are past the limits, before it is opened."""
    name = path.name
    fix = "save it again from Excel, or export the sheet as CSV and set 'format: csv'"
    try:
        zf = zipfile.ZipFile(path)
    except Exception:  # BadZipFile, OSError, ValueError ... for a damaged or cut file
        raise SourceError(
            f"{name}: cannot be opened as an Excel workbook (it is not a complete .xlsx "
            "file); it may be damaged or cut short. Check it opens in Excel and is saved "
            "as .xlsx."
        ) from None
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > MAX_UNPACKED:
            raise SourceError(
                f"{name}: unpacks to {total / _MB:,.0f} MB, over the limit of "
                f"{MAX_UNPACKED / _MB:,.0f} MB for a workbook; {fix}."
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > _MB and ratio > MAX_RATIO:
                raise SourceError(
                    f"{name}: its part {info.filename} unpacks to {ratio:,.0f} times its "
                    f"packed size, over the limit of {MAX_RATIO} times (real sheets pack "
                    "far less): the workbook is damaged or built to exhaust memory; "
                    f"{fix}."
                )
        for info in infos:
            if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                continue
            try:
                with zf.open(info) as fh:
                    head = fh.read(1 << 16)
            except Exception:  # BadZipFile, zlib.error, EOFError ... for a damaged part
                raise SourceError(
                    f"{name}: a sheet cannot be unpacked; the workbook is damaged or cut "
                    f"short; {fix}."
                ) from None
            m = _DIMENSION.search(head)
            if m and m.group(3):
                cols = _col_number(m.group(3)) - _col_number(m.group(1)) + 1
                rows = int(m.group(4)) - int(m.group(2)) + 1
                if cols * rows > MAX_CELLS:
                    raise SourceError(
                        f"{name}: a sheet declares {rows:,} rows of {cols:,} columns "
                        f"({cols * rows:,} cells), over the limit of {MAX_CELLS:,} cells; "
                        f"{fix}."
                    )


def _open_error(name: str, exc: Exception) -> SourceError:
    return SourceError(
        f"{name}: cannot be opened as an Excel workbook ({type(exc).__name__}); it may be "
        "damaged or cut short. Check it opens in Excel and is saved as .xlsx (not .xls or "
        ".csv)."
    )


def xlsx_rows(path: Path, source: SourceConfig) -> Iterator[tuple[int, list[str | None]]]:
    """The chosen sheet's rows as text, numbered from 1 as Excel shows them."""
    import openpyxl

    guard_workbook(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise _open_error(path.name, exc) from None
    try:
        names = wb.sheetnames
        if isinstance(source.sheet, int):
            if not 0 <= source.sheet < len(names):
                raise SourceError(
                    f"{path.name}: has {len(names)} sheet(s); sheet index {source.sheet} "
                    f"does not exist (indexes count from 0). Sheets: {', '.join(names)}"
                )
            ws = wb[names[source.sheet]]
        else:
            if source.sheet not in names:
                raise SourceError(
                    f"{path.name}: no sheet named '{source.sheet}'. Sheets: {', '.join(names)}"
                )
            ws = wb[source.sheet]
        cells = 0
        try:
            for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
                cells += len(row)
                if cells > MAX_CELLS:
                    raise SourceError(
                        f"{path.name}: the sheet holds more than {MAX_CELLS:,} cells, the "
                        "limit for a workbook; export the sheet as CSV and set 'format: csv'."
                    )
                yield n, [_cell_text(v) for v in row]
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(
                f"{path.name}: the sheet could not be read to the end ({type(exc).__name__}); "
                "the workbook may be damaged or cut short. Save it again from Excel."
            ) from None
    finally:
        wb.close()


def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        if v.time() == dt.time(0):
            return v.date().isoformat()
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    return str(v)


def xlsx_to_parquet(
    path: Path, source: SourceConfig, workdir: Path, sink: RejectSink
) -> tuple[Path, list[str], dict[str, list[int]], tuple[int, ...], int]:
    """Stream the sheet into a Parquet file with ``_row``; (file, header, repeated headers,
    blank headers, rows written). Rows with an over-long cell go to ``sink``."""
    out = workdir / (path.name + f".{source.id}.parquet")
    header: list[str] | None = None
    names: list[str] = []
    writer: pq.ParquetWriter | None = None
    batch: list[list[str | None]] = []
    rows: list[int] = []
    written = 0

    def flush() -> None:
        nonlocal writer, written
        cols = {"_row": pa.array(rows, pa.int64())}
        for i, h in enumerate(names):
            cols[h] = pa.array([r[i] if i < len(r) else None for r in batch], pa.string())
        table = pa.table(cols)
        if writer is None:
            writer = pq.ParquetWriter(out, table.schema)
        writer.write_table(table)
        written += len(rows)
        batch.clear()
        rows.clear()

    dups: dict[str, list[int]] = {}
    blanks: tuple[int, ...] = ()
    for n, values in xlsx_rows(path, source):
        if n < source.header_row:
            continue
        if n == source.header_row:
            header = [("" if v is None else str(v)).strip() for v in values]
            while header and header[-1] == "":
                header.pop()
            names, dups, blanks = unique_names(header)
            continue
        if all(v is None or v == "" for v in values):
            continue
        long = next((i for i, v in enumerate(values) if v and len(v) > MAX_CELL_CHARS), None)
        if long is not None:
            column = names[long] if long < len(names) else f"column {long + 1}"
            sink.reject(
                n,
                "cell_too_long",
                f"a cell holds more than {MAX_CELL_CHARS:,} characters, more than Excel "
                "allows; correct the cell in the workbook",
                column,
            )
            continue
        batch.append(values)
        rows.append(n)
        if len(batch) >= 50_000:
            flush()
    if header is None or not header:
        raise SourceError(
            f"{path.name}: no header row at row {source.header_row}; set 'header_row:' to the "
            "row that holds the column names (counting from 1)"
        )
    if batch or writer is None:
        flush()
    assert writer is not None
    writer.close()
    return out, header, dups, blanks, written
