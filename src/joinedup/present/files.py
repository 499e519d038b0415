"""Protected tables written to files, in any of the formats (:data:`FORMATS`).

:func:`write_tables` writes protected tables (the overview's, or a question's answer
through :func:`~joinedup.present.tables.answer_table`) as CSV, Excel, Parquet, GeoJSON or
i2 link CSV: the web app's downloads and ``joinedup export`` use it alike.
:func:`area_boundaries` reads the partnership's public area boundaries for GeoJSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from joinedup.config import load_config
from joinedup.errors import JoinedupError
from joinedup.present.i2 import links_csv, table_links
from joinedup.present.tables import ProtectedTable
from joinedup.present.writers import to_csv, to_geojson, to_parquet, to_xlsx

__all__ = ["FORMATS", "ExportError", "area_boundaries", "write_tables"]

FORMATS = ("csv", "xlsx", "parquet", "geojson", "i2")


class ExportError(JoinedupError):
    """An export could not be written as asked."""


def area_boundaries(partnership_dir: Path) -> dict[str, dict[str, Any]]:
    """Area code -> {name, type, parent, geometry} from the partnership's geography
    (``geography.areas`` in partnership.yaml, a GeoJSON file or a CSV with
    ``geography.boundaries``), read as the build reads it (issue 13)."""
    import duckdb

    from joinedup.config.geography import Geography
    from joinedup.pipeline.geography import read_geography

    cfg = load_config(partnership_dir, check_files=False)
    geo = cfg.geography
    if geo.areas is None:
        raise ExportError(
            "partnership.yaml sets no geography.areas, so there are no boundaries to map; "
            "add a GeoJSON file of areas (properties code, name, type, parent)."
        )
    only = cfg.model_copy(
        update={"geography": Geography(areas=geo.areas, boundaries=geo.boundaries)}
    )
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TABLE area (area_code VARCHAR, area_name VARCHAR, area_type VARCHAR, "
            "parent_code VARCHAR, geometry VARCHAR)"
        )
        found = read_geography(con, only, Path(partnership_dir))
        if found.problems:
            raise ExportError(
                "The areas cannot be read: " + "; ".join(str(p) for p in found.problems)
            )
        rows = con.execute(
            "SELECT area_code, area_name, area_type, parent_code, geometry FROM area "
            "WHERE geometry IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    return {
        str(code): {"name": name, "type": kind, "parent": parent, "geometry": json.loads(g)}
        for code, name, kind, parent, g in rows
    }


def write_tables(
    tables: Sequence[ProtectedTable],
    fmt: str,
    out: Path,
    *,
    boundaries: dict[str, dict[str, Any]] | None = None,
) -> list[Path]:
    """Write protected tables in ``fmt``: one workbook for xlsx, else one file a table
    in the folder ``out`` (GeoJSON only for tables with an area column)."""
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format '{fmt}'; choose one of {', '.join(FORMATS)}.")
    out = Path(out)
    if fmt == "xlsx":
        target = out if out.suffix == ".xlsx" else out / "tables.xlsx"
        return [to_xlsx(tables, target)]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for t in tables:
        if fmt == "csv":
            path = out / f"{t.name}.csv"
            path.write_text(to_csv(t), encoding="utf-8-sig", newline="")
        elif fmt == "parquet":
            path = to_parquet(t, out / f"{t.name}.parquet")
        elif fmt == "geojson":
            if t.area_column is None:
                continue
            if boundaries is None:
                raise ExportError("GeoJSON needs the partnership's area boundaries.")
            path = out / f"{t.name}.geojson"
            path.write_text(json.dumps(to_geojson(t, boundaries)), encoding="utf-8")
        else:  # i2
            if t.area_column is None:
                continue
            label = next((c.key for c in t.columns if c.key == "area_name"), None)
            links = table_links(
                t,
                from_column=t.area_column,
                label_column=label,
                from_type="Area",
                to_type="Exploitation type",
            )
            path = out / f"{t.name}_i2.csv"
            path.write_text(links_csv(links), encoding="utf-8-sig", newline="")
        written.append(path)
    return written
