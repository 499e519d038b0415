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

Row counts of sources are published unsuppressed at strategic and operational tier: they
count rows in an agency's file, not people (one child may have many rows, a row may be
about no child in scope), and they are facts about data quality that the board needs to
judge the figures. They are not published at community tier.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import duckdb

from joinedup.config import CONFIG_FILE, PartnershipConfig, load_config
from joinedup.disclosure.memo import per_release
from joinedup.disclosure.policy import (
    SUPPRESSED,
    DisclosurePolicy,
    Tier,
    policy_for,
    suppression_footnote,
)
from joinedup.disclosure.sharing import SourceScope, scope_release, source_scope
from joinedup.disclosure.suppression import protect_cells, protect_one_way, protect_two_way
from joinedup.errors import ReleaseError
from joinedup.insight import Overview, overview_figures
from joinedup.release import open_current

# The headline counts the people an exploitation concern is about (recorded as its victim
# or subject); persons of concern are counted by their own questions, never mixed in here.
CONCERN_ROLES = ("victim", "subject")

__all__ = [
    "ReleaseLike",
    "current_overview",
    "open_current_release",
    "partnership_config",
    "protect_overview",
]


class ReleaseLike(Protocol):
    """What disclosure needs of a release handle (``joinedup.release.ReleaseHandle``)."""

    @property
    def release_id(self) -> str: ...

    def connect(self) -> duckdb.DuckDBPyConnection: ...


def policy_dict(policy: DisclosurePolicy) -> dict[str, Any]:
    """The policy as pages and JSON show it (threshold, rounding, the footnote)."""
    return {
        "threshold": policy.threshold,
        "rounding_base": policy.rounding_base,
        "suppressed": SUPPRESSED,
        "footnote": suppression_footnote(policy),
    }


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


def _strategic(overview: Overview, policy: DisclosurePolicy) -> dict[str, Any]:
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
    return {
        "sources": [
            {
                "source": s.source,
                "agency": s.agency,
                "dataset": s.dataset,
                "rows_read": s.rows_read,
                "rows_loaded": s.rows_loaded,
                "rows_quarantined": s.rows_quarantined,
                "extracted_at": s.extracted_at,
            }
            for s in overview.sources
        ],
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
) -> dict[str, Any]:
    """Exactly what of ``overview`` may leave the store for ``tier``, JSON-ready.

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
        out.update(_strategic(overview, policy))
    return out


def open_current_release(partnership_dir: Path) -> ReleaseLike:
    """The current release of a partnership (``joinedup.release.open_current``)."""
    return open_current(partnership_dir)


def connect_release(handle: ReleaseLike) -> duckdb.DuckDBPyConnection:
    """A connection to ``handle``'s release, or a ReleaseError saying how to rebuild."""
    try:
        return handle.connect()
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be opened ({type(exc).__name__}). "
            "Run `joinedup build DIR` to build a new one."
        ) from exc


def open_release_connection(
    partnership_dir: Path, open_release: Callable[[Path], ReleaseLike] | None
) -> tuple[ReleaseLike, duckdb.DuckDBPyConnection]:
    """The current release (or ``open_release``'s) and a connection to it."""
    handle = (open_release or open_current_release)(partnership_dir)
    return handle, connect_release(handle)


def release_facts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The release's id, build time, partnership and reference date, from release_info."""
    facts = dict(con.execute("SELECT key, value FROM release_info").fetchall())
    return {
        "release_id": facts.get("release_id"),
        "built_at": facts.get("built_at"),
        "partnership": facts.get("partnership"),
        "reference_date": facts.get("reference_date"),
    }


@per_release
def current_overview(
    partnership_dir: Path,
    tier: Tier,
    *,
    open_release: Callable[[Path], ReleaseLike] | None = None,
    config: PartnershipConfig | None = None,
) -> dict[str, Any]:
    """The overview of the partnership's current release, protected for ``tier``.

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
        overview = overview_figures(con, roles=CONCERN_ROLES)
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}): it may "
            "be from an older version of joinedup. Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    return protect_overview(overview, tier, policy=policy, scope=scope)


def partnership_config(partnership_dir: Path) -> PartnershipConfig | None:
    """The partnership's configuration for disclosure, or None without a partnership.yaml.

    Extract files are not checked: the web app and reports read a built release.
    """
    path = Path(partnership_dir) / CONFIG_FILE
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    with _CONFIG_LOCK:
        cached = _CONFIG_CACHE.get(key[0])
        if cached is not None and cached[0] == key:
            return cached[1]
    cfg = load_config(partnership_dir, check_files=False)
    with _CONFIG_LOCK:
        _CONFIG_CACHE[key[0]] = (key, cfg)
    return cfg


#: partnership_config's last answer per folder, kept while partnership.yaml is unchanged
#: (same modification time and size): pages ask for it on every request.
_CONFIG_CACHE: dict[str, tuple[tuple[str, int, int], PartnershipConfig]] = {}
_CONFIG_LOCK = threading.Lock()
