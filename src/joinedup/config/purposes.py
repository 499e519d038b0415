"""Purposes that bind (issue 19): the purposes outputs serve, and what agreements permit.

The purposes are versioned taxonomy data (``taxonomy/data/<version>/purposes.yaml``):
strategic needs assessment, operational safeguarding, disruption, commissioning and
statutory return. Every output declares one: a question by its ``purpose:`` key (or the
default for its unit and tiers, :func:`question_purpose`), a page or an export in code
(:data:`PAGE_PURPOSES`, :data:`EXPORT_PURPOSES`). A sharing agreement may list the
purposes it permits (``permitted_purposes``); without the key it permits every purpose,
so partnerships that have not set it see no change. ``disclosure.sharing`` leaves out of
an output every source whose agreement does not permit the output's purpose.

Agreements also say whether the data subject's right to object applies
(``right_to_object``; by default worked out from the lawful basis: UK GDPR Article
6(1)(e) public task, 6(1)(f) legitimate interests and 6(1)(a) consent allow objection,
6(1)(c) legal obligation, 6(1)(d) vital interests and DPA 2018 Part 3 do not).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, field_validator

from joinedup.errors import ConfigError

__all__ = [
    "DEFAULT_TIER_PURPOSE",
    "EXPORT_PURPOSES",
    "PAGE_PURPOSES",
    "AgreementGovernance",
    "Purpose",
    "agreement_permits",
    "allows_objection",
    "load_purposes",
    "purpose_codes",
    "purpose_label",
    "question_purpose",
    "sources_for_purpose",
]

_DEFAULT_VERSION = "2026.1"


@dataclass(frozen=True)
class Purpose:
    code: str
    label: str
    definition: str


@lru_cache(maxsize=8)
def load_purposes(version: str | None = None) -> tuple[Purpose, ...]:
    """The purposes of a taxonomy version (the shipped list when that version has none)."""
    base = resources.files("joinedup.taxonomy").joinpath("data")
    item = base.joinpath(version or _DEFAULT_VERSION).joinpath("purposes.yaml")
    if not item.is_file():
        item = base.joinpath(_DEFAULT_VERSION).joinpath("purposes.yaml")
    try:
        data = yaml.safe_load(item.read_text(encoding="utf-8"))
        return tuple(
            Purpose(str(e["code"]), str(e["label"]), " ".join(str(e["definition"]).split()))
            for e in data["entries"]
        )
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"taxonomy data purposes.yaml ({version or _DEFAULT_VERSION}) is not a list of "
            "entries with code, label and definition; reinstall joinedup"
        ) from exc


def purpose_codes(version: str | None = None) -> tuple[str, ...]:
    return tuple(p.code for p in load_purposes(version))


def purpose_label(code: str, version: str | None = None) -> str:
    """The plain-words name of a purpose ("Strategic needs assessment")."""
    return next((p.label for p in load_purposes(version) if p.code == code), code)


#: The purpose of an output that declares none: that of its tier's audience.
DEFAULT_TIER_PURPOSE: dict[str, str] = {
    "operational": "operational_safeguarding",
    "strategic": "strategic_needs_assessment",
    "community": "strategic_needs_assessment",
}

#: Each page of the web app and the purpose it serves (a question's page: the question's).
PAGE_PURPOSES: dict[str, str] = {
    "overview": "strategic_needs_assessment",
    "questions": "strategic_needs_assessment",
    "indicators": "strategic_needs_assessment",
    "places": "strategic_needs_assessment",
    "quality": "strategic_needs_assessment",
    "guidance": "strategic_needs_assessment",
    "releases": "strategic_needs_assessment",
    "networks": "disruption",
    "cohorts": "operational_safeguarding",
    "person": "operational_safeguarding",
    "timeline": "operational_safeguarding",
    "panels": "operational_safeguarding",
    "linkage_review": "operational_safeguarding",
}

#: Each export and report and the purpose it serves (a question's export: the question's).
EXPORT_PURPOSES: dict[str, str] = {
    "board_report": "strategic_needs_assessment",
    "overview_export": "strategic_needs_assessment",
    "regional_pack": "strategic_needs_assessment",
    "panel_meeting_pack": "operational_safeguarding",
    "network_links": "disruption",
    "subject_access": "operational_safeguarding",
}


def question_purpose(purpose: str | None, unit: str, tiers: Iterable[str]) -> str:
    """A question's purpose: its own ``purpose:``, else the default for its unit and tiers
    (persons of concern, groups and places: disruption; operational only: operational
    safeguarding; otherwise strategic needs assessment)."""
    if purpose:
        return purpose
    if unit in ("persons of concern", "groups"):
        return "disruption"
    if set(tiers) == {"operational"}:
        return "operational_safeguarding"
    return "strategic_needs_assessment"


class AgreementGovernance(BaseModel):
    """Keys of a sharing agreement added by issue 19 (``SharingAgreement`` inherits them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # purposes that bind: None (the key left out) permits every purpose
    permitted_purposes: list[str] | None = None
    # objections: None works the right to object out from the lawful basis
    right_to_object: bool | None = None

    @field_validator("permitted_purposes")
    @classmethod
    def _known(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        known = purpose_codes()
        bad = [p for p in v if p not in known]
        if bad:
            raise ValueError(
                f"unknown purpose(s) {', '.join(map(repr, bad))}; use the codes "
                f"{', '.join(known)} (docs/configuration.md, 'Sharing agreements')"
            )
        return v


def agreement_permits(agreement: Any, purpose: str | None) -> bool:
    """Whether ``agreement`` lets its data serve ``purpose`` (no list: every purpose)."""
    if agreement is None or purpose is None or agreement.permitted_purposes is None:
        return True
    return purpose in agreement.permitted_purposes


_ARTICLE = re.compile(r"6\s*\(\s*1\s*\)\s*\(\s*([a-f])\s*\)", re.IGNORECASE)
_WORDS = {
    "a": ("consent",),
    "c": ("legal obligation",),
    "d": ("vital interest",),
    "e": ("public task", "official authority"),
    "f": ("legitimate interest",),
}


def lawful_bases(agreement: Any) -> set[str]:
    """The UK GDPR Article 6(1) letters an agreement's ``article_6`` or ``lawful_basis``
    names (in the form "6(1)(e)" or in words: "public task", "consent", ...)."""
    text = " ".join(t for t in (agreement.article_6, agreement.lawful_basis) if t).lower()
    found = {m.lower() for m in _ARTICLE.findall(text)}
    found |= {k for k, words in _WORDS.items() if any(w in text for w in words)}
    return found


def allows_objection(agreement: Any) -> bool:
    """Whether an objection is honoured for data held under ``agreement``: its
    ``right_to_object`` when given, else whether its lawful basis is consent (a), public
    task (e) or legitimate interests (f)."""
    if agreement.right_to_object is not None:
        return bool(agreement.right_to_object)
    return bool(lawful_bases(agreement) & {"a", "e", "f"})


def sources_for_purpose(config: Any, purpose: str) -> list[str]:
    """Ids of the sources whose agreements permit ``purpose``."""
    agreements = {a.key: a for a in config.sharing_agreements}
    return [
        s.id
        for s in config.sources
        if agreement_permits(agreements.get(s.sharing_agreement), purpose)
    ]
