"""The linkage report and the review queue, as each tier may see them (``/linkage``).

Both are for the people who stand behind the linkage (data leads and analysts, who hold
``review_links``); the web app checks that permission.

:func:`current_linkage_report` reads ``linkage_report`` and ``linkage_model``. Counts of
persons (cluster sizes, agency combinations, flags, id changes) are protected with the
tier's policy; counts of records and of record pairs (links by rule, pairs per blocking
rule, the match-weight distribution) are protected the same way, since at this level a
handful of records is a handful of children. Precision, recall and the model's weights
are shares and weights, shown as they are.

:func:`current_review_queue` and :func:`current_review_pair` read ``link_pair``. A pair is
named by an opaque **pair key** (a keyed hash of the release id and the two record keys,
with a key derived from the partnership's secret), never by the agencies' record ids, so
no record id appears in an address. At the strategic tier a pair shows how its fields
compare (same, similar, different, missing) with its match weight, sources and agencies:
nothing that identifies anyone. Only at the operational tier (``identifying=True``) does it
add both records' names, dates of birth, sex, postcodes, record ids and person ids; the
caller writes that view to the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure.memo import per_release
from joinedup.disclosure.overview import (
    ReleaseLike,
    connect_release,
    open_current_release,
    partnership_config,
    policy_dict,
    release_facts,
)
from joinedup.disclosure.policy import DisclosurePolicy, Tier, policy_for
from joinedup.disclosure.sharing import SourceScope, source_scope
from joinedup.disclosure.suppression import protect_cells, protect_one_way
from joinedup.errors import JoinedupError, ReleaseError

__all__ = [
    "LINKAGE_TABLES",
    "PairNotFound",
    "RecordKey",
    "ReviewPairView",
    "current_linkage_report",
    "current_review_pair",
    "current_review_queue",
]

RecordKey = tuple[str, str]

#: Tables the linkage pages read; a release without them was built by an older joinedup.
LINKAGE_TABLES = ("linkage_report", "linkage_model", "link_pair")

_RULE_LABELS = {
    "nhs_number": "NHS number",
    "upn": "Unique pupil number",
    "pnc_id": "PNC id",
    "local_id": "Local id within one agency",
    "probabilistic": "Probabilistic (Splink)",
    "review_decision": "Reviewer's decision",
    "singleton": "Not linked to any other record",
}
_CHANGE_LABELS = {
    "new": "New person ids",
    "merged": "Merged into another person",
    "split": "Split from another person",
    "removed": "Removed (no records left)",
}
_STATUS_LABELS = {
    "review": "In the review band: the records are in different persons",
    "linked": "Linked: the records are one person in this release",
    "not_linked": "Not linked: the records are in different persons",
}
_TRUTH_LABELS = {
    "precision": "Pairwise precision",
    "recall": "Pairwise recall",
    "f1": "Pairwise F1",
    "voluntary_recall": "Recall of pairs with a voluntary-sector record",
    "cluster_precision": "Persons holding one true person only",
    "cluster_recall": "True persons found whole",
    "cluster_f1": "Cluster F1",
    "cluster_exact": "True persons found exactly",
}


class PairNotFound(JoinedupError):
    """The pair key names no scored pair of the current release."""


def _open(
    partnership_dir: Path,
    tier: Tier,
    open_release: Callable[[Path], ReleaseLike] | None,
    config: PartnershipConfig | None,
) -> tuple[duckdb.DuckDBPyConnection, ReleaseLike, PartnershipConfig | None, SourceScope]:
    config = config if config is not None else partnership_config(partnership_dir)
    scope = source_scope(config, tier)
    handle = (open_release or open_current_release)(partnership_dir)
    con = connect_release(handle)
    got = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name IN (?, ?, ?)",
            list(LINKAGE_TABLES),
        ).fetchall()
    }
    if not set(LINKAGE_TABLES) <= got:
        con.close()
        raise ReleaseError(
            f"Release {handle.release_id} has no linkage report: it was built by an older "
            "joinedup. Run `joinedup build DIR` to rebuild it."
        )
    return con, handle, config, scope


def _base(
    con: duckdb.DuckDBPyConnection, tier: Tier, policy: DisclosurePolicy, scope: SourceScope
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tier": tier.value,
        "release": release_facts(con),
        "disclosure": policy_dict(policy),
    }
    if scope.excluded:
        out["exclusions"] = scope.as_dict()
    return out


# --- the linkage report ----------------------------------------------------------------


def _protected_rows(
    items: list[tuple[str, float | None]],
    policy: DisclosurePolicy,
    *,
    total: int | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Rows ``{item, label, count}`` protected with their total (the sum when not given)."""
    counts = {item: int(value or 0) for item, value in items}
    whole = sum(counts.values()) if total is None else total
    cells, shown_total = protect_one_way(counts, policy, total=whole)
    return {
        "rows": [
            {"item": item, "label": (labels or {}).get(item, item), "count": cells[item]}
            for item, _ in items
        ],
        "total": shown_total,
    }


def _weight_sort(item: str) -> int:
    try:
        return int(item)
    except ValueError:
        return 0


def _size_sort(item: str) -> int:
    try:
        return int(item.rstrip("+"))
    except ValueError:
        return 10**9


def _model_weights(chart_spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The m and u probabilities and match weight of each comparison level, from the
    data of Splink's match-weights chart."""
    out = []
    for v in chart_spec.get("data", {}).get("values", []):
        name = str(v.get("comparison_name") or "")
        if name == "probability_two_random_records_match":
            out.append(
                {
                    "comparison": "Prior",
                    "level": "Two records drawn at random are one person",
                    "m_probability": None,
                    "u_probability": None,
                    "match_weight": v.get("log2_bayes_factor"),
                }
            )
            continue
        m, u = v.get("m_probability"), v.get("u_probability")
        weight = v.get("log2_bayes_factor")
        if weight is None and isinstance(m, float) and isinstance(u, float) and m > 0 and u > 0:
            weight = math.log2(m / u)
        out.append(
            {
                "comparison": name.replace("_", " ").capitalize(),
                "level": str(v.get("label_for_charts") or ""),
                "m_probability": m,
                "u_probability": u,
                "match_weight": weight,
            }
        )
    return out


def _report(
    con: duckdb.DuckDBPyConnection, policy: DisclosurePolicy, scope: SourceScope
) -> dict[str, Any]:
    rows = con.execute(
        # in the order written (the blocking rules' order); sorted below where it matters
        "SELECT section, item, value, detail FROM linkage_report"
    ).fetchall()
    sections: dict[str, list[tuple[str, float | None, str | None]]] = {}
    for section, item, value, detail in rows:
        sections.setdefault(str(section), []).append((str(item), value, detail))

    def items(name: str) -> list[tuple[str, float | None]]:
        return [(i, v) for i, v, _ in sections.get(name, [])]

    run = {i: (d if d is not None else v) for i, v, d in sections.get("run", [])}
    persons_raw = int(run.get("persons") or 0)
    records_raw = int(run.get("records") or 0)
    headline = protect_cells(
        {
            "records": records_raw,
            "new_or_changed_records": int(run.get("new_or_changed_records") or 0),
            "persons": persons_raw,
        },
        [],
        policy,
    )
    out: dict[str, Any] = {
        "run": {
            "mode": run.get("mode"),
            "engine": run.get("engine"),
            "match_threshold": run.get("match_threshold"),
            "review_threshold": run.get("review_threshold"),
            **headline,
        },
        "seconds": {i: v for i, v, _ in sections.get("seconds", [])},
    }
    out["links_by_rule"] = _protected_rows(
        sorted(items("links_by_rule"), key=lambda x: -(x[1] or 0)),
        policy,
        total=records_raw,
        labels=_RULE_LABELS,
    )
    out["blocking"] = _protected_rows(items("blocking"), policy)
    weights = sorted(items("match_weight"), key=lambda x: _weight_sort(x[0]))
    out["match_weight"] = _protected_rows(weights, policy)
    sizes = sorted(items("cluster_size"), key=lambda x: _size_sort(x[0]))
    out["cluster_size"] = _protected_rows(sizes, policy, total=persons_raw)
    if scope.excluded:
        out["agencies"] = None  # the combinations would show sources left out at this tier
    else:
        combos = sorted(items("agencies"), key=lambda x: (-(x[1] or 0), x[0]))
        out["agencies"] = _protected_rows(
            combos,
            policy,
            total=persons_raw,
            labels={i: i.replace(";", ", ") for i, _ in combos},
        )
    out["flags"] = _protected_rows(items("flags"), policy)
    out["changes"] = _protected_rows(items("changes"), policy, labels=_CHANGE_LABELS)
    review = {i: v for i, v, _ in sections.get("review", [])}
    out["review"] = protect_cells(
        {
            "in_review": int(review.get("review") or 0),
            "decisions_applied": int(review.get("decisions_applied") or 0),
        },
        [],
        policy,
    )
    truth = []
    for section in ("truth_pairs", "truth_clusters"):
        for i, v, _ in sections.get(section, []):
            if i in _TRUTH_LABELS and v is not None:
                truth.append({"item": i, "label": _TRUTH_LABELS[i], "value": float(v)})
    out["truth"] = truth or None
    model = dict(con.execute("SELECT key, value FROM linkage_model").fetchall())
    chart: dict[str, Any] | None = None
    if model.get("match_weights_chart"):
        try:
            chart = json.loads(model["match_weights_chart"])
        except json.JSONDecodeError:
            chart = None
    out["model"] = {
        "trained": chart is not None,
        # facts about training (EM sessions, sampled pairs), as text: not counts of people
        "training": (
            {str(k): str(v) for k, v in json.loads(model["training"]).items()}
            if model.get("training")
            else None
        ),
        "weights": _model_weights(chart) if chart else [],
    }
    out["_match_weights_chart"] = chart
    return out


@per_release
def current_linkage_report(
    partnership_dir: Path,
    tier: Tier,
    *,
    open_release: Callable[[Path], ReleaseLike] | None = None,
    config: PartnershipConfig | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The current release's linkage report for ``tier`` and the model's match-weights
    chart (a Vega-Lite spec, or None when no model was trained).

    Raises :class:`~joinedup.errors.ReleaseError` without a release or its linkage tables.
    """
    tier = Tier(tier)
    con, handle, config, scope = _open(partnership_dir, tier, open_release, config)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    try:
        out = _base(con, tier, policy, scope)
        out.update(_report(con, policy, scope))
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}): it may "
            "be from an older version of joinedup. Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    chart = out.pop("_match_weights_chart")
    return out, chart


# --- pair keys ---------------------------------------------------------------------------

_PROCESS_KEY = secrets.token_hex(32)


def _key_secret(partnership_dir: Path, config: PartnershipConfig | None) -> str:
    """Hex key for pair keys, derived from the partnership's secret (so keys are the same
    in every worker and across restarts); a per-process key without one."""
    if config is not None:
        path = Path(partnership_dir) / config.secret_file
        if path.is_file():
            secret = path.read_text(encoding="utf-8").strip().encode()
            return hmac.new(secret, b"joinedup review pair key", hashlib.sha256).hexdigest()
    return _PROCESS_KEY


def _key_sql(secret: str) -> str:
    """SQL for a ``link_pair`` row's pair key: sha256(k || sha256(k || message)), the
    message being the release id and both record keys (an HMAC-like construction that
    DuckDB can compute over every pair)."""
    k = "'" + secret + "'"
    msg = (
        "concat_ws(chr(31), ?, p.source_l, p.source_record_id_l, p.source_r, p.source_record_id_r)"
    )
    return f"substr(sha256({k} || sha256({k} || {msg})), 1, 32)"


def _decided_table(
    con: duckdb.DuckDBPyConnection, decided: Iterable[tuple[RecordKey, RecordKey]]
) -> None:
    pairs = list(decided)
    con.register(
        "_ju_decided_arrow",
        pa.table(
            {
                "ls": pa.array([a[0] for a, _ in pairs], pa.string()),
                "lr": pa.array([a[1] for a, _ in pairs], pa.string()),
                "rs": pa.array([b[0] for _, b in pairs], pa.string()),
                "rr": pa.array([b[1] for _, b in pairs], pa.string()),
            }
        ),
    )


_CANON = (
    "(p.source_l < p.source_r OR (p.source_l = p.source_r "
    "AND p.source_record_id_l <= p.source_record_id_r))"
)
_NOT_DECIDED = (
    "NOT EXISTS (SELECT 1 FROM _ju_decided_arrow d WHERE "
    f"(CASE WHEN {_CANON} THEN d.ls = p.source_l AND d.lr = p.source_record_id_l "
    "AND d.rs = p.source_r AND d.rr = p.source_record_id_r "
    "ELSE d.ls = p.source_r AND d.lr = p.source_record_id_r "
    "AND d.rs = p.source_l AND d.rr = p.source_record_id_l END))"
)


def _scope_sql(scope: SourceScope) -> str:
    if not scope.excluded:
        return "true"
    banned = ", ".join("'" + s.replace("'", "''") + "'" for s in sorted(scope.excluded_ids))
    return f"p.source_l NOT IN ({banned}) AND p.source_r NOT IN ({banned})"


def _pair_rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


_PAIR_COLUMNS = (
    "p.source_l, p.source_record_id_l, p.source_r, p.source_record_id_r, p.match_weight, "
    "p.match_probability, p.blocking_rule, p.status, p.decision, "
    "sl.agency AS agency_l, sl.dataset AS dataset_l, sr.agency AS agency_r, "
    "sr.dataset AS dataset_r"
)
#: The ten weakest links not yet decided (chosen before any key is computed; ties broken
#: by record keys so the choice is repeatable), for spot checks.
_WEAKEST_SQL = (
    "SELECT * FROM link_pair p WHERE p.status = 'linked' AND p.decision IS NULL AND {scope} "
    "ORDER BY p.match_probability, p.match_weight, p.source_l, p.source_record_id_l, "
    "p.source_r, p.source_record_id_r LIMIT 10"
)
_PAIR_FROM = (
    "FROM link_pair p LEFT JOIN source sl ON sl.source = p.source_l "
    "LEFT JOIN source sr ON sr.source = p.source_r"
)


def _public_pair(row: dict[str, Any], key: str) -> dict[str, Any]:
    return {
        "key": key,
        "status": row["status"],
        "status_label": _STATUS_LABELS.get(str(row["status"]), str(row["status"])),
        "match_weight": row["match_weight"],
        "match_probability": row["match_probability"],
        "blocking_rule": row["blocking_rule"],
        "left": {"source": row["source_l"], "agency": row["agency_l"], "dataset": row["dataset_l"]},
        "right": {
            "source": row["source_r"],
            "agency": row["agency_r"],
            "dataset": row["dataset_r"],
        },
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
) -> dict[str, Any]:
    """Pairs of the current release in the review band not yet ``decided`` (canonical
    record-key pairs from the app state), most likely matches first, a page at a time;
    plus the ten weakest links (``weakest_links``), for spot checks.

    No record id or identifying field is returned: each pair has its opaque key, scores,
    blocking rule, sources and agencies.
    """
    tier = Tier(tier)
    con, handle, config, scope = _open(partnership_dir, tier, open_release, config)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    secret = _key_secret(partnership_dir, config)
    try:
        out = _base(con, tier, policy, scope)
        rid = out["release"]["release_id"] or handle.release_id
        _decided_table(con, decided)
        where = f"p.status = 'review' AND {_NOT_DECIDED} AND {_scope_sql(scope)}"
        waiting = int(
            con.execute(f"SELECT count(*) FROM link_pair p WHERE {where}").fetchall()[0][0]
        )
        # The page's pairs are chosen first (most likely first, ties by record keys) and
        # keys computed for them alone: the band can hold tens of thousands of pairs.
        cur = con.execute(
            f"SELECT {_key_sql(secret)} AS pair_key, {_PAIR_COLUMNS} FROM ("
            f"SELECT * FROM link_pair p WHERE {where} ORDER BY p.match_probability DESC, "
            "p.source_l, p.source_record_id_l, p.source_r, p.source_record_id_r "
            "LIMIT ? OFFSET ?) p LEFT JOIN source sl ON sl.source = p.source_l "
            "LEFT JOIN source sr ON sr.source = p.source_r "
            "ORDER BY p.match_probability DESC, p.source_l, p.source_record_id_l, "
            "p.source_r, p.source_record_id_r",
            [rid, limit, offset],
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
    # The number of pairs waiting is a count of record pairs: protected like people.
    shown = protect_cells({"waiting": waiting}, [], policy)["waiting"]
    out.update(
        {
            "waiting": shown,
            "limit": limit,
            "offset": offset,
            "has_next": offset + limit < waiting,
            "has_previous": offset > 0,
            "pairs": pairs,
            "weakest_links": weakest,
        }
    )
    return out


# --- one pair ------------------------------------------------------------------------------

_IDENTITY = ("forename", "surname", "preferred_name", "dob", "sex", "postcode", "postcode_district")
_IDS = ("nhs_number", "upn", "pnc_id")


#: Pair key -> record keys of the pairs that can be opened, per release file (see
#: :func:`_pair_index`); a few releases at most.
_PAIR_INDEX: dict[tuple[Any, ...], dict[str, tuple[str, str, str, str]]] = {}
_PAIR_INDEX_LOCK = threading.Lock()


def _pair_index(
    con: duckdb.DuckDBPyConnection,
    handle: ReleaseLike,
    secret: str,
    scope: SourceScope,
    rid: str,
) -> dict[str, tuple[str, str, str, str]]:
    """The pairs that can be opened, by key: those in the review band, those scored there
    but kept apart, and the weakest links (the ones the pages link to). Keys are computed
    for those alone, not for every linked pair (millions in a large partnership), and
    remembered per release file, which never changes once published."""
    db = getattr(handle, "db_path", None)
    cache_key: tuple[Any, ...] | None = None
    if db is not None:
        try:
            st = Path(db).stat()
            cache_key = (str(db), st.st_mtime_ns, st.st_size, secret, scope.excluded_ids, rid)
        except OSError:
            cache_key = None
    if cache_key is not None:
        with _PAIR_INDEX_LOCK:
            if cache_key in _PAIR_INDEX:
                return _PAIR_INDEX[cache_key]
    scoped = _scope_sql(scope)
    candidates = (
        f"SELECT * FROM link_pair p WHERE p.status IN ('review', 'not_linked') AND {scoped} "
        f"UNION ALL SELECT * FROM ({_WEAKEST_SQL.format(scope=scoped)})"
    )
    rows = con.execute(
        f"SELECT {_key_sql(secret)}, p.source_l, p.source_record_id_l, p.source_r, "
        f"p.source_record_id_r FROM ({candidates}) p",
        [rid],
    ).fetchall()
    index = {str(r[0]): (str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows}
    if cache_key is not None:
        with _PAIR_INDEX_LOCK:
            while len(_PAIR_INDEX) >= 4:
                _PAIR_INDEX.pop(next(iter(_PAIR_INDEX)))
            _PAIR_INDEX[cache_key] = index
    return index


@dataclass(frozen=True)
class ReviewPairView:
    """One pair: what the tier may see (``data``) and, for the caller only, the two
    record keys (to record a decision) and person ids (to audit an identifying view)."""

    data: dict[str, Any]
    left: RecordKey
    right: RecordKey
    persons: tuple[str | None, str | None]
    agencies: tuple[str, ...]


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _name_level(
    a: Any, b: Any, jw: float | None, swapped: bool, known_as: bool
) -> tuple[str, bool | None]:
    if _blank(a) or _blank(b):
        return "Missing on one record or both", None
    if a == b:
        return "The same", True
    if swapped:
        return "Forename and surname swapped", True
    if known_as:
        return "Known-as name matches", True
    if jw is not None and jw >= 0.92:
        return "Very similar spelling", True
    if jw is not None and jw >= 0.8:
        return "Similar spelling", None
    return "Different", False


def _dob_level(a: Any, b: Any) -> tuple[str, bool | None]:
    if a is None or b is None:
        return "Missing on one record or both", None
    if a == b:
        return "The same", True
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return "Day and month swapped", True
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    if same == 2:
        return "One of day, month and year differs", None
    if abs((a - b).days) <= 365:
        return "Within a year", None
    return "Different", False


def _postcode_level(a: dict[str, Any], b: dict[str, Any]) -> tuple[str, bool | None]:
    ld = a["postcode_district"] or (a["postcode"] or "").split(" ")[0] or None
    rd = b["postcode_district"] or (b["postcode"] or "").split(" ")[0] or None
    if ld is None or rd is None:
        return "Missing on one record or both", None
    lp, rp = a["postcode"], b["postcode"]
    if lp and rp and lp == rp:
        return "The same postcode", True
    if lp and rp and len(lp) > 2 and lp[:-2] == rp[:-2]:
        return "The same sector", True
    if ld == rd and (not lp or not rp):
        return "The same district (one record holds only the district)", True
    if ld == rd:
        return "The same district", None
    return "Different", False


def _comparisons(
    con: duckdb.DuckDBPyConnection, left: RecordKey, right: RecordKey
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, Any] | None]:
    cols = ", ".join((*_IDENTITY, *_IDS))
    fetched = {}
    for key in (left, right):
        got = con.execute(
            f"SELECT {cols} FROM identity WHERE source = ? AND source_record_id = ?", list(key)
        ).fetchall()
        fetched[key] = dict(zip((*_IDENTITY, *_IDS), got[0], strict=True)) if got else None
    lf, rf = fetched[left], fetched[right]
    if lf is None or rf is None:
        return [], lf, rf
    jw = con.execute(
        "SELECT jaro_winkler_similarity(?, ?), jaro_winkler_similarity(?, ?)",
        [lf["forename"] or "", rf["forename"] or "", lf["surname"] or "", rf["surname"] or ""],
    ).fetchall()[0]
    swapped = bool(
        lf["forename"]
        and lf["surname"]
        and lf["forename"] == rf["surname"]
        and lf["surname"] == rf["forename"]
    )
    known_as = bool(
        (lf["preferred_name"] and lf["preferred_name"] in (rf["forename"], rf["preferred_name"]))
        or (rf["preferred_name"] and rf["preferred_name"] == lf["forename"])
    )
    out = []

    def add(field: str, level: tuple[str, bool | None]) -> None:
        out.append({"field": field, "level": level[0], "agrees": level[1]})

    add("Forename", _name_level(lf["forename"], rf["forename"], jw[0], swapped, known_as))
    add("Surname", _name_level(lf["surname"], rf["surname"], jw[1], swapped, False))
    add("Date of birth", _dob_level(lf["dob"], rf["dob"]))
    ls = lf["sex"] if lf["sex"] in ("F", "M") else None
    rs = rf["sex"] if rf["sex"] in ("F", "M") else None
    add(
        "Sex",
        ("Missing or not known on one record or both", None)
        if ls is None or rs is None
        else (("The same", True) if ls == rs else ("Different", False)),
    )
    add("Postcode", _postcode_level(lf, rf))
    for name, label in (("nhs_number", "NHS number"), ("upn", "UPN"), ("pnc_id", "PNC id")):
        a, b = lf[name], rf[name]
        if _blank(a) or _blank(b):
            add(label, ("Not on both records", None))
        else:
            add(label, ("The same", True) if a == b else ("Different", False))
    return out, lf, rf


def _shown_fields(f: dict[str, Any] | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in f.items()
        if k in (*_IDENTITY, *_IDS)
    }


def current_review_pair(
    partnership_dir: Path,
    tier: Tier,
    pair_key: str,
    *,
    open_release: Callable[[Path], ReleaseLike] | None = None,
    config: PartnershipConfig | None = None,
) -> ReviewPairView:
    """One scored pair of the current release, by its pair key.

    Identifying fields, record ids and person ids are included at the operational tier
    only (the caller audits that view). Raises :class:`PairNotFound` for a key that names
    no pair of this release (keys change with each release) or a pair whose source is
    left out at the tier.
    """
    tier = Tier(tier)
    if not pair_key or len(pair_key) > 64 or not all(c in "0123456789abcdef" for c in pair_key):
        raise PairNotFound("That is not a pair key. Open the pair from the review queue.")
    con, handle, config, scope = _open(partnership_dir, tier, open_release, config)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    secret = _key_secret(partnership_dir, config)
    try:
        out = _base(con, tier, policy, scope)
        rid = out["release"]["release_id"] or handle.release_id
        # Pairs that can be opened: those in the review band, those scored there but kept
        # apart, and the weakest links (the ones the pages link to). Keys are computed
        # for those alone, not for every linked pair (millions in a large partnership).
        index = _pair_index(con, handle, secret, scope, rid)
        keys = index.get(pair_key)
        found: list[dict[str, Any]] = []
        if keys is not None:
            cur = con.execute(
                f"SELECT ? AS pair_key, {_PAIR_COLUMNS} {_PAIR_FROM} WHERE p.source_l = ? "
                "AND p.source_record_id_l = ? AND p.source_r = ? AND p.source_record_id_r = ?",
                [pair_key, *keys],
            )
            found = _pair_rows(cur)
        if not found:
            raise PairNotFound(
                "There is no such pair in the current release: pair keys change with each "
                "release, and a decided pair leaves the queue at the next build. Go back to "
                "the review queue."
            )
        row = found[0]
        left: RecordKey = (row["source_l"], row["source_record_id_l"])
        right: RecordKey = (row["source_r"], row["source_record_id_r"])
        comparisons, lf, rf = _comparisons(con, left, right)
        persons = {}
        for key in (left, right):
            got = con.execute(
                "SELECT person_id FROM record_person WHERE source = ? AND source_record_id = ?",
                list(key),
            ).fetchall()
            persons[key] = got[0][0] if got else None
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}): it may "
            "be from an older version of joinedup. Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    data = out
    data.update(_public_pair(row, pair_key))
    data["comparisons"] = comparisons
    data["same_person"] = persons[left] is not None and persons[left] == persons[right]
    data["identifying"] = tier is Tier.OPERATIONAL
    if tier is Tier.OPERATIONAL:
        data["left"].update(
            {"source_record_id": left[1], "person_id": persons[left], "fields": _shown_fields(lf)}
        )
        data["right"].update(
            {
                "source_record_id": right[1],
                "person_id": persons[right],
                "fields": _shown_fields(rf),
            }
        )
    agencies = tuple(sorted({str(row["agency_l"]), str(row["agency_r"])}))
    return ReviewPairView(data, left, right, (persons[left], persons[right]), agencies)
