"""Wexbury and Ashdown Police: crimes and incidents (cp1252) and missing episodes (UTF-8 BOM).

One crimes row per person involved in an occurrence, as a police records system exports
it: the person's role, their nominal id, the offence, where and when, and the force's own
flags ("CSE;CCE;CL;MSHT;ONL" and non-exploitation flags such as "DA" and "MH").
"""

from __future__ import annotations

import random
from datetime import datetime

from joinedup.synth.context import Context, count, local_id, test_person
from joinedup.synth.geography import Place
from joinedup.synth.mess import Mess, Profile
from joinedup.synth.names import cp1252_safe
from joinedup.synth.people import AGENCY_BITS, REFERENCE_DATE, Person, age_on, random_moment
from joinedup.synth.scenarios import Planted
from joinedup.synth.writer import CsvOut, date_text, dob_text

__all__ = [
    "CRIMES_FILE",
    "FLAG_CODES",
    "MISSING_FILE",
    "OFFENCES",
    "OTHER_FLAGS",
    "ROLE_WORDS",
    "write_police",
]

CRIMES_FILE = "extracts/police/crimes_incidents_20261031.csv"
MISSING_FILE = "extracts/police/missing_episodes_20261031.csv"

# key -> (record type, offence or incident code, description)
OFFENCES = {
    "assault": ("Crime", "105/01", "Common assault and battery"),
    "abh": ("Crime", "008/06", "Assault occasioning actual bodily harm"),
    "robbery": ("Crime", "034/01", "Robbery of personal property"),
    "theft_person": ("Crime", "039/00", "Theft from the person"),
    "shoplifting": ("Crime", "046/00", "Shoplifting"),
    "damage": ("Crime", "058/04", "Criminal damage - other"),
    "harassment": ("Crime", "195/01", "Harassment"),
    "sexual_assault": ("Crime", "017/01", "Sexual assault on a female"),
    "poss_b": ("Crime", "092/02", "Possession of a controlled drug - Class B"),
    "pwits_a": ("Crime", "092/13", "Possession with intent to supply - Class A"),
    "weapon": ("Crime", "010/01", "Possession of an article with a blade or point"),
    "sex_child": ("Crime", "022/12", "Sexual activity with a child under 16"),
    "incite_child": ("Crime", "022/13", "Causing or inciting a child to engage in sexual activity"),
    "supply_child": ("Crime", "092/40", "Supplying a controlled drug to a child"),
    "slavery": ("Crime", "106/00", "Holding a person in slavery or servitude"),
    "online_comms": ("Crime", "088/10", "Sexual communication with a child"),
    "online_images": ("Crime", "086/05", "Making indecent photographs of a child"),
    "inc_asb": ("Incident", "INC-ASB", "ASB - youth nuisance"),
    "inc_welfare": ("Incident", "INC-CFW", "Concern for welfare"),
    "inc_cse": ("Incident", "INC-CFW", "Concern for welfare - child found with adults"),
    "inc_cuckoo": ("Incident", "INC-CUCK", "Cuckooing - address taken over"),
}
_VICTIM_OFFENCES = (
    "assault",
    "assault",
    "abh",
    "robbery",
    "theft_person",
    "harassment",
    "sexual_assault",
    "inc_welfare",
)
_SUSPECT_OFFENCES = (
    "shoplifting",
    "assault",
    "damage",
    "poss_b",
    "inc_asb",
    "inc_asb",
    "weapon",
    "robbery",
)

ROLE_WORDS = {
    "victim": "Victim",
    "suspect": "Suspect",
    "witness": "Witness",
    "associate": "Associate",
    "poc": "Person of Concern",
    "subject": "Subject",
}
FLAG_CODES = {
    "cse": "CSE",
    "cce": "CCE",
    "county_lines": "CL",
    "cuckooing": "CUCK",
    "online": "ONL",
    "trafficking": "MSHT",
    "labour": "MSHT",
}
# Flags the force also sets that are not exploitation (domestic abuse, mental health ...).
OTHER_FLAGS = ("DA", "MH", "HATE", "ASB")
_LOCATION_WORDS = {
    "home": "Dwelling",
    "other_residential": "Other Residential",
    "takeaway": "Fast Food Outlet",
    "hotel": "Hotel/B&B",
    "park": "Park/Open Space",
    "street": "Street/Highway",
    "school": "School/College",
    "shop": "Shop/Retail",
    "licensed_premises": "Licensed Premises",
    "leisure": "Leisure Facility",
    "online": "Online/Cyber",
    "other": "Other",
}
_GROUP_WORDS = {"county_line": "County Line", "organised_group": "OCG"}
_POLICE_ETHNICITY = {
    "WBRI": "W1",
    "WIRI": "W2",
    "WIRT": "W3",
    "WROM": "W4",
    "WOTH": "W9",
    "MWBC": "M1",
    "MWBA": "M2",
    "MWAS": "M3",
    "MOTH": "M9",
    "AIND": "A1",
    "APKN": "A2",
    "ABAN": "A3",
    "CHNE": "A4",
    "AOTH": "A9",
    "BCRB": "B1",
    "BAFR": "B2",
    "BOTH": "B9",
    "OOTH": "O9",
}

_CRIME_HEADER = [
    "OccurrenceRef",
    "InvolvementID",
    "RecordType",
    "InvolvementType",
    "Surname",
    "Forename",
    "DOB",
    "Gender",
    "EthnicityCode",
    "HomePostcode",
    "PNCID",
    "NominalID",
    "OffenceCode",
    "OffenceDesc",
    "OccurredAt",
    "LocationName",
    "LocationPostcode",
    "LocationType",
    "Flags",
    "GroupName",
    "GroupType",
]
_MISSING_HEADER = [
    "EpisodeRef",
    "NominalID",
    "Surname",
    "Forename",
    "DOB",
    "Sex",
    "HomeAddressPostcode",
    "ReportedMissing",
    "Found",
    "FoundLocation",
    "FoundPostcode",
    "FoundLocationType",
    "RiskGrade",
    "Flags",
]
_PROFILE = Profile(
    nickname=0.08, nhs_missing=1.0, upn_missing=1.0, pnc_missing=0.15, dob_missing=0.02
)
_NOMINAL_SALT = 1_234_567


def location_words(place: Place) -> str:
    if place.type == "transport":
        return "Railway Station" if "Railway" in place.name else "Bus Station/Interchange"
    return _LOCATION_WORDS.get(place.type, "Other")


def _flags(codes: tuple[str, ...], rng: random.Random, *, extra: bool = True) -> str:
    out: list[str] = []
    for code in codes:
        local = FLAG_CODES.get(code)
        if local and local not in out:
            out.append(local)
    if extra and rng.random() < 0.06:
        out.append(rng.choice(OTHER_FLAGS))
    return ";".join(out)


class _Crimes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("police_crimes")
        self.mess = Mess(self.rng, ctx.names, _PROFILE)
        self.out = CsvOut(
            ctx.root,
            ctx.truth,
            "police_crimes",
            CRIMES_FILE,
            _CRIME_HEADER,
            encoding="cp1252",
            columns={"dob": "DOB"},
            test_column="Surname",
        )
        ctx.register(self.out)
        self.occurrence = 0
        self.involvement = 0
        self.young = [p for p in ctx.people if p.kind == "young"]
        self.adults = [p for p in ctx.people if p.kind == "poc"]

    def occurrence_ref(self, when: datetime) -> str:
        self.occurrence += 1
        area = "WA" if self.occurrence % 3 else "AS"
        return f"{area}/{when.year % 100:02d}/{self.occurrence:07d}"

    def row(
        self,
        ref: str,
        when: datetime,
        person: Person,
        role: str,
        key: str,
        place: Place | None,
        flags: str,
        group: str = "",
        group_type: str = "",
    ) -> None:
        rng = self.rng
        if self.out.want_test():
            self._write(ref, when, test_person(rng), "victim", key, place, "", "", "")
        self._write(ref, when, person, role, key, place, flags, group, group_type)

    def _write(
        self,
        ref: str,
        when: datetime,
        person: Person,
        role: str,
        key: str,
        place: Place | None,
        flags: str,
        group: str,
        group_type: str,
    ) -> None:
        rng = self.rng
        dup = bool(person.dup & AGENCY_BITS["police"]) and rng.random() < 0.5
        rec = self.mess.record(person, when.date(), duplicate=dup)
        self.involvement += 1
        record_type, code, desc = OFFENCES[key]
        surname = rec.surname.upper()
        if "'" in surname and rng.random() < 0.7:
            surname = surname.replace("'", "\u2019")  # typed in a word processor first
        pnc = rec.pnc if role in ("suspect", "poc") else ""
        if place is None:
            loc_name, loc_pc, loc_type = "", "", "Online/Cyber" if "online" in key else "Not Known"
        elif place.type == "home":
            loc_name, loc_pc, loc_type = "", place.postcode, "Dwelling"
        else:
            loc_name, loc_pc, loc_type = place.name, place.postcode, location_words(place)
        rid = f"INV{self.involvement:08d}"
        values = [
            ref,
            rid,
            record_type,
            ROLE_WORDS[role],
            cp1252_safe(surname),
            cp1252_safe(rec.forename),
            dob_text(rec, person, "%d/%m/%Y"),
            rec.sex,
            _POLICE_ETHNICITY.get(rec.ethnicity, "NS"),
            rec.postcode,
            pnc,
            local_id("N", person, _NOMINAL_SALT, duplicate=dup),
            code,
            desc,
            when.strftime("%d/%m/%Y %H:%M"),
            cp1252_safe(loc_name),
            loc_pc,
            loc_type,
            flags,
            group,
            _GROUP_WORDS.get(group_type, ""),
        ]
        self.out.write(values, rid, person, rec)

    def planted(self, event: Planted) -> None:
        ref = self.occurrence_ref(event.when)
        flags = _flags(event.flags, self.rng)
        for person, role in event.people:
            self.row(
                ref,
                event.when,
                person,
                role,
                event.detail,
                event.place,
                flags,
                event.group,
                event.group_type,
            )

    def partner(self, when: datetime, exclude: Person) -> Person | None:
        pool = self.adults if self.rng.random() < 0.1 and self.adults else self.young
        for _ in range(6):
            other = self.rng.choice(pool)
            if other is not exclude and 10 <= age_on(other.dob, when.date()) <= 40:
                return other
        return None

    def background(self, person: Person) -> None:
        rng, geo = self.rng, self.ctx.geo
        span = person.eligible(8, 60)
        if span is None:
            return
        n = count(rng, 6.6 if person.kind == "young" else 3.0)
        for _ in range(n):
            when = random_moment(rng, *span)
            is_adult = person.kind == "poc"
            role = "suspect" if is_adult or rng.random() < 0.35 else "victim"
            key = rng.choice(_SUSPECT_OFFENCES if role == "suspect" else _VICTIM_OFFENCES)
            home = person.postcode_on(when.date())
            roll = rng.random()
            place: Place
            if roll < 0.3:
                place = Place("", home, "home")
            elif roll < 0.45 and age_on(person.dob, when.date()) <= 16:
                school = rng.choice(geo.schools[geo.authority_of(home)])
                place = Place(school.name, school.postcode, "school")
            elif roll < 0.85:
                place = rng.choice(geo.places[geo.ward_of(home)])
            else:
                place = rng.choice(geo.places[geo.authority_of(home)])
            codes: tuple[str, ...] = ()
            if rng.random() < 0.02:
                codes = (rng.choice(("cse", "cce", "cce", "online")),)
            ref = self.occurrence_ref(when)
            flags = _flags(codes, rng)
            involved = [(person, role)]
            if rng.random() < (0.7 if is_adult else 0.35):
                other = self.partner(when, person)
                if other is not None:
                    involved.append((other, "victim" if role == "suspect" else "suspect"))
            if rng.random() < 0.05:
                other = self.partner(when, person)
                if other is not None and all(other is not p for p, _ in involved):
                    involved.append((other, "witness"))
            for p, r in involved:
                self.row(ref, when, p, r, key, place, flags)


def _write_missing(ctx: Context) -> None:
    rng = ctx.rng("police_missing")
    mess = Mess(rng, ctx.names, _PROFILE)
    out = CsvOut(
        ctx.root,
        ctx.truth,
        "police_missing",
        MISSING_FILE,
        _MISSING_HEADER,
        encoding="utf-8-sig",
        columns={"dob": "DOB"},
    )
    ctx.register(out)
    episode = 0
    cutoff = datetime(REFERENCE_DATE.year, REFERENCE_DATE.month, REFERENCE_DATE.day, 23, 59)
    for i, person in enumerate(ctx.people):
        ctx.tick("police missing episodes", i + 1)
        for m in person.missing:
            for p in ([test_person(rng)] if out.want_test() else []) + [person]:
                episode += 1
                rec = mess.record(p, m.start.date())
                found = m.end <= cutoff
                place = m.found if found else None
                rid = f"MIS{episode:07d}"
                values = [
                    rid,
                    local_id("N", p, _NOMINAL_SALT),
                    rec.surname,
                    rec.forename,
                    dob_text(rec, p, "%d/%m/%Y"),
                    rec.sex,
                    rec.postcode,
                    m.start.strftime("%d/%m/%Y %H:%M"),
                    date_text(m.end if found else None, "%d/%m/%Y %H:%M"),
                    place.name if place else ("Returned home" if found else ""),
                    place.postcode if place else (rec.postcode if found else ""),
                    location_words(place) if place else ("Dwelling" if found else ""),
                    m.risk,
                    _flags(m.flags, rng, extra=False),
                ]
                out.write(values, rid, p, rec)
    out.close()


def write_police(ctx: Context) -> None:
    crimes = _Crimes(ctx)
    planted = ctx.plan.channel("crime")
    for i, person in enumerate(ctx.people):
        ctx.tick("police crimes", i + 1)
        for event in planted.get(person.pid, []):
            crimes.planted(event)
        if person.agencies & AGENCY_BITS["police"]:
            crimes.background(person)
    crimes.out.close()
    _write_missing(ctx)
