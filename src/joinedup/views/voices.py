"""Voices beside figures (issue 20, item 1): scrubbed words from agencies' notes, the
voice of children and families and practitioners' themes, shown beside the figures they
relate to.

What may be quoted, and to whom:

- only scrubbed text (``note_scrubbed``: names, dates, addresses, postcodes and
  identifiers replaced), never the raw note;
- only to a tier the note's source allows (``note.tier``: a note of tier "strategic" may
  be quoted to the strategic and operational tiers, "community" to all three,
  "operational" to the operational tier only), and never from a source whose sharing
  agreement leaves the tier out;
- only notes on the figure's themes (a question's ``voices:`` list; ``"*"`` for any
  theme), written in the figure's period;
- only when at least :data:`MIN_NOTES` notes, and more than the tier's threshold, match:
  a quote chosen from a handful of notes could point to the child it came from;
- notes the scrubber changed least first (fewest ``[name]``-style replacements), then a
  fixed order by a hash of the note's id, so the same release always shows the same
  quotes and nobody picks the most striking ones by hand.

A quote carries its themes, the month it was written and the kind of agency that wrote it,
never a person, a date or the agency's own reference.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

import duckdb

from joinedup.disclosure import DisclosurePolicy, SourceScope, Tier

__all__ = ["MAX_QUOTE", "MIN_NOTES", "VISIBLE_TO", "person_notes", "quotes"]

#: Fewest matching notes before any is quoted.
MIN_NOTES = 10
#: Longest quote shown (longer notes are cut at a word).
MAX_QUOTE = 280
#: The note tiers each viewing tier may read.
VISIBLE_TO: dict[Tier, tuple[str, ...]] = {
    Tier.OPERATIONAL: ("operational", "strategic", "community"),
    Tier.STRATEGIC: ("strategic", "community"),
    Tier.COMMUNITY: ("community",),
}


def _cut(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_QUOTE:
        return text
    return text[:MAX_QUOTE].rsplit(" ", 1)[0] + " …"


def _order(note_id: str) -> str:
    return hashlib.sha256(note_id.encode()).hexdigest()


def quotes(
    con: duckdb.DuckDBPyConnection,
    tier: Tier,
    *,
    themes: Iterable[str],
    policy: DisclosurePolicy,
    scope: SourceScope,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int = 3,
) -> dict[str, Any]:
    """Quotes on ``themes`` in ``start``..``end`` for ``tier``: ``{"quotes": [...],
    "note": why none are shown, or None}``. ``con`` is an open release."""
    wanted = sorted({t.strip().lower().replace(" ", "") for t in themes if t.strip()})
    if not wanted:
        return {"quotes": [], "note": None, "themes": []}
    tiers = VISIBLE_TO[Tier(tier)]
    params: dict[str, Any] = {"tiers": list(tiers), "themes": wanted}
    where = ["s.tier IN (SELECT unnest($tiers))", "length(trim(s.text)) > 0"]
    if "*" in wanted:  # every theme
        del params["themes"]
    else:
        where.append("list_has_any(string_split(s.theme, ';'), $themes)")
    if scope.excluded_ids:
        params["excluded"] = sorted(scope.excluded_ids)
        where.append("s.source NOT IN (SELECT unnest($excluded))")
    if start is not None:
        params["from"] = start.strftime("%Y-%m")
        where.append("s.note_month >= $from")
    if end is not None:
        params["to"] = end.strftime("%Y-%m")
        where.append("s.note_month <= $to")
    sql = (
        "SELECT s.note_id, s.text, s.theme, s.note_month, s.redactions, "
        "coalesce(src.agency_type, 'other') FROM note_scrubbed s "
        "LEFT JOIN source src ON src.source = s.source "
        f"WHERE {' AND '.join(where)}"
    )
    rows = con.execute(sql, params).fetchall()
    enough = max(MIN_NOTES, policy.threshold + 1)
    if len(rows) < enough:
        return {
            "quotes": [],
            "themes": wanted,
            "note": "Too few notes on these themes in this period to quote one without a "
            "risk of pointing to the person it is about.",
        }
    rows.sort(key=lambda r: (int(r[4] or 0), _order(str(r[0]))))
    return {
        "quotes": [
            {
                "text": _cut(str(text)),
                "themes": [t for t in str(theme or "").split(";") if t],
                "month": month,
                "month_label": _month_label(month),
                "agency_type": str(kind).replace("_", " "),
            }
            for _nid, text, theme, month, _red, kind in rows[:limit]
        ],
        "themes": wanted,
        "note": None,
    }


def _month_label(month: object) -> str | None:
    """ "2025-04" as "April 2025" (people's words, issue 16)."""
    try:
        return dt.date.fromisoformat(f"{str(month)[:7]}-01").strftime("%B %Y")
    except ValueError:
        return None


def person_notes(con: duckdb.DuckDBPyConnection, person_id: str) -> list[dict[str, Any]]:
    """A person's notes, scrubbed, for their timeline at the operational tier (the caller
    has checked the tier and audits the view): month, themes and text, oldest first."""
    rows = con.execute(
        "SELECT note_month, theme, text FROM note_scrubbed WHERE person_id = $p "
        "AND length(trim(text)) > 0 ORDER BY note_month NULLS LAST, note_id",
        {"p": person_id},
    ).fetchall()
    return [
        {
            "month": month,
            "month_label": _month_label(month),
            "themes": [t for t in str(theme or "").split(";") if t],
            "text": " ".join(str(text).split()),
        }
        for month, theme, text in rows
    ]
