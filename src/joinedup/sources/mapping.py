"""The mapping engine: SQL that turns a staged extract into canonical columns.

A source's mapping (partnership.yaml) is compiled into one SELECT over the staged text
table. Every function here builds SQL and returns it; the build runs it. Parsing and
validation use the ``ju_*`` macros from :mod:`joinedup.sources.parsers`, so a million
rows map at DuckDB's speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from joinedup.config import FieldSpec, PartnershipConfig, SourceConfig
from joinedup.sources.parsers import (
    DEFAULT_TRUE_VALUES,
    date_sql,
    full_name_forename_sql,
    full_name_surname_sql,
)
from joinedup.taxonomy import compile_crosswalk, load_crosswalk_csv, load_taxonomy

__all__ = [
    "MAPPED_COLUMNS",
    "Crosswalks",
    "exploitation_rows_sql",
    "field_quality_sql",
    "filter_sql",
    "mapped_sql",
    "resolve_crosswalks",
    "text_sql",
]

# Columns of the mapped table, in order; each is NULL where the source does not map it.
MAPPED_COLUMNS: tuple[str, ...] = (
    "record_id",
    "record_date",
    "forename",
    "surname",
    "preferred_name",
    "dob",
    "dob_estimated",
    "sex",
    "postcode",
    "postcode_district",
    "nhs_number",
    "upn",
    "pnc_id",
    "local_id",
    "ethnicity",
    "event_ref",
    "event_type",
    "event_date",
    "end_date",
    "outcome",
    "detail",
    "exploitation_raw",
    "role",
    "place_name",
    "place_postcode",
    "place_type",
    "group_ref",
    "group_type",
    "group_name",
    "group_role",
    "note_text",
    "note_theme",
    "note_date",
)

# Canonical date fields: a non-blank value that will not parse puts the row in quarantine.
DATE_FIELDS: dict[str, str] = {
    "record.date": "record_date",
    "identity.dob": "dob",
    "event.date": "event_date",
    "event.end_date": "end_date",
    "note.date": "note_date",
}


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


@dataclass(frozen=True)
class Crosswalks:
    """Resolved crosswalks: name -> (normalised local code -> ';'-joined taxonomy codes).

    Local codes are matched as :func:`joinedup.taxonomy.normalise_local_code` does: trimmed,
    inner whitespace collapsed, case-folded. A code mapped to nothing on purpose gives ''.
    """

    tables: dict[str, dict[str, str]]

    def case_sql(self, name: str, expr: str) -> str:
        codes = self.tables[name]
        if not codes:
            return "CAST(NULL AS VARCHAR)"
        arms = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in sorted(codes.items()))
        key = f"lower(regexp_replace(trim({expr}), '\\s+', ' ', 'g'))"
        return f"(CASE {key} {arms} END)"


def text_sql(spec: FieldSpec) -> str:
    """The field's raw text: trimmed, blank as NULL."""
    if spec.value is not None:
        return _lit(spec.value)
    if spec.column is not None:
        return f"nullif(trim({_ident(spec.column)}), '')"
    cols = ", ".join(f"nullif(trim({_ident(c)}), '')" for c in spec.columns or [])
    return f"nullif(concat_ws('-', {cols}), '')"


def _value_sql(spec: FieldSpec, crosswalks: Crosswalks, *, default_parse: str = "text") -> str:
    txt = text_sql(spec)
    if spec.crosswalk is not None:
        return f"nullif({crosswalks.case_sql(spec.crosswalk, txt)}, '')"
    parse = spec.parse if spec.parse != "text" else default_parse
    if parse == "date":
        return date_sql(txt, spec.formats)
    if parse == "integer":
        return f"TRY_CAST({txt} AS BIGINT)"
    if parse == "boolean":
        values = ", ".join(_lit(v.upper()) for v in (spec.true_values or DEFAULT_TRUE_VALUES))
        return f"(CASE WHEN {txt} IS NULL THEN NULL ELSE upper({txt}) IN ({values}) END)"
    return txt


def filter_sql(source: SourceConfig) -> str:
    """A WHERE condition true for rows the source's filters keep."""
    conds = []
    for f in source.filters:
        col = f"coalesce(trim({_ident(f.column)}), '')"
        if f.equals is not None:
            conds.append(f"{col} = {_lit(f.equals)}")
        elif f.in_ is not None:
            conds.append(f"{col} IN ({', '.join(_lit(v) for v in f.in_)})")
        elif f.matches is not None:
            conds.append(f"regexp_matches({col}, {_lit(f.matches)})")
        elif f.is_blank is not None:
            conds.append(f"({col} = '') = {'true' if f.is_blank else 'false'}")
    if not conds:
        return "true"
    return "NOT (" + " OR ".join(f"coalesce({c}, false)" for c in conds) + ")"


def _identity_exprs(source: SourceConfig, cw: Crosswalks) -> dict[str, str]:
    m = source.identity
    out: dict[str, str] = {}
    if m.full_name is not None:
        assert m.full_name.order is not None
        full = text_sql(m.full_name)
        out["forename"] = full_name_forename_sql(full, m.full_name.order)
        out["surname"] = full_name_surname_sql(full, m.full_name.order)
    if m.forename is not None:
        out["forename"] = f"ju_name({text_sql(m.forename)})"
    if m.surname is not None:
        out["surname"] = f"ju_name({text_sql(m.surname)})"
    if m.preferred_name is not None:
        out["preferred_name"] = f"ju_name({text_sql(m.preferred_name)})"
    if m.dob is not None:
        out["dob"] = _value_sql(m.dob, cw, default_parse="date")
    if m.dob_estimated is not None:
        out["dob_estimated"] = _value_sql(m.dob_estimated, cw, default_parse="boolean")
    if m.sex is not None:
        out["sex"] = (
            f"coalesce({_value_sql(m.sex, cw)}, 'U')"
            if m.sex.crosswalk
            else f"ju_sex({text_sql(m.sex)})"
        )
    if m.postcode is not None:
        pc = text_sql(m.postcode)
        out["postcode"] = f"ju_postcode({pc})"
        out["postcode_district"] = f"ju_postcode_district({pc})"
    if m.nhs_number is not None:
        out["nhs_number"] = f"ju_nhs_number({text_sql(m.nhs_number)})"
    if m.upn is not None:
        out["upn"] = f"ju_upn({text_sql(m.upn)})"
    if m.pnc_id is not None:
        out["pnc_id"] = f"upper({text_sql(m.pnc_id)})"
    if m.local_id is not None:
        out["local_id"] = text_sql(m.local_id)
    if m.ethnicity is not None:
        out["ethnicity"] = (
            _value_sql(m.ethnicity, cw)
            if m.ethnicity.crosswalk
            else f"upper({text_sql(m.ethnicity)})"
        )
    return out


def _other_exprs(source: SourceConfig, cw: Crosswalks) -> dict[str, str]:
    out: dict[str, str] = {"record_id": text_sql(source.record.id)}
    if source.record.date is not None:
        out["record_date"] = _value_sql(source.record.date, cw, default_parse="date")
    ev = source.event
    if ev is not None:
        out["event_ref"] = text_sql(ev.id)
        out["event_type"] = _value_sql(ev.type, cw)
        for key, col in (("date", "event_date"), ("end_date", "end_date")):
            spec = getattr(ev, key)
            if spec is not None:
                out[col] = _value_sql(spec, cw, default_parse="date")
        if ev.outcome is not None:
            out["outcome"] = _value_sql(ev.outcome, cw)
        if ev.detail is not None:
            out["detail"] = _value_sql(ev.detail, cw)
        if ev.exploitation is not None:
            out["exploitation_raw"] = text_sql(ev.exploitation)
        out["role"] = (
            f"coalesce({_value_sql(source.role, cw)}, 'subject')"
            if source.role is not None
            else "'subject'"
        )
        if "record_date" not in out and "event_date" in out:
            out["record_date"] = out["event_date"]
    pl = source.place
    if pl is not None:
        if pl.name is not None:
            out["place_name"] = text_sql(pl.name)
        if pl.postcode is not None:
            out["place_postcode"] = f"ju_postcode({text_sql(pl.postcode)})"
        if pl.type is not None:
            out["place_type"] = f"coalesce({_value_sql(pl.type, cw)}, 'unknown')"
    gr = source.group
    if gr is not None:
        out["group_ref"] = text_sql(gr.id)
        out["group_type"] = _value_sql(gr.type, cw)
        if gr.name is not None:
            out["group_name"] = text_sql(gr.name)
        out["group_role"] = (
            f"coalesce({_value_sql(gr.role, cw)}, 'subject')"
            if gr.role is not None
            else "'subject'"
        )
    nt = source.note
    if nt is not None:
        out["note_text"] = text_sql(nt.text)
        if nt.theme is not None:
            out["note_theme"] = text_sql(nt.theme)
        if nt.date is not None:
            out["note_date"] = _value_sql(nt.date, cw, default_parse="date")
    return out


def _date_text(source: SourceConfig) -> dict[str, tuple[str, str]]:
    """For each mapped date field: (mapped column, raw text SQL, column name in file)."""
    out: dict[str, tuple[str, str]] = {}
    specs = source.field_specs()
    for path, col in DATE_FIELDS.items():
        spec = specs.get(path)
        if spec is not None and spec.value is None and spec.crosswalk is None:
            out[col] = (text_sql(spec), ", ".join(spec.source_columns()))
    return out


def mapped_sql(source: SourceConfig, raw_table: str, cw: Crosswalks) -> str:
    """SELECT producing MAPPED_COLUMNS plus ``_row`` and ``_bad_dates`` for kept rows."""
    exprs = {**_identity_exprs(source, cw), **_other_exprs(source, cw)}
    if source.event is not None and "event_date" in exprs and "record_date" not in exprs:
        exprs["record_date"] = exprs["event_date"]
    cols = [f"{exprs.get(c, 'NULL')} AS {c}" for c in MAPPED_COLUMNS]
    checks = [
        f"CASE WHEN {raw} IS NOT NULL AND {exprs[col]} IS NULL THEN {_lit(colname)} END"
        for col, (raw, colname) in _date_text(source).items()
        if col in exprs
    ]
    bad = (
        f"list_filter([{', '.join(checks)}], lambda x: x IS NOT NULL)"
        if checks
        else "CAST([] AS VARCHAR[])"
    )
    return (
        f"SELECT _row, {', '.join(cols)}, {bad} AS _bad_dates "
        f"FROM {_ident(raw_table)} WHERE {filter_sql(source)}"
    )


def exploitation_rows_sql(
    source: SourceConfig, mapped_table: str, cw: Crosswalks, *, event_id: str
) -> str:
    """SELECT (event_id, exploitation_type, local_code) for every recognised local code.

    ``event_id`` is the SQL expression over ``mapped_table`` that gives the event's id.
    """
    ev = source.event
    if ev is None or ev.exploitation is None:
        return (
            "SELECT NULL::VARCHAR AS event_id, NULL::VARCHAR AS exploitation_type, "
            "NULL::VARCHAR AS local_code LIMIT 0"
        )
    spec = ev.exploitation
    split = (
        f"string_split(exploitation_raw, {_lit(spec.split)})"
        if spec.split
        else "[exploitation_raw]"
    )
    mapped = cw.case_sql(spec.crosswalk, "local_code") if spec.crosswalk else "lower(local_code)"
    return (
        "SELECT DISTINCT event_id, exploitation_type, local_code FROM ("
        "SELECT event_id, trim(unnest(string_split(mapped, ';'))) AS exploitation_type, "
        "local_code FROM ("
        f"SELECT event_id, local_code, {mapped} AS mapped FROM ("
        f"SELECT {event_id} AS event_id, trim(unnest({split})) AS local_code "
        f"FROM {_ident(mapped_table)} WHERE exploitation_raw IS NOT NULL)) "
        "WHERE mapped IS NOT NULL) WHERE exploitation_type <> ''"
    )


_PATH_TO_COLUMN: dict[str, str] = {
    "record.id": "record_id",
    "record.date": "record_date",
    "identity.forename": "forename",
    "identity.surname": "surname",
    "identity.full_name": "surname",
    "identity.preferred_name": "preferred_name",
    "identity.dob": "dob",
    "identity.dob_estimated": "dob_estimated",
    "identity.sex": "sex",
    "identity.postcode": "postcode_district",
    "identity.nhs_number": "nhs_number",
    "identity.upn": "upn",
    "identity.pnc_id": "pnc_id",
    "identity.local_id": "local_id",
    "identity.ethnicity": "ethnicity",
    "event.id": "event_ref",
    "event.type": "event_type",
    "event.date": "event_date",
    "event.end_date": "end_date",
    "event.outcome": "outcome",
    "event.detail": "detail",
    "role": "role",
    "place.name": "place_name",
    "place.postcode": "place_postcode",
    "place.type": "place_type",
    "group.id": "group_ref",
    "group.type": "group_type",
    "group.name": "group_name",
    "group.role": "group_role",
    "note.text": "note_text",
    "note.theme": "note_theme",
    "note.date": "note_date",
}


def _valid_sql(path: str, spec: FieldSpec, exprs: dict[str, str], cw: Crosswalks) -> str:
    """An expression that is non-NULL where the field's value was recognised."""
    if spec.crosswalk is not None:
        if spec.split:
            items = f"string_split({text_sql(spec)}, {_lit(spec.split)})"
            case = cw.case_sql(spec.crosswalk, "x")
            return (
                f"nullif(len(list_filter(list_transform({items}, lambda x: {case}), "
                "lambda x: x IS NOT NULL)), 0)"
            )
        return cw.case_sql(spec.crosswalk, text_sql(spec))
    if path == "identity.sex":
        return f"nullif(ju_sex({text_sql(spec)}), 'U')"
    return exprs.get(_PATH_TO_COLUMN.get(path, ""), text_sql(spec))


def field_quality_sql(source: SourceConfig, raw_table: str, cw: Crosswalks) -> str:
    """Rows, filled and valid counts per mapped column, in one pass over the kept rows."""
    exprs = {**_identity_exprs(source, cw), **_other_exprs(source, cw)}
    cells = []
    for path, spec in sorted(source.field_specs().items()):
        if spec.value is not None:
            continue
        txt = text_sql(spec)
        valid = _valid_sql(path, spec, exprs, cw)
        cells.append(
            f"{{'field': {_lit(path)}, 'column_name': {_lit(', '.join(spec.source_columns()))}, "
            f"'filled': count({txt}), "
            f"'valid': count(CASE WHEN {txt} IS NOT NULL THEN {valid} END)}}"
        )
    if not cells:
        return (
            "SELECT NULL::VARCHAR AS field, NULL::VARCHAR AS column_name, 0::BIGINT AS rows, "
            "0::BIGINT AS filled, 0::BIGINT AS valid LIMIT 0"
        )
    return (
        "SELECT c.field, c.column_name, n AS rows, c.filled, c.valid FROM ("
        "SELECT n, unnest(cells) AS c FROM ("
        f"SELECT count(*) AS n, [{', '.join(cells)}] AS cells "
        f"FROM {_ident(raw_table)} WHERE {filter_sql(source)}))"
    )


def resolve_crosswalks(cfg: PartnershipConfig, base: Path) -> Crosswalks:
    """Load and compile every crosswalk (inline or CSV) for use in SQL."""
    taxonomy = load_taxonomy(cfg.taxonomy_version)
    tables: dict[str, dict[str, str]] = {}
    for name, c in cfg.crosswalks.items():
        codes = c.codes if c.codes is not None else load_crosswalk_csv(base / str(c.file))
        compiled = compile_crosswalk(
            taxonomy, c.list, codes, where=f"partnership.yaml crosswalks.{name}"
        )
        tables[name] = {k: ";".join(v) for k, v in compiled.mapping.items()}
    return Crosswalks(tables)
