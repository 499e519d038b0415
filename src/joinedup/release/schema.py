"""The release schema: the tables every release holds, with their documented columns.

This module (with ``schema_records`` and ``schema_derived``, which define the tables) is
the single source of truth for the release's shape. ``docs/data-model.md`` describes each
table for analysts, and a test checks that the two agree.
"""

from __future__ import annotations

from joinedup.release.schema_base import Column, Table
from joinedup.release.schema_derived import INSIGHT_TABLES, LINKAGE_TABLES, QUALITY_TABLES
from joinedup.release.schema_participation import PARTICIPATION_TABLES  # issue 20
from joinedup.release.schema_records import RECORD_TABLES
from joinedup.release.schema_values import VALUE_TABLES

__all__ = ["TABLES", "Column", "Table", "create_schema_sql"]


#: Every release table, in documented order.
TABLES: tuple[Table, ...] = (
    *RECORD_TABLES,
    *VALUE_TABLES,
    *INSIGHT_TABLES,
    *PARTICIPATION_TABLES,
    *QUALITY_TABLES,
    *LINKAGE_TABLES,
)


def create_schema_sql() -> list[str]:
    """CREATE TABLE statements for every release table, in documented order."""
    return [t.create_sql() for t in TABLES]
