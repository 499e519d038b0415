"""The release schema: the tables every release holds, with their documented columns.

This module is the single source of truth for the release's shape. ``docs/data-model.md``
describes each table for analysts, and a test checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TABLES", "Column", "Table", "create_schema_sql"]


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    restricted: bool = False  # holds identifying fields: operational tier only

    def create_sql(self) -> str:
        cols = ",\n  ".join(f'"{c.name}" {c.type}' for c in self.columns)
        return f'CREATE TABLE "{self.name}" (\n  {cols}\n)'


def _t(name: str, description: str, *cols: tuple[str, str, str], restricted: bool = False) -> Table:
    return Table(name, description, tuple(Column(*c) for c in cols), restricted)


TABLES: tuple[Table, ...] = (
    _t(
        "release_info",
        "One row per fact about the release: id, time built, partnership, code and config.",
        ("key", "VARCHAR", "Name of the fact (release_id, built_at, partnership, ...)."),
        ("value", "VARCHAR", "Its value, as text."),
    ),
    _t(
        "source",
        "One agency extract read into the release.",
        ("source", "VARCHAR", "Source id from partnership.yaml (e.g. police_crimes)."),
        ("agency", "VARCHAR", "Agency id that owns the extract."),
        ("agency_type", "VARCHAR", "Kind of agency: police, childrens_social_care, health, ..."),
        ("dataset", "VARCHAR", "Plain-words name of the dataset."),
        ("file", "VARCHAR", "File name read, relative to the partnership folder."),
        ("format", "VARCHAR", "csv, xlsx, parquet, json or jsonl."),
        ("sha256", "VARCHAR", "SHA-256 of the file's bytes."),
        ("extracted_at", "DATE", "Date the extract was taken (from config or file time)."),
        ("rows_read", "BIGINT", "Data rows in the file."),
        ("rows_loaded", "BIGINT", "Rows that produced canonical records."),
        (
            "rows_filtered",
            "BIGINT",
            "Rows removed by the mapping's filters (test records, out of scope).",
        ),
        ("rows_quarantined", "BIGINT", "Rows set aside in quarantine."),
        ("sharing_agreement", "VARCHAR", "Key of the sharing agreement the data is held under."),
    ),
    _t(
        "record",
        "One person as they appear in one source row.",
        ("source", "VARCHAR", "Source id."),
        ("source_record_id", "VARCHAR", "The record's id within its source (unique per source)."),
        ("agency", "VARCHAR", "Agency id."),
        ("source_row", "BIGINT", "Row number in the file (header is row 1 in CSV files)."),
        ("record_date", "DATE", "Date of the activity the row records, where known."),
    ),
    _t(
        "identity",
        "The identifying fields of each record, normalised and validated. Restricted.",
        ("source", "VARCHAR", "Source id."),
        ("source_record_id", "VARCHAR", "Record id within the source."),
        ("forename", "VARCHAR", "Forename, upper case, trimmed."),
        ("surname", "VARCHAR", "Surname, upper case, trimmed."),
        ("preferred_name", "VARCHAR", "Preferred or known-as name, where given."),
        ("dob", "DATE", "Date of birth."),
        ("dob_estimated", "BOOLEAN", "True where the source marks the date of birth as estimated."),
        ("sex", "VARCHAR", "F, M, or U (unknown / not stated)."),
        ("postcode", "VARCHAR", "Full postcode, normalised (e.g. 'WX1 2AB'), valid format only."),
        ("postcode_district", "VARCHAR", "Postcode district (e.g. 'WX1')."),
        ("nhs_number", "VARCHAR", "NHS number, 10 digits, only where the check digit is valid."),
        ("upn", "VARCHAR", "Unique pupil number, only where the check letter is valid."),
        ("pnc_id", "VARCHAR", "Police National Computer id, where given."),
        ("local_id", "VARCHAR", "The agency's own person id, where given."),
        ("ethnicity", "VARCHAR", "DfE ethnicity code (e.g. WBRI), where given or mapped."),
        restricted=True,
    ),
    _t(
        "person",
        "A resolved person with a pseudonymous id and derived attributes.",
        ("person_id", "VARCHAR", "Pseudonymous id (keyed hash; no identifier can be recovered)."),
        ("sex", "VARCHAR", "Most often recorded sex: F, M or U."),
        ("ethnicity", "VARCHAR", "Most often recorded DfE ethnicity code."),
        ("ethnicity_group", "VARCHAR", "Census ethnicity group of that code."),
        ("birth_year", "INTEGER", "Year of birth (most often recorded)."),
        ("age", "INTEGER", "Age in whole years at the release's reference date."),
        (
            "age_band",
            "VARCHAR",
            "Age band at the reference date: 0-9, 10-13, 14-15, 16-17, 18-20, 21-24, 25+.",
        ),
        (
            "home_postcode_district",
            "VARCHAR",
            "Postcode district of the most recent home postcode.",
        ),
        ("home_small_area", "VARCHAR", "Small area code of the most recent home postcode."),
        ("home_ward", "VARCHAR", "Ward code of the most recent home postcode."),
        ("home_authority", "VARCHAR", "Local authority code of the most recent home postcode."),
        ("first_seen", "DATE", "Earliest record date across sources."),
        ("last_seen", "DATE", "Latest record date across sources."),
        ("n_records", "INTEGER", "Number of records linked to the person."),
        ("n_agencies", "INTEGER", "Number of distinct agencies that hold a record."),
        ("agencies", "VARCHAR", "Agency ids that hold a record, sorted, separated by ';'."),
    ),
    _t(
        "record_person",
        "Which person each record belongs to, with how it was linked.",
        ("source", "VARCHAR", "Source id."),
        ("source_record_id", "VARCHAR", "Record id within the source."),
        ("person_id", "VARCHAR", "The person the record is resolved to."),
        (
            "match_probability",
            "DOUBLE",
            "Probability that the link is right (1.0 for exact identifier links).",
        ),
        ("rule", "VARCHAR", "What linked it: nhs_number, upn, pnc_id, local_id, or singleton."),
    ),
    _t(
        "event",
        "Something that happened: a contact, assessment, crime, missing episode, attendance, ...",
        (
            "event_id",
            "VARCHAR",
            "Event id, unique in the release (source id + the source's own reference).",
        ),
        ("source", "VARCHAR", "Source id."),
        ("agency", "VARCHAR", "Agency id."),
        ("event_type", "VARCHAR", "Event type from the taxonomy (e.g. crime, missing_episode)."),
        ("event_date", "DATE", "Date it happened or started."),
        ("end_date", "DATE", "Date it ended (missing episodes, support episodes), where known."),
        ("place_id", "VARCHAR", "Where it happened, where known (see place)."),
        ("outcome", "VARCHAR", "Outcome, decision or category as mapped (e.g. NRM decision)."),
        ("county_lines", "BOOLEAN", "True where the source flags county lines."),
        (
            "detail",
            "VARCHAR",
            "Short non-identifying detail (offence code, presenting complaint code).",
        ),
    ),
    _t(
        "event_exploitation",
        "Exploitation types recorded on an event, one row per type (taxonomy codes).",
        ("event_id", "VARCHAR", "Event id."),
        (
            "exploitation_type",
            "VARCHAR",
            "Taxonomy code: cse, cce, county_lines, online, trafficking, ...",
        ),
        ("local_code", "VARCHAR", "The source's own code it was mapped from."),
    ),
    _t(
        "event_person",
        "Who was involved in an event and in which role.",
        ("event_id", "VARCHAR", "Event id."),
        ("source", "VARCHAR", "Source id of the record."),
        ("source_record_id", "VARCHAR", "Record id of the person in that event."),
        (
            "role",
            "VARCHAR",
            "Role from the taxonomy: subject, victim, person_of_concern, associate, witness.",
        ),
    ),
    _t(
        "place",
        "Addresses and locations where events happened.",
        ("place_id", "VARCHAR", "Place id (keyed on normalised name and postcode)."),
        (
            "name",
            "VARCHAR",
            "Name of the location as recorded (business or landmark names, "
            "never a home address line).",
        ),
        (
            "place_type",
            "VARCHAR",
            "Place type from the taxonomy (home, school, park, takeaway, hotel, transport, ...).",
        ),
        ("postcode", "VARCHAR", "Normalised postcode."),
        ("postcode_sector", "VARCHAR", "Postcode sector (e.g. 'WX1 2')."),
        ("postcode_district", "VARCHAR", "Postcode district (e.g. 'WX1')."),
        ("small_area", "VARCHAR", "Small area code from the partnership's geography."),
        ("ward", "VARCHAR", "Ward code."),
        ("authority", "VARCHAR", "Local authority code."),
        ("lat", "DOUBLE", "Latitude of the postcode (WGS84), where known."),
        ("lon", "DOUBLE", "Longitude of the postcode (WGS84), where known."),
    ),
    _t(
        "groups",
        "Peer groups, organised groups and county lines recorded by a source.",
        ("group_id", "VARCHAR", "Group id (source id + the source's own reference)."),
        ("source", "VARCHAR", "Source id."),
        ("group_type", "VARCHAR", "county_line, organised_group, peer_group."),
        ("name", "VARCHAR", "Name as recorded (e.g. a line name)."),
    ),
    _t(
        "group_member",
        "Members of recorded groups.",
        ("group_id", "VARCHAR", "Group id."),
        ("source", "VARCHAR", "Source id of the member's record."),
        ("source_record_id", "VARCHAR", "Record id of the member."),
        ("role", "VARCHAR", "Role in the group from the taxonomy."),
    ),
    _t(
        "note",
        "Qualitative material: practitioner themes and the voice of children and families.",
        ("note_id", "VARCHAR", "Note id."),
        ("source", "VARCHAR", "Source id."),
        ("source_record_id", "VARCHAR", "Record the note is about."),
        ("event_id", "VARCHAR", "Event the note belongs to, where any."),
        ("note_date", "DATE", "Date written."),
        ("theme", "VARCHAR", "Theme codes as recorded, separated by ';'."),
        ("text", "VARCHAR", "The note's text, as recorded (operational tier only)."),
        (
            "tier",
            "VARCHAR",
            "Lowest tier that may see the note: operational, strategic or community.",
        ),
        restricted=True,
    ),
    _t(
        "area",
        "The partnership's geography: authorities, wards and small areas.",
        ("area_code", "VARCHAR", "Area code."),
        ("area_name", "VARCHAR", "Area name."),
        ("area_type", "VARCHAR", "authority, ward or small_area."),
        (
            "parent_code",
            "VARCHAR",
            "Code of the containing area (ward for a small area, authority for a ward).",
        ),
        ("geometry", "VARCHAR", "Boundary as a GeoJSON geometry object (text), where given."),
    ),
    _t(
        "population",
        "Resident population by small area, single year of age, sex and ethnicity group.",
        ("area_code", "VARCHAR", "Small area code."),
        ("age", "INTEGER", "Single year of age (0-24)."),
        ("sex", "VARCHAR", "F or M."),
        ("ethnicity_group", "VARCHAR", "Census ethnicity group."),
        ("population", "INTEGER", "Number of residents."),
    ),
    _t(
        "postcode_lookup",
        "Postcode to area lookup from the partnership's geography.",
        ("postcode", "VARCHAR", "Normalised postcode."),
        ("small_area", "VARCHAR", "Small area code."),
        ("ward", "VARCHAR", "Ward code."),
        ("authority", "VARCHAR", "Local authority code."),
        ("lat", "DOUBLE", "Latitude."),
        ("lon", "DOUBLE", "Longitude."),
    ),
    _t(
        "quarantine",
        "Rows that could not be used, with where and why (never the value itself).",
        ("source", "VARCHAR", "Source id."),
        ("file", "VARCHAR", "File name."),
        ("row_number", "BIGINT", "Row number in the file (header is row 1 in CSV files)."),
        ("column_name", "VARCHAR", "Column at fault."),
        ("reason", "VARCHAR", "What is wrong and how to fix it."),
    ),
    _t(
        "field_quality",
        "Per source and canonical field: how complete and valid the values are.",
        ("source", "VARCHAR", "Source id."),
        ("field", "VARCHAR", "Canonical field (e.g. identity.nhs_number)."),
        ("column_name", "VARCHAR", "Column in the extract it comes from."),
        ("rows", "BIGINT", "Rows considered."),
        ("filled", "BIGINT", "Rows with a value in the column."),
        ("valid", "BIGINT", "Rows whose value parsed and validated."),
    ),
    _t(
        "lineage",
        "How the release was made: each input file, the configuration, the code and each stage.",
        ("kind", "VARCHAR", "input, config, code, taxonomy or stage."),
        ("name", "VARCHAR", "File path, stage name or component."),
        ("sha256", "VARCHAR", "SHA-256 of the file or configuration, where it applies."),
        ("rows", "BIGINT", "Rows read (inputs) or written (stages)."),
        ("seconds", "DOUBLE", "Wall time of the stage."),
        ("detail", "VARCHAR", "Version or other detail."),
    ),
)


def create_schema_sql() -> list[str]:
    """CREATE TABLE statements for every release table, in documented order."""
    return [t.create_sql() for t in TABLES]
