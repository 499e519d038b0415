"""The review queue of record pairs in the linkage review band (``/linkage/review``).

:func:`current_review_queue` reads ``link_pair``: the pairs in the review band not yet
decided, a page at a time, filtered and sorted (issue 16) by

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
from joinedup.views.release import ReleaseLike
from joinedup.views.review_keys import (
    _NOT_DECIDED,
    _PAIR_COLUMNS,
    _WEAKEST_SQL,
    PairNotFound,
    RecordKey,
    _decided_table,
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
_FLAGGED = (
    "SELECT rp.source, rp.source_record_id, f.flag FROM record_person rp "
    "JOIN person_flag f USING (person_id)"
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
        cond = "" if f.flag == "any" else " AND x.flag = ?"
        parts.append(
            f"(EXISTS (SELECT 1 FROM ({_FLAGGED}) x WHERE x.source = p.source_l "
            f"AND x.source_record_id = p.source_record_id_l{cond}) OR EXISTS (SELECT 1 FROM "
            f"({_FLAGGED}) x WHERE x.source = p.source_r AND x.source_record_id = "
            f"p.source_record_id_r{cond}))"
        )
        params += [] if f.flag == "any" else [f.flag, f.flag]
    return (" AND ".join(parts) or "true"), params


def _options(
    con: duckdb.DuckDBPyConnection, where: str, edges: tuple[float, float]
) -> dict[str, dict[Any, int]]:
    """How many waiting pairs each choice of each filter holds (raw counts)."""
    bands = {
        code: int(
            con.execute(
                f"SELECT count(*) FROM link_pair p WHERE {where} AND {_band_sql(code, edges)}"
            ).fetchall()[0][0]
        )
        for code, _ in BANDS
    }
    sources = {
        (str(a), str(b)): int(n)
        for a, b, n in con.execute(
            "SELECT least(p.source_l, p.source_r), greatest(p.source_l, p.source_r), count(*) "
            f"FROM link_pair p WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    }
    waiting = f"SELECT row_number() OVER () AS i, * FROM link_pair p WHERE {where}"
    flags = {
        str(flag): int(n)
        for flag, n in con.execute(
            f"WITH w AS ({waiting}), x AS ({_FLAGGED}), hits AS ("
            "SELECT w.i, x.flag FROM w JOIN x ON x.source = w.source_l "
            "AND x.source_record_id = w.source_record_id_l UNION "
            "SELECT w.i, x.flag FROM w JOIN x ON x.source = w.source_r "
            "AND x.source_record_id = w.source_record_id_r) "
            "SELECT flag, count(DISTINCT i) FROM hits GROUP BY 1 "
            "UNION ALL SELECT 'any', count(DISTINCT i) FROM hits ORDER BY 1"
        ).fetchall()
    }
    return {"bands": bands, "sources": sources, "flags": flags}


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
        _decided_table(con, decided)
        where = f"p.status = 'review' AND {_NOT_DECIDED} AND {_scope_sql(scope)}"
        total = int(con.execute(f"SELECT count(*) FROM link_pair p WHERE {where}").fetchall()[0][0])
        raw = _options(con, where, edges)
        narrowed, params = _filter_sql(f, edges)
        chosen = f"{where} AND {narrowed}"
        waiting = (
            total
            if narrowed == "true"
            else int(
                con.execute(f"SELECT count(*) FROM link_pair p WHERE {chosen}", params).fetchall()[
                    0
                ][0]
            )
        )
        order = f"{_ORDER.get(f.sort, _ORDER['likely'])}, {_TIES}"
        # The page's pairs are chosen first (ties by record keys) and keys computed for
        # them alone: the band can hold tens of thousands of pairs.
        cur = con.execute(
            f"SELECT {_key_sql(secret)} AS pair_key, {_PAIR_COLUMNS} FROM ("
            f"SELECT * FROM link_pair p WHERE {chosen} ORDER BY {order} "
            "LIMIT ? OFFSET ?) p LEFT JOIN source sl ON sl.source = p.source_l "
            f"LEFT JOIN source sr ON sr.source = p.source_r ORDER BY {order}",
            [rid, *params, limit, offset],
        )
        pairs = [_public_pair(r, r["pair_key"]) for r in _pair_rows(cur)]
        cur = con.execute(
            f"SELECT {_key_sql(secret)} AS pair_key, {_PAIR_COLUMNS} "
            f"FROM ({_WEAKEST_SQL.format(scope=_scope_sql(scope))}) p "
            "LEFT JOIN source sl ON sl.source = p.source_l "
            "LEFT JOIN source sr ON sr.source = p.source_r "
            "ORDER BY p.match_probability, p.match_weight, pair_key",
            [rid],
        )
        weakest = [_public_pair(r, r["pair_key"]) for r in _pair_rows(cur)]
        con.unregister("_ju_decided_arrow")
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}): it may "
            "be from an older version of joinedup. Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    # Numbers of pairs waiting are counts of record pairs: protected like people.
    shown_total, options = _protected_options(raw, total, policy, names)
    shown = shown_total if narrowed == "true" else protect_cells({"w": waiting}, [], policy)["w"]
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
