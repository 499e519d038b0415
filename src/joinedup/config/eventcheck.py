"""Checks of the events and indicators configuration against the taxonomy (issue 13).

:func:`event_problems` checks what pydantic cannot: codes against the taxonomy (with the
partnership's ``taxonomy_extensions``), crosswalks against the lists they map onto,
precedence rules against each other, linked events against each other.
:func:`extension_problems` checks ``taxonomy_extensions``; :func:`partnership_taxonomy`
is the taxonomy a partnership's mappings use. ``load_config`` reports their problems with
every other one, each at its key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from joinedup.config.events import MAIN_EVENT, LinkedEvent, PrecedenceRule
from joinedup.config.model import EventMapping, FieldSpec, PartnershipConfig
from joinedup.errors import Problem

if TYPE_CHECKING:
    from joinedup.taxonomy import Taxonomy

__all__ = [
    "EventPart",
    "event_problems",
    "extension_problems",
    "indicator_fields",
    "partnership_taxonomy",
    "precedence_problems",
]

_LOCAL_CODE = re.compile(r"^local_[a-z0-9_]+$")
EventPart = EventMapping | LinkedEvent[FieldSpec]


# --- what the mapping reads ------------------------------------------------------------


def indicator_fields(part: EventPart) -> list[tuple[str, FieldSpec]]:
    """(path suffix, field) of each exploitation-indicator field of an event, in order:
    ``exploitation`` alone, or ``indicators.fields[i]``."""
    if part.exploitation is not None:
        return [("exploitation", part.exploitation)]
    if part.indicators is None:
        return []
    return [(f"indicators.fields[{i}]", f) for i, f in enumerate(part.indicators.fields)]


# --- checks against the taxonomy ------------------------------------------------------


def partnership_taxonomy(cfg: PartnershipConfig) -> Taxonomy:
    """The shared taxonomy of ``cfg.taxonomy_version`` with the partnership's
    ``taxonomy_extensions`` added (ConfigError if the version or an extension is bad)."""
    from joinedup.taxonomy import Entry, load_taxonomy

    tax = load_taxonomy(cfg.taxonomy_version)
    for list_name, codes in cfg.taxonomy_extensions.items():
        entries = {
            code: Entry(
                code=code,
                label=c.label,
                parent=c.parent,
                definition=c.definition,
                source=c.source,
            )
            for code, c in codes.items()
        }
        tax = tax.with_local_codes(list_name, entries)
    return tax


def extension_problems(cfg: PartnershipConfig, shared: Taxonomy) -> list[Problem]:
    """Problems with ``taxonomy_extensions``, each at its key (list, code, parent)."""
    problems: list[Problem] = []
    extensible = sorted(n for n, i in shared.info.items() if i.extensible)
    for list_name, codes in cfg.taxonomy_extensions.items():
        where = f"taxonomy_extensions.{list_name}"
        if list_name not in shared.lists or not shared.info[list_name].extensible:
            problems.append(
                Problem(
                    where,
                    f"'{list_name}' is not a list that takes local codes; use one of: "
                    + ", ".join(extensible),
                )
            )
            continue
        known = set(shared.lists[list_name]) | set(codes)
        has_parents = list_name == "exploitation_type"
        for code, local in codes.items():
            at = f"{where}.{code}"
            if not _LOCAL_CODE.match(code):
                problems.append(
                    Problem(
                        at,
                        "a local code starts with 'local_' and uses only lower case letters, "
                        "digits and '_' (e.g. local_hate_crime), so it never clashes with a "
                        "shared code",
                    )
                )
            if code in shared.lists[list_name]:
                problems.append(Problem(at, f"'{code}' is already a shared {list_name} code"))
            if has_parents and local.parent is None:
                problems.append(
                    Problem(
                        f"{at}.parent",
                        "a local exploitation type needs a parent in the shared taxonomy, "
                        "which gives it its report group; e.g. parent: other",
                    )
                )
            elif local.parent is not None and not has_parents:
                problems.append(
                    Problem(f"{at}.parent", f"codes of {list_name} have no parent; remove it")
                )
            elif local.parent is not None and local.parent not in known:
                problems.append(
                    Problem(
                        f"{at}.parent",
                        f"'{local.parent}' is not in the {list_name} list of taxonomy "
                        f"{shared.version}; use one of: " + ", ".join(shared.lists[list_name]),
                    )
                )
    return problems


def event_problems(
    cfg: PartnershipConfig, taxonomy: Taxonomy, crosswalk_list: Callable[[str], str | None]
) -> list[Problem]:
    """Problems with the events and indicators of every source.

    ``taxonomy`` has the partnership's extensions; ``crosswalk_list(name)`` is the list a
    crosswalk (declared or built in) maps onto, or None for a crosswalk that does not exist
    (reported elsewhere).
    """
    problems: list[Problem] = []
    for i, src in enumerate(cfg.sources):
        where = f"sources[{i}] ({src.id})"
        parts: list[tuple[str, EventPart]] = []
        if src.event is not None:
            parts.append(("event", src.event))
            if src.event.exploitation is not None and src.event.indicators is not None:
                problems.append(
                    Problem(
                        f"{where}.event",
                        "give 'exploitation' (one field) or 'indicators' (several), not both",
                    )
                )
        elif src.linked_events:
            problems.append(
                Problem(
                    f"{where}.linked_events",
                    "linked events need the row's own 'event' mapping to link to",
                )
            )
        keys = [le.key for le in src.linked_events]
        for le in src.linked_events:
            at = f"{where}.linked_events.{le.key}"
            parts.append((f"linked_events.{le.key}", le))
            if keys.count(le.key) > 1:
                problems.append(Problem(f"{at}.key", f"'{le.key}' is used twice; keys are unique"))
            if le.follows is not None and le.follows != MAIN_EVENT and le.follows not in keys:
                problems.append(
                    Problem(
                        f"{at}.follows",
                        f"'{le.follows}' is not 'event' nor the key of another linked event "
                        f"of this source ({', '.join(keys)})",
                    )
                )
            elif le.follows == le.key:
                problems.append(Problem(f"{at}.follows", "an event cannot follow itself"))
        for prefix, part in parts:
            problems += _part_problems(f"{where}.{prefix}", part, taxonomy, crosswalk_list)
    return problems


def _part_problems(
    at: str,
    part: EventPart,
    tax: Taxonomy,
    crosswalk_list: Callable[[str], str | None],
) -> Iterator[Problem]:
    types = tax.lists["exploitation_type"]
    for suffix, spec in indicator_fields(part):
        yield from _crosswalk_onto(f"{at}.{suffix}", spec, "exploitation_type", crosswalk_list)
    if part.context is not None:
        yield from _crosswalk_onto(f"{at}.context", part.context, "context", crosswalk_list)
    ind = part.indicators
    if ind is None:
        return
    if ind.type_not_stated is not None and ind.type_not_stated.code not in types:
        yield Problem(
            f"{at}.indicators.type_not_stated.code",
            f"'{ind.type_not_stated.code}' is not an exploitation_type code; use a shared one "
            "or declare a local one under taxonomy_extensions.exploitation_type (e.g. "
            "local_type_not_stated with parent: other)",
        )
    yield from precedence_problems(f"{at}.indicators.precedence", ind.precedence, types)


def precedence_problems(
    at: str, rules: list[PrecedenceRule], types: Mapping[str, object]
) -> Iterator[Problem]:
    """Precedence rules naming unknown codes, a code over itself, or contradicting another."""
    over: dict[tuple[str, str], int] = {}
    for n, rule in enumerate(rules):
        here = f"{at}[{n}]"
        for key, code in [("prefer", rule.prefer)] + [("over", c) for c in rule.over]:
            if code not in types:
                yield Problem(
                    f"{here}.{key}",
                    f"'{code}' is not an exploitation_type code; use one of: " + ", ".join(types),
                )
        if rule.prefer in rule.over:
            yield Problem(here, f"'{rule.prefer}' is preferred over itself; remove it from over")
        for code in rule.over:
            earlier = over.get((code, rule.prefer))
            if earlier is not None:
                yield Problem(
                    here,
                    f"prefers '{rule.prefer}' over '{code}', but precedence[{earlier}] prefers "
                    f"'{code}' over '{rule.prefer}'; keep one",
                )
            over.setdefault((rule.prefer, code), n)


def _crosswalk_onto(
    at: str, spec: FieldSpec, list_name: str, crosswalk_list: Callable[[str], str | None]
) -> Iterator[Problem]:
    if spec.crosswalk is None:
        return
    target = crosswalk_list(spec.crosswalk)
    if target is not None and target != list_name:
        yield Problem(
            f"{at}.crosswalk",
            f"crosswalk '{spec.crosswalk}' maps onto {target}, but this field needs one onto "
            f"{list_name}",
        )
