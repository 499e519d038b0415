"""Wexbury and Ashdown Police: crimes and incidents (cp1252) and missing episodes (UTF-8 BOM).

One crimes row per person involved in an occurrence, as a police records system exports
it: the person's role, their nominal id, the offence, where and when, and the force's own
flags ("CSE;CCE;CL;MSHT;ONL" and non-exploitation flags such as "DA" and "MH").
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from joinedup.synth.addresses import home_address, place_address
from joinedup.synth.context import Context, count, local_id, test_person
from joinedup.synth.geography import Place
from joinedup.synth.mess import Mess, Profile
from joinedup.synth.names import cp1252_safe
from joinedup.synth.people import AGENCY_BITS, REFERENCE_DATE, Person, age_on, random_moment
from joinedup.synth.scenarios import Planted
from joinedup.synth.writer import CsvOut, date_text, dob_text

__all__ = [
    "CRIMES_FILE",
    "CUT_SHORT_AT",
    "FLAG_CODES",
    "MISSING_FILE",
    "OFFENCES",
    "OTHER_FLAGS",
    "ROLE_WORDS",
    "UNQUOTED_EVERY",
    "write_police",
]

CRIMES_FILE = "extracts/police/crimes_incidents_20261031.csv"
MISSING_FILE = "extracts/police/missing_episodes_20261031.csv"

# key -> (record type, Home Office offence classification, description). Incidents are
# not crimes and carry no classification, only the force's own incident code.
OFFENCES = {
    "assault": ("Crime", "105A", "Common assault and battery"),
    "abh": ("Crime", "8N", "Assault occasioning actual bodily harm"),
    "robbery": ("Crime", "34B", "Robbery of personal property"),
    "theft_person": ("Crime", "39", "Theft from the person"),
    "shoplifting": ("Crime", "46", "Shoplifting"),
    "damage": ("Crime", "58D", "Criminal damage - other"),
    "harassment": ("Crime", "8L", "Harassment"),
    "sexual_assault": ("Crime", "20A", "Sexual assault on a female"),
    "poss_b": ("Crime", "92E", "Possession of a controlled drug - Class B"),
    "pwits_a": ("Crime", "92A", "Possession with intent to supply - Class A"),
    "weapon": ("Crime", "10D", "Possession of an article with a blade or point"),
    "sex_child": ("Crime", "22B", "Sexual activity with a child under 16"),
    "incite_child": ("Crime", "71", "Causing or inciting child sexual exploitation"),
    "supply_child": ("Crime", "92A", "Supplying a controlled drug to a child"),
    "slavery": ("Crime", "106", "Holding a person in slavery or servitude"),
    "online_comms": ("Crime", "88A", "Sexual communication with a child"),
    "online_images": ("Crime", "86", "Making indecent photographs of a child"),
    "inc_asb": ("Incident", "", "ASB - youth nuisance"),
    "inc_welfare": ("Incident", "", "Concern for welfare"),
    "inc_cse": ("Incident", "", "Concern for welfare - child found with adults"),
    "inc_cuckoo": ("Incident", "", "Cuckooing - address taken over"),
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
    "LocationAddress",
    "Flags",
    "GroupName",
    "GroupType",
]
_ADDRESS_AT = _CRIME_HEADER.index("LocationAddress")
_MISSING_HEADER = [
    "EpisodeRef",
    "NominalID",
    "Surname",
    "Forename",
    "DOB",
    "Sex",
    "HomeAddress",
    "ReportedMissing",
    "Found",
    "FoundLocation",
    "FoundPostcode",
    "RiskGrade",
    "Flags",
    "RHIOffered",
    "RHICompleted",
    "RHIOutcome",
]
# Malformed rows in the crimes extract (issue 13): every UNQUOTED_EVERY-th row with a
# location address is written with the address unquoted (its commas split it: the row
# has two to four fields too many, which the reader joins back); row CUT_SHORT_AT is cut
# short after the person's details (too few fields: quarantined).
UNQUOTED_EVERY = 97
CUT_SHORT_AT = 120
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
        self.with_address = 0
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
        loc_address = ""
        if place is None:
            loc_name, loc_pc, loc_type = "", "", "Online/Cyber" if "online" in key else "Not Known"
        elif place.type == "home":
            loc_name, loc_pc, loc_type = "", place.postcode, "Dwelling"
        else:
            loc_name, loc_pc, loc_type = place.name, place.postcode, location_words(place)
            loc_address = place_address(self.ctx.geo, place)
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
            cp1252_safe(loc_address),
            flags,
            group,
            _GROUP_WORDS.get(group_type, ""),
        ]
        planted: list[tuple[str, str]] = []
        if person.kind != "test" and self.involvement == CUT_SHORT_AT:
            self.out.malform("cut_short", _CRIME_HEADER.index("EthnicityCode"))
            planted.append(("", "cut_short_row"))
        elif person.kind != "test" and loc_address and self.unquoted_due():
            self.out.malform("unquoted", _ADDRESS_AT)
            planted.append(("LocationAddress", "unquoted_address"))
        self.out.write(values, rid, person, rec, planted)

    def unquoted_due(self) -> bool:
        self.with_address += 1
        return self.with_address % UNQUOTED_EVERY == 0

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
    rhi_rng = ctx.rng("police_missing_rhi")
    wexbury = ctx.geo.authorities[0].code
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
                true_pc = p.postcode_on(m.start.date())
                address = home_address(
                    ctx.geo,
                    p,
                    rec.postcode or true_pc,
                    episode,
                    with_postcode=bool(rec.postcode),
                )
                values = [
                    rid,
                    local_id("N", p, _NOMINAL_SALT),
                    rec.surname,
                    rec.forename,
                    dob_text(rec, p, "%d/%m/%Y"),
                    rec.sex,
                    address,
                    m.start.strftime("%d/%m/%Y %H:%M"),
                    date_text(m.end if found else None, "%d/%m/%Y %H:%M"),
                    place.name if place else ("Returned home" if found else ""),
                    place.postcode if place else (rec.postcode if found else ""),
                    m.risk,
                    _flags(m.flags, rng, extra=False),
                ]
                ashdown = true_pc in ctx.geo.area_of and ctx.geo.authority_of(true_pc) != wexbury
                child = p.kind != "test" and age_on(p.dob, m.start.date()) < 18
                values += (
                    _interview(rhi_rng, m.end) if found and ashdown and child else ["", "", ""]
                )
                out.write(values, rid, p, rec)
    out.close()


def _interview(rng: random.Random, found: datetime) -> list[str]:
    """Ashdown's return home interviews, done by the police missing-person coordinator and
    recorded on the episode's row (Wexbury's are in its children's services workbook)."""
    offered = found + timedelta(days=rng.randint(0, 3))
    if offered.date() > REFERENCE_DATE:
        return ["", "", ""]
    done = offered + timedelta(days=1) if rng.random() < 0.55 else None
    if done is not None and done.date() > REFERENCE_DATE:
        done = None
    return [
        offered.strftime("%d/%m/%Y"),
        date_text(done, "%d/%m/%Y"),
        "Completed" if done else rng.choice(("Declined", "No response")),
    ]


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
