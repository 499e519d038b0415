"""Shared words for every tier (issue 20): what to look for, the partnership's pathway,
the glossary, the language guide's findings in agencies' free text, and the community
briefing.

What to look for, the pathway and the glossary hold no figures and no personal data: they
are the same for every tier. :func:`language_use` is a count of records (notes) per
source and so passes disclosure control like any other count. :func:`community_briefing`
takes its figures from questions answered at the community tier, through the same
protection as their own pages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config import PartnershipConfig
from joinedup.config.pathway import Pathway
from joinedup.disclosure import Relation, Tier, policy_for, protect_cells, source_scope
from joinedup.insight import QuestionError
from joinedup.taxonomy import load_taxonomy
from joinedup.taxonomy.guidance import (
    GuidanceSection,
    load_glossary,
    load_guidance,
    load_language_guide,
)
from joinedup.views.participation import current_participation
from joinedup.views.questions import QuestionRefused, current_question
from joinedup.views.release import (
    ReleaseLike,
    connect_release,
    open_current_release,
    partnership_config,
    policy_dict,
)

__all__ = [
    "community_briefing",
    "glossary_page",
    "language_use",
    "look_for_page",
    "look_for_section",
    "pathway_dict",
    "terms_for",
]


#: The questions the community briefing shows, and the breakdown of each.
COMMUNITY_FIGURES: tuple[tuple[str, str | None], ...] = (
    ("places_of_concern", "authority"),
    ("places_of_concern", "ward"),
    ("themes", "theme"),
)


def pathway_dict(config: PartnershipConfig | None) -> dict[str, Any]:
    """The partnership's "what to do if you are worried", ready for a page."""
    pathway = config.pathway if config is not None else Pathway()
    out = pathway.model_dump(by_alias=True)
    out["configured"] = pathway.configured
    return out


def _version(config: PartnershipConfig | None) -> str | None:
    return config.taxonomy_version if config is not None else None


def _section(section: GuidanceSection, version: str | None) -> dict[str, Any]:
    types = load_taxonomy(version).lists["exploitation_type"]
    return {
        "id": section.id,
        "title": section.title,
        "what_it_is": section.what_it_is,
        "types": [{"code": t, "label": types[t].label} for t in section.types if t in types],
        "children": list(section.children),
        "adults": list(section.adults),
        "places": list(section.places),
    }


def look_for_page(config: PartnershipConfig | None) -> dict[str, Any]:
    """Every section of what to look for, the general signs and the pathway."""
    version = _version(config)
    guidance = load_guidance(version)
    return {
        "title": guidance.title,
        "version": guidance.version,
        "introduction": guidance.introduction,
        "general": {
            "children": list(guidance.general.children),
            "adults": list(guidance.general.adults),
        },
        "sections": [_section(s, version) for s in guidance.sections],
        "pathway": pathway_dict(config),
        "partnership": config.partnership.name if config is not None else None,
    }


def look_for_section(config: PartnershipConfig | None, section_id: str) -> dict[str, Any] | None:
    """One kind of exploitation's signs and the pathway: the one-page briefing; None
    when there is no such section."""
    version = _version(config)
    guidance = load_guidance(version)
    section = guidance.section(section_id)
    if section is None:
        return None
    return {
        "section": _section(section, version),
        "version": guidance.version,
        "pathway": pathway_dict(config),
        "partnership": config.partnership.name if config is not None else None,
        "others": [{"id": s.id, "title": s.title} for s in guidance.sections if s is not section],
    }


def glossary_page(config: PartnershipConfig | None = None) -> dict[str, Any]:
    """The glossary, terms in alphabetical order, each with the terms it refers to."""
    glossary = load_glossary(_version(config))
    names = {t.id: t.term for t in glossary.terms}
    terms = sorted(glossary.terms, key=lambda t: t.term.lower())
    return {
        "version": glossary.version,
        "terms": [
            {
                "id": t.id,
                "term": t.term,
                "definition": t.definition,
                "see": [{"id": s, "term": names[s]} for s in t.see],
            }
            for t in terms
        ],
    }


def terms_for(*texts: str, config: PartnershipConfig | None = None) -> list[dict[str, str]]:
    """The glossary terms a figure's texts use (question, definition, unit), to link."""
    glossary = load_glossary(_version(config))
    return [{"id": t.id, "term": t.term} for t in glossary.terms_in(*texts)]


def language_use(
    partnership_dir: Path,
    tier: Tier,
    *,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """Notes per source using words the language guide advises against, protected as
    counts of records for ``tier`` (each source's terms add up to no published total, but
    a source's row is protected with its own total so no small count can be worked out).

    Never a note, a person or the words around a match: a training signal for recording
    practice. Sources left out at the tier by their sharing agreements are left out here.
    """
    tier = Tier(tier)
    config = config if config is not None else partnership_config(partnership_dir)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    scope = source_scope(config, tier)
    guide = load_language_guide(_version(config))
    handle = (open_release or open_current_release)(partnership_dir)
    con = connect_release(handle)
    try:
        rows = con.execute("SELECT source, term, notes FROM language_use").fetchall()
        totals = dict(con.execute("SELECT source, count(*) FROM note GROUP BY source").fetchall())
        datasets = dict(con.execute("SELECT source, dataset FROM source").fetchall())
    except duckdb.CatalogException:
        rows, totals, datasets = [], {}, {}  # a release from before issue 20
    finally:
        con.close()
    excluded = set(scope.excluded_ids)
    by_source: dict[str, dict[str, int]] = {}
    for source, term, notes in rows:
        if str(source) not in excluded:
            by_source.setdefault(str(source), {})[str(term)] = int(notes)
    advice = {t.id: t for t in guide.terms}
    sources = []
    for source, counts in sorted(by_source.items()):
        values: dict[str, int] = {f"term:{k}": v for k, v in counts.items()}
        values["notes"] = int(totals.get(source, 0))
        # each term's notes are part of the source's notes (a note may use several terms,
        # so no exact sum holds; protected as parts of the total, which errs safe)
        relation = Relation("notes", tuple(k for k in values if k != "notes"))
        cells = protect_cells(values, [relation], policy)
        sources.append(
            {
                "source": source,
                "dataset": datasets.get(source) or source,
                "notes": cells["notes"],
                "terms": [
                    {
                        "term": k,
                        "words": advice[k].label if k in advice else k,
                        "say_instead": advice[k].say_instead if k in advice else None,
                        "why": advice[k].why if k in advice else None,
                        "notes": cells[f"term:{k}"],
                    }
                    for k in sorted(counts)
                ],
            }
        )
    return {
        "tier": tier.value,
        "release_id": handle.release_id,
        "disclosure": policy_dict(policy),
        "sources": sources,
    }


def community_briefing(
    partnership_dir: Path,
    *,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """The community briefing: what to look for, the pathway, and the figures that are
    meaningful at the community tier (questions whose tiers include it), each as its own
    page protects it at that tier."""
    given = config  # None: the figures below are remembered per release (views.memo)
    config = config if config is not None else partnership_config(partnership_dir)
    figures = []
    left_out = []
    for question_id, by in COMMUNITY_FIGURES:
        try:
            data = current_question(
                partnership_dir,
                question_id,
                by=by,
                tier=Tier.COMMUNITY,
                config=given,
                open_release=open_release,
            )
        except QuestionRefused as exc:  # its sources may not be shown at this tier: said so
            left_out.append({"question": question_id, "reason": str(exc)})
            continue
        except QuestionError:  # not in this release
            continue
        figures.append(data)
    # issue 20, item 2: where children and young people say they feel unsafe, by ward
    voice = current_participation(
        partnership_dir, Tier.COMMUNITY, config=given, open_release=open_release
    )
    return {
        "tier": Tier.COMMUNITY.value,
        "look_for": look_for_page(config),
        "figures": figures,
        "left_out": left_out,
        "participation": voice if voice["available"] else None,
    }
