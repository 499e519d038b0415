"""The overview page's figures, as each tier may see them.

:func:`protect_overview` is the only route from a raw :class:`~joinedup.insight.Overview`
to anything shown; :func:`current_overview` opens the current release, reads the raw
figures and protects them, so callers (web, report, export) never run SQL themselves.

What leaves the store, by tier:

- strategic and operational: release facts, the sources' ROW counts, persons, children
  and young adults, and the headline table (distinct persons with an exploitation
  concern, report group x home authority, with margins) after suppression.
- community: release facts and persons with a concern by authority only, at the
  community threshold (10); no breakdown by type, no sources.

Row counts of sources (rows read, loaded and quarantined) count rows of an agency's
file, and a row stands for a person or an event about one: they are protected like counts
of people, with every relation between them and the data quality page's counts
(:func:`joinedup.views.records.record_cells`), so a row count hidden there is hidden here
("c"). ``sources_total`` gives their totals, protected with them. They are not published
at community tier.

With ``disclosure.method: cell_key`` (issue 19) every count of people on the page (the
concern table's cells and margins, persons, children and young adults) is perturbed by
its own cell key, the sum of its people's record keys (:mod:`joinedup.views.cellkey`),
so the same children give the same figure here as in a question's answer; the sources'
row counts are perturbed with the other counts of records (``record_cells``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config import PartnershipConfig
from joinedup.disclosure import (
    DisclosurePolicy,
    SourceScope,
    Tier,
    TwoWayTable,
    policy_for,
    protect_cells,
    protect_one_way,
    protect_two_way,
    scope_release,
    source_scope,
)
from joinedup.errors import ReleaseError
from joinedup.insight import Overview, Period, overview_figures
from joinedup.insight.answers import ALL, release_period
from joinedup.insight.groups import report_groups_for
from joinedup.insight.overview import children_first_located_sql, exploitation_codes_sql
from joinedup.views.cellkey import KEYED, PageKeys, page_disclosure, page_keys, perturb_cell
from joinedup.views.memo import per_release  # moved from disclosure/ (issue 19)
from joinedup.views.records import RecordCells, protect_source_rows, record_cells
from joinedup.views.release import (
    ReleaseLike,
    connect_release,
    open_current_release,
    partnership_config,
    policy_dict,
)

# The headline counts the people an exploitation concern is about: recorded as its victim
# or subject at any age, or in any role but witness while a child (a child recorded as a
# suspect is a child with a concern first). Adult persons of concern are counted by their
# own questions, never mixed in here. CONCERN_ROLES stays for scripts that import it.
CONCERN_ROLES = ("victim", "subject")

__all__ = ["CONCERN_ROLES", "current_overview", "overview_cell_keys", "protect_overview"]


def _release_dict(overview: Overview) -> dict[str, Any]:
    r = overview.release
    return {
        "release_id": r.release_id,
        "built_at": r.built_at,
        "partnership": r.partnership,
        "reference_date": r.reference_date,
    }


def _authorities(overview: Overview) -> list[dict[str, Any]]:
    return [{"code": a.code, "name": a.name} for a in overview.concerns.authorities]


def _source_cells(
    overview: Overview, policy: DisclosurePolicy, records: RecordCells | None
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    if records is not None:
        return {s.source: records.source(s.source) for s in overview.sources}, records.totals
    raw = {
        s.source: {
            "rows_read": s.rows_read,
            "rows_loaded": s.rows_loaded,
            "rows_quarantined": s.rows_quarantined,
        }
        for s in overview.sources
    }
    return protect_source_rows(raw, policy)


CellKeys = dict[Hashable, int | None]


def _concern_table(
    overview: Overview, policy: DisclosurePolicy, keyed: CellKeys | None
) -> TwoWayTable[str, str | None]:
    """The concern table protected: by suppression with its margins, or (``keyed``:
    cell keys) every cell and margin perturbed by its own cell key."""
    t = overview.concerns
    codes = [a.code for a in t.authorities]
    if keyed is None:
        return protect_two_way(
            t.cells,
            policy,
            rows=t.groups,
            cols=codes,
            row_totals=t.by_group,
            col_totals=t.by_authority,
            total=t.total,
        )
    return TwoWayTable(
        cells={
            (g, a): perturb_cell(n, keyed.get(("cell", g, a)), policy)
            for (g, a), n in t.cells.items()
        },
        row_totals={
            g: perturb_cell(t.by_group.get(g, 0), keyed.get(("group", g)), policy) for g in t.groups
        },
        col_totals={
            a: perturb_cell(t.by_authority.get(a, 0), keyed.get(("authority", a)), policy)
            for a in codes
        },
        total=perturb_cell(t.total, keyed.get(("total",)), policy),
    )


def _strategic(
    overview: Overview,
    policy: DisclosurePolicy,
    records: RecordCells | None = None,
    keyed: CellKeys | None = None,
) -> dict[str, Any]:
    t = overview.concerns
    codes = [a.code for a in t.authorities]
    table = _concern_table(overview, policy, keyed)
    counts = {
        "all": overview.persons,
        "children": overview.children,
        "young_adults": overview.young_adults,
    }
    if keyed is not None:
        people = {k: perturb_cell(n, keyed.get(("persons", k)), policy) for k, n in counts.items()}
    else:
        # Counts of all persons, children and young adults: no published relation ties
        # them together (persons also holds adults of 25 and over), so each is protected
        # alone.
        people = protect_cells(counts, [], policy)
    rows, totals = _source_cells(overview, policy, records)
    return {
        "sources": [
            {
                "source": s.source,
                "agency": s.agency,
                "dataset": s.dataset,
                "rows_read": rows[s.source]["rows_read"],
                "rows_loaded": rows[s.source]["rows_loaded"],
                "rows_quarantined": rows[s.source]["rows_quarantined"],
                "extracted_at": s.extracted_at,
            }
            for s in overview.sources
        ],
        "sources_total": {k: totals[k] for k in ("rows_read", "rows_loaded", "rows_quarantined")},
        "persons": people,
        "concerns": {
            "authorities": _authorities(overview),
            "rows": [
                {
                    "group": g,
                    "cells": [table.cells[(g, c)] for c in codes],
                    "total": table.row_totals[g],
                }
                for g in t.groups
            ],
            "totals": [table.col_totals[c] for c in codes],
            "total": table.total,
        },
    }


def _community(
    overview: Overview, policy: DisclosurePolicy, keyed: CellKeys | None = None
) -> dict[str, Any]:
    t = overview.concerns
    codes = [a.code for a in t.authorities]
    counts = {i: t.by_authority[c] for i, c in enumerate(codes)}
    if keyed is not None:
        table = _concern_table(overview, policy, keyed)
        cells = {i: table.col_totals[c] for i, c in enumerate(codes)}
        total = table.total
    else:
        cells, total = protect_one_way(counts, policy, total=t.total)
    return {
        "areas": {
            "authorities": _authorities(overview),
            "persons_with_concern": [cells[i] for i in range(len(codes))],
            "total": total,
        }
    }


def protect_overview(
    overview: Overview,
    tier: Tier,
    *,
    policy: DisclosurePolicy | None = None,
    scope: SourceScope | None = None,
    records: RecordCells | None = None,
    keyed: CellKeys | None = None,
) -> dict[str, Any]:
    """Exactly what of ``overview`` may leave the store for ``tier``, JSON-ready.

    ``keyed`` (cell key perturbation, issue 19: :func:`overview_cell_keys`) holds the cell
    key of every count of people; with it each is perturbed by its own key, without it
    they are suppressed.

    ``records`` are the release's protected counts of records at the tier
    (:func:`~joinedup.views.records.record_cells`), which the sources table shows; without
    them the sources table is protected on its own.

    Every count of people is a whole number or "c". ``policy`` defaults to the tier's.
    ``scope`` names the sources the figures were computed without (sharing agreements),
    published as ``exclusions`` with a note for the page (absent when none is left out).
    """
    tier = Tier(tier)
    policy = policy or policy_for(tier)
    scope = scope or SourceScope(tier)
    out: dict[str, Any] = {
        "tier": tier.value,
        "release": _release_dict(overview),
        "disclosure": policy_dict(policy),
    }
    if scope.excluded:
        out["exclusions"] = scope.as_dict()
    if tier is Tier.COMMUNITY:
        out.update(_community(overview, policy, keyed))
    else:
        out.update(_strategic(overview, policy, records, keyed))
    return out


@per_release
def current_overview(
    partnership_dir: Path,
    tier: Tier,
    *,
    open_release: Callable[[Path], ReleaseLike] | None = None,
    config: PartnershipConfig | None = None,
    period: str | None = None,
) -> dict[str, Any]:
    """The overview of the partnership's current release, protected for ``tier``.

    The concern table counts events in ``period``: "default" (the partnership's default
    period, stored at build; also when None) or "all" (all time). Only standard periods
    are offered here, so that two overviews never difference into a small count that a
    question's own protection hides; other periods are a question's ``?from=&to=``.

    ``config`` (default: the partnership's own, when it has a partnership.yaml) gives the
    sharing agreements, which leave sources out at some tiers, and the disclosure policy.

    Raises :class:`~joinedup.errors.ReleaseError` when there is no release, or when the
    release cannot be read.
    """
    tier = Tier(tier)
    config = config if config is not None else partnership_config(partnership_dir)
    scope = source_scope(config, tier)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    handle = (open_release or open_current_release)(partnership_dir)
    con = connect_release(handle)
    try:
        scope_release(con, scope)
        chosen, _key = release_period(con, ALL if period == "all" else None)
        overview = overview_figures(con, children_first=True, window=(chosen.start, chosen.end))
        stored = _periods(con)
        records = None
        if tier is not Tier.COMMUNITY:
            records = record_cells(con, policy, scope, handle=handle)
        keys = page_keys(partnership_dir, policy)
        keyed = None if keys is None else overview_cell_keys(con, keys, chosen)
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}): it may "
            "be from an older version of joinedup. Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    out = protect_overview(overview, tier, policy=policy, scope=scope, records=records, keyed=keyed)
    if policy.method == "cell_key":
        out["disclosure"] = page_disclosure(policy, keys)
    out["period"] = chosen.as_dict()
    out["periods"] = [p.as_dict() for p in stored]
    return out


def _periods(con: duckdb.DuckDBPyConnection) -> list[Period]:
    """The standard periods the release stores (default first, then all time)."""
    default, _ = release_period(con, None)
    return [default] if default.all_time else [default, ALL]


#: The view of record keys of every person (:meth:`PageKeys.units`).
PERSON_KEYS = "_ju_ck_person"


def overview_cell_keys(con: duckdb.DuckDBPyConnection, keys: PageKeys, period: Period) -> CellKeys:
    """The cell key of every count of people on the overview (issue 19), counted over
    the same people as :func:`~joinedup.insight.overview_figures` (``con`` narrowed to
    the tier's sources): ("cell", group, authority), ("group", g), ("authority", a),
    ("total",) and ("persons", "all" | "children" | "young_adults")."""
    keys.units(
        con, PERSON_KEYS, "SELECT person_id FROM person UNION SELECT person_id FROM record_person"
    )
    codes = [str(r[0]) for r in con.execute(exploitation_codes_sql()).fetchall()]
    located = children_first_located_sql(
        report_groups_for(codes), start=period.start, end=period.end
    )
    out: CellKeys = {}
    for all_groups, all_authorities, group, authority, ckey in con.execute(
        f"""WITH located AS (
{located}
)
SELECT GROUPING(report_group), GROUPING(authority), report_group, authority, {KEYED}
FROM located l LEFT JOIN {PERSON_KEYS} ck ON ck.unit_id = l.person_id
GROUP BY GROUPING SETS ((report_group, authority), (report_group), (authority), ())"""
    ).fetchall():
        if all_groups and all_authorities:
            out[("total",)] = ckey
        elif all_authorities:
            out[("group", str(group))] = ckey
        elif all_groups:
            out[("authority", authority)] = ckey
        else:
            out[("cell", str(group), authority)] = ckey
    mod = "% 256 AS INTEGER)"
    row = con.execute(
        f"SELECT {KEYED}, CAST(sum(DISTINCT ck.k) FILTER (WHERE p.age < 18) {mod}, "
        f"CAST(sum(DISTINCT ck.k) FILTER (WHERE p.age BETWEEN 18 AND 24) {mod} "
        f"FROM person p LEFT JOIN {PERSON_KEYS} ck ON ck.unit_id = p.person_id"
    ).fetchone()
    if row is not None:
        for name, ckey in zip(("all", "children", "young_adults"), row, strict=True):
            out[("persons", name)] = ckey
    return out
