"""Releases: immutable, versioned DuckDB files with lineage, published atomically."""

from __future__ import annotations

from joinedup.release.schema import TABLES, create_schema_sql
from joinedup.release.store import (
    ReleaseHandle,
    current_release_id,
    list_releases,
    open_current,
    open_release,
    releases_dir,
)

__all__ = [
    "TABLES",
    "ReleaseHandle",
    "create_schema_sql",
    "current_release_id",
    "list_releases",
    "open_current",
    "open_release",
    "releases_dir",
]
