"""Data quality of a source's mapped fields, counted without reading any value twice.

Per mapped field the release keeps how many rows there were, how many had a value
(filled), how many of those were valid, how many looked like spreadsheet formulas, and
every code a crosswalk did not know (``field_quality``, ``unmapped_code``). All of it is
counted from two things the map stage builds anyway:

* the mapped table (:func:`joinedup.sources.mapping.plan_sql`), which carries, beside the
  parsed values, two bit masks per row (:func:`quality_bits`): which field texts were
  given (``_fq_fill<n>``) and which start like a formula (``_fq_fml<n>``). Filled,
  formula-like and valid counts are then one aggregate over the mapped table; no text is
  trimmed or parsed again;
* the code counts (:func:`code_counts_sql`): each crosswalked column's distinct values
  with their rows, in one grouping-sets scan of the raw rows the filters keep. Values
  are grouped as they are in the extract and trimmed once per distinct value; the
  crosswalks are applied to the distinct codes, never to every row. Unmapped codes and
  the validity of ``;``-lists (any item recognised) are read from them.

Every function here builds SQL and returns it.
"""

from __future__ import annotations

import re
from typing import Protocol

from joinedup.config import FieldSpec, SourceConfig
from joinedup.sources.crosswalks import Crosswalks

__all__ = [
    "FORMULA_STARTS",
    "QualityPlan",
    "code_counts_sql",
    "field_quality_sql",
    "lookup_sql",
    "lookups",
    "null_probe_sql",
    "plain_column",
    "per_value_columns",
    "quality_bits",
    "unmapped_codes_sql",
    "valid_bits",
]

FORMULA_STARTS = ("=", "+", "-", "@")
"""A text starting with one of these is read by a spreadsheet as a formula."""

_AFTER_STARTS = chr(ord(max(FORMULA_STARTS)) + 1)  # "A": after every formula start

_BITS = 62  # field texts per mask column (a BIGINT, sign bit left alone)

# the SQL of a plain column's text (mapping.text_sql): its column can be grouped raw
_PLAIN_TEXT = re.compile(r"""nullif\(trim\(("(?:[^"]|"")+")\), ''\)""")
_ALIAS = re.compile(r"\b_[tk][0-9]+\b")  # a text or key of the mapping's layers


class QualityPlan(Protocol):
    """What is used here of :class:`joinedup.sources.mapping.MappingPlan` (which imports
    this module, so its parts are named here instead)."""

    source: SourceConfig
    texts: dict[str, str]
    field_text: dict[str, str]
    valid: dict[str, str]
    keys: dict[str, str]
    key_exprs: dict[str, str]
    exprs: dict[str, str]
    per_value: dict[str, str]


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _measured(plan: QualityPlan) -> list[tuple[str, FieldSpec, str]]:
    """(path, spec, text alias) of every field whose quality is measured, by path."""
    return [
        (path, spec, plan.field_text[path])
        for path, spec in sorted(plan.source.field_specs().items())
        if spec.value is None and path in plan.field_text
    ]


def _bit_of(plan: QualityPlan) -> dict[str, tuple[int, int]]:
    """Text alias -> (mask column number, bit) for every measured text."""
    out: dict[str, tuple[int, int]] = {}
    for _, _, alias in _measured(plan):
        if alias not in out:
            n = len(out)
            out[alias] = (n // _BITS, n % _BITS)
    return out


def quality_bits(plan: QualityPlan) -> list[tuple[str, str]]:
    """(column, SQL over the texts ``_t<n>``) of the masks the mapped table carries: per
    row, which measured texts are given and which start like a formula."""
    fill: dict[int, list[str]] = {}
    fml: dict[int, list[str]] = {}
    starts = ", ".join(_lit(c) for c in FORMULA_STARTS)
    for alias, (col, bit) in _bit_of(plan).items():
        fill.setdefault(col, []).append(f"CASE WHEN {alias} IS NULL THEN 0 ELSE {1 << bit} END")
        # a text starting like a formula sorts before _AFTER_STARTS: most texts are passed
        # over by that one comparison before their first character is taken
        fml.setdefault(col, []).append(
            f"CASE WHEN {alias} < {_lit(_AFTER_STARTS)} AND left({alias}, 1) IN ({starts}) "
            f"THEN {1 << bit} ELSE 0 END"
        )
    out = []
    for col in sorted(fill):
        out.append((f"_fq_fill{col}", "(" + " + ".join(fill[col]) + ")::BIGINT"))
        out.append((f"_fq_fml{col}", "(" + " + ".join(fml[col]) + ")::BIGINT"))
    return out


def _valid_paths(plan: QualityPlan) -> list[str]:
    """The measured fields whose validity is a condition on the mapped row, in the order
    of their bits in ``_fq_valid<n>`` (a ``;``-list with a crosswalk is counted on the
    code counts instead; a field with no condition is valid when filled)."""
    return [
        path
        for path, spec, _ in _measured(plan)
        if plan.valid.get(path, "true") != "true" and not (spec.crosswalk and spec.split)
    ]


def valid_bits(plan: QualityPlan) -> list[tuple[str, str]]:
    """(column, SQL over the mapped row) of the masks of which measured fields are valid
    (``_fq_valid<n>``), so the crosswalk keys they read need not be kept."""
    parts: dict[int, list[str]] = {}
    for n, path in enumerate(_valid_paths(plan)):
        col, bit = divmod(n, _BITS)
        parts.setdefault(col, []).append(f"CASE WHEN {plan.valid[path]} THEN {1 << bit} ELSE 0 END")
    return [(f"_fq_valid{c}", "(" + " + ".join(v) + ")::BIGINT") for c, v in sorted(parts.items())]


def _code_columns(plan: QualityPlan) -> dict[str, tuple[str, str, str]]:
    """Text alias -> (code column, what is grouped, SQL of the text over the code column)
    for every crosswalked field's text."""
    raw_of = {alias: raw for raw, alias in plan.texts.items()}
    out: dict[str, tuple[str, str, str]] = {}
    for _, spec, alias in _measured(plan):
        if spec.crosswalk is None or alias in out:
            continue
        u = f"_u{len(out)}"
        text = raw_of[alias]
        plain = _PLAIN_TEXT.fullmatch(text)
        if plain:  # grouped as in the extract, trimmed once per distinct value
            out[alias] = (u, plain.group(1), f"nullif(trim({u}), '')")
        else:
            out[alias] = (u, text, u)
    for alias in plan.per_value.values():  # plain columns (per_value_columns)
        if alias not in out:
            u = f"_u{len(out)}"
            plain = _PLAIN_TEXT.fullmatch(raw_of[alias])
            assert plain is not None
            out[alias] = (u, plain.group(1), f"nullif(trim({u}), '')")
    return out


def per_value_columns(plan: QualityPlan, columns: tuple[str, ...]) -> dict[str, str]:
    """Mapped column -> its text alias, for each of ``columns`` whose value is worked out
    from the text of one plain column alone, so it can be worked out once per distinct
    value (:func:`lookup_sql`)."""
    raw_of = {alias: raw for raw, alias in plan.texts.items()}
    out = {}
    for c in columns:
        sql = plan.exprs.get(c)
        if sql is None or "_row" in sql:
            continue
        found = set(_ALIAS.findall(sql))
        alias = found.pop() if len(found) == 1 else ""
        if alias.startswith("_t") and sql != alias and _PLAIN_TEXT.fullmatch(raw_of[alias]):
            out[c] = alias
    return out


def lookups(plan: QualityPlan) -> dict[str, list[tuple[str, str]]]:
    """Text alias -> [(name, SQL over that text alone)] of the values worked out once per
    distinct value of a plain column (:func:`lookup_sql`) rather than on every row: the
    text itself, crosswalk keys of single codes (named by their key alias) and the mapped
    columns of ``plan.per_value``."""
    cols = _code_columns(plan)
    specs = plan.source.field_specs()
    out: dict[str, list[tuple[str, str]]] = {}
    for path, key in plan.keys.items():
        spec = specs.get(path)
        alias = plan.field_text.get(path)
        if spec is None or spec.crosswalk is None or spec.split or alias not in cols:
            continue
        sql = plan.key_exprs[key]
        if set(_ALIAS.findall(sql)) == {alias} and "_row" not in sql:
            out.setdefault(alias, []).append((key, sql))  # else it reads more than its text
    for column, alias in plan.per_value.items():
        out.setdefault(alias, []).append((f"_lk_{column}", plan.exprs[column]))
    for alias in list(out):
        if _PLAIN_TEXT.fullmatch(_raw_text(plan, alias)) is None:
            del out[alias]
        else:
            out[alias].insert(0, (alias, alias))
    return out


def _raw_text(plan: QualityPlan, alias: str) -> str:
    return next(raw for raw, a in plan.texts.items() if a == alias)


def plain_column(plan: QualityPlan, alias: str) -> str:
    """The quoted raw column a plain text alias reads."""
    plain = _PLAIN_TEXT.fullmatch(_raw_text(plan, alias))
    assert plain is not None
    return plain.group(1)


def null_probe_sql(alias: str, sql: str) -> str:
    """SELECT true when ``sql`` over ``alias`` is NULL for a NULL text: a value a join
    can leave NULL where the column is missing (NULL)."""
    return f"SELECT ({sql}) IS NULL FROM (SELECT NULL::VARCHAR AS {alias})"


def lookup_sql(
    plan: QualityPlan, codes_table: str, alias: str, values: list[tuple[str, str]]
) -> str:
    """SELECT of a lookup table: each distinct raw value of ``alias``'s column
    (``_ju_v``, from the code counts, :func:`code_counts_sql`) and ``values`` (name, SQL
    over the text: :func:`lookups`) worked out on it."""
    u, _, text = _code_columns(plan)[alias]
    cells = "".join(f", {sql} AS {name}" for name, sql in values if name != alias)
    return (
        f"SELECT _ju_v, {alias}{cells} FROM (SELECT {u} AS _ju_v, {text} AS {alias} "
        f"FROM {_ident(codes_table)} WHERE {u} IS NOT NULL)"
    )


def code_counts_sql(plan: QualityPlan, raw_table: str, where: str) -> str | None:
    """SELECT of each crosswalked (or ``per_value``) column's distinct values (``_u<n>``)
    and their rows (``n``), grouped together in one scan of ``raw_table`` (``where``: the
    filters' condition); None when there is none."""
    cols = _code_columns(plan)
    if not cols:
        return None
    select = ", ".join(f"{grouped} AS {u}" for u, grouped, _ in cols.values())
    names = [u for u, _, _ in cols.values()]
    sets = ", ".join(f"({u})" for u in names)
    return (
        f"SELECT {', '.join(names)}, count(*) AS n FROM (SELECT {select} "
        f"FROM {_ident(raw_table)} WHERE {where}) GROUP BY GROUPING SETS ({sets})"
    )


def unmapped_codes_sql(plan: QualityPlan, codes_table: str | None, cw: Crosswalks) -> str:
    """SELECT (field, column_name, local_code, rows): every value a crosswalk does not
    know, from the code counts (:func:`code_counts_sql`, in ``codes_table``).

    Codes are cut to 60 characters; a crosswalked column holds codes, not free text.
    """
    cols = _code_columns(plan)
    parts = []
    for path, spec, alias in _measured(plan):
        if spec.crosswalk is None or codes_table is None:
            continue
        u, _, text = cols[alias]
        case = cw.case_sql(spec.crosswalk, "code")
        items = f"unnest(string_split(_v, {_lit(spec.split)}))" if spec.split else "_v"
        parts.append(
            f"SELECT {_lit(path)} AS field, {_lit(', '.join(spec.source_columns()))} AS "
            "column_name, left(code, 60) AS local_code, sum(n)::BIGINT AS rows FROM ("
            f"SELECT trim({items}) AS code, n FROM (SELECT {text} AS _v, n "
            f"FROM {_ident(codes_table)} WHERE {u} IS NOT NULL) WHERE _v IS NOT NULL) "
            f"WHERE code <> '' AND ({case}) IS NULL GROUP BY ALL"
        )
    if not parts:
        return (
            "SELECT NULL::VARCHAR AS field, NULL::VARCHAR AS column_name, "
            "NULL::VARCHAR AS local_code, 0::BIGINT AS rows LIMIT 0"
        )
    return " UNION ALL ".join(f"({p})" for p in parts)


def field_quality_sql(
    plan: QualityPlan, mapped_table: str, cw: Crosswalks, codes_table: str | None = None
) -> str:
    """Per measured field: rows, filled, valid and formula-like counts.

    One scan of the mapped table: its rows are counted by their masks (filled and
    formula-like, :func:`quality_bits`; valid, :func:`valid_bits`, from the parsed values:
    every value is already parsed), and each field's counts are read from those few mask
    counts. A ``;``-list with a crosswalk is valid when any item is recognised, counted on
    the distinct lists of ``codes_table`` (:func:`code_counts_sql`).
    """
    bits = _bit_of(plan)
    vbits = {path: divmod(n, _BITS) for n, path in enumerate(_valid_paths(plan))}
    cols = _code_columns(plan)
    cells = []
    for path, spec, alias in _measured(plan):
        col, bit = bits[alias]
        valid = "NULL::BIGINT"
        if spec.crosswalk is not None and spec.split and codes_table is not None:
            u, _, text = cols[alias]
            case = cw.case_sql(spec.crosswalk, "trim(x)")
            valid = (
                f"(SELECT coalesce(sum(n), 0)::BIGINT FROM {_ident(codes_table)} "
                f"WHERE {u} IS NOT NULL AND len(list_filter(string_split({text}, "
                f"{_lit(spec.split)}), lambda x: ({case}) IS NOT NULL)) > 0)"
            )
        elif path in vbits:
            vcol, vbit = vbits[path]
            valid = f"coalesce(sum(n) FILTER (WHERE _fq_valid{vcol} & {1 << vbit} <> 0), 0)"
        cells.append(
            f"{{'field': {_lit(path)}, 'column_name': {_lit(', '.join(spec.source_columns()))}, "
            f"'filled': sum(n) FILTER (WHERE _fq_fill{col} & {1 << bit} <> 0), "
            f"'formula_like': sum(n) FILTER (WHERE _fq_fml{col} & {1 << bit} <> 0), "
            f"'valid': {valid}}}"
        )
    if not cells:
        return (
            "SELECT NULL::VARCHAR AS field, NULL::VARCHAR AS column_name, 0::BIGINT AS rows, "
            "0::BIGINT AS filled, 0::BIGINT AS valid, 0::BIGINT AS formula_like LIMIT 0"
        )
    masks = [c for c, _ in quality_bits(plan)] + [c for c, _ in valid_bits(plan)]
    counted = f"SELECT {', '.join(masks)}, count(*) AS n FROM {_ident(mapped_table)} GROUP BY ALL"
    return (
        "SELECT field, column_name, n AS rows, coalesce(filled, 0)::BIGINT AS filled, "
        "coalesce(valid, filled, 0)::BIGINT AS valid, "
        "coalesce(formula_like, 0)::BIGINT AS formula_like FROM ("
        "SELECT n, unnest(cells, recursive := true) FROM ("
        f"SELECT coalesce(sum(n), 0)::BIGINT AS n, [{', '.join(cells)}] AS cells "
        f"FROM ({counted})))"
    )
