"""Shared definitions: versioned code lists, their definitions, and crosswalks onto them.

The data lives in ``taxonomy/data/<version>/`` as YAML; ``docs/taxonomy.md`` is generated
from it (``python -m joinedup.taxonomy.docs``). Other stages read codes from here and never
hard-code labels or hierarchies.

    >>> tax = load_taxonomy()
    >>> tax.report_group("county_lines")
    'CCE and county lines'
    >>> tax.crosswalk("cin_factor")["24A"]
    ('cce',)
"""

from __future__ import annotations

from joinedup.taxonomy.crosswalk import (
    CROSSWALK_COLUMNS,
    Crosswalk,
    compile_crosswalk,
    load_crosswalk_csv,
    normalise_local_code,
    split_targets,
    validate_crosswalk,
    write_crosswalk_csv,
)
from joinedup.taxonomy.loader import available_versions, current_version, load_taxonomy
from joinedup.taxonomy.model import LOCAL_PREFIX, CodeList, Entry, Taxonomy
from joinedup.taxonomy.tables import TABLE_COLUMNS, taxonomy_tables

__all__ = [
    "CROSSWALK_COLUMNS",
    "CodeList",
    "Crosswalk",
    "Entry",
    "LOCAL_PREFIX",
    "TABLE_COLUMNS",
    "Taxonomy",
    "available_versions",
    "compile_crosswalk",
    "current_version",
    "load_crosswalk_csv",
    "load_taxonomy",
    "normalise_local_code",
    "split_targets",
    "taxonomy_tables",
    "validate_crosswalk",
    "write_crosswalk_csv",
]
