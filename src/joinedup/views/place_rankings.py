"""The rankings of places as a tier may see them (``joinedup.views.places`` puts them on
the page): the top :data:`HOTSPOT_LIMIT` places of a ranking for a period, each number
protected on its own, a default-period number 1 to the threshold fewer than the same
place's all-time number hidden, and a business or public place named at the strategic
tier only beside a number of children that is shown."""

from __future__ import annotations

from typing import Any

import duckdb

from joinedup.disclosure import SUPPRESSED
from joinedup.disclosure.policy import DisclosurePolicy
from joinedup.disclosure.suppression import protect_cells
from joinedup.disclosure.tiers import Tier
from joinedup.insight.periods import Period
from joinedup.insight.places import Hotspot, hotspots, rank_places

__all__ = ["HOTSPOT_LIMIT", "place_type_label", "ranking_rows"]

#: How many places of each ranking are shown.
HOTSPOT_LIMIT = 25


def place_type_label(place_type: str | None) -> str:
    """A place type in words: ``licensed_premises`` -> "Licensed premises"."""
    if not place_type:
        return "Unknown type"
    text = place_type.replace("_", " ")
    return text[:1].upper() + text[1:]


def ranking_rows(
    con: duckdb.DuckDBPyConnection,
    policy: DisclosurePolicy,
    tier: Tier,
    *,
    period: Period,
    key: str | None,
    ranking: str,
    place_type: str | None,
) -> list[dict[str, Any]]:
    """The top places of one ranking, protected: stored for ``key``, else counted now."""
    names = dict(con.execute("SELECT area_code, area_name FROM area").fetchall())
    types = [place_type] if place_type else None
    if key is not None:
        rows = hotspots(
            con, time_window=key, ranking=ranking, limit=HOTSPOT_LIMIT, place_types=types
        )
    else:
        rows = rank_places(con, period, ranking=ranking, limit=HOTSPOT_LIMIT, place_types=types)
    values: dict[tuple[int, str], int] = {}
    for i, r in enumerate(rows):
        values[(i, "children")] = r.children
        values[(i, "persons_of_concern")] = r.persons_of_concern
        values[(i, "events")] = r.events
    hide: set[tuple[int, str]] = set()
    if key == "default":
        hide = _small_changes(con, rows, values, policy, ranking=ranking)
    # No published relation ties the cells of a ranking together (no totals are shown,
    # and persons appear at several places), so each is protected on its own.
    cells = protect_cells(values, [], policy, hidden=hide)
    out = []
    for i, r in enumerate(rows):
        children = cells[(i, "children")]
        shown = children != SUPPRESSED
        named = r.named and (tier is Tier.OPERATIONAL or shown)
        out.append(
            {
                # Ranks are positions, not counts: published as text.
                "rank": str(r.place_rank),
                "label": r.label if named else r.area_label,
                "named": named,
                "place_type": r.place_type,
                "place_type_label": place_type_label(r.place_type),
                "residential": r.residential,
                "small_area": _name(names, r.small_area),
                "ward": _name(names, r.ward),
                "authority": _name(names, r.authority),
                "children": children,
                "persons_of_concern": cells[(i, "persons_of_concern")],
                "events": cells[(i, "events")],
            }
        )
    return out


def _name(names: dict[Any, Any], code: str | None) -> str | None:
    return None if code is None else str(names.get(code, code))


def _small_changes(
    con: duckdb.DuckDBPyConnection,
    rows: list[Hotspot],
    values: dict[tuple[int, str], int],
    policy: DisclosurePolicy,
    *,
    ranking: str,
) -> set[tuple[int, str]]:
    """Cells of the default period that are 1 to the threshold fewer than the same
    place's all-time count (comparing the two stored periods would count them)."""
    if not rows:
        return set()
    marks = ", ".join("?" for _ in rows)
    ever = {
        str(r[0]): r[1:]
        for r in con.execute(
            "SELECT place_id, children, persons_of_concern, events FROM place_hotspot "
            f"WHERE time_window = 'all' AND ranking = ? AND place_id IN ({marks})",
            [ranking, *(r.place_id for r in rows)],
        ).fetchall()
    }
    hide = set()
    for i, r in enumerate(rows):
        before = ever.get(r.place_id)
        for j, what in enumerate(("children", "persons_of_concern", "events")):
            if before is not None and policy.is_small(int(before[j]) - values[(i, what)]):
                hide.add((i, what))
    return hide
