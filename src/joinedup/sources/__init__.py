"""Sources: agency extracts read through declarative mappings into canonical columns."""

from __future__ import annotations

from joinedup.sources.mapping import (
    DATE_FIELDS,
    FORMULA_STARTS,
    MAPPED_COLUMNS,
    Crosswalks,
    MappingPlan,
    exploitation_rows_sql,
    field_quality_sql,
    filter_sql,
    mapped_sql,
    plan_mapping,
    plan_sql,
    resolve_crosswalks,
    text_sql,
    unmapped_codes_sql,
)
from joinedup.sources.readers import (
    ReadReport,
    Staged,
    detect_encoding,
    drop_staged,
    read_source_sql,
    record_read_quarantine,
    stage,
    stage_source,
)

__all__ = [
    "DATE_FIELDS",
    "FORMULA_STARTS",
    "MAPPED_COLUMNS",
    "Crosswalks",
    "MappingPlan",
    "ReadReport",
    "Staged",
    "detect_encoding",
    "drop_staged",
    "exploitation_rows_sql",
    "field_quality_sql",
    "filter_sql",
    "mapped_sql",
    "plan_mapping",
    "plan_sql",
    "read_source_sql",
    "record_read_quarantine",
    "resolve_crosswalks",
    "stage",
    "stage_source",
    "text_sql",
    "unmapped_codes_sql",
]
