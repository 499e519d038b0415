"""The mapping engine: SQL that turns a staged extract into canonical columns.

A source's mapping (partnership.yaml) is compiled into one SELECT over the staged text
table. Every function here builds SQL and returns it; the build runs it.

The SELECT works in two layers so each value is handled once:

1. the text of every mapped column (or column set), trimmed, blank as NULL, named
   ``_t<n>``; a column used by several fields (``OccurredAt`` as record date and event
   date) is read once;
2. the canonical columns (:data:`MAPPED_COLUMNS`) parsed from those texts with the
   ``ju_*`` macros of :mod:`joinedup.sources.parsers`, the crosswalk results ``_k<n>``
   (``''`` for a code mapped to nothing on purpose, NULL for a code the crosswalk does
   not know), and ``_bad_dates``, the columns whose date could not be read.

The mapped table keeps, beside the parsed values, bit masks of which texts were given,
which start like a formula, which fields are valid and which have a problem, so data
quality and field problems are counted from it without trimming or parsing anything
again; the crosswalk keys, read only by those, are not kept
(:mod:`joinedup.sources.fieldquality`, :func:`joinedup.sources.values.problem_bits`).

Values that depend on one column's text alone and repeat across rows (crosswalk codes,
and the person's names, date of birth and postcode: :data:`PER_VALUE`) can be worked out
once per distinct value of the column, in small lookup tables joined in by the column's
value (``lookups`` of :func:`plan_sql`; built by the map stage from the code counts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from joinedup.config import FieldSpec, SourceConfig
from joinedup.sources.crosswalks import Crosswalks, resolve_crosswalks
from joinedup.sources.derive import derived_text_sql
from joinedup.sources.events import plan_linked_events
from joinedup.sources.fieldquality import (
    FORMULA_STARTS,
    code_counts_sql,
    field_quality_sql,
    per_value_columns,
    plain_column,
    quality_bits,
    unmapped_codes_sql,
    valid_bits,
)
from joinedup.sources.indicators import exploitation_rows_sql, plan_indicators
from joinedup.sources.parsers import (
    DEFAULT_TRUE_VALUES,
    MIN_YEAR,
    date_sql,
    estimated_date_sql,
    full_name_forename_sql,
    full_name_surname_sql,
)
from joinedup.sources.values import plan_values, problem_bits

__all__ = [
    "DATE_FIELDS",
    "FORMULA_STARTS",
    "MAPPED_COLUMNS",
    "Crosswalks",
    "MappingPlan",
    "code_counts_sql",
    "exploitation_rows_sql",
    "field_quality_sql",
    "filter_sql",
    "mapped_sql",
    "plan_mapping",
    "plan_sql",
    "resolve_crosswalks",
    "text_sql",
    "unmapped_codes_sql",
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

# Mapped columns of the person (each person's on many rows) that are worked out once per
# distinct value of their column, when that is all they read (see plan_sql's lookups)
PER_VALUE = ("forename", "surname", "preferred_name", "dob", "postcode")

# Canonical date fields: a non-blank value that will not parse puts the row in quarantine.
DATE_FIELDS: dict[str, str] = {
    "record.date": "record_date",
    "identity.dob": "dob",
    "event.date": "event_date",
    "event.end_date": "end_date",
    "note.date": "note_date",
}

# field path -> the mapped column whose non-NULL value means "recognised"
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


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def text_sql(spec: FieldSpec, prefix: str = "") -> str:
    """The field's raw text: trimmed, blank as NULL (``prefix`` qualifies columns)."""
    if spec.value is not None:
        return _lit(spec.value)
    if spec.column is not None:
        return f"nullif(trim({prefix}{_ident(spec.column)}), '')"
    cols = ", ".join(f"nullif(trim({prefix}{_ident(c)}), '')" for c in spec.columns or [])
    return f"nullif(concat_ws('-', {cols}), '')"


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


@dataclass
class MappingPlan:
    """A source's mapping compiled to SQL pieces; see the module docstring."""

    source: SourceConfig
    texts: dict[str, str] = field(default_factory=dict)  # raw text SQL -> alias _t<n>
    field_text: dict[str, str] = field(default_factory=dict)  # field path -> _t<n>
    exprs: dict[str, str] = field(default_factory=dict)  # mapped column -> SQL over _t<n>
    keys: dict[str, str] = field(default_factory=dict)  # field path -> _k<n> (crosswalks)
    key_exprs: dict[str, str] = field(default_factory=dict)  # _k<n> -> SQL
    valid: dict[str, str] = field(default_factory=dict)  # field path -> condition
    bad_dates: list[tuple[str, str, str]] = field(default_factory=list)  # (col, text, names)
    # issue 13: columns beyond MAPPED_COLUMNS (linked events, indicators: sources/events.py,
    # sources/indicators.py), the field each comes from, and which are dates
    extra: dict[str, str] = field(default_factory=dict)  # column -> SQL over _t<n>
    extra_paths: dict[str, str] = field(default_factory=dict)  # field path -> column
    extra_dates: set[str] = field(default_factory=set)
    cw: Crosswalks | None = None  # issue 13: derived values need the partnership's lookups
    # mapped column -> text alias: worked out once per distinct value (PER_VALUE)
    per_value: dict[str, str] = field(default_factory=dict)

    def text(self, path: str, spec: FieldSpec) -> str:
        raw = (derived_text_sql(spec, self.cw.values) if self.cw else None) or text_sql(spec)
        if spec.value is not None:
            return raw
        alias = self.texts.setdefault(raw, f"_t{len(self.texts)}")
        self.field_text[path] = alias
        return alias

    def key(self, path: str, sql: str) -> str:
        alias = next((a for a, s in self.key_exprs.items() if s == sql), None)
        if alias is None:
            alias = f"_k{len(self.key_exprs)}"
            self.key_exprs[alias] = sql
        self.keys[path] = alias
        return alias


def _value(
    plan: MappingPlan,
    path: str,
    spec: FieldSpec,
    cw: Crosswalks,
    *,
    default_parse: str = "text",
    native_dates: frozenset[str] = frozenset(),
) -> str:
    txt = plan.text(path, spec)
    if spec.crosswalk is not None:
        if spec.split:
            return f"nullif({cw.case_sql(spec.crosswalk, txt)}, '')"
        k = plan.key(path, cw.case_sql(spec.crosswalk, txt))
        return f"nullif({k}, '')"
    parse = spec.parse if spec.parse != "text" else default_parse
    if parse == "date":
        formats = spec.formats
        if spec.column is not None and spec.column in native_dates:
            formats = None  # typed dates in Parquet arrive as ISO text
        return date_sql(txt, formats)
    if parse == "integer":
        return f"TRY_CAST({txt} AS BIGINT)"
    if parse == "boolean":
        values = ", ".join(_lit(v.upper()) for v in (spec.true_values or DEFAULT_TRUE_VALUES))
        return f"(CASE WHEN {txt} IS NULL THEN NULL ELSE upper({txt}) IN ({values}) END)"
    return txt


def plan_mapping(
    source: SourceConfig,
    cw: Crosswalks,
    *,
    as_of: dt.date | None = None,
    native_dates: frozenset[str] = frozenset(),
) -> MappingPlan:
    """Compile a source's mapping; ``as_of`` (the extract date) bounds valid dates."""
    plan = MappingPlan(source, cw=cw)
    out = plan.exprs
    m = source.identity

    def val(path: str, spec: FieldSpec, default_parse: str = "text") -> str:
        return _value(plan, path, spec, cw, default_parse=default_parse, native_dates=native_dates)

    out["record_id"] = plan.text("record.id", source.record.id)
    if source.record.date is not None:
        out["record_date"] = val("record.date", source.record.date, "date")
    if m.full_name is not None:
        assert m.full_name.order is not None
        full = plan.text("identity.full_name", m.full_name)
        out["forename"] = full_name_forename_sql(full, m.full_name.order)
        out["surname"] = full_name_surname_sql(full, m.full_name.order)
    for key in ("forename", "surname", "preferred_name"):
        spec = getattr(m, key)
        if spec is not None:
            out[key] = f"ju_name({plan.text(f'identity.{key}', spec)})"
    if m.dob is not None:
        if m.dob.estimated and m.dob.crosswalk is None and m.dob.value is None:
            txt = plan.text("identity.dob", m.dob)
            formats = m.dob.formats
            if m.dob.column in native_dates:
                formats = None
            out["dob"], out["_dob_est"] = estimated_date_sql(txt, formats, m.dob.estimated)
        else:
            out["dob"] = val("identity.dob", m.dob, "date")
    if m.dob_estimated is not None:
        flag = val("identity.dob_estimated", m.dob_estimated, "boolean")
        out["dob_estimated"] = f"coalesce({flag}, {out['_dob_est']})" if "_dob_est" in out else flag
    elif "_dob_est" in out:
        out["dob_estimated"] = out["_dob_est"]
    out.pop("_dob_est", None)
    if m.sex is not None:
        out["sex"] = (
            val("identity.sex", m.sex)
            if m.sex.crosswalk
            else f"ju_sex({plan.text('identity.sex', m.sex)})"
        )
    if m.postcode is not None:
        pc = plan.text("identity.postcode", m.postcode)
        out["postcode"] = f"ju_postcode({pc})"
        # the district comes from the parsed postcode in the outer layer (see mapped_sql)
        out["postcode_district"] = f"ju__outward(ju__trim({pc}))"
    if m.nhs_number is not None:
        out["nhs_number"] = f"ju_nhs_number({plan.text('identity.nhs_number', m.nhs_number)})"
    if m.upn is not None:
        out["upn"] = f"ju_upn({plan.text('identity.upn', m.upn)})"
    if m.pnc_id is not None:
        out["pnc_id"] = f"upper({plan.text('identity.pnc_id', m.pnc_id)})"
    if m.local_id is not None:
        out["local_id"] = plan.text("identity.local_id", m.local_id)
    if m.ethnicity is not None:
        eth = (
            val("identity.ethnicity", m.ethnicity)
            if m.ethnicity.crosswalk
            else f"upper({plan.text('identity.ethnicity', m.ethnicity)})"
        )
        codes = ", ".join(_lit(c) for c in sorted(cw.ethnicity_codes))
        out["ethnicity"] = f"(CASE WHEN {eth} IN ({codes}) THEN {eth} END)" if codes else eth
    _other_exprs(plan, source, cw, val)
    plan_linked_events(plan, val)  # issue 13
    plan_values(plan, source, cw, dates=DATE_FIELDS)  # issue 13: sources/values.py
    _valid_conditions(plan, as_of)
    plan_indicators(plan, cw)  # issue 13: after, as it owns its fields' validity
    plan.per_value = per_value_columns(plan, PER_VALUE)
    return plan


def _other_exprs(
    plan: MappingPlan, source: SourceConfig, cw: Crosswalks, v: Callable[..., str]
) -> None:
    out = plan.exprs
    ev = source.event
    if ev is not None:
        out["event_ref"] = plan.text("event.id", ev.id)
        out["event_type"] = v("event.type", ev.type)
        for key, col in (("date", "event_date"), ("end_date", "end_date")):
            spec = getattr(ev, key)
            if spec is not None:
                out[col] = v(f"event.{key}", spec, "date")
        if ev.outcome is not None:
            out["outcome"] = v("event.outcome", ev.outcome)
        if ev.detail is not None:
            out["detail"] = v("event.detail", ev.detail)
        if ev.exploitation is not None:
            out["exploitation_raw"] = plan.text("event.exploitation", ev.exploitation)
        out["role"] = (
            f"coalesce({v('role', source.role)}, 'subject')"
            if source.role is not None
            else "'subject'"
        )
        if "record_date" not in out and "event_date" in out:
            out["record_date"] = out["event_date"]
    pl = source.place
    if pl is not None:
        if pl.name is not None:
            out["place_name"] = plan.text("place.name", pl.name)
        if pl.postcode is not None:
            out["place_postcode"] = f"ju_postcode({plan.text('place.postcode', pl.postcode)})"
        if pl.type is not None:
            out["place_type"] = f"coalesce({v('place.type', pl.type)}, 'unknown')"
    gr = source.group
    if gr is not None:
        out["group_ref"] = plan.text("group.id", gr.id)
        out["group_type"] = v("group.type", gr.type)
        if gr.name is not None:
            out["group_name"] = plan.text("group.name", gr.name)
        out["group_role"] = (
            f"coalesce({v('group.role', gr.role)}, 'subject')"
            if gr.role is not None
            else "'subject'"
        )
    nt = source.note
    if nt is not None:
        out["note_text"] = plan.text("note.text", nt.text)
        if nt.theme is not None:
            out["note_theme"] = plan.text("note.theme", nt.theme)
        if nt.date is not None:
            out["note_date"] = v("note.date", nt.date, "date")


def _valid_conditions(plan: MappingPlan, as_of: dt.date | None) -> None:
    """For each mapped field: the condition (over the mapped table) that it is valid."""
    date_cols = set(DATE_FIELDS.values())
    latest = f"DATE '{as_of.isoformat()}'" if as_of else "current_date"
    for path, spec in plan.source.field_specs().items():
        if spec.value is not None or path not in plan.field_text:
            continue
        if spec.crosswalk is not None and spec.split:
            continue  # any item recognised: see field_quality_sql
        if path in plan.keys:
            plan.valid[path] = f"{plan.keys[path]} IS NOT NULL"
            continue
        col = _PATH_TO_COLUMN.get(path) or plan.extra_paths.get(path)
        if col is None or (col not in plan.exprs and col not in plan.extra):
            plan.valid[path] = "true"
            continue
        if col in date_cols or col in plan.extra_dates:
            plan.valid[path] = f"{col} BETWEEN DATE '{MIN_YEAR}-01-01' AND {latest}"
        else:
            plan.valid[path] = f"{col} IS NOT NULL"


def mapped_sql(source: SourceConfig, raw_table: str, cw: Crosswalks, **kw: object) -> str:
    """SELECT producing ``_row``, the texts, MAPPED_COLUMNS, crosswalk keys and
    ``_bad_dates`` for the rows the filters keep. Keywords go to :func:`plan_mapping`."""
    return plan_sql(plan_mapping(source, cw, **kw), raw_table)  # type: ignore[arg-type]


def plan_sql(
    plan: MappingPlan, raw_table: str, lookups: dict[str, tuple[str, list[str]]] | None = None
) -> str:
    """The SELECT for a compiled plan (see :func:`mapped_sql`), in layers: texts, then
    crosswalk keys, then parsed columns, then what derives from parsed columns.

    ``lookups`` (text alias -> (a table of
    :func:`~joinedup.sources.fieldquality.lookup_sql`, the names it holds)) gives texts,
    keys and columns worked out once per distinct value of a column, joined in by the
    column's value instead of worked out on every row."""
    source = plan.source
    lookups = lookups or {}
    joined: dict[str, str] = {}  # name -> its joined column
    joins = ""
    for n, (alias, (table, held)) in enumerate(lookups.items()):
        column = plain_column(plan, alias)
        joins += f" LEFT JOIN {_ident(table)} _ju_l{n} ON _ju_l{n}._ju_v = {column}"
        joined.update({name: f"_ju_l{n}.{name}" for name in held})
    texts = "".join(f", {joined.get(a, raw)} AS {a}" for raw, a in plan.texts.items())
    texts += "".join(f", {col} AS {name}" for name, col in joined.items() if name[:2] != "_t")
    layer_t = f"SELECT _row{texts} FROM {_ident(raw_table)}{joins} WHERE {filter_sql(source)}"
    keys = "".join(
        f", {sql} AS {alias}" for alias, sql in plan.key_exprs.items() if alias not in joined
    )
    layer_k = f"SELECT *{keys} FROM ({layer_t})"
    looked_up = [c for c in plan.per_value if f"_lk_{c}" in joined]
    exprs = plan.exprs | {c: f"_lk_{c}" for c in looked_up}
    carried = "".join(
        f", {a}" for a in [*plan.texts.values(), *plan.key_exprs, *(exprs[c] for c in looked_up)]
    )
    # each distinct expression is computed once (an event date that is also the record
    # date); the district from the text only where the postcode did not parse (lazily)
    first: dict[str, str] = {}
    same: dict[str, str] = {}  # column -> the column computing the same expression
    inner, outer = [], []
    for c in MAPPED_COLUMNS:
        sql = exprs.get(c, "NULL")
        if c == "postcode_district" and "postcode" in exprs:
            outer.append(f"coalesce(split_part(postcode, ' ', 1), {sql}) AS {c}")
        elif sql != "NULL" and sql in first:
            same[c] = first[sql]
            outer.append(f"{first[sql]} AS {c}")
        else:
            first.setdefault(sql, c)
            inner.append(f"{sql} AS {c}")
            outer.append(c)
    specs = source.field_specs()
    checks: list[tuple[str, str, str]] = []  # (text, date column, the columns it reads)
    for path, col in DATE_FIELDS.items():
        spec = specs.get(path)
        if spec is None or spec.value is not None or spec.crosswalk is not None:
            continue
        if col in exprs and path in plan.field_text:
            names = ", ".join(spec.source_columns())
            checks.append((plan.field_text[path], col, names))
    checks += [(t, c, n) for c, t, n in plan.bad_dates]  # issue 13: linked events' dates
    parsed = ", ".join(inner)
    parsed += "".join(f", {sql} AS {col}" for col, sql in plan.extra.items())
    bits = quality_bits(plan)  # which texts are given, which look like formulas
    parsed += "".join(f", {sql} AS {col}" for col, sql in bits)
    layer_p = f"SELECT _row{carried}, {parsed} FROM ({layer_k})"
    cases = [  # one per (text, column), as a column's date is checked where it is given
        f"CASE WHEN {text} IS NOT NULL AND {same.get(col, col)} IS NULL THEN {_lit(names)} END"
        for text, col, names in dict.fromkeys(checks)
    ]
    empty = "CAST([] AS VARCHAR[])"
    bad = empty
    if checks:  # the list is built only on a row with a date that could not be read
        any_bad = " OR ".join(
            f"({text} IS NOT NULL AND {same.get(col, col)} IS NULL)"
            for text, col, _ in dict.fromkeys(checks)
        )
        found = f"list_filter([{', '.join(cases)}], lambda x: x IS NOT NULL)"
        bad = f"CASE WHEN {any_bad} THEN {found} ELSE {empty} END"
    keys = "".join(f", {a}" for a in [*plan.extra, *plan.key_exprs, *(c for c, _ in bits)])
    layer_o = f"SELECT _row, {', '.join(outer)}{keys}, {bad} AS _bad_dates FROM ({layer_p})"
    # last, over the parsed row: which fields are valid and which have a problem, so the
    # crosswalk keys (read only by those) are not kept
    late = valid_bits(plan) + problem_bits(plan, DATE_FIELDS)
    drop = f" EXCLUDE ({', '.join(plan.key_exprs)})" if plan.key_exprs else ""
    return f"SELECT *{drop}{''.join(f', {sql} AS {c}' for c, sql in late)} FROM ({layer_o})"
