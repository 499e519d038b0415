"""Exports: protected tables to CSV, Excel, Parquet, GeoJSON and i2 entity/link CSV.

A consumer stage like ``web`` and ``report``: every figure it writes has passed
``joinedup.disclosure`` first (:class:`ProtectedTable` is built only from disclosure's
output), and it never opens a release itself. See ``docs/exports.md``.
"""

from __future__ import annotations

from joinedup.export.files import (
    FORMATS,
    ExportError,
    area_boundaries,
    export_overview,
    write_tables,
)
from joinedup.export.i2 import I2_COLUMNS, Link, links_csv, network_links, table_links
from joinedup.export.table import Column, ProtectedTable, answer_table, overview_tables, slug
from joinedup.export.writers import neutralise, to_csv, to_geojson, to_parquet, to_xlsx

__all__ = [
    "FORMATS",
    "I2_COLUMNS",
    "Column",
    "ExportError",
    "Link",
    "ProtectedTable",
    "answer_table",
    "area_boundaries",
    "export_overview",
    "links_csv",
    "network_links",
    "neutralise",
    "overview_tables",
    "slug",
    "table_links",
    "to_csv",
    "to_geojson",
    "to_parquet",
    "to_xlsx",
    "write_tables",
]
