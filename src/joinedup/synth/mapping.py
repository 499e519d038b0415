"""partnership.yaml for the synthetic partnership: every extract mapped in its own shape."""

from __future__ import annotations

from typing import Any

import yaml

from joinedup.synth.addresses import FOREIGN_ID_NAME
from joinedup.synth.crosswalks import crosswalks
from joinedup.synth.education import TERM_DATES
from joinedup.synth.geography import Geography, geography_config
from joinedup.synth.interventions import add_maturity
from joinedup.synth.participation import participation_config
from joinedup.synth.people import REFERENCE_DATE
from joinedup.synth.sourcemaps import (
    HEALTH_ISA,
    ISA,
    OUTREACH_ISA,
    VOLUNTARY_ISA,
    source_mappings,
)

__all__ = ["partnership_yaml"]

_ISA, _HEALTH, _VOLUNTARY, _OUTREACH = ISA, HEALTH_ISA, VOLUNTARY_ISA, OUTREACH_ISA


def partnership_yaml(
    geo: Geography, *, seed: int, people: int, reviewers: tuple[str, ...] = ()
) -> str:
    doc: dict[str, Any] = {
        "partnership": {
            "name": "Wexbury and Ashdown Safeguarding Partnership",
            "reference_date": REFERENCE_DATE,
        },
        "taxonomy_version": "2026.1",
        "authorities": [{"code": a.code, "name": a.name} for a in geo.authorities],
        "geography": geography_config(),  # ONSPD-like, areas CSV (issue 13)
        "agencies": [
            {"id": "police", "name": "Wexbury and Ashdown Police", "type": "police"},
            {
                "id": "wexbury_csc",
                "name": "Wexbury Council Children's Services",
                "type": "childrens_social_care",
                "authority": geo.authorities[0].code,
            },
            {
                "id": "ashdown_csc",
                "name": "Ashdown Council Children's Services",
                "type": "childrens_social_care",
                "authority": geo.authorities[1].code,
            },
            {"id": "health", "name": "Wexbury and Ashdown NHS Foundation Trust", "type": "health"},
            {
                "id": "education",
                "name": "Wexbury and Ashdown pupil data (both councils)",
                "type": "education",
            },
            {
                "id": "yjs",
                "name": "Wexbury and Ashdown Youth Justice Service",
                "type": "youth_justice",
            },
            {
                "id": "nrm",
                "name": "Modern slavery first responders (NRM referrals)",
                "type": "other",
            },
            {
                "id": "brightpath",
                "name": "Brightpath Youth (voluntary sector)",
                "type": "voluntary",
            },
            {
                "id": "crossroads",
                "name": "Crossroads Youth Outreach (voluntary sector, Ashdown)",
                "type": "voluntary",
                "authority": geo.authorities[1].code,
            },
            {
                "id": "asc",
                "name": "Wexbury and Ashdown Adult Social Care",
                "type": "adult_social_care",
            },
        ],
        "sharing_agreements": [
            {
                "key": _ISA,
                "title": "Wexbury and Ashdown exploitation information sharing agreement 2026",
                "tiers": ["operational", "strategic", "community"],
                "lawful_basis": "UK GDPR 6(1)(e) public task; 9(2)(g) with DPA 2018 Sch 1 para 18",
                "purposes": [
                    "Safeguarding children and young adults from exploitation",
                    "Partnership strategic needs assessment",
                ],
                "retention_years": 6,
                "owner": "Wexbury and Ashdown Safeguarding Partnership business unit",
            },
            {
                "key": _HEALTH,
                "title": "NHS trust data sharing agreement for exploitation panels 2026",
                "tiers": ["operational", "strategic", "community"],
                "lawful_basis": "UK GDPR 6(1)(e) public task; 9(2)(h) health and social care",
                "purposes": ["Safeguarding children and young adults from exploitation"],
                "retention_years": 6,
                "owner": "Named nurse for safeguarding, Wexbury and Ashdown NHS FT",
            },
            {
                "key": _VOLUNTARY,
                "title": "Brightpath Youth: consent-based sharing 2026",
                "tiers": ["operational", "strategic"],
                "lawful_basis": "Consent of the young person, or 6(1)(e) where a child is at risk",
                "purposes": ["Exploitation panel casework", "Voice of young people in reports"],
                "retention_years": 3,
                "owner": "Brightpath Youth safeguarding lead",
            },
            {
                "key": _OUTREACH,
                "title": "Crossroads Youth Outreach: sharing for exploitation panels 2026",
                "tiers": ["operational", "strategic"],
                "lawful_basis": "UK GDPR 6(1)(f) legitimate interests; 9(2)(g) with DPA 2018 "
                "Sch 1 para 18 (safeguarding of children)",
                "purposes": [
                    "Exploitation panel casework",
                    "Partnership strategic needs assessment",
                ],
                "retention_years": 2,
                "owner": "Crossroads Youth Outreach manager",
            },
        ],
        "crosswalks": crosswalks(),
        # issue 20: the partnership's pathway (fictional contacts: 01632 numbers are set
        # aside by Ofcom for drama)
        "pathway": {
            "introduction": "If you think a child or young person is being exploited, do "
            "not wait for proof: talk to them, write down what you saw, and use one of the "
            "routes below today.",
            "contacts": [
                {
                    "name": "Wexbury children's front door (MASH)",
                    "phone": "01632 960 101",
                    "hours": "Monday to Friday, 9am to 5pm",
                    "for": "Referrals about a child in Wexbury",
                },
                {
                    "name": "Ashdown children's advice and duty service",
                    "phone": "01632 960 202",
                    "hours": "Monday to Friday, 9am to 5pm",
                    "for": "Referrals about a child in Ashdown",
                },
                {
                    "name": "Emergency duty team (both councils)",
                    "phone": "01632 960 303",
                    "hours": "Evenings, weekends and bank holidays",
                },
            ],
            "routes": [
                {
                    "title": "Refer to children's social care",
                    "detail": "Through the front door of the council where the child lives.",
                },
                {
                    "title": "Share information with the police",
                    "detail": "The partnership intelligence form, for places, vehicles and "
                    "adults of concern, even when you are unsure.",
                },
                {
                    "title": "Ask for the exploitation panel to discuss a child, place or group",
                    "detail": "Through the panel coordinator in the partnership business unit.",
                },
            ],
            "thresholds": "Use the partnership's continuum of need to decide the level of "
            "support; any concern of exploitation is at least a referral for advice.",
        },
        "taxonomy_extensions": {
            "exploitation_type": {
                "local_drug_debt": {
                    "label": "Drug debt (debt bondage)",
                    "parent": "cce",
                    "definition": "A young person made to sell or hold drugs to pay off a debt, "
                    "often one engineered by those exploiting them (Crossroads code DD).",
                }
            }
        },
        "term_dates": dict(TERM_DATES),
        "identifier_kinds": {
            "cnp": {
                "name": FOREIGN_ID_NAME,
                "scope": "shared",
                "check": "regex",
                "pattern": "[1-8][0-9]{12}",
            },
        },
        "place_keywords": {"keywords": _PLACE_KEYWORDS},
        "sources": source_mappings(),
        # issue 20: what children and young people say (synth/participation.py)
        "participation": participation_config("brightpath", _ISA),
    }
    if reviewers:  # issue 16: who may review links seeing both records (the demo's choice)
        for agreement in doc["sharing_agreements"]:
            agreement["reviewers"] = list(reviewers)
    add_maturity(doc)  # issue 21: housing, catalogue, framework, interventions
    head = (
        "# Wexbury and Ashdown: a FICTIONAL partnership made by `joinedup synth`\n"
        f"# (seed {seed}, {people} people). Every person, place and identifier is made up.\n"
        "# Format: docs/configuration.md. Truth for testing linkage: truth/.\n\n"
    )
    parts = [head]
    for key, value in doc.items():
        if key in _COMMENTS:
            parts.append(f"\n# {_COMMENTS[key]}\n")
        parts.append(
            yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        )
    return "".join(parts)


# The partnership's own words for place types, tried before the built-in keywords: the
# local names that the built-in list misreads (a "Travel Inn" is a hotel, not a pub).
_PLACE_KEYWORDS = {
    "takeaway": ["grill", "café", "cafe"],
    "hotel": ["travel inn", "motor inn"],
    "transport": ["services", "bus station", "railway station"],
    "street": ["station road", "seafront", "parade"],
    "shop": ["spar", "post office"],
    "licensed_premises": ["the red lion", "the crown"],
}

_COMMENTS = {
    "authorities": "The local authorities in the partnership (fictional codes: XA, XW, XS).",
    "geography": "Boundaries, postcode lookup and resident population aged 0-24.",
    "agencies": "Who holds the data.",
    "sharing_agreements": "What each source is shared under, and which tiers may see it.",
    "crosswalks": "Each agency's own codes and words -> taxonomy codes.",
    "taxonomy_extensions": "Local codes, each under a code of the shared taxonomy.",
    "term_dates": "When each school term starts (for dates made from a year and a term).",
    "identifier_kinds": "Identifiers beyond NHS number, UPN and PNC id that agencies share.",
    "place_keywords": "Words in free-text locations that give a place type.",
    "sources": "One entry per extract (and per Excel sheet), mapped in the agency's own shape.",
    "participation": "Surveys and mapping exercises: where young people feel unsafe.",
}


class _Dumper(yaml.SafeDumper):
    """Block style for sections, flow style for one field ({column: X, parse: date}), and
    no anchors: the file is for people to read and edit."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    leaf = bool(data) and set(data) & {"column", "columns", "value", "equals", "in"}
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=bool(leaf))


_Dumper.add_representer(dict, _represent_dict)
