"""Values a mapping adds beside the canonical columns (issue 13): addresses, identifiers
of declared kinds, place types from keywords, home vs not-home, and what the field checks
need.

:func:`plan_values` is called by :func:`joinedup.sources.mapping.plan_mapping` once the
canonical columns are planned. It adds SQL to the plan only through the plan's own
pieces (texts, keys, expressions and extra columns), so the mapped table carries:

* ``_v_address`` and ``_v_address_pc``: the person's address (upper case, punctuation as
  single spaces) and the UK postcode found in it. The address is restricted: it goes
  only to the release's ``identity_address`` table. Its postcode fills
  ``identity.postcode`` where the extract has no postcode column or leaves it blank, so it
  counts for linkage (sector and district) and for the person's home area;
* ``_v_id_<kind>``: each identifier of a declared kind, normalised and validated
  (:mod:`joinedup.sources.idkinds`);
* the place's type from keywords (``place.type: {column: ..., keywords: true}``) and
  ``home`` for a place at the person's own address (``place.address``): the same address,
  or the same postcode where either address is not known. A place type from a crosswalk
  or keywords is kept, except those ``home`` refines (:data:`REFINED`).
  A place's address is never stored: it gives the place's postcode, its id and ``home``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from joinedup.config import SourceConfig
from joinedup.sources.derive import keyword_sql, pattern_sql
from joinedup.sources.idkinds import kind_problem, kind_value_sql

__all__ = [
    "ADDRESS",
    "ADDRESS_POSTCODE",
    "PLACE_ADDRESS",
    "REFINED",
    "PROBLEM_BITS",
    "FieldCheck",
    "address_sql",
    "field_checks",
    "id_column",
    "plan_values",
    "problem_bits",
    "register_checks",
]

#: Place types that ``home`` refines for a place at the person's own address (an address
#: names a street, so keywords read ``street`` from it).
REFINED = ("unknown", "other_residential", "street", "home")

ADDRESS = "_v_address"
ADDRESS_POSTCODE = "_v_address_pc"
PLACE_ADDRESS = "_v_place_address"


def id_column(kind: str) -> str:
    """The mapped table's column holding identifiers of ``kind``."""
    return f"_v_id_{kind}"


def address_sql(text: str) -> str:
    """An address compared as words: upper case, every run of other characters one space."""
    return f"nullif(trim(regexp_replace(upper({text}), '[^A-Z0-9]+', ' ', 'g')), '')"


def _postcode_in(text: str) -> str:
    return f"ju_postcode({pattern_sql(text, 'postcode')})"


def plan_values(plan: Any, source: SourceConfig, cw: Any, *, dates: dict[str, str]) -> None:
    """Add addresses, identifier kinds, keyword place types and home to ``plan`` (a
    :class:`~joinedup.sources.mapping.MappingPlan`; ``cw`` its crosswalks), and mark the
    values the field checks look at; ``dates`` as for :func:`field_checks`."""
    lookups = cw.values
    out = plan.exprs
    m = source.identity
    if m.address is not None:
        t = plan.text("identity.address", m.address)
        plan.key("identity.address#text", address_sql(t))
        # valid: a postcode was found in it
        pc = plan.key("identity.address", _postcode_in(t))
        out["postcode"] = f"coalesce({out['postcode']}, {pc})" if "postcode" in out else pc
    for kind, spec in m.ids.items():
        declared = lookups.id_kinds.get(kind)
        if declared is not None:  # an undeclared kind is a configuration problem
            t = plan.text(f"identity.ids.{kind}", spec)
            plan.key(f"identity.ids.{kind}", kind_value_sql(t, declared))
    pl = source.place
    if pl is not None:
        if pl.type is not None and pl.type.keywords:
            t = plan.field_text.get("place.type") or plan.text("place.type", pl.type)
            kw = plan.key("place.type", keyword_sql(t, lookups.place_keywords))
            out["place_type"] = f"coalesce({kw}, 'unknown')"
        if pl.address is not None:
            pt = plan.text("place.address", pl.address)
            here = plan.key("place.address#text", address_sql(pt))
            ppc = plan.key("place.address", _postcode_in(pt))
            old = out.get("place_postcode")
            out["place_postcode"] = f"coalesce({old}, {ppc})" if old else ppc
            if "postcode" in out:
                _home(plan, here)
    named = {
        "identity.address#text": ADDRESS,
        "identity.address": ADDRESS_POSTCODE,
        "place.address#text": PLACE_ADDRESS,
    }
    named.update({f"identity.ids.{kind}": id_column(kind) for kind in m.ids})
    for path, column in named.items():
        if path in plan.keys:
            plan.extra[column] = plan.keys[path]
    register_checks(plan, dates)


def _home(plan: Any, place_text: str) -> None:
    out = plan.exprs
    home = plan.keys.get("identity.address#text")
    same = f"({out['place_postcode']}) = ({out['postcode']})"
    if home is not None:
        cond = (
            f"(CASE WHEN {home} IS NOT NULL AND {place_text} IS NOT NULL "
            f"THEN replace({home}, ' ', '') = replace({place_text}, ' ', '') ELSE {same} END)"
        )
    else:
        cond = same
    t = f"coalesce({out.get('place_type', 'NULL')}, 'unknown')"
    out["place_type"] = (
        f"(CASE WHEN coalesce({cond}, false) AND {t} IN ({', '.join(map(repr, REFINED))}) "
        f"THEN 'home' ELSE {t} END)"
    )


KEPT = "the value was left empty and the row kept"

_DATE = (
    f"not a date in any accepted format: {KEPT}; correct it in the extract, or list its "
    "format under formats: for this field in partnership.yaml"
)
_TERM = (
    "the academic year and term do not give a date (a term not under term_dates in "
    f"partnership.yaml, or a year that is not one): {KEPT}; add the term to term_dates "
    "or correct the extract"
)
_PARTS = f"the year, month and day do not make a date: {KEPT}; correct them in the extract"
_NHS = (
    "not a valid NHS number (10 digits, the last a modulus-11 check digit): "
    f"{KEPT}; correct it in the extract"
)
_UPN = (
    "not a valid unique pupil number (13 characters, the first a check letter): "
    f"{KEPT}; correct it in the extract"
)


@dataclass(frozen=True)
class FieldCheck:
    path: str  # the canonical field, e.g. identity.dob
    text: str  # the alias of its text in the mapping's first layer
    columns: str  # the extract's columns it reads, as messages show them
    valid: str  # the column (or key) of the mapped table holding the valid value
    problem: str  # bad_date, bad_check_digit or bad_format
    reason: str


def field_checks(plan: Any, dates: dict[str, str]) -> list[FieldCheck]:
    """The fields of ``plan`` whose invalid values are emptied and recorded; ``dates`` maps
    date fields to their mapped columns (``joinedup.sources.mapping.DATE_FIELDS``)."""
    source = plan.source
    specs = source.field_specs()
    out: list[FieldCheck] = []

    def add(path: str, valid: str, problem: str, reason: str) -> None:
        spec = specs.get(path)
        if spec is None or spec.value is not None or path not in plan.field_text:
            return
        cols = ", ".join(spec.source_columns())
        out.append(FieldCheck(path, plan.field_text[path], cols, valid, problem, reason))

    for path, col in dates.items():
        spec = specs.get(path)
        if spec is None or spec.crosswalk is not None or col not in plan.exprs:
            continue
        reason = _TERM if spec.term is not None else _PARTS if spec.date_parts else _DATE
        add(path, col, "bad_date", reason)
    if "nhs_number" in plan.exprs:
        add("identity.nhs_number", "nhs_number", "bad_check_digit", _NHS)
    if "upn" in plan.exprs:
        add("identity.upn", "upn", "bad_check_digit", _UPN)
    kinds = plan.cw.values.id_kinds if plan.cw is not None else {}
    for kind in source.identity.ids:
        path = f"identity.ids.{kind}"
        if kind in kinds and path in plan.keys:
            problem, what = kind_problem(kinds[kind])
            label = kinds[kind].name or kind
            reason = f"not a valid {label} ({what}): {KEPT}; correct it in the extract"
            add(path, plan.keys[path], problem, reason)
    paths = {col: path for path, col in plan.extra_paths.items()}
    for col, text, names in plan.bad_dates:  # dates of linked events (sources/events.py)
        out.append(FieldCheck(paths.get(col, col), text, names, col, "bad_date", _DATE))
    return out


PROBLEM_BITS = 62  # checked fields per problem mask column (``_fp<n>``, a BIGINT)


def problem_bits(plan: Any, dates: dict[str, str]) -> list[tuple[str, str]]:
    """(column, SQL over the mapped row) of the masks of which checked fields were given
    but are not valid (``_fp<n>``; bit ``i % PROBLEM_BITS`` of ``_fp<i // PROBLEM_BITS>``
    for the ``i``-th of :func:`field_checks`): the row's field problems."""
    parts: dict[int, list[str]] = {}
    for n, check in enumerate(field_checks(plan, dates)):
        col, bit = divmod(n, PROBLEM_BITS)
        given = plan.keys[f"{check.path}#given"]
        parts.setdefault(col, []).append(
            f"CASE WHEN {given} AND {check.valid} IS NULL THEN {1 << bit} ELSE 0 END"
        )
    return [(f"_fp{c}", "(" + " + ".join(v) + ")::BIGINT") for c, v in sorted(parts.items())]


def register_checks(plan: Any, dates: dict[str, str]) -> None:
    """Carry, for each checked field, whether its value was given into the mapped table."""
    for check in field_checks(plan, dates):
        plan.key(f"{check.path}#given", f"({check.text} IS NOT NULL)")
