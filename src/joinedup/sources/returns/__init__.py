"""National returns read with no mapping (issue 13): the children in need census (XML),
the SSDA903 looked-after children return and the Standard Safeguarding Dataset (CSV
tables).

Their tables and built-in mappings are configuration (:mod:`joinedup.config.returns`);
here are the readers: :func:`stage_cin_census` streams the census XML into rows, and
:func:`return_table_columns` lines a CSV table's columns up with its return's.
"""

from __future__ import annotations

from joinedup.sources.returns.cinxml import CIN_COLUMNS, stage_cin_census
from joinedup.sources.returns.tables import (
    TABLE_FORMATS,
    return_columns_sql,
    return_table_columns,
)

__all__ = [
    "CIN_COLUMNS",
    "TABLE_FORMATS",
    "return_columns_sql",
    "return_table_columns",
    "stage_cin_census",
]
