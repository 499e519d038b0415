"""One pair of the review queue, side by side (``/linkage/review/{pair_key}``).

At the strategic tier a pair shows how its fields compare (same, similar, different,
missing) with its match weight, sources and agencies: nothing that identifies anyone.
Only at the operational tier (``identifying=True``) does it add both records' names,
dates of birth, sex, postcodes, record ids and person ids: that is re-identification
(another agency's record), which the caller allows only with a purpose and writes to the
audit log as such. :attr:`ReviewPairView.review_purpose` is the purpose the sharing
agreements of both records declare for review (``review_purpose``), if they do;
:func:`agreement_reviewers` the roles both records' agreements name as reviewers
(``reviewers``, issue 16).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure import Tier, policy_for
from joinedup.errors import ReleaseError
from joinedup.views.linkage import open_linkage, view_base
from joinedup.views.release import ReleaseLike
from joinedup.views.review_band import BAND_VIEW, WEAKEST_VIEW, review_pairs
from joinedup.views.review_keys import (
    PairNotFound,
    RecordKey,
    _key_secret,
    _pair_rows,
    _public_pair,
    _scope_sql,
)

__all__ = [
    "ReviewPairView",
    "agreement_reviewers",
    "current_review_pair",
    "declared_review_purpose",
    "permitted_purposes",
    "reviewer_roles",
    "withhold_identifying",
]

_IDENTITY = ("forename", "surname", "preferred_name", "dob", "sex", "postcode", "postcode_district")
_IDS = ("nhs_number", "upn", "pnc_id")


@dataclass(frozen=True)
class ReviewPairView:
    """One pair: what the tier may see (``data``) and, for the caller only, the two
    record keys (to record a decision) and person ids (to audit an identifying view)."""

    data: dict[str, Any]
    left: RecordKey
    right: RecordKey
    persons: tuple[str | None, str | None]
    agencies: tuple[str, ...]
    #: The review purpose both records' sharing agreements declare (``review_purpose``),
    #: or None when either does not: then the reviewer gives one.
    review_purpose: str | None = None
    #: The purposes both records' agreements permit (``purposes``), for the reviewer to
    #: choose from when they give a purpose.
    permitted_purposes: tuple[str, ...] = ()


#: What the operational tier adds to each side of a pair: the identifying part.
_IDENTIFYING_KEYS = ("source_record_id", "person_id", "fields")


def withhold_identifying(view: ReviewPairView) -> ReviewPairView:
    """``view`` without the records' identifying fields, record ids and person ids (as the
    strategic tier sees it: how each field compares), for a reviewer who has not given a
    purpose yet; ``data["identifying"]`` is False."""
    data = dict(view.data)
    for side in ("left", "right"):
        data[side] = {k: v for k, v in data[side].items() if k not in _IDENTIFYING_KEYS}
    data["identifying"] = False
    return replace(view, data=data)


def permitted_purposes(config: PartnershipConfig | None, sources: Iterable[str]) -> list[str]:
    """The purposes (``purposes``) that the sharing agreements of all ``sources`` permit."""
    if config is None:
        return []
    agreement_of = {s.id: s.sharing_agreement for s in config.sources}
    listed = {a.key: a.purposes for a in config.sharing_agreements}
    lists = [listed.get(agreement_of.get(source, ""), []) for source in sources]
    if not lists:
        return []
    return [p for p in dict.fromkeys(lists[0]) if all(p in other for other in lists[1:])]


def declared_review_purpose(config: PartnershipConfig | None, sources: Iterable[str]) -> str | None:
    """The review purpose the sharing agreements of ``sources`` declare, when every one of
    them declares one (distinct purposes joined with "; "), else None."""
    if config is None:
        return None
    agreement_of = {s.id: s.sharing_agreement for s in config.sources}
    declared = {a.key: a.review_purpose for a in config.sharing_agreements}
    purposes: list[str] = []
    for source in sources:
        text = declared.get(agreement_of.get(source, ""))
        if not text or not text.strip():
            return None
        if text.strip() not in purposes:
            purposes.append(text.strip())
    return "; ".join(purposes) or None


def agreement_reviewers(config: PartnershipConfig | None, sources: Iterable[str]) -> frozenset[str]:
    """The roles that the sharing agreements of every one of ``sources`` name as
    reviewers (``reviewers``), among agreements that let their records be seen at the
    operational tier: a holder may see both records of a pair between those sources."""
    if config is None:
        return frozenset()
    agreement_of = {s.id: s.sharing_agreement for s in config.sources}
    by_key = {a.key: a for a in config.sharing_agreements}
    named: list[set[str]] = []
    for source in sources:
        agreement = by_key.get(agreement_of.get(source, ""))
        if agreement is None or "operational" not in agreement.tiers:
            return frozenset()
        named.append(set(agreement.reviewers))
    return frozenset(set.intersection(*named)) if named else frozenset()


def reviewer_roles(config: PartnershipConfig | None) -> frozenset[str]:
    """Roles that any agreement allowing the operational tier names as reviewers: their
    holders may open the review queue at the operational tier."""
    if config is None:
        return frozenset()
    return frozenset(
        role for a in config.sharing_agreements if "operational" in a.tiers for role in a.reviewers
    )


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
    con, handle, config, scope = open_linkage(partnership_dir, tier, open_release, config)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    secret = _key_secret(partnership_dir, config)
    try:
        out = view_base(con, tier, policy, scope)
        rid = out["release"]["release_id"] or handle.release_id
        # Pairs that can be opened: those in the review band, those scored there but kept
        # apart, and the weakest links (the ones the pages link to), read once per
        # release with their keys (joinedup.views.review_band), not every linked pair.
        with review_pairs(con, handle, secret=secret, rid=rid, scope=scope) as pc:
            found = _pair_rows(
                pc.execute(
                    f"SELECT * EXCLUDE (ckey) FROM {BAND_VIEW} p WHERE p.pair_key = ? "
                    f"AND {_scope_sql(scope)} UNION ALL "
                    f"SELECT * FROM {WEAKEST_VIEW} p WHERE p.pair_key = ? LIMIT 1",
                    [pair_key, pair_key],
                )
            )
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
        persons = {left: row["person_l"], right: row["person_r"]}
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
    return ReviewPairView(
        data,
        left,
        right,
        (persons[left], persons[right]),
        agencies,
        declared_review_purpose(config, (left[0], right[0])),
        tuple(permitted_purposes(config, (left[0], right[0]))),
    )
