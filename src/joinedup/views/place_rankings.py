"""The rankings of places as a tier may see them (``joinedup.views.places`` puts them on
the page): the top :data:`HOTSPOT_LIMIT` places of a ranking for a period, each number
protected on its own, a default-period number 1 to the threshold fewer than the same
place's all-time number hidden, and a business or public place named at the strategic
tier only beside a number of children that is shown.

Under cell key perturbation (issue 19) each place's children, persons of concern and
events are perturbed by their own cell keys (the sum of the record keys of the people, or
events, counted there in the period), so no default-period number needs hiding beside
the all-time one."""

from __future__ import annotations

from typing import Any

import duckdb

from joinedup.disclosure import SUPPRESSED
from joinedup.disclosure.policy import DisclosurePolicy
from joinedup.disclosure.sharing import SourceScope
from joinedup.disclosure.suppression import protect_cells
from joinedup.disclosure.tiers import Tier
from joinedup.insight.periods import Period
from joinedup.insight.places import (
    CHILD_ROWS,
    CONCERN_PERSON_ROWS,
    Hotspot,
    hotspots,
    period_rows_sql,
    rank_places,
)
from joinedup.views.answers import ON_REQUEST_ROUNDING
from joinedup.views.cellkey import ON_REQUEST_NOTE, PageKeys, perturb_cell

__all__ = [
    "HOTSPOT_LIMIT",
    "hotspots_note",
    "on_request_note",
    "place_type_label",
    "ranking_rows",
]

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
    keys: PageKeys | None = None,
) -> list[dict[str, Any]]:
    """The top places of one ranking, protected: stored for ``key``, else counted now;
    with ``keys`` (cell key perturbation) each number perturbed by its cell key."""
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
    if keys is not None:
        cells = _perturbed(con, rows, values, policy, keys, period=period, ranking=ranking)
    else:
        if key == "default":
            hide = _small_changes(con, rows, values, policy, ranking=ranking)
        # No published relation ties the cells of a ranking together (no totals are
        # shown, and persons appear at several places), so each is protected on its own.
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


#: Views of record keys (:meth:`PageKeys.units`) of people and of events.
PERSON_KEYS = "_ju_ck_person"
EVENT_KEYS = "_ju_ck_event"


def _perturbed(
    con: duckdb.DuckDBPyConnection,
    rows: list[Hotspot],
    values: dict[tuple[int, str], int],
    policy: DisclosurePolicy,
    keys: PageKeys,
    *,
    period: Period,
    ranking: str,
) -> dict[tuple[int, str], Any]:
    """Each place's numbers perturbed by their cell keys, counted again over the same
    rows as the ranking (:func:`~joinedup.insight.places.period_rows_sql`); a number that
    does not come out the same when counted again is shown as "c"."""
    if not rows:
        return {}
    keys.units(con, PERSON_KEYS, "SELECT person_id FROM person")
    keys.units(con, EVENT_KEYS, "SELECT event_id FROM event")
    marks = ", ".join("?" for _ in rows)
    mod = "% 256 AS INTEGER)"
    counted = {
        str(r[0]): r[1:]
        for r in con.execute(
            f"""SELECT r.place_id,
  count(DISTINCT r.person_id) FILTER (WHERE {CHILD_ROWS}),
  CAST(sum(DISTINCT cp.k) FILTER (WHERE {CHILD_ROWS}) {mod},
  count(DISTINCT r.person_id) FILTER (WHERE {CONCERN_PERSON_ROWS}),
  CAST(sum(DISTINCT cp.k) FILTER (WHERE {CONCERN_PERSON_ROWS}) {mod},
  count(DISTINCT r.event_id), CAST(sum(DISTINCT ce.k) {mod}
FROM ({period_rows_sql(period.start, period.end)}) r
LEFT JOIN {PERSON_KEYS} cp ON cp.unit_id = r.person_id
LEFT JOIN {EVENT_KEYS} ce ON ce.unit_id = r.event_id
WHERE r.ranking = ? AND r.place_id IN ({marks})
GROUP BY r.place_id""",
            [ranking, *(r.place_id for r in rows)],
        ).fetchall()
    }
    out: dict[tuple[int, str], Any] = {}
    for i, r in enumerate(rows):
        again = counted.get(r.place_id, (0, None, 0, None, 0, None))
        for j, what in enumerate(("children", "persons_of_concern", "events")):
            n, ckey = values[(i, what)], again[2 * j + 1]
            same = int(again[2 * j] or 0) == n
            shown = perturb_cell(n, ckey if same else None, policy)
            # a place is ranked for counting someone: a positive count moved down to 0
            # is shown as "c", so that 0 on a ranking means none
            out[(i, what)] = SUPPRESSED if n and shown == 0 else shown
    return out


def on_request_note(keys: PageKeys | None) -> str:
    if keys is not None:
        return ON_REQUEST_NOTE
    return (
        "Counted on request for this period, and rounded to the nearest "
        f"{ON_REQUEST_ROUNDING} so that comparing two periods cannot give a small "
        "number away."
    )


def hotspots_note(tier: Tier, scope: SourceScope) -> str | None:
    if tier is Tier.COMMUNITY:
        return (
            "Single places are not listed at the community tier: the figures are shown by "
            "ward only."
        )
    if scope.excluded:
        return (
            "The rankings of places are worked out from every source. A sharing agreement "
            "leaves a source out at this tier, so they are not shown; the map and its "
            "table leave that source out."
        )
    return None
