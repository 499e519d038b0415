"""Data maturity beside measured quality, and the performance framework (issue 21).

:func:`maturity_view` sets each agency's newest self-assessment
(:class:`joinedup.state.SelfAssessments`, questionnaire in
:mod:`joinedup.taxonomy.maturity`) beside the measured quality of its extracts
(:func:`joinedup.views.quality.current_quality`, protected for the tier), with what it
holds (``catalogue``) and how its answers changed since its previous assessment.

**The rule for disagreement.** A dimension with ``measured_by`` quality dimensions gets a
*measured level*: the mean of the shares shown for those quality dimensions over the
agency's sources, put on the same 1-5 scale by :data:`MEASURED_LEVELS` (95% or more is 4,
98% or more is 5, ...). Self-assessment and measurement *disagree* where the self-assessed
level is two or more levels away from the measured level (:data:`DISAGREE_BY`): "higher"
(the agency rates itself above what its extracts show) or "lower". Analysis and decision
making are not measured, so they never disagree. A share hidden by disclosure control
("c") is left out of the mean; with none shown there is no measured level.

The partnership summary gives, per dimension, the median self-assessed level and how
many agencies answered, names every agency whose self-assessment disagrees with
measurement, and the change of the median since each agency's previous assessment.

:func:`framework_view` lays out the partnership's performance framework: each outcome, its
questions with their protected headline figure and the partnership's target beside it, as
a reference: a target is never a rating of a child.

Levels and counts of agencies are under the ``maturity`` (or ``framework``) key of the
JSON: they are not counts of people.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure import Tier
from joinedup.errors import JoinedupError
from joinedup.state.maturity import Assessment, SelfAssessments
from joinedup.taxonomy.maturity import MaturityQuestionnaire, load_maturity
from joinedup.views.quality import current_quality, percent
from joinedup.views.release import ReleaseLike, partnership_config

__all__ = [
    "DISAGREE_BY",
    "MEASURED_LEVELS",
    "framework_view",
    "measured_level",
    "maturity_view",
    "questionnaire_for",
]

#: (lowest share, level): a measured share on the self-assessment's 1-5 scale.
MEASURED_LEVELS: tuple[tuple[float, int], ...] = ((0.98, 5), (0.95, 4), (0.85, 3), (0.70, 2))
#: Levels apart at which self-assessment and measurement disagree.
DISAGREE_BY = 2


def measured_level(share: float) -> int:
    """A measured share (0 to 1) as a level 1 to 5."""
    for least, level in MEASURED_LEVELS:
        if share >= least:
            return level
    return 1


def questionnaire_for(config: PartnershipConfig | None) -> MaturityQuestionnaire:
    """The questionnaire of the partnership's taxonomy version."""
    return load_maturity(config.taxonomy_version if config is not None else None)


def _measured(quality: dict[str, Any] | None) -> dict[str, dict[str, float]]:
    """agency -> quality dimension -> mean share shown over its sources."""
    if quality is None:
        return {}
    shares: dict[str, dict[str, list[float]]] = {}
    for s in quality.get("sources", []):
        for dim, d in s["dimensions"].items():
            if isinstance(d.get("share"), float | int):
                shares.setdefault(s["agency"], {}).setdefault(dim, []).append(float(d["share"]))
    return {a: {k: statistics.fmean(v) for k, v in dims.items()} for a, dims in shares.items()}


def _row(
    q: MaturityQuestionnaire, code: str, latest: Assessment | None, measured: dict[str, float]
) -> dict[str, Any]:
    dim = q.dimension(code)
    mine = [measured[m] for m in dim.measured_by if m in measured]
    share = statistics.fmean(mine) if mine else None
    m_level = None if share is None else measured_level(share)
    s_level = None if latest is None else latest.levels.get(code)
    if s_level is None:
        agreement = "not_assessed"
    elif not dim.measured_by:
        agreement = "not_measured"
    elif m_level is None:
        agreement = "no_measure_shown"
    elif s_level - m_level >= DISAGREE_BY:
        agreement = "self_higher"
    elif m_level - s_level >= DISAGREE_BY:
        agreement = "self_lower"
    else:
        agreement = "agrees"
    return {
        "dimension": code,
        "label": dim.label,
        "self_level": s_level,
        "self_label": None if s_level is None else q.level_label(s_level),
        "statement": None if s_level is None else dim.statements[s_level],
        "measured_by": list(dim.measured_by),
        "measured_percent": None if share is None else percent(share),
        "measured_level": m_level,
        "measured_label": None if m_level is None else q.level_label(m_level),
        "agreement": agreement,
    }


def _agency(
    q: MaturityQuestionnaire,
    config: PartnershipConfig,
    agency_id: str,
    history: list[Assessment],
    measured: dict[str, float],
    detailed: bool,
) -> dict[str, Any]:
    a = config.agency(agency_id)
    latest = history[-1] if history else None
    previous = history[-2] if len(history) > 1 else None
    rows = [_row(q, d.code, latest, measured) for d in q.dimensions]
    for r in rows:
        before = None if previous is None else previous.levels.get(r["dimension"])
        r["previous_level"] = before
        r["change"] = (
            None if before is None or r["self_level"] is None else r["self_level"] - before
        )
        if detailed and latest is not None:
            r["evidence"] = latest.evidence.get(r["dimension"])
    return {
        "agency": a.id,
        "name": a.name,
        "type": a.type,
        "supplies": any(s.agency == a.id for s in config.sources),
        "catalogue": [
            d.model_dump(include={"name", "system", "fields", "supplied", "source"})
            for d in config.catalogue.get(a.id, [])
        ],
        "assessed_on": None if latest is None else latest.submitted_at.date().isoformat(),
        "version": None if latest is None else latest.version,
        "note": latest.note if detailed and latest is not None else None,
        "dimensions": rows,
        "disagrees": [r for r in rows if r["agreement"] in ("self_higher", "self_lower")],
        "history": [
            {"assessed_on": h.submitted_at.date().isoformat(), "levels": dict(h.levels)}
            for h in history
        ],
    }


def _summary(q: MaturityQuestionnaire, agencies: list[dict[str, Any]]) -> dict[str, Any]:
    assessed = [a for a in agencies if a["assessed_on"]]
    dims = []
    for d in q.dimensions:
        now = [
            r["self_level"] for a in assessed for r in a["dimensions"] if r["dimension"] == d.code
        ]
        before = [
            r["previous_level"]
            for a in assessed
            for r in a["dimensions"]
            if r["dimension"] == d.code and r["previous_level"] is not None
        ]
        dims.append(
            {
                "dimension": d.code,
                "label": d.label,
                "agencies_assessed": len(now),
                "median_level": statistics.median(now) if now else None,
                "previous_median_level": statistics.median(before) if before else None,
            }
        )
    disagree = [a for a in assessed if a["disagrees"]]
    names = [
        f"{a['name']} ("
        + "; ".join(
            f"{r['label'].lower()}: self-assessed {r['self_level']}, measured {r['measured_level']}"
            for r in a["disagrees"]
        )
        + ")"
        for a in disagree
    ]
    return {
        "agencies": len(agencies),
        "agencies_assessed": len(assessed),
        "not_assessed": [a["name"] for a in agencies if not a["assessed_on"]],
        "dimensions": dims,
        "disagreements": [a["agency"] for a in disagree],
        "headline": (
            "Self-assessment and measured quality disagree for " + "; ".join(names) + "."
            if names
            else "Where agencies have assessed themselves, self-assessment and measured "
            "quality agree within a level."
        ),
    }


def maturity_view(
    partnership_dir: Path,
    tier: Tier,
    *,
    assessments: SelfAssessments,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """Every agency's self-assessment beside its measured quality, and the partnership
    summary. The data leads' evidence and notes are shown at the strategic and
    operational tiers only."""
    tier = Tier(tier)
    given = config  # None: the measured quality is remembered per release (views.memo)
    config = config if config is not None else partnership_config(partnership_dir)
    if config is None:
        raise JoinedupError(f"{partnership_dir} has no partnership.yaml to read agencies from.")
    q = questionnaire_for(config)
    note = None
    try:
        quality: dict[str, Any] | None = current_quality(
            partnership_dir, tier, open_release=open_release, config=given
        )
    except JoinedupError as exc:
        quality, note = None, f"Measured quality is not shown: {exc}"
    measured = _measured(quality)
    history: dict[str, list[Assessment]] = {}
    for h in assessments.history():
        history.setdefault(h.agency, []).append(h)
    detailed = tier is not Tier.COMMUNITY
    agencies = [
        _agency(q, config, a.id, history.get(a.id, []), measured.get(a.id, {}), detailed)
        for a in config.agencies
    ]
    return {
        "tier": tier.value,
        "release": None if quality is None else quality.get("release"),
        "maturity": {
            "questionnaire": {
                "version": q.version,
                "title": q.title,
                "levels": [{"level": k, "label": v} for k, v in sorted(q.levels.items())],
                "dimensions": [
                    {
                        "code": d.code,
                        "label": d.label,
                        "question": d.question,
                        "measured_by": list(d.measured_by),
                        "statements": [
                            {"level": k, "text": v} for k, v in sorted(d.statements.items())
                        ],
                    }
                    for d in q.dimensions
                ],
            },
            "rule": {
                "measured_levels": [
                    {"at_least": percent(s), "level": lv} for s, lv in MEASURED_LEVELS
                ],
                "disagree_by": DISAGREE_BY,
            },
            "summary": _summary(q, agencies),
            "agencies": agencies,
            "measured_note": note,
        },
    }


def framework_view(
    partnership_dir: Path,
    tier: Tier,
    *,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """The partnership's performance framework: outcomes, their questions with the
    protected headline figure (None where the tier may not see it) and the target."""
    from joinedup.views.questions import current_questions

    tier = Tier(tier)
    given = config
    config = config if config is not None else partnership_config(partnership_dir)
    fw = config.framework if config is not None else None
    listing: dict[str, Any] | None
    try:
        # without a config of the caller's, current_questions is remembered per release
        listing = current_questions(partnership_dir, tier, config=given, open_release=open_release)
    except JoinedupError:
        listing = None
    known = {q["id"]: q for q in (listing or {}).get("questions", [])}
    outcomes = []
    for o in fw.outcomes if fw is not None else []:
        rows = []
        for t in o.questions:
            q = known.get(t.question)
            rows.append(
                {
                    "question_id": t.question,
                    "question": None if q is None else q["question"],
                    "unit": None if q is None else q["unit"],
                    "available": bool(q and q["available"]),
                    "headline": None if q is None else q["headline"],
                    "target": t.target,
                    "direction": t.direction,
                    "target_note": t.note,
                }
            )
        outcomes.append({"outcome": o.outcome, "questions": rows})
    return {
        "tier": tier.value,
        "release_id": None if listing is None else listing.get("release_id"),
        "framework": {
            "title": fw.title if fw is not None else "Performance framework",
            "outcomes": outcomes,
            "note": "Targets are the partnership's own, shown beside each figure as a "
            "reference for the board. They are never a rating of a child or a family.",
        },
        "disclosure": None if listing is None else listing.get("disclosure"),
    }
