"""What is missing from a figure (issue 21): statements carried with an answer everywhere it
appears (page, JSON, report, export, ``joinedup ask``).

A question declares the agency types it draws on (``depends_on``). Three rules, applied to
a protected answer (:func:`missing_statements`), in this order:

1. **A type nobody supplies.** For each type in ``depends_on`` (except ``other``, the
   catch-all) from which no source of the partnership comes: "No housing agency supplies
   data ...", naming the partnership's agencies of that type, if any, and what they hold.
2. **Held but not sent.** For each agency of a type in ``depends_on``, each dataset its
   ``catalogue`` entry declares with ``supplied: false``: "Figures exclude school
   exclusions held by Ashdown academies (not yet shared)".
3. **Part of the period.** For a period with both ends, each source the question draws on
   whose events start more than :data:`SLACK_DAYS` after the period starts, or end more
   than :data:`SLACK_DAYS` before it ends: "Police crimes data cover only March 2025 to
   September 2026 of this period".

:func:`with_missing` puts the statements in the answer as ``missing`` (a list of
``{"kind", "text", ...}``) and at the head of ``question.caveats``, which every output
already shows; so nothing downstream needs to know about them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from joinedup.config.model import PartnershipConfig

__all__ = ["SLACK_DAYS", "TYPE_WORDS", "missing_statements", "with_missing"]

#: A source that starts or ends within this many days of the period's ends covers it.
SLACK_DAYS = 45

#: How a statement names a type of agency.
TYPE_WORDS = {
    "police": "police",
    "childrens_social_care": "children's social care",
    "adult_social_care": "adult social care",
    "health": "health",
    "education": "education",
    "youth_justice": "youth justice",
    "voluntary": "voluntary-sector",
    "housing": "housing",
    "other": "other",
}


def _words(agency_type: str) -> str:
    return TYPE_WORDS.get(agency_type, agency_type.replace("_", " "))


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _month(day: dt.date) -> str:
    return day.strftime("%B %Y")


def _types(config: PartnershipConfig, depends_on: list[str]) -> list[dict[str, Any]]:
    supplying = {a.id for a in config.agencies} & {s.agency for s in config.sources}
    supplied_types = {a.type for a in config.agencies if a.id in supplying}
    out = []
    for t in depends_on:
        if t == "other" or t in supplied_types:
            continue
        holders = [a for a in config.agencies if a.type == t]
        text = (
            f"No {_words(t)} agency supplies data to joinedup, so this figure leaves out "
            f"everything {_words(t)} services record"
        )
        held = [f"{d.name} ({a.name})" for a in holders for d in config.catalogue.get(a.id, [])]
        if held:
            text += ": " + "; ".join(held) + " are held but not shared."
        elif holders:
            text += " (" + ", ".join(a.name for a in holders) + " shares nothing yet)."
        else:
            text += "; the partnership has no such agency."
        out.append(
            {
                "kind": "agency_type_not_supplied",
                "agency_type": t,
                "agencies": [a.id for a in holders],
                "text": text,
            }
        )
    return out


def _held(config: PartnershipConfig, depends_on: list[str], skip: set[str]) -> list[dict[str, Any]]:
    out = []
    for a in config.agencies:
        if a.type not in depends_on or a.type in skip:
            continue
        for d in config.catalogue.get(a.id, []):
            if d.supplied:
                continue
            system = f", in {d.system}" if d.system else ""
            out.append(
                {
                    "kind": "held_not_supplied",
                    "agency": a.id,
                    "dataset": d.name,
                    "text": f"Figures exclude {d.name} held by {a.name}{system}: not yet "
                    "shared with the partnership.",
                }
            )
    return out


def _period(answer: dict[str, Any]) -> list[dict[str, Any]]:
    period = answer.get("period") or {}
    start, end = _date(period.get("from")), _date(period.get("to"))
    if start is None or end is None:
        return []
    slack = dt.timedelta(days=SLACK_DAYS)
    out = []
    for h in answer.get("history") or []:
        first, last = _date(h.get("first_event")), _date(h.get("last_event"))
        if first is None or last is None or last < start or first > end:
            if first is not None and last is not None:  # none of the period at all
                out.append(
                    {
                        "kind": "source_outside_period",
                        "source": h.get("source"),
                        "text": f"{h.get('dataset') or h.get('source')} holds no records "
                        f"in this period (its data run from {_month(first)} to "
                        f"{_month(last)}).",
                    }
                )
            continue
        if first - start > slack or end - last > slack:
            cover_from, cover_to = max(first, start), min(last, end)
            out.append(
                {
                    "kind": "source_covers_part_of_period",
                    "source": h.get("source"),
                    "from": cover_from.isoformat(),
                    "to": cover_to.isoformat(),
                    "text": f"{h.get('dataset') or h.get('source')} data cover only "
                    f"{_month(cover_from)} to {_month(cover_to)} of this period "
                    f"({_month(start)} to {_month(end)}).",
                }
            )
    return out


def missing_statements(
    answer: dict[str, Any], config: PartnershipConfig | None
) -> list[dict[str, Any]]:
    """What is missing from a protected answer (rules in the module docstring)."""
    q = answer.get("question") or {}
    depends_on = [str(t) for t in q.get("depends_on") or []]
    out: list[dict[str, Any]] = []
    if config is not None:
        types = _types(config, depends_on)
        out += types
        out += _held(config, depends_on, {t["agency_type"] for t in types})
    out += _period(answer)
    return out


def with_missing(answer: dict[str, Any], config: PartnershipConfig | None) -> dict[str, Any]:
    """``answer`` with ``missing`` set and its statements first among the caveats."""
    found = missing_statements(answer, config)
    answer["missing"] = found
    q = answer.get("question")
    if isinstance(q, dict) and found:
        q["caveats"] = [m["text"] for m in found] + [
            c for c in q.get("caveats") or [] if c not in {m["text"] for m in found}
        ]
    return answer
