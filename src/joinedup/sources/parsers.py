"""Value parsers: a pure-Python reference and a DuckDB SQL twin for each.

The mapping engine parses extract columns in DuckDB SQL; the Python functions here define
what the SQL must compute and are used by tests (and for single values). Each pair is kept
in step by property tests (``tests/test_parsers.py``).

Common rules:

* NULL, empty and whitespace-only input give NULL / ``None``. "Whitespace" is the fixed
  set ``WHITESPACE`` (ASCII whitespace, no-break and typographic spaces, the BOM), the same
  in Python and SQL; it does not depend on either side's Unicode tables.
* Identifiers (NHS number, UPN, postcode) are validated on ASCII only, before upper-casing,
  so that Unicode case folding (``'ı'.upper() == 'I'``, the Kelvin sign) cannot make a
  value valid on one side and not the other.
* Dates: every format must match the whole (trimmed) value. Each format is compiled to a
  strict regular expression (ASCII digits, fixed widths, ranges checked) that gates
  ``try_strptime``; DuckDB's ``strptime`` alone accepts trailing spaces, 2-digit ``%Y`` and
  full month names for ``%b``, which Python's does not.

``install_macros`` is the only function that runs SQL; the ``*_sql`` builders return text
that calls the installed ``ju_`` macros. Macros named ``ju__...`` are internal helpers.

This module is the one place to import them from; the code lives in
:mod:`~joinedup.sources.sqltext` (whitespace, quoting, helper macros),
:mod:`~joinedup.sources.identifiers` (NHS number, UPN, postcodes),
:mod:`~joinedup.sources.dates`, :mod:`~joinedup.sources.names` and
:mod:`~joinedup.sources.codes` (sex, booleans, formula-like text).
"""

from __future__ import annotations

import duckdb

from joinedup.sources.codes import (
    DEFAULT_SEX_CODES,
    DEFAULT_TRUE_VALUES,
    bool_sql,
    is_formula_like,
    parse_bool,
    sex_code,
    sex_macros,
)
from joinedup.sources.dates import (
    DATE_MACROS,
    DEFAULT_DATE_FORMATS,
    ESTIMATED_RULES,
    MAX_YEAR,
    MIN_YEAR,
    date_sql,
    estimated_date_sql,
    parse_date,
    parse_date_estimated,
)
from joinedup.sources.identifiers import (
    NHS_MACROS,
    POSTCODE_MACROS,
    UPN_LETTERS,
    UPN_MACROS,
    nhs_number_valid,
    postcode_district,
    postcode_normalise,
    postcode_sector,
    upn_valid,
)
from joinedup.sources.names import (
    _NAME_LETTERS,
    _NAME_UPPER,
    NAME_ORDERS,
    full_name_forename_sql,
    full_name_surname_sql,
    name_macros,
    name_normalise,
    split_full_name,
)
from joinedup.sources.sqltext import HELPER_MACROS, WHITESPACE

__all__ = [
    "DEFAULT_DATE_FORMATS",
    "DEFAULT_SEX_CODES",
    "DEFAULT_TRUE_VALUES",
    "ESTIMATED_RULES",
    "MACROS_SQL",
    "MAX_YEAR",
    "MIN_YEAR",
    "NAME_ORDERS",
    "UPN_LETTERS",
    "WHITESPACE",
    "bool_sql",
    "date_sql",
    "estimated_date_sql",
    "full_name_forename_sql",
    "full_name_surname_sql",
    "install_macros",
    "is_formula_like",
    "name_normalise",
    "nhs_number_valid",
    "parse_bool",
    "parse_date",
    "parse_date_estimated",
    "postcode_district",
    "postcode_normalise",
    "postcode_sector",
    "sex_code",
    "split_full_name",
    "upn_valid",
]

# the name tables, for tests that check Python and SQL agree on every letter
__all__ += ["_NAME_LETTERS", "_NAME_UPPER"]

MACROS_SQL: list[str] = [
    *HELPER_MACROS,
    *NHS_MACROS,
    *UPN_MACROS,
    *POSTCODE_MACROS,
    *DATE_MACROS,
    *name_macros(),
    *sex_macros(),
]
"""Every macro, in dependency order; all named ``ju_...`` (``ju__...`` are helpers)."""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) every ``ju_`` macro on ``con``."""
    for statement in MACROS_SQL:
        con.execute(statement)
