"""Expected headline figures from the synthetic truth: the truth harness (issue 14, item 8).

:func:`expected_figures` turns a folder written by :func:`~joinedup.synth.generate` into
the figures a partnership should see, worked out from the TRUTH and never from a release:

- who each record is about comes from ``truth/record_person.csv`` (perfect linkage);
- each person's true date of birth and addresses come from the generator's own
  population, rebuilt from the folder's seed (``.joinedup-synth.json``): the same
  ``people`` and ``seed`` give the same people, byte for byte;
- what each agency recorded (dates, roles, codes, places) is read from its extract in
  the native shape the generator wrote, and its codes are given the meaning the
  synthetic agency gives them (``synth.crosswalks``; CIN factors as the CIN census).

The release can differ from these figures only through linkage error, the mess in
recorded identities (a wrong date of birth, an old address) and the product's
definitions; docs/synthetic-data.md ("The truth harness") states every definition below
and tests/test_truth_harness.py compares the product's answers with them.

Definitions (a *concern event* is an event with at least one exploitation type; a
police occurrence is one event however many people it involves):

- **Children with a concern**: persons under 18 (true date of birth) on the date of a
  concern event in the period, recorded on it in any role but witness. By type: each
  report group (and taxonomy code) recorded on those events; "Type not stated" only for a
  child none of whose concern events ever states a type. By authority: where the child
  lives (see below); "Lives outside the partnership" when that address is outside it.
- **Where a person lives**: the address held on the date of the person's latest record
  in any extract. The release can know a move only from a record made after it, so the
  true address on the reference date would count, against the release, children whose
  move no agency has yet recorded (measured in docs/synthetic-data.md).
- **Known to one agency**: children with a concern of whom exactly one agency holds any
  record (all time): the three Wexbury sheets are one agency, the two police extracts
  another.
- **Persons of concern linked to 2 or more children**: persons recorded as a suspect,
  offender or person of concern on a concern event in the period who, on any event on
  which they had such a role (with or without a code), were recorded with two or more
  distinct children with a concern (all time), each in any role but witness and under 18
  that day.
- **Missing episodes**: episodes of children under 18 when they went missing, started in
  the period. An episode's return home interview is the one the children's services
  wrote for it (Wexbury's sheet names the episode's start; Ashdown's are in episode
  order); offered (completed) within 72 hours: on or before the third day after the day
  the child was found.
- **Young adults with a concern**: persons aged 18 to 24 on the reference date who were
  the victim or subject of a concern event in the period at any age, or had a concern as
  a child in it; *known to children's services before 18*: of those, the ones with a
  record in a children's social care extract dated before their 18th birthday.
- **Places**: for each named place (name and postcode as the police recorded it, home
  addresses left out), the distinct children with a concern event there in the period;
  the planted places are those in ``truth/scenario_places.csv``.
"""

from __future__ import annotations

import calendar
import json
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from joinedup.config import PartnershipConfig, load_config
from joinedup.errors import ConfigError, JoinedupError
from joinedup.synth.geography import build_geography
from joinedup.synth.names import NameBook
from joinedup.synth.people import Person, age_on, build_people
from joinedup.synth.recorded import TruthRow, planted_places, read_truth_rows, truth_ids
from joinedup.taxonomy import load_taxonomy

__all__ = [
    "CSC_SOURCES",
    "LIVES_OUTSIDE",
    "Expected",
    "SynthTruth",
    "TruthRow",
    "default_period_bounds",
    "expected_figures",
    "load_truth",
    "read_truth_rows",
]

#: The authority value of a child who lives outside the partnership's authorities.
LIVES_OUTSIDE = "Lives outside the partnership"
NOT_STATED = "Type not stated"
CSC_SOURCES = ("wexbury_csc_contacts", "wexbury_csc_assessments", "wexbury_csc_rhi", "ashdown_csc")
_SUSPECT = "person_of_concern"


@dataclass
class Expected:
    """The expected figures for one period (sets of true person ids, or of record ids)."""

    start: date | None
    end: date | None
    reference: date
    children: set[str] = field(default_factory=set)
    by_group: dict[str, set[str]] = field(default_factory=dict)
    by_type: dict[str, set[str]] = field(default_factory=dict)
    by_authority: dict[str, set[str]] = field(default_factory=dict)
    by_role: dict[str, set[str]] = field(default_factory=dict)
    known_to_one_agency: set[str] = field(default_factory=set)
    non_resident: set[str] = field(default_factory=set)
    persons_of_concern: set[str] = field(default_factory=set)
    linked_to_two_or_more: set[str] = field(default_factory=set)
    missing_episodes: set[str] = field(default_factory=set)
    rhi_offered_72h: set[str] = field(default_factory=set)
    rhi_completed_72h: set[str] = field(default_factory=set)
    young_adults: set[str] = field(default_factory=set)
    young_adults_known_to_csc: set[str] = field(default_factory=set)
    #: children counted under a group only by reading police offence codes as well as
    #: flags (a Home Office class such as 92A, drug supply, read as CCE): not the truth
    offence_only: dict[str, set[str]] = field(default_factory=dict)
    places: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    planted_places: set[tuple[str, str]] = field(default_factory=set)

    def ranked_places(self) -> list[tuple[tuple[str, str], int]]:
        """Places by distinct children, most first (ties by name)."""
        return sorted(((k, len(v)) for k, v in self.places.items()), key=lambda x: (-x[1], x[0]))


def default_period_bounds(reference: date, months: int = 12) -> tuple[date, date]:
    """The ``months`` whole months ending with the reference date's month."""
    index = reference.year * 12 + reference.month - months
    start = date(index // 12, index % 12 + 1, 1)
    end = date(reference.year, reference.month, calendar.monthrange(*reference.timetuple()[:2])[1])
    return start, end


# --- reading the truth ----------------------------------------------------------------


def _people(folder: Path) -> tuple[dict[str, Person], dict[str, str], dict[str, str]]:
    """The true people, rebuilt from the folder's seed; with postcode -> authority code and
    authority code -> name."""
    try:
        marker = json.loads((folder / ".joinedup-synth.json").read_text(encoding="utf-8"))
        n, seed = int(marker["people"]), int(marker["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(
            f"{folder} has no readable .joinedup-synth.json; expected figures need a folder "
            "written by `joinedup synth`."
        ) from None
    geo = build_geography(random.Random(f"{seed}:geography"), n)
    people = build_people(random.Random(f"{seed}:people"), geo, NameBook(), n)
    where = {pc: geo.authority_of(pc) for codes in geo.postcodes.values() for pc in codes}
    names = {a.code: a.name for a in geo.authorities}
    return {p.pid: p for p in people}, where, names


# --- the figures ----------------------------------------------------------------------


def _report_group(config: PartnershipConfig, code: str) -> str:
    """A code's report group; a local extension's is its parent's (partnership.yaml's
    taxonomy_extensions); "Other" for a code with neither."""
    tax = load_taxonomy()
    for _ in range(5):
        try:
            return tax.report_group(code)
        except JoinedupError:
            local = config.taxonomy_extensions.get("exploitation_type", {}).get(code)
            parent = getattr(local, "parent", None)
            if not parent:
                return "Other"
            code = str(parent)
    return "Other"


def _in(day: date | None, start: date | None, end: date | None) -> bool:
    if start is None and end is None:
        return True
    return day is not None and (start is None or day >= start) and (end is None or day <= end)


def _eighteenth(dob: date) -> date:
    try:
        return dob.replace(year=dob.year + 18)
    except ValueError:  # 29 February
        return date(dob.year + 18, 3, 1)


class SynthTruth:
    """The truth of one synthetic partnership folder, read once: every record with its
    true person, the true people, the events' types, homes and interviews.
    :meth:`figures` gives the expected figures of any period."""

    def __init__(self, folder: Path, rows: list[TruthRow], reference: date | None) -> None:
        self.people, where, names = _people(folder)
        unknown = {r.person_id for r in rows} - set(self.people)
        if unknown:
            raise ConfigError(
                f"{folder}: {len(unknown)} person id(s) in truth/record_person.csv are not in "
                "the population rebuilt from the folder's seed; the folder was written by a "
                "different generator. Regenerate it with `joinedup synth`."
            )
        self.rows = rows
        self.planted_places = planted_places(folder)
        self.reference = reference or date(2026, 10, 31)
        config = load_config(folder, check_files=False)
        self.group = {c: _report_group(config, c) for r in rows for c in r.types}
        self.types = self._event_types(lambda r: r.types)
        # what a reader of police offence codes as well as flags would count (explains a gap)
        self.group.update({c: _report_group(config, c) for r in rows for c in r.offence_types})
        self.types_with_offences = self._event_types(lambda r: (*r.types, *r.offence_types))
        # every record counts for the agencies that know a person, read or not
        agency_of = {src.id: src.agency for src in config.sources}
        self.agencies: dict[str, set[str]] = defaultdict(set)
        for (source, _rid), pid in truth_ids(folder).items():
            self.agencies[pid].add(agency_of.get(source, source))
        self.last_seen: dict[str, date] = {}
        for r in rows:
            if r.day is not None and r.day > self.last_seen.get(r.person_id, date.min):
                self.last_seen[r.person_id] = r.day
        self.home: dict[str, str] = {}
        for pid, day in self.last_seen.items():
            code = where.get(self.people[pid].postcode_on(day))
            self.home[pid] = names.get(code or "", LIVES_OUTSIDE)
        self.rhi = self._pair_interviews()

    def _event_types(self, of: Callable[[TruthRow], tuple[str, ...]]) -> dict[str, set[str]]:
        """Each event's types, from all its rows: a "type not stated" code only on an event
        that states no type; an online flag beside a CSE flag makes the event online only
        (in this generator only the online scenarios' crimes carry both: "ONL;CSE")."""
        types: dict[str, set[str]] = defaultdict(set)
        for r in self.rows:
            types[r.event_id].update(of(r))
        out = {}
        for event, ts in types.items():
            stated = {t for t in ts if self.group[t] != NOT_STATED}
            if "online" in stated:
                stated.discard("cse")
            if stated or ts:
                out[event] = stated or ts
        return out

    def age(self, pid: str, day: date | None) -> int | None:
        return None if day is None else age_on(self.people[pid].dob, day)

    def child_on(self, r: TruthRow) -> bool:
        age = self.age(r.person_id, r.day)
        return age is not None and age < 18 and r.role != "witness"

    def _pair_interviews(self) -> dict[str, tuple[date | None, date | None]]:
        """Missing episode record id -> (offered, completed) of the interview written
        for it: on the episode's own row, Wexbury's by the episode's start, Ashdown's
        in episode order."""
        episodes: dict[str, list[TruthRow]] = defaultdict(list)
        wex: dict[str, list[TruthRow]] = defaultdict(list)
        ash: dict[str, list[TruthRow]] = defaultdict(list)
        for r in self.rows:
            if r.source == "police_missing":
                episodes[r.person_id].append(r)
            elif r.source == "wexbury_csc_rhi":
                wex[r.person_id].append(r)
            elif r.source == "ashdown_csc" and r.kind == "Return Home Interview":
                ash[r.person_id].append(r)
        out: dict[str, tuple[date | None, date | None]] = {}
        for pid, eps in episodes.items():
            key = lambda r: (len(r.record_id), r.record_id)  # noqa: E731 (writer order)
            due = [
                e
                for e in sorted(eps, key=key)
                if e.end is not None and (self.age(pid, e.day) or 99) < 18
            ]
            for e in [e for e in due if e.interview is not None]:
                out[e.record_id] = e.interview  # type: ignore[assignment]
                due.remove(e)
            for w in sorted(wex.get(pid, []), key=key):
                match = next((e for e in due if e.day == w.episode_start), None)
                if match is not None:
                    out[match.record_id] = (w.day, w.end)
                    due.remove(match)
            for e, a in zip(due, sorted(ash.get(pid, []), key=key), strict=False):
                out[e.record_id] = (a.day, a.end)
        return out

    def figures(self, start: date | None = None, end: date | None = None) -> Expected:
        """The expected figures for the period ``start``..``end`` (inclusive; None on
        both sides: all time)."""
        return _figures(self, start, end)


def load_truth(folder: Path, *, reference: date | None = None) -> SynthTruth:
    """Read the truth of the synthetic partnership in ``folder`` (reference date: the
    generator's, 31 October 2026, unless given)."""
    folder = Path(folder)
    return SynthTruth(folder, read_truth_rows(folder), reference)


def expected_figures(
    folder: Path,
    *,
    start: date | None = None,
    end: date | None = None,
    reference: date | None = None,
) -> Expected:
    """The expected figures of the synthetic partnership in ``folder`` for the period
    ``start``..``end`` (inclusive dates; None on both sides: all time)."""
    return load_truth(folder, reference=reference).figures(start, end)


def _figures(facts: SynthTruth, start: date | None, end: date | None) -> Expected:
    out = Expected(start, end, facts.reference, planted_places=set(facts.planted_places))
    concern = [r for r in facts.rows if r.event_id in facts.types]
    child_rows = [r for r in concern if facts.child_on(r)]
    ever_child = {r.person_id for r in child_rows}
    stated: dict[str, set[str]] = defaultdict(set)
    roles: dict[str, set[str]] = defaultdict(set)
    for r in child_rows:
        stated[r.person_id].update(
            g for g in (facts.group[t] for t in facts.types[r.event_id]) if g != NOT_STATED
        )
        roles[r.person_id].add(r.role)
    for r in child_rows:
        if not _in(r.day, start, end):
            continue
        pid = r.person_id
        out.children.add(pid)
        for t in facts.types[r.event_id]:
            group = facts.group[t]
            if group != NOT_STATED or not stated[pid]:
                out.by_group.setdefault(group, set()).add(pid)
                out.by_type.setdefault(t, set()).add(pid)
        if r.place is not None:
            out.places.setdefault(r.place, set()).add(pid)
    for pid in out.children:
        out.by_authority.setdefault(facts.home[pid], set()).add(pid)
        victim = bool(roles[pid] & {"victim", "subject"})
        suspect = _SUSPECT in roles[pid]
        role = (
            "Both" if victim and suspect
            else "Recorded as suspect or offender" if suspect
            else "Recorded as victim" if victim
            else "Recorded as associate only"
        )  # fmt: skip
        out.by_role.setdefault(role, set()).add(pid)
        if len(facts.agencies[pid]) == 1:
            out.known_to_one_agency.add(pid)
        if facts.home[pid] == LIVES_OUTSIDE:
            out.non_resident.add(pid)
    for r in facts.rows:
        extra = facts.types_with_offences.get(r.event_id, set()) - facts.types.get(
            r.event_id, set()
        )
        if extra and facts.child_on(r) and _in(r.day, start, end):
            for group in {facts.group[t] for t in extra}:
                if r.person_id not in out.by_group.get(group, set()):
                    out.offence_only.setdefault(group, set()).add(r.person_id)
    _persons_of_concern(facts, out, concern, ever_child)
    _missing(facts, out)
    _young_adults(facts, out, concern)
    return out


def _persons_of_concern(
    facts: SynthTruth, out: Expected, concern: list[TruthRow], ever_child: set[str]
) -> None:
    out.persons_of_concern = {
        r.person_id for r in concern if r.role == _SUSPECT and _in(r.day, out.start, out.end)
    }
    by_event: dict[str, list[TruthRow]] = defaultdict(list)
    for r in facts.rows:
        by_event[r.event_id].append(r)
    linked: dict[str, set[str]] = defaultdict(set)
    for involved in by_event.values():
        kids = {r.person_id for r in involved if facts.child_on(r) and r.person_id in ever_child}
        for r in involved:
            if r.role == _SUSPECT:
                linked[r.person_id].update(kids - {r.person_id})
    out.linked_to_two_or_more = {p for p in out.persons_of_concern if len(linked[p]) >= 2}


def _missing(facts: SynthTruth, out: Expected) -> None:
    for r in facts.rows:
        if r.source != "police_missing" or not _in(r.day, out.start, out.end):
            continue
        if (facts.age(r.person_id, r.day) or 99) >= 18:
            continue
        out.missing_episodes.add(r.record_id)
        offered, completed = facts.rhi.get(r.record_id, (None, None))
        if r.end is None:
            continue
        if offered is not None and (offered - r.end).days <= 3:
            out.rhi_offered_72h.add(r.record_id)
        if completed is not None and (completed - r.end).days <= 3:
            out.rhi_completed_72h.add(r.record_id)


def _young_adults(facts: SynthTruth, out: Expected, concern: list[TruthRow]) -> None:
    for r in concern:
        if not _in(r.day, out.start, out.end):
            continue
        if not 18 <= age_on(facts.people[r.person_id].dob, facts.reference) <= 24:
            continue
        if r.role in ("victim", "subject") or facts.child_on(r):
            out.young_adults.add(r.person_id)
    for r in facts.rows:
        if r.source in CSC_SOURCES and r.person_id in out.young_adults and r.day is not None:
            if r.day < _eighteenth(facts.people[r.person_id].dob):
                out.young_adults_known_to_csc.add(r.person_id)
