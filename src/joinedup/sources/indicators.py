"""Exploitation indicators and contexts: from a row's fields to an event's types.

An event's exploitation types come from one field (``event.exploitation``) or several
(``event.indicators.fields``), each read through its own crosswalk (a ';'-list of police
flags, a Home Office offence code, CIN factor codes, an abuse type). The codes of all
fields are pooled per event; then

- ``precedence`` rules drop a code when the event also has one preferred over it
  (``{prefer: online, over: [cse]}``: online, not CSE, when both are recorded); the rules
  are read together, against the codes recorded, not one after another;
- ``fallback`` fields (a weaker signal, such as an offence code) count only on an event
  on which no other field names a type;
- ``type_not_stated`` gives its code to an event whose ``when`` field says exploitation
  is recorded but on which no field names a type.

Linked events (``linked_events``, :mod:`joinedup.sources.events`) have indicators and
contexts of their own. Every function here builds SQL over the mapped table and returns it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from joinedup.config import FieldSpec, SourceConfig
from joinedup.config.eventcheck import EventPart, indicator_fields
from joinedup.config.events import MAIN_EVENT, Indicators
from joinedup.sources.crosswalks import Crosswalks, list_crosswalk
from joinedup.sources.parsers import DEFAULT_TRUE_VALUES

__all__ = [
    "PlanLike",
    "context_rows_sql",
    "event_parts",
    "exploitation_rows_sql",
    "part_column",
    "plan_indicators",
]

Part = tuple[str, EventPart]


class PlanLike(Protocol):
    """What these modules use of :class:`joinedup.sources.mapping.MappingPlan` (which
    imports them, so they name its parts here instead of importing it)."""

    source: SourceConfig
    field_text: dict[str, str]
    valid: dict[str, str]
    bad_dates: list[tuple[str, str, str]]
    extra: dict[str, str]
    extra_paths: dict[str, str]
    extra_dates: set[str]

    def text(self, path: str, spec: FieldSpec) -> str: ...

    def key(self, path: str, sql: str) -> str: ...


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def event_parts(source: SourceConfig) -> list[Part]:
    """(name, mapping) of the row's events: ``event`` first, then each linked event's key."""
    parts: list[Part] = []
    if source.event is not None:
        parts.append((MAIN_EVENT, source.event))
        parts += [(le.key, le) for le in source.linked_events]
    return parts


def part_column(part: str, what: str) -> str:
    """The mapped table's column for ``what`` of an event part (``_ev_<part>_<what>``)."""
    return f"_ev_{part}_{what}"


def _path(part: str) -> str:
    return "event" if part == MAIN_EVENT else f"linked_events.{part}"


def plan_indicators(plan: PlanLike, cw: Crosswalks) -> None:
    """Carry every indicator, ``type_not_stated`` and context field's text into the mapped
    table (``_ev_<part>_x<n>``, ``_ev_<part>_recorded``, ``_ev_<part>_context``), with
    crosswalk keys for the data quality of the fields the old single field did not have."""
    for part, mapping in event_parts(plan.source):
        base = _path(part)
        for n, (suffix, spec) in enumerate(indicator_fields(mapping)):
            path = f"{base}.{suffix}"
            txt = plan.text(path, spec)
            col = part_column(part, f"x{n}")
            plan.extra[col] = txt
            if path == "event.exploitation":
                continue  # measured as it always was
            _measure(plan, path, spec, txt, col, cw, "exploitation_type")
        ind = mapping.indicators
        if ind is not None and ind.type_not_stated is not None:
            when = ind.type_not_stated.when
            path = f"{base}.indicators.type_not_stated.when"
            txt = plan.text(path, when)
            plan.extra[part_column(part, "recorded")] = _recorded_sql(when, txt)
            plan.extra[part_column(part, "recorded_text")] = txt
            plan.valid[path] = "true"
        if mapping.context is not None:
            path = f"{base}.context"
            txt = plan.text(path, mapping.context)
            col = part_column(part, "context")
            plan.extra[col] = txt
            _measure(plan, path, mapping.context, txt, col, cw, "context")


def _measure(
    plan: PlanLike,
    path: str,
    spec: FieldSpec,
    txt: str,
    col: str,
    cw: Crosswalks,
    list_name: str,
) -> None:
    """How the field's validity is counted (over the mapped table): a single code by its
    crosswalk key, a split field by any item recognised (with a crosswalk,
    field_quality_sql counts it so; without, the list's own codes are tried here)."""
    if spec.value is not None:
        return
    name = spec.crosswalk or list_crosswalk(list_name)
    if spec.split:
        if spec.crosswalk is None:
            case = cw.case_sql(name, "trim(x)")
            plan.valid[path] = (
                f"len(list_filter(string_split({col}, {_lit(spec.split)}), "
                f"lambda x: ({case}) IS NOT NULL)) > 0"
            )
        return
    key = plan.key(path, cw.case_sql(name, txt))
    plan.valid[path] = f"{key} IS NOT NULL"


def _recorded_sql(spec: FieldSpec, txt: str) -> str:
    """True where the ``when`` field says exploitation is recorded: a yes for a boolean
    field, any value otherwise."""
    if spec.parse == "boolean":
        values = ", ".join(_lit(v.upper()) for v in (spec.true_values or DEFAULT_TRUE_VALUES))
        return f"coalesce(upper({txt}) IN ({values}), false)"
    return f"({txt} IS NOT NULL)"


def _items_sql(table: str, eid: str, col: str, spec: FieldSpec, cw: Crosswalks, kind: str) -> str:
    """(event_id, local_code, mapped) for every code of one field."""
    items = f"string_split({col}, {_lit(spec.split)})" if spec.split else f"[{col}]"
    name = spec.crosswalk or list_crosswalk(kind)
    return (
        f"SELECT event_id, local_code, {cw.case_sql(name, 'local_code')} AS mapped FROM ("
        f"SELECT {eid} AS event_id, trim(unnest({items})) AS local_code "
        f"FROM {_ident(table)} WHERE {col} IS NOT NULL AND ({eid}) IS NOT NULL)"
    )


def _typed_sql(items: list[str], code_col: str) -> str:
    return (
        f"SELECT DISTINCT event_id, trim(unnest(string_split(mapped, ';'))) AS {code_col}, "
        f"local_code FROM ({' UNION ALL '.join(items)}) WHERE mapped IS NOT NULL AND mapped <> ''"
    )


def _part_exploitation_sql(
    table: str, eid: str, part: str, mapping: EventPart, cw: Crosswalks
) -> str | None:
    fields = indicator_fields(mapping)
    items = [
        _items_sql(table, eid, part_column(part, f"x{n}"), spec, cw, "exploitation_type")
        for n, (_, spec) in enumerate(fields)
    ]
    ind: Indicators[FieldSpec] | None = mapping.indicators
    if not items:
        return None
    if ind is not None and ind.fallback:
        typed = _fallback_sql(items, set(ind.fallback))
    else:
        typed = _typed_sql(items, "exploitation_type")
    if ind is None or (not ind.precedence and ind.type_not_stated is None):
        return typed
    if ind.precedence:
        conds = " OR ".join(
            f"(p.exploitation_type = {_lit(r.prefer)} AND t.exploitation_type IN "
            f"({', '.join(_lit(c) for c in r.over)}))"
            for r in ind.precedence
        )
        kept = (
            f"SELECT t.* FROM typed t WHERE NOT EXISTS (SELECT 1 FROM typed p "
            f"WHERE p.event_id = t.event_id AND ({conds}))"
        )
    else:
        kept = "SELECT * FROM typed"
    sql = f"WITH typed AS ({typed}), kept AS ({kept}) SELECT * FROM kept"
    if ind.type_not_stated is not None:
        rec, txt = part_column(part, "recorded"), part_column(part, "recorded_text")
        sql += (
            f" UNION ALL SELECT {eid} AS event_id, {_lit(ind.type_not_stated.code)}, "
            f"min({txt}) FROM {_ident(table)} WHERE {rec} AND ({eid}) IS NOT NULL "
            f"AND ({eid}) NOT IN (SELECT event_id FROM kept) GROUP BY 1"
        )
    return f"SELECT * FROM ({sql})"


def _fallback_sql(items: list[str], fallback: set[int]) -> str:
    """:func:`_typed_sql` of exploitation types, where the codes of the ``fallback``
    fields count only on an event on which no other field names a type."""
    flagged = [
        f"SELECT *, {'true' if n in fallback else 'false'} AS fb FROM ({sql})"
        for n, sql in enumerate(items)
    ]
    return (
        "WITH _ju_fb AS (SELECT DISTINCT event_id, "
        "trim(unnest(string_split(mapped, ';'))) AS exploitation_type, local_code, fb "
        f"FROM ({' UNION ALL '.join(flagged)}) WHERE mapped IS NOT NULL AND mapped <> '') "
        "SELECT DISTINCT event_id, exploitation_type, local_code FROM _ju_fb AS t "
        "WHERE NOT t.fb OR NOT EXISTS (SELECT 1 FROM _ju_fb AS o "
        "WHERE o.event_id = t.event_id AND NOT o.fb)"
    )


_NONE = (
    "SELECT NULL::VARCHAR AS event_id, NULL::VARCHAR AS {0}, NULL::VARCHAR AS local_code LIMIT 0"
)


def exploitation_rows_sql(
    source: SourceConfig,
    mapped_table: str,
    cw: Crosswalks,
    *,
    event_id: str,
    part_id: Callable[[str], str] | None = None,
) -> str:
    """SELECT (event_id, exploitation_type, local_code) for every type recorded on the
    row's events, after precedence and ``type_not_stated``.

    ``event_id`` is the SQL expression over ``mapped_table`` that gives the row's event
    id; ``part_id(key)`` that of a linked event (default: none are read).
    """
    parts = []
    for part, mapping in event_parts(source):
        eid = event_id if part == MAIN_EVENT else (part_id(part) if part_id else None)
        if eid is None:
            continue
        sql = _part_exploitation_sql(mapped_table, eid, part, mapping, cw)
        if sql is not None:
            parts.append(sql)
    if not parts:
        return _NONE.format("exploitation_type")
    return (
        "SELECT DISTINCT event_id, exploitation_type, local_code FROM ("
        + " UNION ALL ".join(f"({p})" for p in parts)
        + ")"
    )


def context_rows_sql(
    source: SourceConfig,
    mapped_table: str,
    cw: Crosswalks,
    *,
    event_id: str,
    part_id: Callable[[str], str] | None = None,
) -> str:
    """SELECT (event_id, context, local_code) for every context recorded on the row's
    events (``event.context`` and each linked event's)."""
    items = []
    for part, mapping in event_parts(source):
        eid = event_id if part == MAIN_EVENT else (part_id(part) if part_id else None)
        if eid is None or mapping.context is None:
            continue
        col = part_column(part, "context")
        items.append(_items_sql(mapped_table, eid, col, mapping.context, cw, "context"))
    if not items:
        return _NONE.format("context")
    return _typed_sql(items, "context")
