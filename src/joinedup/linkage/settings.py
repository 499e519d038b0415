"""The Splink model: comparisons, blocking rules and training rules for person records.

Every comparison is written for the columns that ``features.input_sql`` prepares, in SQL
that both engines read the same way: plain equality and integer arithmetic, with
Splink's own dialect-aware levels (Jaro-Winkler, array intersection) for the rest. Engine
differences therefore live in Splink's dialects and in ``engine.py``, nowhere else.

``generic_settings`` is the configuration of Splink's own tutorial, mapped onto the same
columns, for the benchmark that compares joinedup's model with it.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.dialects import SplinkDialect

__all__ = [
    "BLOCKING_RULES",
    "EM_RULES",
    "GENERIC_EM_RULES",
    "GENERIC_PRIOR_RECALL",
    "GENERIC_PRIOR_RULES",
    "GENERIC_U_PAIRS",
    "GENERIC_THRESHOLD",
    "PRIOR_RECALL",
    "PRIOR_RULES",
    "SAME_PERSON_BY_IDENTIFIER",
    "generic_settings",
    "person_settings",
]

# Candidate pairs: chosen for recall, each documented with its pair counts in the linkage
# report. A later rule skips pairs an earlier one found. NULLs never block together.
BLOCKING_RULES: tuple[tuple[str, str], ...] = (
    ("forename and date of birth", "l.forename = r.forename AND l.dob_str = r.dob_str"),
    ("surname and date of birth", "l.surname = r.surname AND l.dob_str = r.dob_str"),
    (
        "date of birth and postcode district",
        "l.dob_str = r.dob_str AND l.postcode_district = r.postcode_district",
    ),
    (
        "nickname group and date of birth",
        "l.forename_canonical = r.forename_canonical AND l.dob_str = r.dob_str",
    ),
    (
        "forename, surname and postcode district",
        "l.forename = r.forename AND l.surname = r.surname "
        "AND l.postcode_district = r.postcode_district",
    ),
    ("forename and surname swapped", "l.forename = r.surname AND l.surname = r.forename"),
    (
        "sounds-alike names and year of birth",
        "l.forename_dm1 = r.forename_dm1 AND l.surname_dm1 = r.surname_dm1 "
        "AND l.dob_year = r.dob_year",
    ),
    # Pairs whose date of birth has one typo or a day-month swap: with the nickname group
    # and district, not the whole year of birth, which at a million records would make
    # ten million pairs, nearly all of them of different people.
    (
        "nickname group, postcode district, year and month of birth",
        "l.forename_canonical = r.forename_canonical "
        "AND l.postcode_district = r.postcode_district AND l.dob_year = r.dob_year "
        "AND l.dob_month = r.dob_month",
    ),
    (
        "nickname group, postcode district, birth day and month swapped",
        "l.forename_canonical = r.forename_canonical "
        "AND l.postcode_district = r.postcode_district AND l.dob_year = r.dob_year "
        "AND l.dob_day = r.dob_month AND l.dob_month = r.dob_day",
    ),
    ("surname and postcode", "l.surname = r.surname AND l.postcode = r.postcode"),
    # issue 15: an identifier of a declared kind, and a house number with a birth date
    ("identifier of a declared kind", "l.id_key = r.id_key"),
    (
        "house number and date of birth",
        "l.house_number = r.house_number AND l.dob_str = r.dob_str",
    ),
    # records without a date of birth (or with a wrong one) at one address
    (
        "forename, surname and house number",
        "l.forename = r.forename AND l.surname = r.surname AND l.house_number = r.house_number",
    ),
    # one character of an identifier mistyped: the other half of it, at one house number
    (
        "first half of an identifier and house number",
        "l.id_head = r.id_head AND l.house_number = r.house_number",
    ),
    (
        "second half of an identifier and house number",
        "l.id_tail = r.id_tail AND l.house_number = r.house_number",
    ),
    # a date of birth missing, wrong or invalid, and one name mistyped: the other name at
    # one household (the house number and the word after it, ``12 ELM``)
    ("surname and street address", "l.surname = r.surname AND l.street_key = r.street_key"),
    ("forename and street address", "l.forename = r.forename AND l.street_key = r.street_key"),
    # one character of an identifier mistyped, with the first name
    (
        "first half of an identifier and forename",
        "l.id_head = r.id_head AND l.forename = r.forename",
    ),
    (
        "second half of an identifier and forename",
        "l.id_tail = r.id_tail AND l.forename = r.forename",
    ),
    # one name in the other's field, give or take a typo in the other name
    (
        "forename in the surname field and date of birth",
        "l.forename = r.surname AND l.dob_str = r.dob_str",
    ),
    (
        "surname in the forename field and date of birth",
        "l.surname = r.forename AND l.dob_str = r.dob_str",
    ),
    # a record with neither a date of birth nor a postcode against the records of its
    # name: no other rule can find it (a foreign address, a postcode left out)
    ("forename and surname, no date of birth on the left", "l.name_nodob = r.name_key"),
    ("forename and surname, no date of birth on the right", "l.name_key = r.name_nodob"),
    # a date of birth wrong and the house number mistyped: both names on one street
    (
        "forename, surname and street name",
        "l.forename = r.forename AND l.surname = r.surname AND l.street_name = r.street_name",
    ),
)

# Pairs that trusted identifiers already join (one component of ``_ju_lk_exact``: see
# ``features.identifier_components``) are one person whatever the model says: no
# blocking rule offers them for scoring.
SAME_PERSON_BY_IDENTIFIER = "l.id_component <> r.id_component"

# m by expectation maximisation, one session per rule; each session leaves the
# comparisons of its own blocking columns untouched.
EM_RULES: tuple[str, ...] = (
    "l.dob_str = r.dob_str",
    "l.forename = r.forename AND l.surname = r.surname",
)

# For the prior (how likely two random records are one person): pairs these rules find
# are taken as matches, found with this recall.
PRIOR_RULES: tuple[str, ...] = (
    "l.forename = r.forename AND l.surname = r.surname AND l.dob_str = r.dob_str",
)
PRIOR_RECALL = 0.7

# Jaro-Winkler similarity both names need for "forename and surname swapped, give or take
# a typo" (``ISABELLA CTERCTEKO`` and ``CTERCTEKO ISABELA``).
SWAP_JW = 0.9

# How often two records of one child give dates of birth a year or more apart that no
# closer level explains (m of the last two date-of-birth levels): fixed, see ``_dob``.
DOB_APART_M = 5e-5


class _SwappedLevel(ComparisonLevelCreator):
    """Forename and surname swapped, give or take a typo: each name of one record is
    Jaro-Winkler alike to the other field of the other record (Splink's levels compare a
    column with itself only; this one compares across, in each engine's own function)."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        jw = sql_dialect.jaro_winkler_function_name
        return (
            f"{jw}(forename_l, surname_r) >= {self.threshold} "
            f"AND {jw}(surname_l, forename_r) >= {self.threshold}"
        )

    def create_label_for_charts(self) -> str:
        return "Forename and surname swapped, give or take a typo"


# a forename written in the surname field (or the other way round) while the other field
# holds another name: "HOWIE JAMES" against "JAMES COLEMAN"
_HALF_SWAP = "forename_l = surname_r OR surname_l = forename_r"


def _forename() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="forename",
        comparison_description="Forename (and preferred name), with nicknames and phonetics",
        comparison_levels=[
            cll.NullLevel("forename"),
            cll.ExactMatchLevel("forename").configure(tf_adjustment_column="forename"),
            cll.CustomLevel(
                "forename_l = surname_r AND surname_l = forename_r",
                label_for_charts="Forename and surname swapped",
            ),
            _SwappedLevel(SWAP_JW),
            cll.ArrayIntersectLevel("forename_groups", 1).configure(
                label_for_charts="Nickname or preferred name"
            ),
            cll.JaroWinklerLevel("forename", 0.92),
            # "HARPREET SINGH" and "HARPREET"; "AYAAN MOHAMED" and "AYAAN"
            cll.ArrayIntersectLevel("forename_parts", 1).configure(
                label_for_charts="One part of a forename of several parts"
            ),
            cll.CustomLevel(
                "forename_dm1_l = forename_dm1_r OR forename_dm1_l = forename_dm2_r "
                "OR forename_dm2_l = forename_dm1_r",
                label_for_charts="Double metaphone",
            ),
            cll.JaroWinklerLevel("forename", 0.8),
            cll.CustomLevel(_HALF_SWAP, label_for_charts="One name in the other's field"),
            cll.ElseLevel(),
        ],
    )


def _surname() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="surname",
        comparison_description="Surname, with parts of double-barrelled names and phonetics",
        comparison_levels=[
            cll.NullLevel("surname"),
            cll.ExactMatchLevel("surname").configure(tf_adjustment_column="surname"),
            # a swap is counted once, by the forename comparison: here it weighs nothing
            cll.CustomLevel(
                "forename_l = surname_r AND surname_l = forename_r",
                label_for_charts="Swapped (counted under forename)",
            ).configure(is_null_level=True),
            _SwappedLevel(SWAP_JW).configure(
                is_null_level=True, label_for_charts="Swapped with a typo (counted under forename)"
            ),
            cll.JaroWinklerLevel("surname", 0.92),
            # SINGH GILL and GILL; KOWALSKA and KOWALSKI (issue 15)
            cll.CustomLevel(
                "surname_core_l = surname_core_r",
                label_for_charts="Same family name, title names and gendered endings aside",
            ),
            cll.ArrayIntersectLevel("surname_parts", 1).configure(
                label_for_charts="One part of a double-barrelled surname"
            ),
            # SINGH or BEGUM against a family name: says nothing either way
            cll.CustomLevel(
                "surname_title_l OR surname_title_r",
                label_for_charts="A title name (Singh, Kaur, Begum, Khatun) on one side",
            ).configure(is_null_level=True),
            cll.CustomLevel(
                "surname_dm1_l = surname_dm1_r OR surname_dm1_l = surname_dm2_r "
                "OR surname_dm2_l = surname_dm1_r",
                label_for_charts="Double metaphone",
            ),
            cll.JaroWinklerLevel("surname", 0.8),
            cll.ElseLevel(),
        ],
    )


def _dob() -> cl.CustomComparison:
    agree = (
        "(CASE WHEN dob_year_l = dob_year_r THEN 1 ELSE 0 END"
        " + CASE WHEN dob_month_l = dob_month_r THEN 1 ELSE 0 END"
        " + CASE WHEN dob_day_l = dob_day_r THEN 1 ELSE 0 END)"
    )
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_description="Date of birth",
        comparison_levels=[
            cll.NullLevel("dob_str"),
            cll.ExactMatchLevel("dob_str").configure(label_for_charts="Exact"),
            cll.CustomLevel(
                "dob_year_l = dob_year_r AND dob_day_l = dob_month_r AND dob_month_l = dob_day_r",
                label_for_charts="Day and month swapped",
            ),
            cll.CustomLevel(f"{agree} = 2", label_for_charts="One of day, month, year differs"),
            # Fixed, not learned: at a million records the partnership holds many
            # namesakes (a parent and child at one address share forename, surname and
            # postcode), and EM, seeing them agree on everything else, takes a date of
            # birth years apart for an ordinary difference within one child's records.
            cll.CustomLevel(
                "abs(dob_days_l - dob_days_r) <= 365", label_for_charts="Within a year"
            ).configure(m_probability=DOB_APART_M, fix_m_probability=True),
            cll.ElseLevel().configure(m_probability=DOB_APART_M, fix_m_probability=True),
        ],
    )


def _sex() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="sex",
        comparison_description="Sex (unknown counts as missing)",
        comparison_levels=[cll.NullLevel("sex"), cll.ExactMatchLevel("sex"), cll.ElseLevel()],
    )


def _postcode() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="postcode",
        comparison_description="Postcode: full, sector, district",
        comparison_levels=[
            cll.NullLevel("postcode_district"),
            cll.ExactMatchLevel("postcode").configure(tf_adjustment_column="postcode"),
            cll.CustomLevel("postcode_sector_l = postcode_sector_r", label_for_charts="Sector"),
            cll.CustomLevel(
                "postcode_district_l = postcode_district_r "
                "AND (postcode_l IS NULL OR postcode_r IS NULL)",
                label_for_charts="District, where one record holds only the district",
            ),
            cll.CustomLevel(
                "postcode_district_l = postcode_district_r", label_for_charts="District"
            ),
            cll.ElseLevel(),
        ],
    )


def _identifiers() -> cl.CustomComparison:
    both = (
        "(nhs_number_l IS NOT NULL AND nhs_number_r IS NOT NULL) "
        "OR (upn_l IS NOT NULL AND upn_r IS NOT NULL) "
        "OR (pnc_id_l IS NOT NULL AND pnc_id_r IS NOT NULL)"
    )
    return cl.CustomComparison(
        output_column_name="identifiers",
        comparison_description="NHS number, UPN, PNC id (valid ones only)",
        comparison_levels=[
            cll.CustomLevel(f"NOT ({both})", label_for_charts="No identifier on both").configure(
                is_null_level=True
            ),
            cll.CustomLevel(
                "nhs_number_l = nhs_number_r OR upn_l = upn_r OR pnc_id_l = pnc_id_r",
                label_for_charts="An identifier agrees",
            ),
            cll.ElseLevel().configure(label_for_charts="Identifiers differ"),
        ],
    )


# Twins (issue 15): two records with one date of birth (or its day and month swapped) and
# one surname (give or take a typo) but first names that are not one name (no typo,
# nickname, shared part or sound) are, far more often than chance says, two children of
# one family. The level's weight is fixed (TWIN_WEIGHT bits), not learned: random pairs
# almost never show it, so EM would read it as evidence for a match.
TWIN_WEIGHT = -12.0


def _twins() -> cl.CustomComparison:
    family = (
        "dob_year_l = dob_year_r "
        "AND ((dob_month_l = dob_month_r AND dob_day_l = dob_day_r) "
        "OR (dob_month_l = dob_day_r AND dob_day_l = dob_month_r)) AND forename_l <> forename_r"
    )
    return cl.CustomComparison(
        output_column_name="twins",
        comparison_description="Same birth date and surname, unrelated first names",
        comparison_levels=[
            cll.CustomLevel(
                "forename_l IS NULL OR forename_r IS NULL OR dob_str_l IS NULL "
                "OR dob_str_r IS NULL OR surname_l IS NULL OR surname_r IS NULL",
                label_for_charts="Not comparable",
            ).configure(is_null_level=True),
            cll.And(
                cll.CustomLevel(family),
                cll.Or(
                    cll.ExactMatchLevel("surname"),
                    cll.JaroWinklerLevel("surname", 0.92),
                    cll.CustomLevel("surname_core_l = surname_core_r"),
                    cll.ArrayIntersectLevel("surname_parts", 1),
                    cll.CustomLevel("surname_title_l OR surname_title_r"),
                ),
                cll.Not(cll.ArrayIntersectLevel("forename_groups", 1)),
                cll.Not(cll.ArrayIntersectLevel("forename_parts", 1)),
                cll.Not(cll.JaroWinklerLevel("forename", 0.88)),
                cll.CustomLevel(
                    "coalesce(forename_dm1_l <> forename_dm1_r, true) "
                    "AND coalesce(forename_dm2_l <> forename_dm2_r, true)"
                ),
                # twins hold identifiers of their own: a declared identifier that agrees,
                # or is one mistyped digit apart, says one person whose first name changed
                cll.Or(
                    cll.CustomLevel("id_keys_l IS NULL OR id_keys_r IS NULL"),
                    cll.And(
                        cll.Not(cll.ArrayIntersectLevel("id_keys", 1)),
                        cll.Not(cll.DamerauLevenshteinLevel("id_key", 1)),
                    ),
                ),
            ).configure(
                label_for_charts="Twins: one family, another first name",
                m_probability=2**TWIN_WEIGHT * 0.5,
                u_probability=0.5,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            cll.ElseLevel().configure(
                m_probability=0.5, u_probability=0.5, fix_m_probability=True, fix_u_probability=True
            ),
        ],
    )


def _declared_ids() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="declared_ids",
        comparison_description="Identifiers of the kinds partnership.yaml declares, by scope",
        comparison_levels=[
            cll.Or(
                cll.NullLevel("id_kinds"), cll.Not(cll.ArrayIntersectLevel("id_kinds", 1))
            ).configure(is_null_level=True, label_for_charts="No kind held by both"),
            cll.ArrayIntersectLevel("id_keys", 1).configure(
                label_for_charts="An identifier of a declared kind agrees"
            ),
            # one mistyped or transposed digit (the first identifier of each record)
            cll.DamerauLevenshteinLevel("id_key", 1).configure(
                label_for_charts="One character apart"
            ),
            cll.ElseLevel().configure(label_for_charts="Same kind, different value"),
        ],
    )


def _address() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="address",
        comparison_description="Free-text address: house number and words (postcode aside)",
        comparison_levels=[
            cll.NullLevel("address_tokens"),
            # every letter and digit alike, with a house number: one home, however its
            # words were spaced or punctuated
            cll.CustomLevel(
                "address_compact_l = address_compact_r AND house_number_l IS NOT NULL",
                label_for_charts="The same address, spacing and punctuation aside",
            ),
            cll.And(
                cll.ExactMatchLevel("house_number"), cll.ArrayIntersectLevel("address_tokens", 3)
            ).configure(label_for_charts="House number and three words or more"),
            cll.And(
                cll.ExactMatchLevel("house_number"), cll.ArrayIntersectLevel("address_tokens", 2)
            ).configure(label_for_charts="House number and another word"),
            # the same street and place at another house number (or none): a neighbour, or
            # one house number mistyped
            cll.ArrayIntersectLevel("address_tokens", 3).configure(
                label_for_charts="Three words or more, not the house number"
            ),
            cll.ArrayIntersectLevel("address_tokens", 2).configure(
                label_for_charts="Two words (street, place)"
            ),
            cll.ArrayIntersectLevel("address_tokens", 1).configure(label_for_charts="One word"),
            cll.ElseLevel(),
        ],
    )


def person_settings() -> SettingsCreator:
    """joinedup's model for person records."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            _forename(),
            _surname(),
            _dob(),
            _sex(),
            _postcode(),
            _identifiers(),
            _declared_ids(),
            _address(),
            _twins(),
        ],
        blocking_rules_to_generate_predictions=[
            {"blocking_rule": f"{sql} AND {SAME_PERSON_BY_IDENTIFIER}"} for _, sql in BLOCKING_RULES
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
        additional_columns_to_retain=[],
    )


def generic_settings() -> SettingsCreator:
    """Splink's own example configuration for person data, mapped onto our columns.

    This is the model of Splink's "deduplicate 50k synthetic" example (people with first
    name, surname, date of birth, postcode, birth place, occupation), the tutorial set-up
    for person records that scales: ``ForenameSurnameComparison``,
    ``DateOfBirthComparison``, ``PostcodeComparison`` and its blocking rules. Birth place
    and occupation have no counterpart here and are left out; ``postcode_fake`` is our
    postcode. (Splink's README example, which blocks on surname alone, grows with the
    square of the data and does not finish at a million records on this machine.)
    """
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.ForenameSurnameComparison(
                "forename", "surname", forename_surname_concat_col_name="forename_surname"
            ),
            cl.DateOfBirthComparison("dob_str", input_is_string=True),
            cl.PostcodeComparison("postcode"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("substr(forename,1,3)", "substr(surname,1,4)"),
            block_on("surname", "dob_str"),
            block_on("forename", "dob_str"),
            block_on("postcode", "forename"),
            block_on("postcode", "surname"),
            block_on("substr(postcode,1,3)", "dob_str"),
            block_on("substr(postcode,1,3)", "forename"),
            block_on("substr(postcode,1,3)", "surname"),
            block_on("substr(forename,1,2)", "substr(surname,1,2)", "substr(dob_str,1,4)"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


# The example's training: the prior from three deterministic rules (recall 0.6), u by
# random sampling (5 million pairs), m by EM blocked on names, then on date of birth.
GENERIC_PRIOR_RULES: tuple[Any, ...] = (
    block_on("forename", "surname", "dob_str"),
    block_on("substr(forename,1,2)", "surname", "substr(postcode,1,2)"),
    block_on("dob_str", "postcode"),
)
GENERIC_PRIOR_RECALL = 0.6
GENERIC_U_PAIRS = 5e6
GENERIC_EM_RULES: tuple[Any, ...] = (block_on("forename", "surname"), block_on("dob_str"))
GENERIC_THRESHOLD = 0.95
