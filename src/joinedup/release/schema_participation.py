"""The release's tables for what children and young people say (issue 20, item 2):
surveys and mapping exercises about where they feel safe and unsafe, and what helps.

None of them holds an identifier: an extract with a name or date-of-birth column is
refused before it is read (:mod:`joinedup.sources.participation`), and free text is
scrubbed (:mod:`joinedup.insight.scrubber`).
"""

from __future__ import annotations

from joinedup.release.schema_base import Table, table

__all__ = ["PARTICIPATION_TABLES"]

PARTICIPATION_TABLES: tuple[Table, ...] = (
    table(
        "participation_source",
        "One survey or mapping exercise (partnership.yaml `participation:`), as read.",
        ("participation", "VARCHAR", "Its id in partnership.yaml."),
        ("title", "VARCHAR", "Its title."),
        ("kind", "VARCHAR", "individual (a row a response) or aggregate (a row an area)."),
        ("agency", "VARCHAR", "The agency that ran it."),
        ("sharing_agreement", "VARCHAR", "The agreement it is shared under (its tiers)."),
        ("file", "VARCHAR", "File name, relative to the partnership folder."),
        ("file_sha256", "VARCHAR", "SHA-256 of the file read."),
        ("rows_read", "INTEGER", "Data rows read."),
        ("rows_set_aside", "INTEGER", "Rows set aside (in `quarantine`, with why)."),
        ("responses", "INTEGER", "Responses it holds (aggregate: the sum of its rows)."),
        ("unplaced", "INTEGER", "Responses that could not be placed in a ward."),
        ("first_date", "DATE", "Earliest date (or period start) of its rows."),
        ("last_date", "DATE", "Latest date (or period end) of its rows."),
    ),
    table(
        "participation_response",
        "One response of an individual survey: where, how safe the young person feels "
        "there, and what would help (scrubbed). No identifier is kept.",
        ("participation", "VARCHAR", "Survey id (participation_source)."),
        ("row_number", "BIGINT", "Row number in the file."),
        ("age_band", "VARCHAR", "The respondent's age band as the survey records it."),
        ("place_name", "VARCHAR", "The place as named (scrubbed of names and identifiers)."),
        ("location", "VARCHAR", "The free-text location (scrubbed)."),
        ("postcode", "VARCHAR", "The place's postcode, normalised, where given."),
        ("small_area", "VARCHAR", "Small area code, where the place can be placed in one."),
        ("ward", "VARCHAR", "Ward code, where the place can be placed in one."),
        ("authority", "VARCHAR", "Local authority code, where known."),
        (
            "placed_by",
            "VARCHAR",
            "How it was placed: postcode, area_code, place (a recorded or gazetteer place "
            "of that name), location (an area's name in the text), or NULL (not placed).",
        ),
        ("feeling", "VARCHAR", "unsafe, safe or not_known (any other answer)."),
        ("what_helps", "VARCHAR", "What would help, scrubbed of names and identifiers."),
        ("redactions", "INTEGER", "Replacements the scrubber made in the free text."),
        ("response_date", "DATE", "The date of the response (or the survey's closing date)."),
    ),
    table(
        "participation_area",
        "One row of an aggregate table: responses and those saying unsafe, for an area and "
        "type of place, over a period.",
        ("participation", "VARCHAR", "Table id (participation_source)."),
        ("row_number", "BIGINT", "Row number in the file."),
        ("area_code", "VARCHAR", "The area code as given."),
        ("small_area", "VARCHAR", "Small area code, when the area is one."),
        ("ward", "VARCHAR", "Ward code (the area, or the ward a small area is in)."),
        ("authority", "VARCHAR", "Local authority code."),
        ("place_type", "VARCHAR", "The type of place as given (free text), where given."),
        ("responses", "INTEGER", "Responses."),
        ("unsafe", "INTEGER", "Responses saying the young person feels unsafe."),
        ("period_start", "DATE", "First day of the period."),
        ("period_end", "DATE", "Last day of the period."),
    ),
    table(
        "participation_count",
        "Responses and those saying unsafe by survey, ward and date, from both kinds: what "
        "the places page's layer counts (protected like any count before it is shown).",
        ("participation", "VARCHAR", "Survey or table id."),
        ("ward", "VARCHAR", "Ward code (NULL: not placed in a ward)."),
        ("authority", "VARCHAR", "Local authority code, where known."),
        ("on_date", "DATE", "Response date, or the end of an aggregate row's period."),
        ("responses", "INTEGER", "Responses."),
        ("unsafe", "INTEGER", "Responses saying unsafe."),
    ),
)
