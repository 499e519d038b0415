"""The release's tables for values a mapping adds (issue 13): addresses and identifiers of
declared kinds (both restricted), and the field problems of values left empty.
"""

from __future__ import annotations

from joinedup.release.schema_base import Table, table

__all__ = ["VALUE_TABLES"]

VALUE_TABLES: tuple[Table, ...] = (
    table(
        "identity_address",
        "The address of a record's person as the extract gives it (identity.address), for "
        "linkage and home vs not-home. Restricted: never shown or exported.",
        ("source", "VARCHAR", "Source id."),
        ("source_record_id", "VARCHAR", "Record id within the source."),
        (
            "address",
            "VARCHAR",
            "The address, upper case, every run of punctuation and spaces one space.",
        ),
        ("postcode", "VARCHAR", "The UK postcode found in it, normalised, where there is one."),
        restricted=True,
    ),
    table(
        "identity_id",
        "Identifiers of the kinds partnership.yaml declares (identifier_kinds), one row per "
        "record and kind, valid values only. Restricted.",
        ("source", "VARCHAR", "Source id."),
        ("source_record_id", "VARCHAR", "Record id within the source."),
        ("kind", "VARCHAR", "The identifier kind's name in partnership.yaml."),
        (
            "scope",
            "VARCHAR",
            "shared (links records across agencies) or agency (within one agency only).",
        ),
        ("value", "VARCHAR", "The identifier, without spaces, upper case."),
        restricted=True,
    ),
    table(
        "field_problem",
        "Values that failed validation and were left empty, the row kept (never the value).",
        ("source", "VARCHAR", "Source id."),
        ("file", "VARCHAR", "File name."),
        ("row_number", "BIGINT", "Row number in the file (header is row 1 in CSV files)."),
        ("column_name", "VARCHAR", "Column (or columns) the value comes from."),
        ("field", "VARCHAR", "Canonical field (e.g. identity.dob)."),
        (
            "problem",
            "VARCHAR",
            "bad_date (no date in an accepted format, or an impossible one), "
            "bad_check_digit or bad_format (an identifier).",
        ),
        ("reason", "VARCHAR", "What is wrong and how to fix it."),
    ),
)
