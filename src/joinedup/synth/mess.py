"""How a true identity looks once an agency has recorded it.

Each source has a ``Profile`` of error rates (documented in docs/synthetic-data.md). The
``Mess`` applies them to a person for one record and says which planted problems it made,
so the writer can list them in truth/planted_problems.csv.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from joinedup.synth.identifiers import bad_nhs_number, bad_upn
from joinedup.synth.names import NameBook, pick_form, typo
from joinedup.synth.people import Person

__all__ = ["Mess", "Profile", "Recorded"]


@dataclass(frozen=True)
class Profile:
    """Rates (0..1) of each kind of recording error in one source."""

    typo_forename: float = 0.025
    typo_surname: float = 0.025
    nickname: float = 0.06  # a nickname or variant in place of the forename
    swap_names: float = 0.01  # forename and surname the wrong way round
    swap_day_month: float = 0.01  # when the day is 12 or less
    dob_missing: float = 0.01
    sex_unknown: float = 0.01
    postcode_missing: float = 0.03
    postcode_stale: float = 0.3  # for people who moved in the last year: the old address
    ethnicity_missing: float = 0.05
    nhs_missing: float = 0.3
    upn_missing: float = 0.5
    pnc_missing: float = 0.15
    bad_date: float = 0.0005  # impossible date of birth (31 February)
    bad_nhs: float = 0.003  # NHS number with a wrong check digit
    bad_upn: float = 0.003  # UPN with a wrong check letter
    hyphen_part: float = 0.3  # double-barrelled surnames recorded with one part only


@dataclass(slots=True)
class Recorded:
    forename: str
    surname: str
    preferred: str
    dob: date | None
    dob_bad: bool  # write an impossible date instead of dob
    sex: str  # F | M | U
    postcode: str
    ethnicity: str  # DfE code or ''
    nhs: str
    upn: str
    pnc: str
    problems: list[tuple[str, str]]  # (field, problem): field is dob | nhs | upn


class Mess:
    """Applies a profile's rates to one person at a time, deterministically from rng."""

    def __init__(self, rng: random.Random, names: NameBook, profile: Profile) -> None:
        self.rng = rng
        self.names = names
        self.p = profile
        self._count = 0
        self._forced: set[str] = set()

    def _force(self, what: str, rate: float) -> bool:
        # Every source with a non-zero rate gets at least one, even in a small run.
        if rate > 0 and what not in self._forced and self._count >= 7:
            self._forced.add(what)
            return True
        return False

    def record(self, person: Person, when: date, *, duplicate: bool = False) -> Recorded:
        """The person as this source records them on ``when``."""
        rng, p = self.rng, self.p
        if person.kind == "test":
            return Recorded(
                person.forename,
                person.surname,
                "",
                person.dob,
                False,
                person.sex,
                person.addresses[-1][1],
                "",
                "",
                "",
                "",
                [],
            )
        self._count += 1
        forename, surname = person.forename, person.surname
        if duplicate:  # the second registration: recorded a little differently, every time
            forename, surname = person.alt_forename, person.alt_surname
        elif person.name_forms:  # issue 15: the family's naming convention, as written here
            forename, surname = pick_form(rng, person.name_forms)
        r = rng.random
        if r() < p.nickname:
            forename = person.preferred or self.names.nickname(rng, forename) or forename
        if r() < p.typo_forename:
            forename = typo(rng, forename)
        if "-" in surname and r() < p.hyphen_part:
            parts = surname.split("-")
            surname = rng.choice((parts[0], parts[-1], " ".join(parts)))
        if r() < p.typo_surname:
            surname = typo(rng, surname)
        if r() < p.swap_names:
            forename, surname = surname, forename
        problems: list[tuple[str, str]] = []
        dob: date | None = person.dob
        true_dob = person.dob
        dob_bad = False
        if r() < p.swap_day_month and true_dob.day <= 12 and true_dob.day != true_dob.month:
            dob = date(true_dob.year, true_dob.day, true_dob.month)
        elif r() < p.dob_missing or (duplicate and r() < 0.2):
            dob = None
        if r() < p.bad_date or self._force("dob", p.bad_date):
            dob_bad = True
            problems.append(("dob", "impossible_date"))
        sex = "U" if r() < p.sex_unknown else person.sex
        postcode = person.postcode_on(when)
        if r() < p.postcode_missing:
            postcode = ""
        elif len(person.addresses) > 1 and r() < p.postcode_stale:
            last_move = person.addresses[-1][0]
            if last_move <= when and (when - last_move).days < 365:
                postcode = person.previous_postcode(when)
        ethnicity = "" if r() < p.ethnicity_missing else person.ethnicity
        nhs = "" if r() < p.nhs_missing or (duplicate and r() < 0.5) else person.nhs
        if nhs and (r() < p.bad_nhs or self._force("nhs", p.bad_nhs)):
            nhs = bad_nhs_number(nhs)
            problems.append(("nhs", "invalid_nhs_check_digit"))
        pupil = "" if not person.upn or r() < p.upn_missing else person.upn
        if pupil and (r() < p.bad_upn or self._force("upn", p.bad_upn)):
            pupil = bad_upn(pupil)
            problems.append(("upn", "invalid_upn_check_letter"))
        pnc = "" if not person.pnc or r() < p.pnc_missing else person.pnc
        return Recorded(
            forename,
            surname,
            person.preferred,
            dob,
            dob_bad,
            sex,
            postcode,
            ethnicity,
            nhs,
            pupil,
            pnc,
            problems,
        )
