"""The review queue of record pairs in the linkage review band (``/linkage/review``).

:func:`current_review_queue` reads ``link_pair`` (as remembered per release by
:mod:`joinedup.views.review_band`): the pairs in the review band not yet decided, a page
at a time, filtered and sorted (issue 16) by

- **score band**: the review band (``linkage.review_threshold`` up to
  ``linkage.match_threshold``) in three equal parts of match probability, ``high``,
  ``middle`` and ``low``;
- **source pair**: the two sources the records come from, in either order;
- **flag**: a person either record is in was flagged as looking wrong
  (``person_flag``: several dates of birth, too large, two NHS numbers ...), or ``any``;
- **sort**: ``likely`` (most likely matches first, the default), ``unlikely`` or
  ``sources`` (by source pair, then most likely first).

Each filter's choices come with how many waiting pairs they hold, protected like counts of
people (the bands and the source pairs each add up to the pairs waiting). A pair is named
by its opaque pair key (:mod:`joinedup.views.review_keys`); no record id or identifying
field is returned. One pair side by side is :mod:`joinedup.views.review_pair`, whose
names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure import Relation, Tier, policy_for, protect_cells
from joinedup.errors import ReleaseError
from joinedup.views.linkage import open_linkage, view_base
from joinedup.views.release import ReleaseLike, release_facts
from joinedup.views.review_band import BAND_VIEW, DECIDED_VIEW, WEAKEST_VIEW, review_pairs
from joinedup.views.review_keys import (
    PairNotFound,
    RecordKey,
    _key_secret,
    _key_sql,
    _pair_rows,
    _public_pair,
    _scope_sql,
)
from joinedup.views.review_pair import (
    ReviewPairView,
    agreement_reviewers,
    current_review_pair,
    declared_review_purpose,
    permitted_purposes,
    reviewer_roles,
    withhold_identifying,
)

__all__ = [
    "BANDS",
    "SORTS",
    "PairNotFound",
    "QueueFilter",
    "RecordKey",
    "ReviewPairView",
    "_key_secret",
    "_key_sql",
    "agreement_reviewers",
    "current_review_keys",
    "current_review_pair",
    "current_review_queue",
    "declared_review_purpose",
    "permitted_purposes",
    "reviewer_roles",
    "withhold_identifying",
]

#: Score bands, most likely first: (code, label).
BANDS = (
    ("high", "Most likely"),
    ("middle", "Middling"),
    ("low", "Least likely"),
)
#: Orders of the queue: (code, label).
SORTS = (
    ("likely", "Most likely matches first"),
    ("unlikely", "Least likely matches first"),
    ("sources", "By source pair"),
)
_ORDER = {
    "likely": "p.match_probability DESC, p.match_weight DESC",
    "unlikely": "p.match_probability, p.match_weight",
    "sources": "least(p.source_l, p.source_r), greatest(p.source_l, p.source_r), "
    "p.match_probability DESC, p.match_weight DESC",
}
_TIES = "p.source_l, p.source_record_id_l, p.source_r, p.source_record_id_r"
_FLAG_LABELS = {
    "several_dates_of_birth": "A person with several dates of birth",
    "too_large": "A person with very many records",
    "two_nhs_numbers": "A person with two NHS numbers",
    "two_upns": "A person with two unique pupil numbers",
    "two_pnc_ids": "A person with two PNC ids",
    "reviewed_non_match_joined": "A person holding records decided as not a match",
}
#: Not decided in the app state (decisions are kept with the records in canonical order,
#: as the band's ``ckey`` holds them).
_UNDECIDED = f"p.ckey NOT IN (SELECT ckey FROM {DECIDED_VIEW})"
#: What the queue shows of a pair (the band holds the sources' agencies and datasets).
_COLUMNS = (
    "p.pair_key, p.source_l, p.source_record_id_l, p.source_r, p.source_record_id_r, "
    "p.match_weight, p.match_probability, p.blocking_rule, p.status, p.decision, "
    "p.agency_l, p.dataset_l, p.agency_r, p.dataset_r"
)


@dataclass(frozen=True)
class QueueFilter:
    """What the queue is narrowed to and how it is sorted (all optional)."""

    band: str | None = None
    sources: tuple[str, str] | None = None
    flag: str | None = None
    sort: str = "likely"

    def as_dict(self) -> dict[str, Any]:
        return {
            "band": self.band,
            "sources": "+".join(self.sources) if self.sources else None,
            "flag": self.flag,
            "sort": self.sort,
        }


def _edges(config: PartnershipConfig | None) -> tuple[float, float]:
    lo = config.linkage.review_threshold if config is not None else 0.5
    hi = config.linkage.match_threshold if config is not None else 0.95
    third = (hi - lo) / 3
    return lo + third, lo + 2 * third


def _band_sql(band: str, edges: tuple[float, float]) -> str:
    e1, e2 = (float(e) for e in edges)
    return {
        "high": f"p.match_probability >= {e2!r}",
        "middle": f"p.match_probability >= {e1!r} AND p.match_probability < {e2!r}",
        "low": f"p.match_probability < {e1!r}",
    }[band]


def _filter_sql(f: QueueFilter, edges: tuple[float, float]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    if f.band in dict(BANDS):
        parts.append(_band_sql(f.band, edges))
    if f.sources is not None:
        parts.append("least(p.source_l, p.source_r) = ? AND greatest(p.source_l, p.source_r) = ?")
        params += sorted(f.sources)
    if f.flag is not None:
        # a person either record is in is flagged (with that flag)
        parts.append("len(p.flags) > 0" if f.flag == "any" else "list_contains(p.flags, ?)")
        params += [] if f.flag == "any" else [f.flag]
    return (" AND ".join(parts) or "true"), params


def _options(
    con: duckdb.DuckDBPyConnection, where: str, edges: tuple[float, float]
) -> tuple[int, dict[str, dict[Any, int]]]:
    """How many pairs are waiting, and how many each choice of each filter holds (raw
    counts)."""
    got = con.execute(
        "SELECT count(*), "
        + ", ".join(f"count(*) FILTER ({_band_sql(c, edges)})" for c, _ in BANDS)
        + f" FROM {BAND_VIEW} p WHERE {where}"
    ).fetchall()[0]
    bands = {code: int(n) for (code, _), n in zip(BANDS, got[1:], strict=True)}
    sources = {
        (str(a), str(b)): int(n)
        for a, b, n in con.execute(
            "SELECT least(p.source_l, p.source_r), greatest(p.source_l, p.source_r), count(*) "
            f"FROM {BAND_VIEW} p WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    }
    # each pair's flags are distinct: a pair counts once for each flag, once for "any"
    flags = {
        str(flag): int(n)
        for flag, n in con.execute(
            f"SELECT flag, count(*) FROM (SELECT unnest(p.flags) AS flag FROM {BAND_VIEW} p "
            f"WHERE {where}) GROUP BY 1 UNION ALL SELECT 'any', count(*) FROM {BAND_VIEW} p "
            f"WHERE {where} AND len(p.flags) > 0 ORDER BY 1"
        ).fetchall()
    }
    return int(got[0]), {"bands": bands, "sources": sources, "flags": flags}


def _protected_options(
    raw: dict[str, dict[Any, int]], waiting: int, policy: Any, names: dict[str, str]
) -> tuple[Any, dict[str, list[dict[str, Any]]]]:
    values: dict[Any, int] = {"all": waiting}
    values.update({("band", k): v for k, v in raw["bands"].items()})
    values.update({("sources", k): v for k, v in raw["sources"].items()})
    values.update({("flag", k): v for k, v in raw["flags"].items()})
    relations = [Relation("all", tuple(("band", k) for k in raw["bands"]))]
    if raw["sources"]:
        relations.append(Relation("all", tuple(("sources", k) for k in raw["sources"])))
    shown = protect_cells(values, relations, policy, keep=["all"])
    labels = dict(BANDS)

    def name(source: str) -> str:
        return names.get(source, source)

    return shown["all"], {
        "bands": [
            {"value": k, "label": labels[k], "pairs": shown[("band", k)]} for k in raw["bands"]
        ],
        "sources": [
            {
                "value": f"{a}+{b}",
                "label": f"{name(a)} and {name(b)}" if a != b else f"Both from {name(a)}",
                "pairs": shown[("sources", (a, b))],
            }
            for a, b in raw["sources"]
        ],
        "flags": [
            {
                "value": k,
                "label": "Any flag" if k == "any" else _FLAG_LABELS.get(k, k.replace("_", " ")),
                "pairs": shown[("flag", k)],
            }
            for k in raw["flags"]
        ],
    }


def _unreadable(handle: ReleaseLike, exc: Exception) -> ReleaseError:
    return ReleaseError(
        f"Release {handle.release_id} cannot be read ({type(exc).__name__}): it may be from "
        "an older version of joinedup. Run `joinedup build DIR` to rebuild it."
    )


def _queue_rows(
    pc: duckdb.DuckDBPyConnection,
    scoped: str,
    f: QueueFilter,
    edges: tuple[float, float],
    *,
    limit: int,
    offset: int,
) -> tuple[int, dict[str, dict[Any, int]], int, list[dict[str, Any]], list[dict[str, Any]]]:
    """(pairs waiting, the filters' raw counts, pairs the filters leave, the page's pairs,
    the weakest links) from :func:`joinedup.views.review_band.review_pairs`'s ``pc``."""
    where = f"p.status = 'review' AND {_UNDECIDED} AND {scoped}"
    total, raw = _options(pc, where, edges)
    narrowed, params = _filter_sql(f, edges)
    chosen = f"{where} AND {narrowed}"
    waiting = total
    if narrowed != "true":
        got = pc.execute(f"SELECT count(*) FROM {BAND_VIEW} p WHERE {chosen}", params)
        waiting = int(got.fetchall()[0][0])
    order = f"{_ORDER.get(f.sort, _ORDER['likely'])}, {_TIES}"
    cur = pc.execute(
        f"SELECT {_COLUMNS} FROM {BAND_VIEW} p WHERE {chosen} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    pairs = [_public_pair(r, r["pair_key"]) for r in _pair_rows(cur)]
    cur = pc.execute(
        f"SELECT {_COLUMNS} FROM {WEAKEST_VIEW} p "
        "ORDER BY p.match_probability, p.match_weight, p.pair_key"
    )
    weakest = [_public_pair(r, r["pair_key"]) for r in _pair_rows(cur)]
    return total, raw, waiting, pairs, weakest


def current_review_keys(
    partnership_dir: Path,
    tier: Tier,
    *,
    decided: Iterable[tuple[RecordKey, RecordKey]] = (),
    limit: int = 2,
    offset: int = 0,
    open_release: Callable[[Path], ReleaseLike] | None = None,
    config: PartnershipConfig | None = None,
    filters: QueueFilter | None = None,
) -> list[str]:
    """The pair keys of :func:`current_review_queue`'s pairs from ``offset`` (at most
    ``limit``), without the rest of the page: for going on to the next pair."""
    tier = Tier(tier)
    f = filters or QueueFilter()
    con, handle, config, scope = open_linkage(partnership_dir, tier, open_release, config)
    secret = _key_secret(partnership_dir, config)
    try:
        rid = str(release_facts(con)["release_id"] or handle.release_id)
        with review_pairs(con, handle, secret=secret, rid=rid, scope=scope, decided=decided) as pc:
            narrowed, params = _filter_sql(f, _edges(config))
            order = f"{_ORDER.get(f.sort, _ORDER['likely'])}, {_TIES}"
            rows = pc.execute(
                f"SELECT p.pair_key FROM {BAND_VIEW} p WHERE p.status = 'review' AND "
                f"{_UNDECIDED} AND {_scope_sql(scope)} AND {narrowed} ORDER BY {order} "
                "LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
    except duckdb.Error as exc:
        raise _unreadable(handle, exc) from exc
    finally:
        con.close()
    return [str(r[0]) for r in rows]


def current_review_queue(
    partnership_dir: Path,
    tier: Tier,
    *,
    decided: Iterable[tuple[RecordKey, RecordKey]] = (),
    limit: int = 50,
    offset: int = 0,
    open_release: Callable[[Path], ReleaseLike] | None = None,
    config: PartnershipConfig | None = None,
    filters: QueueFilter | None = None,
) -> dict[str, Any]:
    """Pairs of the current release in the review band not yet ``decided`` (canonical
    record-key pairs from the app state), narrowed and sorted by ``filters`` (default:
    all of them, most likely matches first), a page at a time; plus the ten weakest links
    (``weakest_links``), for spot checks, and each filter's choices (``options``).

    ``waiting`` is the pairs the filters leave (all of them without filters). No record
    id or identifying field is returned: each pair has its opaque key, scores, blocking
    rule, sources and agencies.
    """
    tier = Tier(tier)
    f = filters or QueueFilter()
    con, handle, config, scope = open_linkage(partnership_dir, tier, open_release, config)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    secret = _key_secret(partnership_dir, config)
    edges = _edges(config)
    names = {s.id: s.dataset or s.id for s in config.sources} if config is not None else {}
    try:
        out = view_base(con, tier, policy, scope)
        rid = out["release"]["release_id"] or handle.release_id
    except duckdb.Error as exc:
        con.close()
        raise _unreadable(handle, exc) from exc
    try:
        # the pairs the pages show, read once per release (joinedup.views.review_band)
        with review_pairs(con, handle, secret=secret, rid=rid, scope=scope, decided=decided) as pc:
            total, raw, waiting, pairs, weakest = _queue_rows(
                pc, _scope_sql(scope), f, edges, limit=limit, offset=offset
            )
    except duckdb.Error as exc:
        raise _unreadable(handle, exc) from exc
    finally:
        con.close()
    # Numbers of pairs waiting are counts of record pairs: protected like people.
    shown_total, options = _protected_options(raw, total, policy, names)
    narrowed = _filter_sql(f, edges)[0] != "true"
    shown = protect_cells({"w": waiting}, [], policy)["w"] if narrowed else shown_total
    for i, pair in enumerate(pairs):
        pair["position"] = str(offset + i)  # a place in the queue, not a count
    e1, e2 = edges
    out.update(
        {
            "waiting": shown,
            "waiting_all": shown_total,
            "limit": limit,
            "offset": offset,
            "has_next": offset + limit < waiting,
            "has_previous": offset > 0,
            "pairs": pairs,
            "weakest_links": weakest,
            "filters": f.as_dict(),
            "options": options,
            "sorts": [{"value": k, "label": v} for k, v in SORTS],
            "band_edges": {"low_below": round(e1, 4), "high_from": round(e2, 4)},
        }
    )
    return out
