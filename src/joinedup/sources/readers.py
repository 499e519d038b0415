"""Readers: any agency extract into a DuckDB table of text columns with file row numbers.

Every reader produces the same shape: one VARCHAR column per header in the file, plus
``_row`` (the row number in the file as a person would count it in a spreadsheet: with
the header on row ``header_row``, the first data row is ``header_row + 1``). Values are
kept as text; the mapping parses them.
"""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.config import SourceConfig
from joinedup.errors import Problem, SourceError

__all__ = ["read_source_sql", "stage_source"]

_DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "latin-1": "latin-1"}
_CHUNK = 1 << 20


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _transcode_to_utf8(path: Path, encoding: str, workdir: Path) -> Path:
    """Stream a file in a legacy encoding into a UTF-8 copy DuckDB can read."""
    out = workdir / (path.name + ".utf8.csv")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(_CHUNK):
            try:
                dst.write(decoder.decode(chunk))
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{path.name}: byte {offset + exc.start} is not valid {encoding}. "
                    "Declare the file's real encoding with 'encoding:' in partnership.yaml "
                    f"(run `file {path.name}` to see what it looks like).",
                ) from None
            offset += len(chunk)
        dst.write(decoder.decode(b"", final=True))
    return out


def read_source_sql(path: Path, source: SourceConfig) -> str:
    """A SELECT giving the file's rows as text with ``_row``; for csv, parquet and json."""
    first_data_row = source.header_row + 1
    if source.format == "csv":
        opts = [
            "all_varchar = true",
            "header = true",
            f"skip = {source.header_row - 1}",
            "null_padding = true",
            "strict_mode = false",
            "sample_size = -1",
        ]
        if source.delimiter is not None:
            opts.append(f"delim = {_quote(source.delimiter)}")
        reader = f"read_csv({_quote(str(path))}, {', '.join(opts)})"
    elif source.format == "parquet":
        reader = f"read_parquet({_quote(str(path))})"
        first_data_row = 1
    elif source.format == "json":
        reader = f"read_json({_quote(str(path))}, format = 'array', sample_size = -1)"
        first_data_row = 1
    elif source.format == "jsonl":
        reader = f"read_json({_quote(str(path))}, format = 'newline_delimited', sample_size = -1)"
        first_data_row = 1
    else:  # pragma: no cover - xlsx is staged through parquet
        raise SourceError(f"format {source.format} has no SQL reader")
    return (
        f"SELECT (row_number() OVER ()) + {first_data_row - 1} AS _row, "
        f"COLUMNS(*)::VARCHAR FROM {reader}"
    )


def _xlsx_rows(path: Path, source: SourceConfig) -> Iterator[tuple[int, list[str | None]]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
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
                    f"does not exist. Sheets: {', '.join(names)}"
                )
            ws = wb[names[source.sheet]]
        else:
            if source.sheet not in names:
                raise SourceError(
                    f"{path.name}: no sheet named '{source.sheet}'. Sheets: {', '.join(names)}"
                )
            ws = wb[source.sheet]
        for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield n, [_cell_text(v) for v in row]
    finally:
        wb.close()


def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()  # type: ignore[no-any-return]
    return str(v)


def _xlsx_to_parquet(path: Path, source: SourceConfig, workdir: Path) -> Path:
    out = workdir / (path.name + f".{source.id}.parquet")
    header: list[str] | None = None
    writer: pq.ParquetWriter | None = None
    batch: list[list[str | None]] = []
    rows: list[int] = []

    def flush() -> None:
        nonlocal writer
        assert header is not None
        cols = {"_row": pa.array(rows, pa.int64())}
        for i, h in enumerate(header):
            cols[h] = pa.array([r[i] if i < len(r) else None for r in batch], pa.string())
        table = pa.table(cols)
        if writer is None:
            writer = pq.ParquetWriter(out, table.schema)
        writer.write_table(table)
        batch.clear()
        rows.clear()

    for n, values in _xlsx_rows(path, source):
        if n < source.header_row:
            continue
        if n == source.header_row:
            header = _header(values, path, n)
            continue
        if all(v is None or v == "" for v in values):
            continue
        batch.append(values)
        rows.append(n)
        if len(batch) >= 50_000:
            flush()
    if header is None:
        raise SourceError(
            f"{path.name}: no header row at row {source.header_row}; set 'header_row:' to the "
            "row that holds the column names"
        )
    if batch or writer is None:
        flush()
    assert writer is not None
    writer.close()
    return out


def _header(values: list[str | None], path: Path, n: int) -> list[str]:
    header = [("" if v is None else str(v)).strip() for v in values]
    while header and header[-1] == "":
        header.pop()
    seen: dict[str, int] = {}
    problems = []
    for i, h in enumerate(header):
        if not h:
            problems.append(Problem(f"{path.name} row {n}, column {i + 1}", "header is blank"))
        if h in seen:
            problems.append(
                Problem(
                    f"{path.name} row {n}, column {i + 1}",
                    f"header '{h}' repeats column {seen[h] + 1}; rename one of them",
                )
            )
        seen.setdefault(h, i)
    if problems:
        raise SourceError(f"{path.name}: the header row has problems", problems)
    return header


def stage_source(
    con: duckdb.DuckDBPyConnection, path: Path, source: SourceConfig, table: str
) -> int:
    """Load one source file into ``table`` (text columns + ``_row``); return its row count."""
    with tempfile.TemporaryDirectory(prefix="joinedup-") as tmp:
        workdir = Path(tmp)
        if source.format == "xlsx":
            pq_path = _xlsx_to_parquet(path, source, workdir)
            sql = f"SELECT * FROM read_parquet({_quote(str(pq_path))})"
        else:
            read_path = path
            if source.format == "csv" and source.encoding not in _DUCKDB_ENCODINGS:
                read_path = _transcode_to_utf8(path, source.encoding, workdir)
            elif source.format == "csv" and source.encoding in _DUCKDB_ENCODINGS:
                sql_enc = _DUCKDB_ENCODINGS[source.encoding]
                if sql_enc != "utf-8":
                    read_path = _transcode_to_utf8(path, source.encoding, workdir)
            sql = read_source_sql(read_path, source)
        try:
            con.execute(f'CREATE OR REPLACE TABLE "{table}" AS {sql}')
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise SourceError(
                f"{path.name}: could not be read as {source.format} ({_safe(first)}). "
                "Check the format, encoding and delimiter declared for this source."
            ) from None
    n = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return int(n[0]) if n else 0


def _safe(message: str) -> str:
    """DuckDB error text can quote a line of the file: keep only the part before any quote."""
    for marker in ("Original Line", '"', "'"):
        cut = message.find(marker)
        if cut > 0:
            message = message[:cut]
    return message.strip().rstrip(":").strip()
