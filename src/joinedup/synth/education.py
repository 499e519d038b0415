"""Education: suspensions and permanent exclusions, and persistent absence by term.

Both files come from the two authorities' pupil data teams in one shared format: UPN,
names, DOB DD/MM/YYYY, gender M/F, DfE ethnicity codes, school URN. The absence file has
no row id and no date of its own: a row is a pupil in a term of an academic year
(``2025/26``, ``Autumn``), its id made of the three and its date from the term dates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from joinedup.synth.context import Context, count, test_person
from joinedup.synth.geography import School
from joinedup.synth.mess import Mess, Profile
from joinedup.synth.people import AGENCY_BITS, REFERENCE_DATE, Person, age_on
from joinedup.synth.writer import CsvOut, dob_text

__all__ = [
    "ABSENCE_FILE",
    "EXCLUSIONS_FILE",
    "REASONS",
    "TERMS",
    "TERM_DATES",
    "absence_id",
    "academic_term",
    "write_education",
]

EXCLUSIONS_FILE = "extracts/education/suspensions_exclusions_2023_2026.csv"
ABSENCE_FILE = "extracts/education/persistent_absence_2023_2026.csv"

REASONS = (
    ("PD", 30),
    ("VA", 12),
    ("PP", 15),
    ("PA", 6),
    ("DA", 6),
    ("WP", 3),
    ("BU", 4),
    ("DM", 3),
    ("TH", 2),
    ("SM", 1),
    ("MT", 3),
    ("OT", 5),
)
TERMS = (
    ("Summer 2023", date(2023, 4, 17), 112),
    ("Autumn 2023", date(2023, 9, 4), 140),
    ("Spring 2024", date(2024, 1, 8), 116),
    ("Summer 2024", date(2024, 4, 15), 114),
    ("Autumn 2024", date(2024, 9, 3), 142),
    ("Spring 2025", date(2025, 1, 6), 118),
    ("Summer 2025", date(2025, 4, 22), 110),
    ("Autumn 2025", date(2025, 9, 3), 142),
    ("Spring 2026", date(2026, 1, 5), 118),
    ("Summer 2026", date(2026, 4, 20), 112),
    ("Autumn 2026", date(2026, 9, 2), 78),
)
_GENDER = {"M": "M", "F": "F", "U": ""}
#: The day each term starts, as the partnership declares it (``term_dates``): the absence
#: extract gives an academic year and a term, no date.
TERM_DATES = {"autumn": "09-01", "spring": "01-05", "summer": "04-20"}


def academic_term(term: str) -> tuple[str, str]:
    """``Autumn 2025`` as the absence extract writes it: academic year ``2025/26``, term
    ``Autumn`` (spring and summer fall in the academic year's second calendar year)."""
    name, year = term.split()
    first = int(year) if name == "Autumn" else int(year) - 1
    return f"{first}/{(first + 1) % 100:02d}", name


def absence_id(upn: str, term: str) -> str:
    """The record id the mapping makes: ``parts: [UPN, AcademicYear, Term]`` joined by |."""
    return "|".join((upn, *academic_term(term)))


_PROFILE = Profile(
    upn_missing=0.02, nhs_missing=1.0, pnc_missing=1.0, nickname=0.02, ethnicity_missing=0.02
)
_ABSENCE_PROFILE = Profile(
    upn_missing=0.0, nhs_missing=1.0, pnc_missing=1.0, nickname=0.01, ethnicity_missing=0.02
)


def _school(ctx: Context, p: Person, day: date, excluded: bool) -> School:
    home = p.postcode_on(day)
    authority = (
        ctx.geo.authority_of(home) if home in ctx.geo.area_of else ctx.geo.authorities[0].code
    )
    schools = ctx.geo.schools[authority]
    if excluded:
        return schools[-1]  # the pupil referral unit
    phase = "primary" if age_on(p.dob, day) < 11 else "secondary"
    options = [s for s in schools if s.phase == phase]
    return options[int(p.pid[2:] or 0) % len(options)]


def write_education(ctx: Context) -> None:
    rng = ctx.rng("education")
    mess, absence_mess = Mess(rng, ctx.names, _PROFILE), Mess(rng, ctx.names, _ABSENCE_PROFILE)
    excl = CsvOut(
        ctx.root,
        ctx.truth,
        "education_exclusions",
        EXCLUSIONS_FILE,
        [
            "ExclRef",
            "UPN",
            "Forename",
            "Surname",
            "DOB",
            "Gender",
            "Ethnicity",
            "HomePostcode",
            "SchoolURN",
            "SchoolName",
            "SchoolPostcode",
            "Category",
            "StartDate",
            "Sessions",
            "ReasonCode",
        ],
        columns={"dob": "DOB", "upn": "UPN"},
    )
    absence = CsvOut(
        ctx.root,
        ctx.truth,
        "education_absence",
        ABSENCE_FILE,
        [
            "UPN",
            "Forename",
            "Surname",
            "DOB",
            "Gender",
            "SchoolURN",
            "AcademicYear",
            "Term",
            "SessionsPossible",
            "SessionsMissed",
        ],
        columns={"dob": "DOB", "upn": "UPN"},
    )
    ctx.register(excl)
    ctx.register(absence)
    reasons = [r for r, _ in REASONS]
    weights = [w for _, w in REASONS]
    planted = ctx.plan.channel("exclusion")
    n = 0
    n_test = 0

    def exclusion(p: Person, when: datetime, reason: str, perm: bool) -> None:
        nonlocal n
        if excl.want_test():
            exclusion(test_person(rng), when, "PD", False)
        rec = mess.record(p, when.date())
        school = _school(ctx, p, when.date(), False)
        n += 1
        rid = f"EX{n:07d}"
        values = [
            rid,
            rec.upn,
            rec.forename,
            rec.surname.upper(),
            dob_text(rec, p, "%d/%m/%Y"),
            _GENDER[rec.sex],
            rec.ethnicity,
            rec.postcode,
            school.urn,
            school.name,
            school.postcode,
            "PERM" if perm else "SUSP",
            when.strftime("%d-%m-%Y"),
            "" if perm else str(rng.choice((1, 2, 2, 4, 6, 10))),
            reason,
        ]
        excl.write(values, rid, p, rec)

    def absent(p: Person, term: str, start: date, possible: int, excluded: bool) -> None:
        nonlocal n_test
        if absence.want_test():
            n_test += 1
            tp = test_person(rng)
            values = [
                f"Z{n_test:012d}",
                "Test",
                "TEST",
                tp.dob.strftime("%d/%m/%Y"),
                "",
                "990999",
                *academic_term(term),
                str(possible),
                "0",
            ]
            absence.write(values, absence_id(f"Z{n_test:012d}", term), tp)
        rec = absence_mess.record(p, start)
        school = _school(ctx, p, start, excluded)
        missed = int(possible * min(0.95, 0.1 + rng.expovariate(1 / 0.12)))
        values = [
            rec.upn,
            rec.forename,
            rec.surname.upper(),
            dob_text(rec, p, "%d/%m/%Y"),
            _GENDER[rec.sex],
            school.urn,
            *academic_term(term),
            str(possible),
            str(missed),
        ]
        absence.write(values, absence_id(rec.upn, term), p, rec)

    for i, p in enumerate(ctx.people):
        ctx.tick("education", i + 1)
        excluded = False
        for event in planted.get(p.pid, []):
            perm = rng.random() < 0.5
            exclusion(p, event.when, event.detail, perm)
            excluded = excluded or perm
        if not p.agencies & AGENCY_BITS["education"]:
            continue
        span = p.eligible(5, 15)
        if span is None:
            continue
        school_terms = [
            t for t in TERMS if span[0] <= t[1] + timedelta(days=30) and t[1] <= span[1]
        ]
        do_absence = bool(p.upn) and bool(school_terms) and rng.random() < 0.65
        if rng.random() < 0.6 or not do_absence:
            for _ in range(count(rng, 3.4)):
                day = span[0] + timedelta(days=rng.randrange((span[1] - span[0]).days + 1))
                if day.weekday() >= 5:
                    day -= timedelta(days=2)
                when = datetime(day.year, day.month, day.day, 9)
                reason = rng.choices(reasons, weights)[0]
                perm = rng.random() < 0.04
                exclusion(p, when, reason, perm)
                excluded = excluded or perm
        if do_absence:
            run = min(len(school_terms), count(rng, 7.0))
            first = rng.randrange(len(school_terms) - run + 1)
            for term, start, possible in school_terms[first : first + run]:
                if start <= REFERENCE_DATE:
                    absent(p, term, start, possible, excluded)
    excl.close()
    absence.close()
