"""Readers: any agency extract into a DuckDB table of text columns with file row numbers.

Every reader produces the same shape: a table of VARCHAR columns, one per header in the
file, and a view over it adding ``_row``: the row number as a person would count it in a
spreadsheet (with the header on row ``header_row``, the first data row is
``header_row + 1``; a quoted value spanning several lines is still one row). Values are
kept as text; the mapping parses them.

Reading is columnar and streaming: CSV, Parquet and JSON are read by DuckDB straight into
its own (compressed, spillable) storage; a CSV in a legacy encoding is transcoded to UTF-8
in 1 MB chunks; an Excel workbook is streamed row by row into Parquet batches. No reader
holds a whole file in Python memory.

Checks made before anything is mapped, each a :class:`SourceError` naming the file and how
to fix it (never a value from the file): empty file, binary file (a zip or workbook saved
as ``.csv``), bytes that are not valid in the declared encoding, a blank or repeated header
that the mapping needs, a sheet that does not exist, a file cut short.
"""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.config import SourceConfig
from joinedup.errors import SourceError

__all__ = [
    "Staged",
    "detect_encoding",
    "drop_staged",
    "read_source_sql",
    "stage",
    "stage_source",
]

_CHUNK = 1 << 20
_DUCKDB_NATIVE = {"utf-8", "utf-8-sig"}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .xls, .doc
_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class Staged:
    """What staging a file found: rows, headers as written, encoding and native types."""

    table: str  # the view with ``_row`` and one text column per header
    rows: int
    columns: tuple[str, ...]  # column names as the mapping sees them
    duplicates: dict[str, list[int]] = field(default_factory=dict)  # header -> 1-based cols
    blank_headers: tuple[int, ...] = ()  # 1-based columns with no header
    encoding: str | None = None  # CSV: the encoding read (declared or detected)
    native_dates: frozenset[str] = frozenset()  # columns typed as dates in the file


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _sniff_bytes(path: Path, source: SourceConfig) -> bytes:
    """The file's first 64 KB; refuse files that are empty or plainly of another format."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise SourceError(
            f"{path.name}: cannot be opened ({exc.strerror or type(exc).__name__}). "
            "Check the file exists and joinedup may read it."
        ) from None
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise SourceError(
            f"{path.name}: the file is empty. Export the extract again, or point 'file:' at "
            "the right file."
        )
    fmt = source.format
    if fmt in ("csv", "json", "jsonl"):
        what = None
        if head.startswith(_ZIP_MAGIC):
            what = "a zip archive or an Excel .xlsx workbook; for a workbook set 'format: xlsx'"
        elif head.startswith(_OLE_MAGIC):
            what = "an old Excel .xls (or other Office) file; save it as .xlsx or CSV"
        elif head.startswith(_PARQUET_MAGIC):
            what = "a Parquet file; set 'format: parquet'"
        elif b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            what = "binary data, not text; check the file is the extract and not a damaged copy"
        if what:
            raise SourceError(f"{path.name}: is {what}.")
    if fmt == "xlsx" and not head.startswith(_ZIP_MAGIC):
        hint = (
            "an old .xls file: save it as .xlsx"
            if head.startswith(_OLE_MAGIC)
            else ("not an Excel .xlsx workbook (check 'format:'; a CSV needs 'format: csv')")
        )
        raise SourceError(f"{path.name}: is {hint}.")
    if fmt == "parquet" and not head.startswith(_PARQUET_MAGIC):
        raise SourceError(
            f"{path.name}: is not a Parquet file (check 'format:' in partnership.yaml)."
        )
    return head


def detect_encoding(path: Path) -> str:
    """The text encoding of a file: UTF-16 by its byte-order mark, else UTF-8 if every byte
    decodes as UTF-8, else Windows-1252 (Excel's "CSV" on Windows), else Latin-1.

    The whole file is checked (in 1 MB chunks, at about 1 GB/s), so a stray byte near the
    end cannot pass for UTF-8.
    """
    with path.open("rb") as fh:
        if fh.read(2) in (b"\xff\xfe", b"\xfe\xff"):
            return "utf-16"
    for enc in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(enc)(errors="strict")
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return enc
    return "latin-1"


def _transcode_to_utf8(path: Path, encoding: str, workdir: Path) -> Path:
    """Stream a file in a legacy encoding into a UTF-8 copy DuckDB can read."""
    out = workdir / (path.name + ".utf8.csv")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{path.name}: byte {offset + exc.start} is not valid {encoding}. "
                    "Declare the file's real encoding with 'encoding:' in partnership.yaml "
                    "(or 'encoding: auto' to detect it; run `file "
                    f"{path.name}` to see what it looks like).",
                ) from None
            dst.write(text.lstrip("\ufeff") if offset == 0 else text)
            offset += len(chunk)
        try:
            dst.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError:
            raise SourceError(
                f"{path.name}: ends part-way through a {encoding} character; the file looks "
                "cut short. Export it again."
            ) from None
    return out


def _check_utf8(path: Path) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    offset = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{path.name}: byte {offset + exc.start} is not valid UTF-8. The file is "
                    "probably in Windows-1252 (Excel's CSV on Windows): set 'encoding: cp1252' "
                    "or 'encoding: auto' for this source in partnership.yaml.",
                ) from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise SourceError(
                f"{path.name}: ends part-way through a UTF-8 character; the file looks cut "
                "short. Export it again."
            ) from None


def _csv_options(source: SourceConfig, *, header: bool) -> list[str]:
    opts = [
        "all_varchar = true",
        f"header = {'true' if header else 'false'}",
        f"skip = {source.header_row - 1}",
        "null_padding = true",
        "strict_mode = false",
        "sample_size = 20480",
        "max_line_size = 10000000",
        # RFC 4180, as Excel and every reporting tool writes: "" inside quotes is one "
        "quote = '\"'",
        "escape = '\"'",
    ]
    if source.delimiter is not None:
        opts.append(f"delim = {_quote(source.delimiter)}")
    return opts


def read_source_sql(path: Path, source: SourceConfig) -> str:
    """A SELECT giving the file's rows as text columns (no ``_row``): csv, parquet, json."""
    if source.format == "csv":
        return (
            f"SELECT * FROM read_csv({_quote(str(path))}, "
            f"{', '.join(_csv_options(source, header=True))})"
        )
    if source.format == "parquet":
        reader = f"read_parquet({_quote(str(path))})"
    elif source.format == "json":
        reader = f"read_json({_quote(str(path))}, format = 'array', sample_size = -1)"
    elif source.format == "jsonl":
        reader = f"read_json({_quote(str(path))}, format = 'newline_delimited', sample_size = -1)"
    else:  # pragma: no cover - xlsx is staged through parquet
        raise SourceError(f"format {source.format} has no SQL reader")
    return f"SELECT COLUMNS(*)::VARCHAR FROM {reader}"


# --------------------------------------------------------------------------- Excel


def _xlsx_rows(path: Path, source: SourceConfig) -> Iterator[tuple[int, list[str | None]]]:
    import zipfile

    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise SourceError(
            f"{path.name}: cannot be opened as an Excel workbook ({type(exc).__name__}); it may "
            "be damaged or cut short. Check it opens in Excel and is saved as .xlsx."
        ) from None
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise SourceError(
            f"{path.name}: cannot be opened as an Excel workbook ({type(exc).__name__}). "
            "Check it opens in Excel and is saved as .xlsx (not .xls or .csv)."
        ) from None
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
        try:
            for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
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
    import datetime as dt

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


def _xlsx_to_parquet(
    path: Path, source: SourceConfig, workdir: Path
) -> tuple[Path, list[str], dict[str, list[int]], tuple[int, ...]]:
    out = workdir / (path.name + f".{source.id}.parquet")
    header: list[str] | None = None
    names: list[str] = []
    writer: pq.ParquetWriter | None = None
    batch: list[list[str | None]] = []
    rows: list[int] = []

    def flush() -> None:
        nonlocal writer
        cols = {"_row": pa.array(rows, pa.int64())}
        for i, h in enumerate(names):
            cols[h] = pa.array([r[i] if i < len(r) else None for r in batch], pa.string())
        table = pa.table(cols)
        if writer is None:
            writer = pq.ParquetWriter(out, table.schema)
        writer.write_table(table)
        batch.clear()
        rows.clear()

    dups: dict[str, list[int]] = {}
    blanks: tuple[int, ...] = ()
    for n, values in _xlsx_rows(path, source):
        if n < source.header_row:
            continue
        if n == source.header_row:
            header = [("" if v is None else str(v)).strip() for v in values]
            while header and header[-1] == "":
                header.pop()
            names, dups, blanks = _unique_names(header)
            continue
        if all(v is None or v == "" for v in values):
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
    return out, header, dups, blanks


def _unique_names(header: list[str]) -> tuple[list[str], dict[str, list[int]], tuple[int, ...]]:
    """Column names made unique as DuckDB does (``Name``, ``Name_1``; blanks ``columnN``)."""
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


# --------------------------------------------------------------------------- staging


def _csv_header(con: duckdb.DuckDBPyConnection, path: Path, source: SourceConfig) -> list[str]:
    """The header row's cells as written, read with the same dialect as the data."""
    sql = (
        f"SELECT * FROM read_csv({_quote(str(path))}, "
        f"{', '.join(_csv_options(source, header=False))}, parallel = false) LIMIT 1"
    )
    try:
        row = con.execute(sql).fetchone()
    except duckdb.Error:
        return []
    return [("" if v is None else str(v)).strip() for v in (row or ())]


def _read_error(path: Path, source: SourceConfig, exc: duckdb.Error) -> SourceError:
    text = str(exc)
    low = text.lower()
    if "unterminated quote" in low or "quote" in low and "end of file" in low:
        why = (
            "a quoted value is never closed, so the file looks cut short or has a stray "
            "quote character; export it again"
        )
    elif "malformed json" in low or "json" in low and "parse" in low:
        why = "it is not valid JSON (or is cut short); check it with a JSON validator"
    elif "maximum line size" in low:
        why = "a line is longer than 10 MB; check the delimiter and quoting"
    elif "invalid unicode" in low or "utf" in low:
        why = "it holds bytes that are not valid UTF-8; declare 'encoding:' for this source"
    else:
        why = _safe(text.splitlines()[0] if text else type(exc).__name__)
    return SourceError(
        f"{path.name}: could not be read as {source.format}: {why}. "
        "Check the format, encoding and delimiter declared for this source."
    )


def stage(con: duckdb.DuckDBPyConnection, path: Path, source: SourceConfig, table: str) -> Staged:
    """Load one source file: text columns in ``{table}_data``, the view ``table`` adding
    ``_row``. Raises :class:`SourceError` for a file that cannot be used."""
    head = _sniff_bytes(path, source)
    data = f"{table}_data"
    encoding: str | None = None
    header: list[str] = []
    native_dates: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="joinedup-") as tmp:
        workdir = Path(tmp)
        first_data_row = source.header_row + 1
        if source.format == "xlsx":
            pq_path, header, dups, blanks = _xlsx_to_parquet(path, source, workdir)
            sql = f"SELECT * FROM read_parquet({_quote(str(pq_path))})"
            row_sql = "_row"
            names = _unique_names(header)[0]
        else:
            read_path = path
            if source.format == "csv":
                declared = source.encoding
                encoding = detect_encoding(path) if declared == "auto" else declared
                if encoding in _DUCKDB_NATIVE:
                    if declared != "auto":  # detection has already decoded every byte
                        _check_utf8(path)
                else:
                    read_path = _transcode_to_utf8(path, encoding, workdir)
            elif source.format in ("json", "jsonl") and head.startswith(b"\xef\xbb\xbf"):
                read_path = _transcode_to_utf8(path, "utf-8-sig", workdir)
            else:
                first_data_row = 1
            if source.format in ("json", "jsonl", "parquet"):
                first_data_row = 1
            sql = read_source_sql(read_path, source)
            row_sql = f"rowid + {first_data_row}"
            if source.format == "csv":
                header = _csv_header(con, read_path, source)
            if source.format == "parquet":
                try:
                    native_dates = _parquet_dates(con, read_path)
                except duckdb.Error as exc:
                    raise _read_error(path, source, exc) from None
        try:
            try:
                con.execute(f"CREATE OR REPLACE TABLE {_ident(data)} AS {sql}")
            except duckdb.Error as exc:
                # DuckDB's parallel CSV scanner cannot pad short rows when values hold
                # quoted newlines; the serial one can (slower, so only when needed)
                if source.format != "csv" or "parallel=false" not in str(exc):
                    raise
                sql = sql.replace("null_padding = true", "null_padding = true, parallel = false")
                con.execute(f"CREATE OR REPLACE TABLE {_ident(data)} AS {sql}")
        except duckdb.Error as exc:
            raise _read_error(path, source, exc) from None
    described = [r[0] for r in con.execute(f"DESCRIBE {_ident(data)}").fetchall()]
    if source.format == "xlsx":
        names = [c for c in described if c != "_row"]
    else:
        names = described
        if source.format == "csv" and header:
            while header and header[-1] == "" and len(header) > len(names):
                header.pop()
        if not names or (source.format == "csv" and not header):
            raise SourceError(
                f"{path.name}: no columns could be read; check the header row "
                f"(row {source.header_row}) and the delimiter."
            )
    if source.format == "csv" and header and len(header) == len(names):
        _, dups, blanks = _unique_names(header)
        # DuckDB names blank headers itself; keep its names but report the blanks
    elif source.format != "xlsx":
        dups, blanks = {}, ()
    cols = ", ".join(_ident(c) for c in names)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {_ident(table)} AS SELECT {row_sql} AS _row, {cols} "
        f"FROM {_ident(data)}"
    )
    n = con.execute(f"SELECT count(*) FROM {_ident(data)}").fetchone()
    return Staged(
        table=table,
        rows=int(n[0]) if n else 0,
        columns=tuple(names),
        duplicates=dups,
        blank_headers=blanks,
        encoding=encoding,
        native_dates=frozenset(native_dates),
    )


def _parquet_dates(con: duckdb.DuckDBPyConnection, path: Path) -> set[str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quote(str(path))})").fetchall()
    return {r[0] for r in rows if str(r[1]).startswith(("DATE", "TIMESTAMP"))}


def drop_staged(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Remove a staged source's view and data table."""
    con.execute(f"DROP VIEW IF EXISTS {_ident(table)}")
    con.execute(f"DROP TABLE IF EXISTS {_ident(table + '_data')}")


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
