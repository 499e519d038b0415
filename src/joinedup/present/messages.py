"""Key messages for the first page of a local profile report, written from the figures.

A board reads the first page and perhaps nothing else, so it says, in sentences:

1. the headline: how many children (or people) the board's lead question counts, over
   which period;
2. the largest changes since the last release (``joinedup.views.questions``'
   ``current_changes``: protected headlines against the previous release's protected
   headlines), or that there is no earlier release to compare with;
3. the direction of the lead trend over the last complete quarters that can be shown;
4. where the data is weakest: the extracts with the lowest quality share that can be
   shown (``current_quality`` at the report's tier), with the first thing to fix, and
   which quarters are incomplete.

Every number comes from figures already protected for the report's tier: a hidden value
("c") is never written into a sentence, and a message that would need one is left out.
Nothing is added up here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joinedup.errors import JoinedupError
from joinedup.present.format import format_count, format_percent, release_name
from joinedup.present.profile_trends import Trend, trend_facts
from joinedup.views import ReleaseLike, Tier

__all__ = ["KeyMessage", "key_messages", "weakest_sources"]

#: How many changes and weak extracts the first page names.
CHANGES_SHOWN = 3
WEAKEST_SHOWN = 2
_DIMENSION_WORDS = {
    "completeness": "fields filled in",
    "validity": "values that pass validation",
    "timeliness": "records sent on time",
    "uniqueness": "records that are not duplicates",
    "consistency": "records consistent with each other",
    "linkability": "records that could be linked to a person",
}


@dataclass(frozen=True)
class KeyMessage:
    """One message: a short heading and a sentence or two. ``kind`` is ``headline``,
    ``change``, ``trend`` or ``data`` (where the data is weakest)."""

    kind: str
    title: str
    text: str


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _headline(lead: dict[str, Any] | None, period: str | None) -> KeyMessage | None:
    if lead is None or _count(lead.get("headline")) is None:
        return None
    unit = str(lead.get("unit") or "people")
    span = f" in the {period}" if period else ""
    return KeyMessage(
        "headline", str(lead["question"]), f"{format_count(lead['headline'])} {unit}{span}."
    )


def _changes(changes: dict[str, Any]) -> list[KeyMessage]:
    moved = changes.get("questions") or []
    if not moved:
        note = str(changes.get("note") or "No figure that can be shown has changed.")
        return [KeyMessage("change", "Changes since the last release", note)]
    previous = release_name(changes.get("previous_release_id"))
    out = []
    for m in moved[:CHANGES_SHOWN]:
        diff = int(m["headline"]) - int(m["previous"])
        word = "up" if diff > 0 else "down"
        pct = f" ({abs(m['percent']):.0f}%)" if m.get("percent") is not None else ""
        out.append(
            KeyMessage(
                "change",
                f"{str(m['unit']).capitalize()} {word} {format_count(abs(diff))}{pct}",
                f"{m['question']} {format_count(m['headline'])} {m['unit']}, "
                f"{word} from {format_count(m['previous'])} in the {previous}.",
            )
        )
    return out


def _trend(trend: Trend) -> KeyMessage | None:
    facts = trend_facts(trend)
    if facts is None:
        return None
    unit = trend.unit
    if facts["direction"] == "level":
        move = f"level at {format_count(facts['last'])} {unit} a quarter"
    else:
        verb = "rising" if facts["direction"] == "up" else "falling"
        move = (
            f"{verb}: {format_count(facts['first'])} {unit} in {facts['first_quarter']}, "
            f"{format_count(facts['last'])} in {facts['last_quarter']}"
        )
    late = [q for q in trend.quarters if q in trend.incomplete][-2:]
    tail = (
        f" Later quarters ({', '.join(late)}) are not complete yet and are left out of this "
        "comparison."
        if late
        else ""
    )
    word = {"up": "Rising", "down": "Falling"}.get(facts["direction"], "Level")
    return KeyMessage(
        "trend",
        f"{word} over recent quarters",
        f"{trend.question} By quarter, {move} (the last complete quarters that can be "
        f"shown).{tail}",
    )


def weakest_sources(quality: dict[str, Any], n: int = WEAKEST_SHOWN) -> list[dict[str, Any]]:
    """The ``n`` extracts with the lowest quality share that can be shown, each with its
    weakest dimension and the first piece of recording advice for it, if any."""
    advice: dict[str, str] = {}
    for agency in quality.get("advice") or []:
        for item in agency.get("ranked") or []:
            advice.setdefault(str(item["source"]), str(item["advice"]))
    ranked = []
    for s in quality.get("sources") or []:
        shares = [
            (float(d["share"]), name)
            for name, d in (s.get("dimensions") or {}).items()
            if isinstance(d.get("share"), int | float) and not isinstance(d.get("share"), bool)
        ]
        if not shares:
            continue
        share, dimension = min(shares)
        if share >= 1.0:
            continue
        source = str(s["source"])
        tip = advice.get(source)
        if tip:  # the agency's column name is useful; the source id is machine words
            tip = re.sub(rf"\s*\([^()]*\bin {re.escape(source)}\)", "", tip)
        ranked.append(
            {
                "source": source,
                "agency_name": str(s.get("agency_name") or s.get("agency") or source),
                "dataset": str(s.get("dataset") or source),
                "dimension": dimension,
                "share": share,
                "advice": tip,
            }
        )
    ranked.sort(key=lambda r: (r["share"], r["source"]))
    return ranked[:n]


def _data(quality: dict[str, Any] | None) -> list[KeyMessage]:
    out = []
    weak = weakest_sources(quality) if quality else []
    for w in weak:
        words = _DIMENSION_WORDS.get(w["dimension"], w["dimension"])
        advice = f" First to fix: {w['advice']}" if w["advice"] else ""
        out.append(
            KeyMessage(
                "data",
                f"Weakest data: {w['agency_name']}",
                f"{w['dataset']}: {format_percent(w['share'] * 100, 0)} of {words}.{advice}",
            )
        )
    if quality and not weak:
        out.append(
            KeyMessage(
                "data",
                "Data quality",
                "No extract's quality share that can be shown at this tier falls below "
                "100%; see Data quality at the end of the report.",
            )
        )
    return out


def key_messages(
    partnership_dir: Path,
    *,
    tier: Tier,
    lead: dict[str, Any] | None,
    period: str | None,
    trends: list[Trend],
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> list[KeyMessage]:
    """The first page's messages, in reading order (see the module's docstring).

    ``lead`` is the board's lead question as ``current_questions`` lists it (its
    protected headline), ``period`` the default period's label, ``trends`` the report's
    trends (the first is the lead's)."""
    from joinedup.views import current_quality
    from joinedup.views.questions import current_changes

    messages: list[KeyMessage] = []
    head = _headline(lead, period)
    if head is not None:
        messages.append(head)
    try:
        changes = current_changes(partnership_dir, tier, limit=5, open_release=open_release)
    except JoinedupError:
        changes = None
    if changes is not None:
        messages += _changes(changes)
    if trends and (t := _trend(trends[0])) is not None:
        messages.append(t)
    try:
        quality = current_quality(partnership_dir, tier, open_release=open_release)
    except JoinedupError:
        quality = None
    messages += _data(quality)
    return messages
