"""Writers: protected tables to the files analysts' own tools read.

- CSV: UTF-8 with a byte-order mark (Excel opens it as UTF-8), a header row of labels,
  "c" kept; a text cell that a spreadsheet would run as a formula gets a leading
  apostrophe (:func:`neutralise`).
- Excel: one sheet per table as an Excel table (a named ListObject that Power BI and
  Power Query pick up), no merged cells, counts as numbers and "c" as text, plus a
  "Notes" sheet with each table's title, tier, release and footnotes.
- Parquet: typed columns; a count column is an integer that is null where suppressed,
  with a ``<key>_suppressed`` boolean beside it, so nothing is guessed from a null.
- GeoJSON: one feature per area of the table, with the area's boundary from the
  partnership's geography file (public boundaries, not the release).
- i2 Analyst's Notebook: an entity/link CSV (:mod:`joinedup.present.i2`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from joinedup.present.tables import ProtectedTable
from joinedup.views import SUPPRESSED

__all__ = ["neutralise", "to_csv", "to_geojson", "to_parquet", "to_xlsx"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")


def neutralise(value: Any) -> Any:
    """A cell a spreadsheet will show as text, never run: text starting with = + - @ | %
    or a tab or carriage return gets a leading apostrophe. Numbers pass as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(table: ProtectedTable) -> str:
    """The table as CSV text (write it with encoding ``utf-8-sig``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralise(x) for x in table.labels])
    for row in table.rows:
        w.writerow(["" if x is None else neutralise(x) for x in row])
    return buf.getvalue()


def _sheet_name(name: str, taken: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "table"
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f"_{n}"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def to_xlsx(tables: Sequence[ProtectedTable], path: Path) -> Path:
    """Write ``tables`` to one workbook, a sheet each, then a Notes sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = {"notes"}
    right = Alignment(horizontal="right")
    placed: list[tuple[str, ProtectedTable]] = []
    for t in tables:
        ws = wb.create_sheet(_sheet_name(t.name, taken))
        ws.append([neutralise(x) for x in t.labels])
        for row in t.rows:
            ws.append([neutralise(x) for x in row])
        for c, col in enumerate(t.columns, start=1):
            letter = get_column_letter(c)
            width = max([len(col.label), *(len(str(r[c - 1] or "")) for r in t.rows)])
            ws.column_dimensions[letter].width = min(max(10, width + 2), 60)
            if col.kind in ("count", "number"):
                for cell in ws[letter][1:]:
                    if cell.value == SUPPRESSED:
                        cell.alignment = right
                    elif isinstance(cell.value, int):
                        cell.number_format = "#,##0"
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        ref = f"A1:{get_column_letter(len(t.columns))}{len(t.rows) + 1}"
        xl = Table(displayName=f"t_{len(placed) + 1}_{t.name}"[:250], ref=ref)
        xl.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        if t.rows:
            ws.add_table(xl)
        placed.append((ws.title, t))
    notes = wb.create_sheet("Notes")
    notes.append(["Sheet", "Title", "Tier", "Release", "Notes"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for sheet, t in placed:
        notes.append(
            [sheet, neutralise(t.title), t.tier, t.release_id, neutralise(" ".join(t.notes))]
        )
    for letter, width in zip("ABCDE", (24, 60, 12, 30, 100), strict=True):
        notes.column_dimensions[letter].width = width
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def to_parquet(table: ProtectedTable, path: Path) -> Path:
    """Write the table as Parquet, with the tier, release and notes in its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays: dict[str, Any] = {}
    for c, col in enumerate(table.columns):
        values = [r[c] for r in table.rows]
        if col.kind == "count":
            arrays[col.key] = pa.array(
                [v if isinstance(v, int) else None for v in values], type=pa.int64()
            )
            arrays[f"{col.key}_suppressed"] = pa.array([v == SUPPRESSED for v in values])
        elif col.kind == "number" and all(
            v is None or isinstance(v, int | float) and not isinstance(v, bool) for v in values
        ):
            is_int = all(v is None or isinstance(v, int) for v in values)
            arrays[col.key] = pa.array(values, type=pa.int64() if is_int else pa.float64())
        else:
            arrays[col.key] = pa.array([None if v is None else str(v) for v in values], pa.string())
    meta = {
        "joinedup.title": table.title,
        "joinedup.tier": table.tier,
        "joinedup.release_id": table.release_id,
        "joinedup.notes": json.dumps(list(table.notes)),
        "joinedup.labels": json.dumps(dict(zip(table.keys, table.labels, strict=True))),
    }
    pa_table = pa.table(arrays).replace_schema_metadata(meta)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa_table, path)
    return path


def to_geojson(
    table: ProtectedTable, boundaries: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """A FeatureCollection with one feature per row whose area is in ``boundaries``.

    ``boundaries`` maps an area code to ``{"name", "type", "geometry"}``
    (:func:`joinedup.present.files.area_boundaries`). Rows are matched on the code in the area
    column, else on the name (the ``area_name`` column, or the area column's value).
    Rows that match no area (totals, "Not known") are not features; they are counted
    under ``joinedup.unmatched_rows``.
    """
    if table.area_column is None:
        raise ValueError(f"table {table.name} has no area column to map")
    by_name = {str(b.get("name", "")).casefold(): code for code, b in boundaries.items()}
    features, unmatched = [], 0
    for record in table.records():
        key = str(record[table.area_column] or "")
        name = str(record.get("area_name") or key)
        code = key if key in boundaries else by_name.get(name.casefold())
        if code is None:
            unmatched += 1
            continue
        area = boundaries[code]
        props = {"area_code": code, "area_name": area.get("name"), "area_type": area.get("type")}
        props.update({k: v for k, v in record.items() if k not in props})
        features.append({"type": "Feature", "geometry": area.get("geometry"), "properties": props})
    return {
        "type": "FeatureCollection",
        "features": features,
        "joinedup": {
            "title": table.title,
            "tier": table.tier,
            "release_id": table.release_id,
            "notes": list(table.notes),
            "labels": dict(zip(table.keys, table.labels, strict=True)),
            "suppressed": SUPPRESSED,
            "unmatched_rows": unmatched,
        },
    }
