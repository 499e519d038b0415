"""Children's social care: Wexbury's Excel workbook and Ashdown's CSV, each in its own shape.

Wexbury exports a workbook with three sheets (Contacts, with a two-row title above the
header; Assessments, with CIN census factor codes; Return home interviews). Ashdown exports
one CSV of "episodes" with its own column names, dates like 07-May-2012, NHS numbers with
spaces and ethnicity in words.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from joinedup.synth.context import ETHNICITY_WORDS, Context, count, local_id, test_person
from joinedup.synth.mess import Mess, Profile, Recorded
from joinedup.synth.people import AGENCY_BITS, REFERENCE_DATE, Person, age_on
from joinedup.synth.writer import CsvOut, SourceOut, XlsxBook, dob_text

__all__ = ["ASHDOWN_FILE", "CIN_FACTORS", "CONTACT_REASONS", "WEXBURY_FILE", "write_social_care"]

WEXBURY_FILE = "extracts/wexbury_csc/wexbury_childrens_services_20261031.xlsx"
ASHDOWN_FILE = "extracts/ashdown_csc/ashdown_cs_episodes_20261031.csv"

CONTACT_REASONS = ("DA", "NEG", "MH", "BEH", "MISS", "PHY", "SA", "SUB", "HOU", "CSE", "CCE", "ONL")
_REASON_WEIGHTS = (22, 18, 12, 12, 6, 8, 4, 6, 6, 1.5, 1.5, 1)
_SOURCES = ("Police", "School", "Health", "Anonymous", "Family/friend", "Housing", "Self")
# The contact's source as the CIN census codes a referral's source (built-in code list).
_REFERRAL_SOURCE = {
    "Police": "6",
    "School": "2A",
    "Health": "3D",
    "Anonymous": "9",
    "Family/friend": "1A",
    "Housing": "4",
    "Self": "1C",
}
# An assessment starting this soon after a Wexbury contact is the one it led to, recorded
# on the contact's row; the Assessments sheet holds the others (children already open).
_FOLLOWS_WITHIN = timedelta(days=30)
CIN_FACTORS = (
    ("3A", 10),
    ("3B", 14),
    ("4A", 8),
    ("4B", 10),
    ("1B", 5),
    ("2B", 6),
    ("2A", 3),
    ("16A", 8),
    ("17A", 6),
    ("14A", 5),
    ("15A", 4),
    ("7A", 2),
    ("9A", 1),
    ("21", 6),
    ("10A", 3.5),
    ("11A", 1.2),
    ("24A", 1.2),
    ("13A", 0.8),
    ("12A", 0.3),
    ("23A", 0.3),
)
# Ashdown records concerns at contact as CIN-style factor codes, plus its own OE (online).
_ASHDOWN_CONTACT_FACTORS = {"CSE": "11A", "CCE": "24A", "ONL": "OE", "MISS": "10A", "DA": "3A"}
_SEX_CODES = {"M": "1", "F": "2", "U": "0"}
_SEX_WORDS = {"M": "Male", "F": "Female", "U": "Unknown"}
_PROFILE = Profile(nhs_missing=0.35, upn_missing=0.45, pnc_missing=1.0, nickname=0.03)
_ASHDOWN_PROFILE = Profile(nhs_missing=0.45, upn_missing=0.6, pnc_missing=1.0, nickname=0.04)


def _day(d: datetime | date) -> datetime:
    return datetime(d.year, d.month, d.day)


def _pick_weighted(rng: random.Random, options: tuple[tuple[str, float], ...], k: int) -> list[str]:
    out: list[str] = []
    total = sum(w for _, w in options)
    while len(out) < k:
        roll = rng.random() * total
        for code, weight in options:
            roll -= weight
            if roll < 0:
                if code not in out:
                    out.append(code)
                break
    return out


class _Wexbury:
    def __init__(self, ctx: Context, rng: random.Random) -> None:
        self.rng = rng
        self.mess = Mess(rng, ctx.names, _PROFILE)
        self.book = XlsxBook(ctx.root, WEXBURY_FILE)
        ident = ["UPN", "NHSNumber", "Forename", "Surname"]
        person = ["DateOfBirth", "GenderCode", "EthnicityCode", "Postcode"]
        cols = {"dob": "DateOfBirth", "nhs": "NHSNumber", "upn": "UPN"}
        self.contacts = self.book.sheet(
            ctx.truth,
            "wexbury_csc_contacts",
            "Contacts",
            [
                "ContactID",
                "ChildID",
                *ident,
                "KnownAs",
                *person,
                "ContactDate",
                "ContactSource",
                "ContactReason",
                "ContactOutcome",
                "ReferralDate",
                "ReferralSource",
                "AssessmentStartDate",
                "AssessmentAuthorisedDate",
                "AssessmentFactors",
                "AssessmentOutcome",
            ],
            preamble=[
                ["Wexbury Council - Children's Services: contacts extract"],
                ["Run date: 31/10/2026. OFFICIAL-SENSITIVE."],
            ],
            columns=cols,
        )
        self.assessments = self.book.sheet(
            ctx.truth,
            "wexbury_csc_assessments",
            "Assessments",
            [
                "AssessmentID",
                "ChildID",
                *ident,
                *person,
                "AssessmentStartDate",
                "AssessmentAuthorisedDate",
                "FactorsIdentified",
                "AssessmentOutcome",
            ],
            columns=cols,
        )
        self.rhi = self.book.sheet(
            ctx.truth,
            "wexbury_csc_rhi",
            "Return home interviews",
            [
                "RHIID",
                "ChildID",
                "Forename",
                "Surname",
                "DateOfBirth",
                "GenderCode",
                "Postcode",
                "MissingEpisodeStart",
                "RHIOfferedDate",
                "RHICompletedDate",
                "RHIOutcome",
            ],
            columns={"dob": "DateOfBirth"},
        )
        for out in (self.contacts, self.assessments, self.rhi):
            ctx.register(out)
        self.n = 0

    def _ident(self, p: Person, rec: Recorded, dup: bool) -> list[object]:
        return [
            local_id("LL", p, 4_321, duplicate=dup, width=6),
            rec.upn,
            rec.nhs,
            rec.forename,
            rec.surname,
        ]

    def _person(self, p: Person, rec: Recorded) -> list[object]:
        sex = _SEX_CODES[rec.sex] if rec.sex != "U" or self.rng.random() < 0.5 else "9"
        return [dob_text(rec, p, "%Y-%m-%d"), sex, rec.ethnicity, rec.postcode]

    def contact(
        self,
        p: Person,
        when: datetime,
        reason: str,
        dup: bool,
        assessment: tuple[datetime, str] | None = None,
    ) -> None:
        """A contact row, carrying the referral it led to and the assessment that followed
        (``assessment``: its start and CIN factor codes), as the front-door sheet does."""
        rng = self.rng
        if self.contacts.want_test():
            self.contact(test_person(rng), when, "NEG", False)
        rec = self.mess.record(p, when.date(), duplicate=dup)
        self.n += 1
        rid = f"C{self.n:07d}"
        outcome = rng.choice(
            ("NFA", "Information and advice", "Early Help", "Referral to CSC", "Referral to CSC")
        )
        if reason in ("CSE", "CCE", "ONL"):
            outcome = rng.choice(("Referral to CSC", "Strategy discussion"))
        if assessment is not None:
            outcome = "Referral to CSC"
        known = p.preferred if p.preferred and rng.random() < 0.6 else ""
        source = rng.choice(_SOURCES)
        referral: list[object] = [None, ""]
        if outcome in ("Referral to CSC", "Strategy discussion"):
            day = when + timedelta(days=rng.choice((0, 0, 1, 2)))
            if assessment is not None:
                day = min(day, assessment[0])
            if day.date() <= REFERENCE_DATE:
                referral = [_day(day), _REFERRAL_SOURCE[source]]
        followed: list[object] = [None, None, "", ""]
        if assessment is not None:
            start, factors = assessment
            done = start + timedelta(days=rng.randint(7, 45))
            authorised = _day(done) if done.date() <= REFERENCE_DATE else None
            outcome_a = rng.choice(
                ("CIN plan", "Section 47 enquiry", "NFA", "Step down to Early Help")
            )
            followed = [
                _day(start),
                authorised,
                factors if authorised else "",
                outcome_a if authorised else "",
            ]
        values = [
            rid,
            *self._ident(p, rec, dup),
            known,
            *self._person(p, rec),
            _day(when),
            source,
            reason,
            outcome,
            *referral,
            *followed,
        ]
        self.contacts.write(values, rid, p, rec)

    def assessment(self, p: Person, start: datetime, factors: str, dup: bool) -> None:
        rng = self.rng
        if self.assessments.want_test():
            self.assessment(test_person(rng), start, "21", False)
        rec = self.mess.record(p, start.date(), duplicate=dup)
        self.n += 1
        rid = f"A{self.n:07d}"
        done = start + timedelta(days=rng.randint(7, 45))
        authorised = _day(done) if done.date() <= REFERENCE_DATE else None
        outcome = rng.choice(("CIN plan", "Section 47 enquiry", "NFA", "Step down to Early Help"))
        values = [
            rid,
            *self._ident(p, rec, dup),
            *self._person(p, rec),
            _day(start),
            authorised,
            factors if authorised else "",
            outcome if authorised else "",
        ]
        self.assessments.write(values, rid, p, rec)

    def interview(self, p: Person, start: datetime, found: datetime) -> None:
        rng = self.rng
        if self.rhi.want_test():
            self.interview(test_person(rng), start, found)
        rec = self.mess.record(p, found.date())
        self.n += 1
        rid = f"R{self.n:07d}"
        offered = found + timedelta(days=rng.choice((0, 1, 1, 2, 3, 5)))
        completed = offered + timedelta(days=rng.randint(0, 4)) if rng.random() < 0.62 else None
        if completed and completed.date() > REFERENCE_DATE:
            completed = None
        outcome = (
            "Completed"
            if completed
            else rng.choice(("Declined", "No response", "Not offered within 72 hours"))
        )
        values = [
            rid,
            local_id("LL", p, 4_321, width=6),
            rec.forename,
            rec.surname,
            dob_text(rec, p, "%Y-%m-%d"),
            _SEX_CODES[rec.sex],
            rec.postcode,
            _day(start),
            _day(offered),
            _day(completed) if completed else None,
            outcome,
        ]
        self.rhi.write(values, rid, p, rec)


class _Ashdown:
    def __init__(self, ctx: Context, rng: random.Random) -> None:
        self.rng = rng
        self.mess = Mess(rng, ctx.names, _ASHDOWN_PROFILE)
        header = [
            "Ref_No",
            "Person_ID",
            "Legal_Surname",
            "Legal_Forename",
            "Also_Known_As",
            "Birth_Date",
            "Sex",
            "Ethnic_Origin",
            "Post_Code",
            "NHS_No",
            "UPN",
            "Episode_Type",
            "Episode_Start",
            "Episode_End",
            "Risk_Factors",
            "Outcome",
            "Team",
        ]
        self.out: SourceOut = CsvOut(
            ctx.root,
            ctx.truth,
            "ashdown_csc",
            ASHDOWN_FILE,
            header,
            columns={"dob": "Birth_Date", "nhs": "NHS_No", "upn": "UPN"},
            test_column="Legal_Surname",
        )
        ctx.register(self.out)
        self.n = 0

    def episode(
        self,
        p: Person,
        kind: str,
        start: datetime,
        end: datetime | None,
        factors: list[str],
        outcome: str,
        dup: bool = False,
    ) -> None:
        rng = self.rng
        if self.out.want_test():
            self.episode(test_person(rng), "Contact", start, None, [], "NFA")
        rec = self.mess.record(p, start.date(), duplicate=dup)
        self.n += 1
        rid = f"ASH-{self.n:07d}"
        nhs = f"{rec.nhs[:3]} {rec.nhs[3:6]} {rec.nhs[6:]}" if rec.nhs else ""
        if end and end.date() > REFERENCE_DATE:
            end = None
        values = [
            rid,
            local_id("P", p, 98_765, duplicate=dup),
            rec.surname,
            rec.forename,
            p.preferred if p.preferred and rng.random() < 0.5 else "",
            dob_text(rec, p, "%d-%b-%Y"),
            _SEX_WORDS[rec.sex],
            ETHNICITY_WORDS.get(rec.ethnicity, "Not Yet Obtained"),
            rec.postcode,
            nhs,
            rec.upn,
            kind,
            start.strftime("%d-%b-%Y"),
            end.strftime("%d-%b-%Y") if end else "",
            "|".join(factors),
            outcome,
            rng.choice(("MASH", "Assessment Team 1", "Assessment Team 2", "Exploitation Hub")),
        ]
        self.out.write(values, rid, p, rec)


def _contact_moment(rng: random.Random, p: Person) -> datetime | None:
    span = p.eligible(0, 17)
    if span is None:
        return None
    lo, hi = span
    day = lo + timedelta(days=rng.randrange((hi - lo).days + 1))
    return datetime(day.year, day.month, day.day, rng.randrange(9, 18), rng.randrange(60))


def _assessment_after(
    items: list[tuple[datetime, str, str]], k: int, taken: set[int]
) -> int | None:
    """The index of the assessment that follows contact ``items[k]`` (the next one within
    30 days, not already taken by an earlier contact), or None."""
    when = items[k][0]
    for j in range(k + 1, len(items)):
        at, kind, _ = items[j]
        if at - when > _FOLLOWS_WITHIN:
            break
        if kind == "assessment" and j not in taken and at.date() <= REFERENCE_DATE:
            return j
        if kind == "contact":
            break
    return None


def write_social_care(ctx: Context) -> None:
    rng = ctx.rng("childrens_social_care")
    wex, ash = _Wexbury(ctx, rng), _Ashdown(ctx, rng)
    wexbury = ctx.geo.authorities[0].code
    contacts, assessments = ctx.plan.channel("csc_contact"), ctx.plan.channel("csc_assessment")
    reason_options = tuple(zip(CONTACT_REASONS, _REASON_WEIGHTS, strict=True))
    for i, p in enumerate(ctx.people):
        ctx.tick("children's social care", i + 1)
        dup = bool(p.dup & AGENCY_BITS["csc"])
        items: list[tuple[datetime, str, str]] = []  # (when, kind, reason or factors)
        if p.agencies & AGENCY_BITS["csc"]:
            for _ in range(count(rng, 3.2)):
                when = _contact_moment(rng, p)
                if when is None:
                    break
                items.append((when, "contact", _pick_weighted(rng, reason_options, 1)[0]))
                if rng.random() < 0.4:
                    factors = _pick_weighted(rng, CIN_FACTORS, rng.randint(1, 3))
                    items.append(
                        (when + timedelta(days=rng.randint(2, 20)), "assessment", ",".join(factors))
                    )
            if rng.random() < 0.12:  # an open case assessed again, with no new contact
                span = p.eligible(0, 17)
                if span is not None:
                    day = span[0] + timedelta(days=rng.randrange((span[1] - span[0]).days + 1))
                    factors = _pick_weighted(rng, CIN_FACTORS, rng.randint(1, 3))
                    items.append(
                        (datetime(day.year, day.month, day.day, 10), "review", ",".join(factors))
                    )
        items += [(e.when, "contact", e.detail) for e in contacts.get(p.pid, [])]
        items += [(e.when, "assessment", e.detail) for e in assessments.get(p.pid, [])]
        items.sort()
        taken: set[int] = set()
        for k, (when, kind, detail) in enumerate(items):
            if when.date() > REFERENCE_DATE or k in taken:
                continue
            in_wexbury = ctx.geo.authority_of(p.postcode_on(when.date())) == wexbury
            second = dup and rng.random() < 0.5
            if in_wexbury and kind == "contact":
                after = _assessment_after(items, k, taken)
                if after is not None:
                    taken.add(after)
                    follow = (items[after][0], items[after][2])
                    wex.contact(p, when, detail, second, follow)
                else:
                    wex.contact(p, when, detail, second)
            elif in_wexbury:
                wex.assessment(p, when, detail, second)
            elif kind == "contact":
                outcome = rng.choice(("NFA", "Early Help", "Progress to referral"))
                factors = (
                    [_ASHDOWN_CONTACT_FACTORS[detail]] if detail in _ASHDOWN_CONTACT_FACTORS else []
                )
                ash.episode(p, "Contact", when, when, factors, outcome, second)
                if outcome == "Progress to referral" or detail in ("CSE", "CCE", "ONL"):
                    ash.episode(
                        p, "Referral", when + timedelta(days=1), None, [], "Accepted", second
                    )
            else:
                codes = detail.split(",")
                kind_name = (
                    "Strategy Discussion"
                    if "11A" in codes and rng.random() < 0.5
                    else "C&F Assessment"
                )
                end = when + timedelta(days=rng.randint(7, 45))
                ash.episode(
                    p, kind_name, when, end, codes, rng.choice(("CIN", "CP", "NFA")), second
                )
        for m in p.missing:  # Ashdown's are on the police missing episode rows
            if age_on(p.dob, m.start.date()) >= 18 or m.end.date() > REFERENCE_DATE:
                continue
            if ctx.geo.authority_of(p.postcode_on(m.start.date())) == wexbury:
                wex.interview(p, m.start, m.end)
    wex.book.save()
    if isinstance(ash.out, CsvOut):
        ash.out.close()
