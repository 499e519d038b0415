"""The true people: children and young adults, and adult persons of concern.

Each person has one true identity. Agencies see it through their own recording (see
``mess``); the truth files map every record back to the person it is about.
"""

from __future__ import annotations

import random
import zlib
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate

from joinedup.synth.geography import ETHNIC_GROUPS, Geography, Place
from joinedup.synth.identifiers import nhs_number, pnc_id, upn
from joinedup.synth.names import NameBook, NameForms, ethnicity_origin, naming_convention

__all__ = [
    "AGENCY_BITS",
    "REFERENCE_DATE",
    "WINDOW_START",
    "Missing",
    "Person",
    "age_on",
    "build_people",
    "random_moment",
]

REFERENCE_DATE = date(2026, 10, 31)
WINDOW_START = date(2023, 4, 1)

# Agency families a person can be known to (bit positions of Person.agencies).
AGENCY_BITS = {
    "police": 1,
    "missing": 2,
    "csc": 4,
    "health": 8,
    "education": 16,
    "yj": 32,
    "voluntary": 64,
    "asc": 128,
    "nrm": 256,
}

_ETHNIC_CODES = {
    "White": (("WBRI", 0.84), ("WIRI", 0.01), ("WIRT", 0.006), ("WROM", 0.014), ("WOTH", 0.13)),
    "Mixed": (("MWBC", 0.3), ("MWBA", 0.2), ("MWAS", 0.25), ("MOTH", 0.25)),
    "Asian": (("AIND", 0.3), ("APKN", 0.38), ("ABAN", 0.14), ("AOTH", 0.18)),
    "Black": (("BAFR", 0.65), ("BCRB", 0.2), ("BOTH", 0.15)),
    "Chinese or other": (("CHNE", 0.35), ("OOTH", 0.65)),
}


@dataclass(slots=True)
class Missing:
    """One missing episode: when reported, when found, where found."""

    start: datetime
    end: datetime
    found: Place | None  # None: returned home of their own accord
    risk: str  # High | Medium | Low
    flags: tuple[str, ...] = ()  # taxonomy exploitation codes the police recorded


@dataclass(slots=True)
class Person:
    pid: str
    kind: str  # young | poc (adult person of concern) | test
    forename: str
    surname: str
    preferred: str
    sex: str
    dob: date
    ethnicity: str
    addresses: list[tuple[date, str]]  # (from, postcode), oldest first
    nhs: str
    upn: str
    pnc: str
    agencies: int = 0
    dup: int = 0  # agencies holding a second, duplicate registration
    alt_forename: str = ""
    alt_surname: str = ""
    missing: list[Missing] = field(default_factory=list)
    scenario: str = ""
    # naming conventions (issue 15): the ways agencies write this person's name, and the
    # convention behind them ("" for none); a twin's pid links the two twins
    name_forms: NameForms = ()
    convention: str = ""
    twin_of: str = ""

    def postcode_on(self, day: date) -> str:
        current = self.addresses[0][1]
        for since, pc in self.addresses:
            if since <= day:
                current = pc
        return current

    def previous_postcode(self, day: date) -> str:
        """The address before the one held on ``day`` (what a stale record still shows)."""
        previous = current = self.addresses[0][1]
        for since, pc in self.addresses:
            if since <= day:
                previous, current = current, pc
        return previous

    def eligible(self, min_age: int, max_age: int) -> tuple[date, date] | None:
        """Dates in the window on which the person is aged min_age..max_age inclusive."""
        lo = max(WINDOW_START, _birthday(self.dob, min_age))
        hi = min(REFERENCE_DATE, _birthday(self.dob, max_age + 1) - timedelta(days=1))
        return (lo, hi) if lo <= hi else None


def _birthday(dob: date, years: int) -> date:
    try:
        return dob.replace(year=dob.year + years)
    except ValueError:  # 29 February
        return date(dob.year + years, 3, 1)


def age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def random_moment(rng: random.Random, lo: date, hi: date) -> datetime:
    """A time between lo and hi inclusive, weighted towards evenings as incidents are."""
    day = lo + timedelta(days=rng.randrange((hi - lo).days + 1))
    hour = rng.choice((8, 10, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 0, 1, 2))
    return datetime(day.year, day.month, day.day, hour, rng.randrange(60))


def _pick(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random() * sum(w for _, w in options)
    for value, weight in options:
        roll -= weight
        if roll < 0:
            return value
    return options[-1][0]


class _AreaPicker:
    def __init__(self, geo: Geography, *, deprived: bool) -> None:
        self.codes = [a.code for a in geo.small_areas]
        sizes: dict[str, float] = {}
        for area, _age, _sex, _grp, n in geo.population_rows:
            sizes[area] = sizes.get(area, 0) + n
        weights = [
            sizes[c] * ((0.3 + geo.deprivation[c] * 1.4) if deprived else 1.0) for c in self.codes
        ]
        self.cum = list(accumulate(weights))

    def pick(self, rng: random.Random) -> str:
        return self.codes[bisect(self.cum, rng.random() * self.cum[-1])]


def _agencies(rng: random.Random, p: Person) -> int:
    """Which agency families know the person (background: most in 1-3)."""
    bits = 0
    chances = (
        ("police", 0.42, (8, 24)),
        ("missing", 0.12, (10, 17)),
        ("csc", 0.30, (0, 17)),
        ("health", 0.42, (0, 24)),
        ("education", 0.40, (5, 15)),
        ("yj", 0.05, (10, 17)),
        ("voluntary", 0.07, (10, 24)),
        ("asc", 0.08, (18, 24)),
    )
    for name, chance, (lo, hi) in chances:
        if rng.random() < chance and p.eligible(lo, hi):
            bits |= AGENCY_BITS[name]
    if not bits:
        bits = AGENCY_BITS["health"] if rng.random() < 0.5 else AGENCY_BITS["police"]
    return bits


def build_people(rng: random.Random, geo: Geography, names: NameBook, n: int) -> list[Person]:
    """n people: about 96% children and young adults, 4% adult persons of concern."""
    picker = _AreaPicker(geo, deprived=True)
    seen_upn: set[str] = set()
    seen_nhs: set[str] = set()
    people: list[Person] = []
    n_poc = max(10, n // 25)
    # Naming conventions and twins draw from their own generator (seeded from the main
    # one's state without advancing it), so everything else about the people is unchanged.
    crng = random.Random(repr(rng.getstate()[1][:8]))
    for i in range(n):
        kind = "poc" if i >= n - n_poc else "young"
        area = picker.pick(rng)
        mix = geo.mix[area]
        group = _pick(rng, tuple(zip(ETHNIC_GROUPS, mix, strict=True)))
        ethnicity = _pick(rng, _ETHNIC_CODES[group])
        if kind == "poc":
            sex = "M" if rng.random() < 0.85 else "F"
            age = rng.randint(19, 40)
        else:
            sex = "F" if rng.random() < 0.48 else "M"
            roll = rng.random()
            age = rng.randint(5, 7) if roll < 0.05 else rng.randint(8, 24)
        dob = REFERENCE_DATE - timedelta(days=age * 365 + rng.randrange(365) + age // 4)
        origin = ethnicity_origin(rng, ethnicity)
        forename = names.forename(rng, origin, sex)
        surname = names.surname(rng, origin)
        if rng.random() < 0.03:
            surname = f"{surname}-{names.surname(rng, 'british')}"
        preferred = names.nickname(rng, forename) if rng.random() < 0.15 else ""
        convention, forename, surname, forms = naming_convention(
            crng, ethnicity, origin, sex, forename, surname
        )
        home = rng.choice(geo.postcodes[area])
        addresses = [(dob, home)]
        if rng.random() < 0.22:
            moves = 1 if rng.random() < 0.8 else 2
            for _ in range(moves):
                since = WINDOW_START + timedelta(days=rng.randrange(1200))
                far = rng.random() < 0.12  # moved to the other authority
                new_area = (
                    picker.pick(rng)
                    if far
                    else rng.choice(
                        [a.code for a in geo.small_areas if geo.parent[a.code] == geo.parent[area]]
                    )
                )
                addresses.append((since, rng.choice(geo.postcodes[new_area])))
            addresses.sort()
        twin = _twin_source(crng, people, kind)
        if twin is not None:
            # a twin: born the same day to the same family, living at the same addresses
            forename = _twin_forename(crng, names, twin, sex)
            surname, dob, ethnicity = twin.surname, twin.dob, twin.ethnicity
            addresses, home = list(twin.addresses), twin.addresses[0][1]
            convention, preferred = twin.convention, ""
            forms = _twin_forms(twin.name_forms, twin.forename, forename)
        nhs = nhs_number(rng)
        while nhs in seen_nhs:
            nhs = nhs_number(rng)
        seen_nhs.add(nhs)
        pupil = ""
        if kind == "young" and age <= 21 and rng.random() < 0.97:
            authority = geo.authority_of(home)
            while not pupil or pupil in seen_upn:
                pupil = upn(rng, geo.upn_la[authority], dob.year + 5)
            seen_upn.add(pupil)
        pnc = ""
        person = Person(
            pid=f"SP{i + 1:07d}",
            kind=kind,
            forename=forename,
            surname=surname,
            preferred=preferred,
            sex=sex,
            dob=dob,
            ethnicity=ethnicity,
            addresses=addresses,
            nhs=nhs,
            upn=pupil,
            pnc=pnc,
            name_forms=forms,
            convention=convention,
            twin_of=twin.pid if twin is not None else "",
        )
        if kind == "poc" or (age >= 12 and rng.random() < 0.25):
            person.pnc = pnc_id(rng, max(dob.year + 12, 2010) + rng.randrange(5))
        person.agencies = AGENCY_BITS["police"] if kind == "poc" else _agencies(rng, person)
        if rng.random() < 0.03:
            person.dup = rng.choice((1, 4, 8, 32, 128, 1 | 4, 8 | 4))
        person.alt_forename = names.nickname(rng, forename) or forename
        person.alt_surname = surname if rng.random() < 0.5 else surname.upper()
        if forms and crng.random() < 0.5:  # the second registration in another form
            person.alt_forename, person.alt_surname = forms[crng.randrange(len(forms))][:2]
        if person.agencies & AGENCY_BITS["missing"]:
            _missing(rng, geo, person)
        people.append(person)
    _known_with_foreign_id(people)
    return people


def _known_with_foreign_id(people: list[Person]) -> None:
    """However small the partnership, the youth justice service knows two children with a
    non-UK identifier (those addresses.foreign_id gives a code: about 40% of White Other
    and Roma young people, by a hash of the id), so its identifier check has a code to
    check. Draws nothing from the generator: every other figure stays as it was."""
    known = 0
    for p in people:
        if p.kind == "young" and p.ethnicity in ("WOTH", "WROM") and 12 <= _age(p) <= 17:
            if zlib.crc32(f"cnp|{p.pid}".encode()) % 100 < 40:
                known += 1
                p.agencies |= AGENCY_BITS["yj"]
                if known == 2:  # one code recorded well, one with a digit lost (BadOnce)
                    return


def _age(p: Person) -> int:
    return (REFERENCE_DATE - p.dob).days // 365


# About one child in 65 is a twin (ONS: 15.9 multiple births in 1,000 maternities): the
# second of a pair is made from the first, same surname, date of birth and addresses.
TWIN_SHARE = 0.016


def _twin_source(crng: random.Random, people: list[Person], kind: str) -> Person | None:
    if kind != "young" or not people or crng.random() >= TWIN_SHARE / 2:
        return None
    first = people[-1]
    return first if first.kind == "young" and not first.twin_of else None


def _twin_forename(crng: random.Random, names: NameBook, twin: Person, sex: str) -> str:
    """A forename for the second twin: never the first twin's, nor a nickname of it."""
    taken = {twin.forename, *names.nicknames.get(twin.forename, ())}
    for _ in range(20):
        fore = names.forename(crng, ethnicity_origin(crng, twin.ethnicity), sex)
        if fore not in taken:
            return fore
    return twin.forename + ("a" if sex == "F" else "o")


def _twin_forms(forms: NameForms, old: str, new: str) -> NameForms:
    """The first twin's name forms with the second twin's forename in place of theirs."""

    def swap(part: str) -> str:
        if part == old:
            return new
        return new + part[len(old) :] if part.startswith(old + " ") else part

    return tuple((swap(f), swap(s), w) for f, s, w in forms)


def _missing(rng: random.Random, geo: Geography, p: Person) -> None:
    span = p.eligible(10, 17)
    if span is None:
        return
    count = 1 + min(int(rng.expovariate(1 / 3.0)), 30)
    for _ in range(count):
        start = random_moment(rng, *span)
        end = start + timedelta(hours=2 + int(rng.expovariate(1 / 20)))
        roll = rng.random()
        found: Place | None = None
        if roll < 0.45:
            ward = geo.ward_of(p.postcode_on(start.date()))
            found = rng.choice(geo.places[ward])
        elif roll < 0.6:
            found = rng.choice(geo.places[geo.authority_of(p.postcode_on(start.date()))])
        risk = _pick(rng, (("Low", 0.5), ("Medium", 0.42), ("High", 0.08)))
        p.missing.append(Missing(start, end, found, risk))
    p.missing.sort(key=lambda m: m.start)
