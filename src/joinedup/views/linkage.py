"""The linkage report, as each tier may see it (``/linkage``).

It is for the people who stand behind the linkage (data leads and analysts, who hold
``review_links``); the web app checks that permission.

:func:`current_linkage_report` reads ``linkage_report`` and ``linkage_model``. Counts of
persons (cluster sizes, agency combinations, flags, id changes) are protected with the
tier's policy; counts of records and of record pairs (links by rule, pairs per blocking
rule, the match-weight distribution) are protected the same way, since at this level a
handful of records is a handful of children. The total of records linked is the sources'
rows loaded, shown or hidden exactly as the sources table and the releases list show it
(:func:`joinedup.views.records.record_cells`). Precision, recall and the model's weights
are shares and weights, shown as they are. The review queue is
:mod:`joinedup.views.review`.

With ``disclosure.method: cell_key`` (issue 19) the persons linked are perturbed by
their cell key (the sum of their record keys, as on the overview), the records linked
are the sources' perturbed total, and every other count of the report (stored at build
as numbers, not as lists of people or pairs) by its count key
(:meth:`joinedup.views.cellkey.PageKeys.perturb`), each row and total on its own. The
fairness tables keep suppression: a group's recall and precision are shown only beside
a count of persons that is shown, and perturbing the count would leave an exact rate
beside a small group; the footnote says so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    Relation,
    SourceScope,
    Tier,
    policy_for,
    source_scope,
)
from joinedup.errors import ReleaseError
from joinedup.views.cellkey import (
    KEYED,
    PageKeys,
    page_disclosure,
    page_keys,
    perturb_cell,
    protect_counts,
)
from joinedup.views.linkage_fairness import fairness_view, labels_view
from joinedup.views.memo import per_release  # moved from disclosure/ (issue 19)
from joinedup.views.records import record_cells
from joinedup.views.release import (
    ReleaseLike,
    connect_release,
    open_current_release,
    partnership_config,
    policy_dict,
    release_facts,
)

__all__ = ["LINKAGE_TABLES", "current_linkage_report", "open_linkage", "view_base"]


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
_TRUTH_LABELS = {
    "precision": "Pairwise precision",
    "recall": "Pairwise recall",
    "f1": "Pairwise F1",
    "voluntary_recall": "Recall of pairs with a voluntary-sector record",
    "cluster_precision": "Persons holding one true person only",
    "cluster_recall": "True persons found whole",
    "cluster_f1": "Cluster F1",
    "cluster_exact": "True persons found exactly",
    "cross_precision": "Precision of pairs across agencies",
    "cross_recall": "Recall of pairs across agencies",
    "cross_f1": "F1 of pairs across agencies",
}


def open_linkage(
    partnership_dir: Path,
    tier: Tier,
    open_release: Callable[[Path], ReleaseLike] | None,
    config: PartnershipConfig | None,
) -> tuple[duckdb.DuckDBPyConnection, ReleaseLike, PartnershipConfig | None, SourceScope]:
    """The current release opened for the linkage pages: (connection, handle, config,
    the tier's source scope); a ReleaseError when it has no linkage tables."""
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


def view_base(
    con: duckdb.DuckDBPyConnection, tier: Tier, policy: DisclosurePolicy, scope: SourceScope
) -> dict[str, Any]:
    """What every linkage view starts with: the tier, the release, the policy and the
    sources left out."""
    out: dict[str, Any] = {
        "tier": tier.value,
        "release": release_facts(con),
        "disclosure": policy_dict(policy),
    }
    if scope.excluded:
        out["exclusions"] = scope.as_dict()
    return out


def _protected_rows(
    items: list[tuple[str, float | None]],
    policy: DisclosurePolicy,
    *,
    total: int | None = None,
    labels: dict[str, str] | None = None,
    hide_total: bool = False,
    keys: PageKeys | None = None,
    section: str = "",
    shown: Any = None,
) -> dict[str, Any]:
    """Rows ``{item, label, count}`` protected with their total (the sum when not given;
    hidden whatever it is with ``hide_total``: a figure another page hides). With
    ``keys`` (cell key perturbation) each row and the total is perturbed by its count
    key, the total given as ``shown`` when another figure on the page publishes it."""
    counts: dict[Hashable, int] = {item: int(value or 0) for item, value in items}
    marker = ("\x00total",)
    values = {**counts, marker: sum(counts.values()) if total is None else total}
    out = protect_counts(
        values,
        [Relation(marker, tuple(counts))],
        policy,
        keys,
        space=("linkage", section),
        hidden=[marker] if hide_total else [],
    )
    shown_total = out.pop(marker)
    if keys is not None and shown is not None:
        shown_total = shown
    cells = out
    return {
        "rows": [
            {"item": item, "label": (labels or {}).get(item, item), "count": cells[item]}
            for item, _ in items
        ],
        "total": shown_total,
    }


#: What the linkage report still protects by suppression under cell key perturbation.
FAIRNESS_KEPT = (
    "The persons of each group in the fairness tables are hidden (“c”) from 1 to "
    "the threshold, and hidden so that they cannot be worked out, because each group's "
    "recall and precision are shown beside them as they are."
)


def _persons(
    con: duckdb.DuckDBPyConnection, keys: PageKeys, value: int, policy: DisclosurePolicy
) -> Any:
    """The persons linked, perturbed by their cell key as the overview's persons are
    ("c" when the person table does not count them again)."""
    keys.units(con, "_ju_ck_person", "SELECT person_id FROM person")
    row = con.execute(
        f"SELECT count(*), {KEYED} FROM person p "
        "LEFT JOIN _ju_ck_person ck ON ck.unit_id = p.person_id"
    ).fetchone()
    same = row is not None and int(row[0]) == value
    return perturb_cell(value, row[1] if same and row is not None else None, policy)


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
    con: duckdb.DuckDBPyConnection,
    policy: DisclosurePolicy,
    scope: SourceScope,
    keys: PageKeys | None = None,
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
    changed_raw = int(run.get("new_or_changed_records") or 0)
    headline = protect_counts(
        {"records": records_raw, "new_or_changed_records": changed_raw, "persons": persons_raw},
        [],
        policy,
        keys,
        space="linkage_run",
    )
    if keys is not None:
        headline["persons"] = _persons(con, keys, persons_raw, policy)
    # The records linked are the sources' rows loaded: shown or hidden as the sources
    # table and the releases list show their total (records.record_cells).
    loaded = con.execute("SELECT coalesce(sum(rows_loaded), 0) FROM source").fetchall()[0][0]
    if not scope.excluded:
        total = record_cells(con, policy, scope, keys=keys).totals["rows_loaded"]
        if records_raw == int(loaded):
            headline["records"] = total
        elif total == SUPPRESSED:
            # fewer records linked than loaded (retention, objections: issue 19): the
            # difference is published in lineage, so a hidden total stays hidden here
            headline["records"] = SUPPRESSED
        if changed_raw == records_raw:
            headline["new_or_changed_records"] = headline["records"]
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
        hide_total=headline["records"] == SUPPRESSED,
        keys=keys,
        section="links_by_rule",
        shown=headline["records"],
    )
    out["blocking"] = _protected_rows(items("blocking"), policy, keys=keys, section="blocking")
    weights = sorted(items("match_weight"), key=lambda x: _weight_sort(x[0]))
    out["match_weight"] = _protected_rows(weights, policy, keys=keys, section="match_weight")
    sizes = sorted(items("cluster_size"), key=lambda x: _size_sort(x[0]))
    out["cluster_size"] = _protected_rows(
        sizes,
        policy,
        total=persons_raw,
        keys=keys,
        section="cluster_size",
        shown=headline["persons"],
    )
    if scope.excluded:
        out["agencies"] = None  # the combinations would show sources left out at this tier
    else:
        combos = sorted(items("agencies"), key=lambda x: (-(x[1] or 0), x[0]))
        out["agencies"] = _protected_rows(
            combos,
            policy,
            total=persons_raw,
            labels={i: i.replace(";", ", ") for i, _ in combos},
            keys=keys,
            section="agencies",
            shown=headline["persons"],
        )
    out["flags"] = _protected_rows(items("flags"), policy, keys=keys, section="flags")
    out["changes"] = _protected_rows(
        items("changes"), policy, labels=_CHANGE_LABELS, keys=keys, section="changes"
    )
    review = {i: v for i, v, _ in sections.get("review", [])}
    out["review"] = protect_counts(
        {
            "in_review": int(review.get("review") or 0),
            "decisions_applied": int(review.get("decisions_applied") or 0),
        },
        [],
        policy,
        keys,
        space="linkage_review",
    )
    truth = []
    for section in ("truth_pairs", "truth_clusters"):
        for i, v, _ in sections.get(section, []):
            if i in _TRUTH_LABELS and v is not None:
                truth.append({"item": i, "label": _TRUTH_LABELS[i], "value": float(v)})
    out["truth"] = truth or None
    # issue 15: fairness by group, and the model against reviewers' labels
    out["fairness"] = fairness_view(sections, policy)
    out["labels"] = labels_view(sections)
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
    con, handle, config, scope = open_linkage(partnership_dir, tier, open_release, config)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    try:
        out = view_base(con, tier, policy, scope)
        keys = page_keys(partnership_dir, policy)
        if policy.method == "cell_key":
            out["disclosure"] = page_disclosure(policy, keys, kept=FAIRNESS_KEPT)
        out.update(_report(con, policy, scope, keys))
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}): it may "
            "be from an older version of joinedup. Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    chart = out.pop("_match_weights_chart")
    return out, chart
