"""Comparability notes: where one authority's figure rests on weaker recording, said
beside the figure, naming the field and the gap.

Three kinds, each worked out from what the packs say about their sources (never from
the figures themselves, so a real difference in harm is not taken for a recording one):

- ``coding``: the share of an authority's children's social care records with the
  exploitation field filled in (field ``event.exploitation``), against the median of
  the other authorities: noted when it is ``coding_gap`` below that median *and* below
  ``coding_ratio`` of it.
- ``source``: a type of agency (voluntary sector, health, ...) that supplies data for at
  least ``source_share`` of the region's authorities but none for this one.
- ``local_codes``: an authority whose sources record exploitation in a local code list;
  its figures count the local codes under their shared parents.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from joinedup.config.region import ComparabilityConfig

__all__ = ["AGENCY_WORDS", "AuthorityRecording", "Note", "comparability_notes", "recording_of"]

CODING_FIELD = "event.exploitation"
CSC = "childrens_social_care"

#: How a note names a type of agency.
AGENCY_WORDS = {
    "police": "police",
    "childrens_social_care": "children's social care",
    "adult_social_care": "adult social care",
    "health": "health",
    "education": "education",
    "youth_justice": "youth justice",
    "voluntary": "voluntary-sector",
    "other": "other agencies'",
}


@dataclass(frozen=True)
class AuthorityRecording:
    """What the packs say about how one authority's data is recorded."""

    authority: str
    pack: str
    coding_share: float | None  # exploitation field filled on CSC records
    coding_records: int
    coding_at_most: bool  # a hidden numerator: the share is an upper bound
    agency_types: frozenset[str]
    local_sources: tuple[tuple[str, int, str], ...]  # (source, local codes, parents)


@dataclass(frozen=True)
class Note:
    authority: str
    pack: str
    kind: str  # coding | source | local_codes
    field: str
    text: str
    value: float | None = None
    benchmark: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def recording_of(
    authority: str,
    pack: str,
    sources: Sequence[dict[str, Any]],
    quality: Sequence[dict[str, Any]],
    threshold: int = 5,
) -> AuthorityRecording:
    """One authority's recording, from its pack's sources and quality tables: a source
    belongs to it when its agency is the authority's, or serves the whole partnership.
    A numerator the pack hid (1 to ``threshold``) is taken at ``threshold``: the share is
    then an upper bound ("at most"), which errs against noting a gap."""
    mine = [s for s in sources if s["authority"] in ("", authority)]
    ids = {s["source"] for s in mine}
    csc = {s["source"] for s in mine if s["agency_type"] == CSC and s["authority"] == authority}
    csc = csc or {s["source"] for s in mine if s["agency_type"] == CSC}
    num = den = 0
    at_most = False
    for m in quality:
        if m["source"] in csc and m["field"] == CODING_FIELD and m["measure"] == "filled":
            if m["denominator"]:
                hidden = m["numerator"] is None
                num += threshold if hidden else int(m["numerator"])
                den += int(m["denominator"])
                at_most = at_most or hidden
    locals_ = tuple(
        (s["source"], int(s["local_codes"]), str(s["local_parents"]))
        for s in mine
        if s["local_codes"] and s["source"] in ids
    )
    return AuthorityRecording(
        authority=authority,
        pack=pack,
        coding_share=min(1.0, num / den) if den else None,
        coding_at_most=at_most,
        coding_records=den,
        agency_types=frozenset(s["agency_type"] for s in mine),
        local_sources=locals_,
    )


def _pct(x: float) -> str:
    return f"{round(x * 100)}%"


def comparability_notes(
    recordings: Sequence[AuthorityRecording], cfg: ComparabilityConfig
) -> list[Note]:
    """Every note, authority by authority in the order given."""
    notes: list[Note] = []
    n = len(recordings)
    for r in recordings:
        others = [o.coding_share for o in recordings if o is not r and o.coding_share is not None]
        if r.coding_share is not None and others:
            median = statistics.median(others)
            if (
                r.coding_share < median - cfg.coding_gap
                and r.coding_share < cfg.coding_ratio * median
            ):
                notes.append(
                    Note(
                        r.authority, r.pack, "coding", CODING_FIELD,
                        f"{r.authority} records a type of exploitation on "
                        f"{'at most ' if r.coding_at_most else ''}{_pct(r.coding_share)} of its "
                        f"children's social care records (field {CODING_FIELD}), against "
                        f"{_pct(median)} (the median) in the region's other authorities: its "
                        "figures by type, and counts that rest on a recorded type, are likely "
                        "to be low.",
                        round(r.coding_share, 3), round(median, 3),
                    )
                )  # fmt: skip
        for kind in sorted(set().union(*(o.agency_types for o in recordings))):
            having = sum(1 for o in recordings if kind in o.agency_types)
            if kind not in r.agency_types and having >= cfg.source_share * n:
                words = AGENCY_WORDS.get(kind, kind.replace("_", " "))
                notes.append(
                    Note(
                        r.authority, r.pack, "source", f"agency type {kind}",
                        f"{r.authority}'s figures draw on no {words} data, which {having} of "
                        f"the region's {n} authorities supply: children known only to "
                        f"{words.removesuffix(chr(39)).removesuffix(' agencies')} services "
                        "there are not counted.",
                    )
                )  # fmt: skip
        for source, count, parents in r.local_sources:
            notes.append(
                Note(
                    r.authority, r.pack, "local_codes", f"{CODING_FIELD} ({source})",
                    f"{r.authority} records exploitation in a local code list ({count} local "
                    f"code{'s' if count != 1 else ''} in source {source}), counted here under "
                    f"the shared types {parents.replace(',', ', ')}: its figures by type "
                    "compare with others only as far as the local codes match the shared "
                    "definitions.",
                )
            )  # fmt: skip
    return notes
