"""Sources: agency extracts read through declarative mappings into canonical columns."""

from __future__ import annotations

from joinedup.sources.mapping import (
    MAPPED_COLUMNS,
    Crosswalks,
    exploitation_rows_sql,
    field_quality_sql,
    filter_sql,
    mapped_sql,
    resolve_crosswalks,
    text_sql,
)
from joinedup.sources.readers import read_source_sql, stage_source

__all__ = [
    "MAPPED_COLUMNS",
    "Crosswalks",
    "exploitation_rows_sql",
    "field_quality_sql",
    "filter_sql",
    "mapped_sql",
    "read_source_sql",
    "resolve_crosswalks",
    "stage_source",
    "text_sql",
]
