"""The fairness tables and the reviewers' labels of the linkage report (issue 15).

Read from the report's sections ``fairness_truth``, ``fairness_indicators``,
``fairness_gap``, ``labels`` and ``labels_leaned_on`` (``joinedup.linkage.fairness`` and
``joinedup.linkage.labels``). Each group's count of persons is protected with the tier's
policy; a group whose count is suppressed shows none of its shares either (a share of a
handful of children is a handful of children). The largest gaps are named between groups
large enough to compare, which the policy shows anyway.
"""

from __future__ import annotations

from typing import Any

from joinedup.disclosure import SUPPRESSED, DisclosurePolicy, protect_cells

__all__ = ["DIMENSION_LABELS", "METRIC_LABELS", "fairness_view", "labels_view"]

DIMENSION_LABELS = {"ethnic_group": "Ethnic group", "sex": "Sex", "age_band": "Age band"}
METRIC_LABELS = {
    "precision": "Precision",
    "recall": "Recall",
    "one_record": "Persons with one record only",
    "split_suspect": "Persons who look split",
    "review_band": "Persons with a pair in review",
}
_ORDER = {
    "truth": ("recall", "precision"),
    "indicators": ("one_record", "split_suspect", "review_band"),
}

Rows = list[tuple[str, float | None, str | None]]


def _table(rows: Rows, metrics: tuple[str, ...], policy: DisclosurePolicy) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for item, value, detail in rows:
        dim, group, metric = (item.split("|") + ["", "", ""])[:3]
        g = groups.setdefault((dim, group), {"persons": int(float(detail or 0))})
        g[metric] = value
    counts = protect_cells({k: v["persons"] for k, v in groups.items()}, [], policy)
    out = []
    for (dim, group), g in sorted(
        groups.items(),
        key=lambda kv: (
            list(DIMENSION_LABELS).index(kv[0][0]) if kv[0][0] in DIMENSION_LABELS else 9,
            kv[0][1],
        ),
    ):
        shown = counts[(dim, group)]
        row: dict[str, Any] = {
            "dimension": dim,
            "dimension_label": DIMENSION_LABELS.get(dim, dim),
            "group": group,
            "persons": shown,
        }
        for m in metrics:
            value = g.get(m)
            row[m] = None if shown == SUPPRESSED or value is None else float(value)
        out.append(row)
    return out


def fairness_view(sections: dict[str, Rows], policy: DisclosurePolicy) -> dict[str, Any] | None:
    """``{truth, indicators, gaps}``, or None for a release built before issue 15."""
    truth, indicators = sections.get("fairness_truth", []), sections.get("fairness_indicators", [])
    if not truth and not indicators:
        return None
    gaps = []
    for item, value, detail in sections.get("fairness_gap", []):
        kind, dim, metric = (item.split("|") + ["", "", ""])[:3]
        gaps.append(
            {
                "kind": kind,
                "dimension": dim,
                "dimension_label": DIMENSION_LABELS.get(dim, dim),
                "metric": metric,
                "metric_label": METRIC_LABELS.get(metric, metric),
                "gap": value,
                "between": detail,
            }
        )
    largest = max(gaps, key=lambda g: g["gap"] or 0.0) if gaps else None
    return {
        "truth": _table(truth, _ORDER["truth"], policy) or None,
        "indicators": _table(indicators, _ORDER["indicators"], policy),
        "gaps": gaps,
        "largest_gap": largest,
    }


def labels_view(sections: dict[str, Rows]) -> dict[str, Any] | None:
    """The model against reviewers' labels, or None when nobody has decided a pair yet.

    Counts of labelled pairs are decisions people made, not children: shown as they are.
    """
    figures = {item: value for item, value, _ in sections.get("labels", [])}
    if not figures.get("labelled_pairs") and not figures.get("previous_labelled_pairs"):
        return None
    return {
        "labelled_pairs": figures.get("labelled_pairs"),
        "accuracy": figures.get("accuracy"),
        "false_match": figures.get("false_match"),
        "false_non_match": figures.get("false_non_match"),
        "previous_accuracy": figures.get("previous_accuracy"),
        "previous_labelled_pairs": figures.get("previous_labelled_pairs"),
        "leaned_on": [
            {"comparison": item.replace("_", " ").capitalize(), "bits": value, "detail": detail}
            for item, value, detail in sections.get("labels_leaned_on", [])
        ],
    }
