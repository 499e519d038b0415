"""Linked events: several events from one row, each linked to the one it follows.

A children's social care contact row may also carry the referral it led to and the
assessment after it; a missing episode row the return home interview; a youth justice row
an NRM referral. ``linked_events`` in a source's mapping declares each such event with its
own ``type``, ``date``, ``end_date``, ``outcome``, ``detail``, ``role``, indicators and
context; ``follows`` names the event it comes from (``event``, the row's own event, by
default; or another linked event's key), which the release keeps in ``event_link``.

A linked event exists on a row when its date is given (a date that cannot be read is left
empty and recorded in ``field_problem``, as the row's own dates are). Its id is the source
id, its key
and its own ``id`` column (``police_missing:rhi:RHI77``) when it has one, so rows sharing
it are one event with several people; otherwise the row's event id and its key
(``wexbury_csc:C123:referral``).

Every function here builds SQL and returns it.
"""

from __future__ import annotations

from collections.abc import Callable

from joinedup.config import SourceConfig
from joinedup.config.events import MAIN_EVENT
from joinedup.sources.indicators import PlanLike, part_column

__all__ = ["linked_event_id_sql", "linked_events_sql", "linked_part_ids", "plan_linked_events"]

_FIELDS = ("id", "type", "date", "end_date", "outcome", "detail", "role")
_DATES = ("date", "end_date")


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def plan_linked_events(plan: PlanLike, val: Callable[..., str]) -> None:
    """Add each linked event's parsed values to the plan (``_ev_<key>_<field>``).

    ``val(path, spec, default_parse)`` parses a field as the row's own fields are parsed
    (crosswalks, dates with their formats). Dates are listed in ``plan.bad_dates``, so one
    that will not parse is checked as the row's own dates are.
    """
    for le in plan.source.linked_events:
        base = f"linked_events.{le.key}"
        for name in _FIELDS:
            spec = getattr(le, name)
            if spec is None:
                continue
            path, col = f"{base}.{name}", part_column(le.key, name)
            if name == "id":
                plan.extra[col] = plan.text(path, spec)
            elif name == "date":  # the event is there when its date is given, read or not
                plan.extra[col] = val(path, spec, "date")
                plan.extra[part_column(le.key, "given")] = f"({plan.text(path, spec)} IS NOT NULL)"
            else:
                plan.extra[col] = val(path, spec, "date" if name in _DATES else "text")
            plan.extra_paths[path] = col
            if name in _DATES:
                plan.extra_dates.add(col)
                if spec.value is None and spec.crosswalk is None:
                    names = ", ".join(spec.source_columns())
                    plan.bad_dates.append((col, plan.field_text[path], names))


def linked_event_id_sql(source: SourceConfig, key: str, event_id: str = "event_id") -> str:
    """SQL over the mapped table: the id of linked event ``key``, NULL where the row has
    none (its date is blank). ``event_id`` is the row's own event id."""
    le = next(e for e in source.linked_events if e.key == key)
    own = f"{event_id} || {_lit(':' + key)}"
    if le.id is not None:
        ref = part_column(key, "id")
        own = f"coalesce({_lit(f'{source.id}:{key}:')} || {ref}, {own})"
    return f"(CASE WHEN {part_column(key, 'given')} THEN {own} END)"


def linked_events_sql(
    source: SourceConfig, good: str, *, agency: str, event_id: str = "event_id"
) -> list[str]:
    """INSERT statements for the linked events of the rows in ``good``: their ``event``
    rows, ``event_link`` rows (the event each follows) and ``event_person`` rows (the
    row's role unless the linked event maps its own)."""
    out = []
    sid = _lit(source.id)
    for le in source.linked_events:
        eid = linked_event_id_sql(source, le.key, event_id)
        if le.follows is None or le.follows == MAIN_EVENT:
            related = event_id
        else:
            related = linked_event_id_sql(source, le.follows, event_id)

        def col(name: str, key: str = le.key) -> str:
            spec = getattr(next(e for e in source.linked_events if e.key == key), name)
            return f"arg_min({part_column(key, name)}, _row)" if spec is not None else "NULL"

        out.append(
            "INSERT INTO event SELECT le_id, "
            f"{sid}, {_lit(agency)}, {col('type')}, {col('date')}, {col('end_date')}, NULL, "
            f"{col('outcome')}, false, {col('detail')} "
            f"FROM (SELECT *, {eid} AS le_id FROM {_ident(good)}) WHERE le_id IS NOT NULL "
            "GROUP BY le_id"
        )
        if le.follows is not None:
            out.append(
                f"INSERT INTO event_link SELECT DISTINCT {eid} AS le_id, {related}, {sid} "
                f"FROM {_ident(good)} WHERE le_id IS NOT NULL "
                f"AND ({related}) IS NOT NULL"
            )
        role = f"coalesce({part_column(le.key, 'role')}, role)" if le.role is not None else "role"
        out.append(
            f"INSERT INTO event_person SELECT DISTINCT {eid} AS le_id, {sid}, record_id, {role} "
            f"FROM {_ident(good)} WHERE le_id IS NOT NULL"
        )
    return out


def linked_part_ids(source: SourceConfig, event_id: str = "event_id") -> Callable[[str], str]:
    """``part_id`` for :func:`joinedup.sources.indicators.exploitation_rows_sql`."""
    return lambda key: linked_event_id_sql(source, key, event_id)
