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
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config import PartnershipConfig
from joinedup.disclosure import (
    DisclosurePolicy,
    SourceScope,
    Tier,
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

__all__ = ["CONCERN_ROLES", "current_overview", "protect_overview"]


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


def _strategic(
    overview: Overview, policy: DisclosurePolicy, records: RecordCells | None = None
) -> dict[str, Any]:
    t = overview.concerns
    codes = [a.code for a in t.authorities]
    table = protect_two_way(
        t.cells,
        policy,
        rows=t.groups,
        cols=codes,
        row_totals=t.by_group,
        col_totals=t.by_authority,
        total=t.total,
    )
    # Counts of all persons, children and young adults: no published relation ties them
    # together (persons also holds adults of 25 and over), so each is protected alone.
    people = protect_cells(
        {
            "all": overview.persons,
            "children": overview.children,
            "young_adults": overview.young_adults,
        },
        [],
        policy,
    )
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


def _community(overview: Overview, policy: DisclosurePolicy) -> dict[str, Any]:
    t = overview.concerns
    codes = [a.code for a in t.authorities]
    counts = {i: t.by_authority[c] for i, c in enumerate(codes)}
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
) -> dict[str, Any]:
    """Exactly what of ``overview`` may leave the store for ``tier``, JSON-ready.

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
        out.update(_community(overview, policy))
    else:
        out.update(_strategic(overview, policy, records))
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
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}): it may "
            "be from an older version of joinedup. Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    out = protect_overview(overview, tier, policy=policy, scope=scope, records=records)
    out["period"] = chosen.as_dict()
    out["periods"] = [p.as_dict() for p in stored]
    return out


def _periods(con: duckdb.DuckDBPyConnection) -> list[Period]:
    """The standard periods the release stores (default first, then all time)."""
    default, _ = release_period(con, None)
    return [default] if default.all_time else [default, ALL]
