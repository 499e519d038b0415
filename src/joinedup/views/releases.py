"""The releases of a partnership and two releases side by side, as each tier may see them.

:func:`release_listing` lists the published releases (newest first) with their sources'
ROW counts, build time and persons; :func:`compare_releases` puts two releases side by
side. Every count of people goes through the tier's policy:

- persons, children, young adults and people with a concern by type come from
  :func:`~joinedup.views.current_overview` run on each release, so they are exactly
  what the overview page showed for that release (sharing agreements included);
- question headlines from :func:`~joinedup.views.questions.current_questions` on
  each release;
- the persons in a release's manifest, and the counts of person id changes
  (``person_change``), are each protected on their own (:func:`protect_cells`).

Row counts of sources stand for people or events about them: each release's are
protected exactly as that release's overview and data quality pages protected them
(:func:`~joinedup.views.records.record_cells`, on the release narrowed to the tier's
sources), and so are the release's totals of rows loaded and quarantined. A quality
measure's share is compared only where both releases showed it (a share whose counts are
hidden is "c"), so a change never sits beside a hidden figure; days (extract lags) are
shown as they are. At community tier no source is shown.

With ``disclosure.method: cell_key`` (issue 19) the persons of a release are perturbed
by their cell key (the sum of their record keys, as the overview's persons are) and the
counts of person id changes by their count keys (:mod:`joinedup.views.cellkey`).
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config import CONFIG_FILE, PartnershipConfig
from joinedup.disclosure.policy import SUPPRESSED, DisclosurePolicy, policy_for
from joinedup.disclosure.sharing import SourceScope, scope_release, source_scope
from joinedup.disclosure.suppression import protect_cells
from joinedup.disclosure.tiers import Tier
from joinedup.errors import JoinedupError
from joinedup.release import ReleaseHandle, current_release_id, list_releases, open_release
from joinedup.views.cellkey import (
    KEYED,
    keys_for_release,
    page_disclosure,
    page_keys,
    perturb_cell,
    protect_counts,
)
from joinedup.views.memo import file_key
from joinedup.views.overview import current_overview
from joinedup.views.questions import current_questions
from joinedup.views.records import NOT_RECORDS, RecordCells, record_cells, share_of
from joinedup.views.release import connect_release, partnership_config, policy_dict

__all__ = ["QUALITY_CHANGE", "compare_releases", "default_pair", "release_listing"]

#: A quality measure is listed as changed when it moved by at least this much (one
#: percentage point of a share; a hundredth of a day for lags).
QUALITY_CHANGE = 0.01

#: person_change kinds, in the order shown.
PERSON_CHANGES = ("new", "merged", "split", "removed")

_PEOPLE_LABELS = (
    ("all", "People"),
    ("children", "Children (under 18)"),
    ("young_adults", "Young adults (18 to 24)"),
)


def _policy(tier: Tier, config: PartnershipConfig | None) -> DisclosurePolicy:
    return policy_for(tier, config.disclosure if config is not None else None)


_connect = connect_release


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql``, or none when the release has no such table (older releases)."""
    try:
        return con.execute(sql).fetchall()
    except duckdb.CatalogException:
        return []


def _disclosure(partnership_dir: Path, policy: DisclosurePolicy) -> dict[str, Any]:
    if policy.method != "cell_key":
        return policy_dict(policy)
    return page_disclosure(policy, page_keys(partnership_dir, policy))


def _one_count(value: int, policy: DisclosurePolicy) -> Any:
    return protect_cells({"n": int(value)}, [], policy)["n"]


def _persons(
    handle: ReleaseHandle, con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy
) -> Any:
    """The persons of a release's manifest: suppressed, or under cell key perturbation
    perturbed by their cell key (shown as "c" when the person table does not count them
    again)."""
    value = int(handle.manifest["persons"])
    keys = keys_for_release(handle, policy)
    if keys is None:
        return _one_count(value, policy)
    keys.units(con, "_ju_ck_person", "SELECT person_id FROM person")
    row = con.execute(
        f"SELECT count(*), {KEYED} FROM person p "
        "LEFT JOIN _ju_ck_person ck ON ck.unit_id = p.person_id"
    ).fetchone()
    same = row is not None and int(row[0]) == value
    return perturb_cell(value, row[1] if same and row is not None else None, policy)


def _records(handle: ReleaseHandle, policy: DisclosurePolicy, scope: SourceScope) -> RecordCells:
    """The release's counts of records as its pages protect them at the tier."""
    con = _connect(handle)
    try:
        scope_release(con, scope)
        return record_cells(con, policy, scope, handle=handle)
    finally:
        con.close()


def _release_facts(
    handle: ReleaseHandle, policy: DisclosurePolicy, tier: Tier, scope: SourceScope
) -> dict[str, Any]:
    """One release's facts for the list: sources' rows, build time, persons (protected)."""
    m = handle.manifest
    con = _connect(handle)
    try:
        scope_release(con, scope)
        sources = _rows(con, "SELECT source, agency, dataset FROM source ORDER BY source")
        seconds = _rows(con, "SELECT sum(seconds) FROM lineage WHERE kind = 'stage'")
        persons = None if "persons" not in m else _persons(handle, con, policy)
    finally:
        con.close()
    build_seconds = seconds[0][0] if seconds and seconds[0][0] is not None else None
    out: dict[str, Any] = {
        "release_id": handle.release_id,
        "built_at": handle.built_at,
        "code_version": str(m.get("code_version", "")),
        "build_seconds": None if build_seconds is None else round(float(build_seconds), 1),
        "persons": persons,
    }
    if tier is not Tier.COMMUNITY:
        records = _records(handle, policy, scope)
        out["rows_loaded"] = records.totals["rows_loaded"]
        out["rows_quarantined"] = records.totals["rows_quarantined"]
        out["sources"] = [
            {
                "source": str(s),
                "agency": str(a),
                "dataset": "" if d is None else str(d),
                **{
                    k: records.source(str(s))[k]
                    for k in ("rows_read", "rows_loaded", "rows_quarantined")
                },
            }
            for s, a, d in sources
        ]
    return out


_FACTS: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_FACTS_LOCK = threading.Lock()
_FACTS_CAPACITY = 256


def release_listing(
    partnership_dir: Path,
    tier: Tier,
    *,
    config: PartnershipConfig | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The partnership's published releases, newest first (at most ``limit``), with
    their facts protected for ``tier``; ``current`` is the current release's id."""
    tier = Tier(tier)
    given = config
    config = config if config is not None else partnership_config(partnership_dir)
    policy = _policy(tier, config)
    scope = source_scope(config, tier)
    current = current_release_id(partnership_dir)
    found = list(reversed(list_releases(partnership_dir)))[:limit]
    releases = []
    settings_key = file_key(Path(partnership_dir) / CONFIG_FILE)
    for handle in found:
        # a release never changes: its facts at a tier are remembered while
        # partnership.yaml (policy, agreements) is unchanged; not for a caller's own config
        key = (file_key(Path(handle.db_path)), settings_key, tier.value)
        cached = _FACTS.get(key) if given is None and None not in key else None
        if cached is None:
            cached = _release_facts(handle, policy, tier, scope)
            if given is None and None not in key:
                with _FACTS_LOCK:
                    _FACTS[key] = cached
                    while len(_FACTS) > _FACTS_CAPACITY:
                        _FACTS.popitem(last=False)
        facts = copy.deepcopy(cached)
        facts["current"] = handle.release_id == current
        releases.append(facts)
    return {
        "tier": tier.value,
        "disclosure": _disclosure(partnership_dir, policy),
        "current": current,
        "releases": releases,
    }


def default_pair(partnership_dir: Path) -> tuple[str | None, str | None]:
    """(previous, current): the release before the current one, and the current one."""
    current = current_release_id(partnership_dir)
    ids = [h.release_id for h in list_releases(partnership_dir)]
    if current is None or current not in ids:
        return (ids[-2] if len(ids) > 1 else None, ids[-1] if ids else None)
    i = ids.index(current)
    return (ids[i - 1] if i > 0 else None, current)


def _overview(
    partnership_dir: Path, handle: ReleaseHandle, tier: Tier, config: PartnershipConfig | None
) -> dict[str, Any]:
    return current_overview(partnership_dir, tier, open_release=lambda _: handle, config=config)


def _questions(
    partnership_dir: Path, handle: ReleaseHandle, tier: Tier, config: PartnershipConfig | None
) -> dict[str, dict[str, Any]] | None:
    try:
        listing = current_questions(
            partnership_dir, tier, open_release=lambda _: handle, config=config
        )
    except (JoinedupError, duckdb.Error):
        return None  # a release without answers (older joinedup)
    return {q["id"]: q for q in listing["questions"]}


def _quality(
    handle: ReleaseHandle, policy: DisclosurePolicy, scope: SourceScope
) -> dict[tuple[str, str, str, str], tuple[float | str, bool]]:
    """Each measure's value as the release's quality page showed it at the tier: a share
    from its published counts ("c" where hidden), or days as they are."""
    records = _records(handle, policy, scope)
    con = _connect(handle)
    try:
        scope_release(con, scope)
        rows = _rows(
            con,
            "SELECT source, dimension, measure, coalesce(field, ''), value, higher_is_better "
            "FROM quality_measure WHERE value IS NOT NULL",
        )
    finally:
        con.close()
    out: dict[tuple[str, str, str, str], tuple[float | str, bool]] = {}
    for s, d, m, f, v, h in rows:
        key = (str(s), str(d), str(m), str(f))
        value: float | str | None = float(v)
        if key[2] not in NOT_RECORDS:
            cells = records.measures.get((key[0], key[2], key[3]))
            value = SUPPRESSED if cells is None else share_of(*cells)
        if value is not None:
            out[key] = (value, bool(h))
    return out


def _person_changes(handle: ReleaseHandle) -> dict[str, int]:
    con = _connect(handle)
    try:
        rows = _rows(con, "SELECT change, count(*) FROM person_change GROUP BY change")
    finally:
        con.close()
    return {str(c): int(n) for c, n in rows}


def _side(overview: dict[str, Any]) -> dict[str, Any]:
    return dict(overview["release"])


def compare_releases(
    partnership_dir: Path,
    a: str,
    b: str,
    tier: Tier,
    *,
    config: PartnershipConfig | None = None,
    open_handle: Callable[[Path, str], ReleaseHandle] | None = None,
) -> dict[str, Any]:
    """Releases ``a`` (earlier) and ``b`` (later) side by side, protected for ``tier``.

    Raises :class:`~joinedup.errors.ReleaseError` for a release that does not exist or
    cannot be read.
    """
    tier = Tier(tier)
    # None: each release's overview and questions are remembered per release (views.memo)
    given = config
    config = config if config is not None else partnership_config(partnership_dir)
    policy = _policy(tier, config)
    opener = open_handle or open_release
    ha, hb = opener(partnership_dir, a), opener(partnership_dir, b)
    oa = _overview(partnership_dir, ha, tier, given)
    ob = _overview(partnership_dir, hb, tier, given)
    out: dict[str, Any] = {
        "tier": tier.value,
        "disclosure": _disclosure(partnership_dir, policy),
        "a": _side(oa),
        "b": _side(ob),
        # each release's concern counts are for its own default period (issue 14)
        "period": {"a": oa.get("period"), "b": ob.get("period")},
    }
    if "exclusions" in ob:
        out["exclusions"] = ob["exclusions"]

    if tier is Tier.COMMUNITY:
        names = [x["name"] for x in ob["areas"]["authorities"]]
        by_a = dict(
            zip(
                [x["name"] for x in oa["areas"]["authorities"]],
                oa["areas"]["persons_with_concern"],
                strict=True,
            )
        )
        out["areas"] = [
            {"area": n, "a": by_a.get(n), "b": v}
            for n, v in zip(names, ob["areas"]["persons_with_concern"], strict=True)
        ]
        out["areas_total"] = {"a": oa["areas"]["total"], "b": ob["areas"]["total"]}
    else:
        src_a = {s["source"]: s for s in oa["sources"]}
        src_b = {s["source"]: s for s in ob["sources"]}
        keys = ("rows_read", "rows_loaded", "rows_quarantined")
        out["sources"] = [
            {
                "source": sid,
                "agency": (src_b.get(sid) or src_a[sid])["agency"],
                "dataset": (src_b.get(sid) or src_a[sid])["dataset"],
                "a": {k: src_a[sid][k] for k in keys} if sid in src_a else None,
                "b": {k: src_b[sid][k] for k in keys} if sid in src_b else None,
            }
            for sid in sorted(set(src_a) | set(src_b))
        ]
        out["persons"] = [
            {"measure": key, "label": label, "a": oa["persons"][key], "b": ob["persons"][key]}
            for key, label in _PEOPLE_LABELS
        ]
        rows_a = {r["group"]: r["total"] for r in oa["concerns"]["rows"]}
        rows_b = {r["group"]: r["total"] for r in ob["concerns"]["rows"]}
        groups = [r["group"] for r in ob["concerns"]["rows"]]
        groups += [g for g in rows_a if g not in rows_b]
        out["concerns"] = {
            "rows": [{"group": g, "a": rows_a.get(g), "b": rows_b.get(g)} for g in groups],
            "total": {"a": oa["concerns"]["total"], "b": ob["concerns"]["total"]},
        }

    qa = _questions(partnership_dir, ha, tier, given)
    qb = _questions(partnership_dir, hb, tier, given)
    if qa is None or qb is None:
        out["questions"] = None
    else:
        out["questions"] = [
            {
                "id": qid,
                "question": q["question"],
                "unit": q["unit"],
                "a": qa[qid]["headline"] if qid in qa and qa[qid]["available"] else None,
                "b": q["headline"] if q["available"] else None,
            }
            for qid, q in qb.items()
            if q["available"] or (qid in qa and qa[qid]["available"])
        ]

    if tier is not Tier.COMMUNITY:
        scope = source_scope(config, tier)
        ma, mb = _quality(ha, policy, scope), _quality(hb, policy, scope)
        changed: list[dict[str, Any]] = []
        for key in sorted(set(ma) & set(mb)):
            (va, better_up), (vb, _) = ma[key], mb[key]
            if not isinstance(va, float) or not isinstance(vb, float):
                continue  # a change is shown only where both figures are
            change = vb - va
            if abs(change) >= QUALITY_CHANGE:
                changed.append(
                    {
                        "source": key[0],
                        "dimension": key[1],
                        "measure": key[2],
                        "field": key[3],
                        "a": round(va, 4),
                        "b": round(vb, 4),
                        "change": round(change, 4),
                        "better": (change > 0) == better_up,
                    }
                )
        changed.sort(key=lambda r: (-abs(r["change"]), r["source"], r["measure"], r["field"]))
        out["quality"] = {"threshold": QUALITY_CHANGE, "changed": changed}

    # person_change in b compares b with the release that was current when b was built:
    # the release listed before b.
    ids = [h.release_id for h in list_releases(partnership_dir)]
    before = ids[ids.index(b) - 1] if b in ids and ids.index(b) > 0 else None
    counts = _person_changes(hb)
    protected = protect_counts(
        {k: counts.get(k, 0) for k in PERSON_CHANGES},
        [],
        policy,
        keys_for_release(hb, policy),
        space="person_change",
    )
    out["person_changes"] = {
        "since": before,
        "since_is_a": before == a,
        "rows": [{"change": k, "persons": protected[k]} for k in PERSON_CHANGES],
    }
    return out
