"""Crosswalks in partnership.yaml: each agency's own codes and words -> taxonomy codes.

Only codes that mean a taxonomy value are listed. Exploitation crosswalks are partial on
purpose: a CIN factor such as 3A (domestic abuse) or a police flag such as DA is not an
exploitation type and is left unmapped, as a partnership would.
"""

from __future__ import annotations

from typing import Any

from joinedup.synth.adult_care import BACKGROUND_ABUSE
from joinedup.synth.context import ETHNICITY_WORDS
from joinedup.synth.health import CATEGORY_BY_COMPLAINT
from joinedup.synth.outreach import CONCERN_CODES
from joinedup.synth.police import OTHER_FLAGS
from joinedup.synth.social_care import CIN_FACTORS, CONTACT_REASONS
from joinedup.synth.voluntary import BACKGROUND_REASONS

__all__ = ["crosswalks"]


def _known(codes: dict[str, str], others: Any) -> dict[str, str]:
    """The mapped codes, then every other code the agency uses mapped to '' (known, and
    deliberately no taxonomy code), so no row is quarantined for an unknown code."""
    out = dict(codes)
    for code in others:
        out.setdefault(code, "")
    return out


def crosswalks() -> dict[str, Any]:
    cin = _known(
        {"11A": "cse", "12A": "trafficking", "13A": "cce", "24A": "cce"},
        sorted(code for code, _ in CIN_FACTORS),
    )
    health_categories = sorted({c for cats in CATEGORY_BY_COMPLAINT.values() for c in cats})
    return {
        "police_sex": {"list": "sex", "codes": {"M": "M", "F": "F", "U": "U"}},
        "police_roles": {
            "list": "role",
            "codes": {
                "Victim": "victim",
                "Suspect": "person_of_concern",
                "Witness": "witness",
                "Associate": "associate",
                "Person of Concern": "person_of_concern",
                "Subject": "subject",
            },
        },
        "police_record_types": {
            "list": "event_type",
            "codes": {"Crime": "crime", "Incident": "incident"},
        },
        "police_flags": {
            "list": "exploitation_type",
            "codes": _known(
                {
                    "CSE": "cse",
                    "CCE": "cce",
                    "CL": "county_lines",
                    "CUCK": "cuckooing",
                    "ONL": "online",
                    "MSHT": "trafficking",
                },
                OTHER_FLAGS,
            ),
        },
        "police_place_types": {
            "list": "place_type",
            "codes": {
                "Dwelling": "home",
                "Other Residential": "other_residential",
                "Fast Food Outlet": "takeaway",
                "Hotel/B&B": "hotel",
                "Park/Open Space": "park",
                "Street/Highway": "street",
                "School/College": "school",
                "Shop/Retail": "shop",
                "Licensed Premises": "licensed_premises",
                "Leisure Facility": "leisure",
                "Online/Cyber": "online",
                "Railway Station": "transport",
                "Bus Station/Interchange": "transport",
                "Other": "other",
                "Not Known": "unknown",
            },
        },
        "police_group_types": {
            "list": "group_type",
            "codes": {"County Line": "county_line", "OCG": "organised_group"},
        },
        "police_ethnicity": {
            "list": "ethnicity",
            "codes": {
                "W1": "WBRI",
                "W2": "WIRI",
                "W3": "WIRT",
                "W4": "WROM",
                "W9": "WOTH",
                "M1": "MWBC",
                "M2": "MWBA",
                "M3": "MWAS",
                "M9": "MOTH",
                "A1": "AIND",
                "A2": "APKN",
                "A3": "ABAN",
                "A4": "CHNE",
                "A9": "AOTH",
                "B1": "BCRB",
                "B2": "BAFR",
                "B9": "BOTH",
                "O9": "OOTH",
                "NS": "NOBT",
            },
        },
        "wexbury_gender": {"list": "sex", "codes": {"1": "M", "2": "F", "0": "U", "9": "U"}},
        "wexbury_contact_reasons": {
            "list": "exploitation_type",
            "codes": _known({"CSE": "cse", "CCE": "cce", "ONL": "online"}, CONTACT_REASONS),
        },
        "ashdown_factors": {"list": "exploitation_type", "codes": {**cin, "OE": "online"}},
        "ashdown_sex": {"list": "sex", "codes": {"Female": "F", "Male": "M", "Unknown": "U"}},
        "ashdown_episode_types": {
            "list": "event_type",
            "codes": {
                "Contact": "contact",
                "Referral": "referral",
                "C&F Assessment": "assessment",
                "Strategy Discussion": "strategy_discussion",
                "Return Home Interview": "return_home_interview",
            },
        },
        "ethnicity_words": {
            "list": "ethnicity",
            "codes": {v: k for k, v in ETHNICITY_WORDS.items()},
        },
        "nhs_sex": {"list": "sex", "codes": {"1": "M", "2": "F", "9": "U", "0": "U"}},
        "nhs_ethnic_category": {
            "list": "ethnicity",
            "codes": {
                "A": "WBRI",
                "B": "WIRI",
                "C": "WOTH",
                "D": "MWBC",
                "E": "MWBA",
                "F": "MWAS",
                "G": "MOTH",
                "H": "AIND",
                "J": "APKN",
                "K": "ABAN",
                "L": "AOTH",
                "M": "BCRB",
                "N": "BAFR",
                "P": "BOTH",
                "R": "CHNE",
                "S": "OOTH",
                "Z": "REFU",
            },
        },
        "health_safeguarding": {
            "list": "exploitation_type",
            "codes": _known({"CSE": "cse", "CCE": "cce"}, health_categories),
        },
        "education_sex": {"list": "sex", "codes": {"M": "M", "F": "F"}},
        "exclusion_categories": {
            "list": "event_type",
            "codes": {"SUSP": "suspension", "PERM": "permanent_exclusion"},
        },
        "words_sex": {"list": "sex", "codes": {"Male": "M", "Female": "F", "Not known": "U"}},
        "yj_concerns": {
            "list": "exploitation_type",
            "codes": {
                "County lines": "county_lines",
                "Criminal exploitation": "cce",
                "Sexual exploitation": "cse",
                "Trafficking / modern slavery": "trafficking",
                "Online harm": "online",
            },
        },
        "nrm_types": {
            "list": "exploitation_type",
            "codes": {
                "Criminal": "cce",
                "Sexual": "cse",
                "Labour": "labour",
                "Domestic servitude": "domestic_servitude",
                "Organ harvesting": "organ_harvesting",
            },
        },
        "brightpath_reasons": {
            "list": "exploitation_type",
            "codes": _known(
                {
                    "Worried about older boyfriend/girlfriend": "cse",
                    "Being asked to carry or hold things": "cce",
                    "Online safety worries": "online",
                },
                BACKGROUND_REASONS,
            ),
        },
        # Crossroads Youth Outreach's own codes; DD is a local code (taxonomy_extensions)
        "crossroads_codes": {"list": "exploitation_type", "codes": dict(CONCERN_CODES)},
        "asc_abuse_types": {
            "list": "exploitation_type",
            "codes": _known(
                {
                    "Modern Slavery": "trafficking",
                    "Sexual Exploitation": "cse",
                    "Criminal Exploitation": "cce",
                    "Financial or Material": "financial",
                },
                (code for code, _ in BACKGROUND_ABUSE),
            ),
        },
    }
