"""Exports of a partnership's current release, through disclosure control.

:func:`export_overview` writes the protected overview for a tier in one of the formats
(:data:`FORMATS`); :func:`write_tables` writes any protected tables (question answers
plug in here through :func:`~joinedup.export.answer_table`). :func:`area_boundaries`
reads the partnership's public area boundaries for GeoJSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from joinedup.config import CONFIG_FILE, load_config
from joinedup.disclosure import ReleaseLike, Tier, current_overview
from joinedup.errors import JoinedupError
from joinedup.export.i2 import links_csv, table_links
from joinedup.export.table import ProtectedTable, overview_tables
from joinedup.export.writers import to_csv, to_geojson, to_parquet, to_xlsx

__all__ = ["FORMATS", "ExportError", "area_boundaries", "export_overview", "write_tables"]

FORMATS = ("csv", "xlsx", "parquet", "geojson", "i2")


class ExportError(JoinedupError):
    """An export could not be written as asked."""


def area_boundaries(partnership_dir: Path) -> dict[str, dict[str, Any]]:
    """Area code -> {name, type, parent, geometry} from the partnership's geography
    (``geography.areas`` in partnership.yaml: a GeoJSON FeatureCollection)."""
    cfg = load_config(partnership_dir, check_files=False)
    if cfg.geography.areas is None:
        raise ExportError(
            "partnership.yaml sets no geography.areas, so there are no boundaries to map; "
            "add a GeoJSON file of areas (properties code, name, type, parent)."
        )
    path = Path(partnership_dir) / cfg.geography.areas
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(
            f"{cfg.geography.areas}: cannot be read as GeoJSON ({type(exc).__name__})."
        ) from None
    out = {}
    for f in doc.get("features", []):
        props = f.get("properties") or {}
        if props.get("code"):
            out[str(props["code"])] = {
                "name": props.get("name") or props["code"],
                "type": props.get("type"),
                "parent": props.get("parent"),
                "geometry": f.get("geometry"),
            }
    return out


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


def export_overview(
    partnership_dir: Path,
    fmt: str,
    out: Path,
    *,
    tier: Tier = Tier.STRATEGIC,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> list[Path]:
    """Write the current release's overview, protected for ``tier``, as ``fmt``."""
    protected = current_overview(Path(partnership_dir), Tier(tier), open_release=open_release)
    tables = overview_tables(protected)
    boundaries = None
    if fmt == "geojson" and (Path(partnership_dir) / CONFIG_FILE).is_file():
        boundaries = area_boundaries(Path(partnership_dir))
    return write_tables(tables, fmt, out, boundaries=boundaries)
