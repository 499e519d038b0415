"""Planted scenarios: county lines, CSE networks, online exploitation, transitions at 18.

A scenario picks people from the population (children, young adults, adult persons of
concern), names the places involved, and plants the events each agency would have recorded
about it. The agency writers write planted events beside the background ones; the
scenario's members and places go to truth/scenario_members.csv and scenario_places.csv.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from joinedup.synth.geography import Geography, Place
from joinedup.synth.people import REFERENCE_DATE, WINDOW_START, Missing, Person, age_on

__all__ = ["Planted", "ScenarioPlan", "plan_scenarios"]

_LINE_NAMES = (
    "TANK",
    "Bando",
    "Deano",
    "K-Line",
    "Mitch",
    "Zed",
    "Bugsy",
    "Ricky",
    "Jigsaw",
    "Nines",
)
_OPERATIONS = ("Kestrel", "Harrier", "Juniper", "Sorrel", "Merlin", "Bramble", "Wren", "Yarrow")
_TAKEAWAYS = ("Golden Grill", "Chicken Express", "Best Pizza", "Sizzlers Grill", "Star Kebab House")
_HOTELS = ("Riverside Lodge Hotel", "The Ashgrove Hotel", "Ringway Motor Inn", "Parkview Hotel")
_BLOCKS = ("Kestrel House", "Marlowe House", "Linden Court", "Beech Tower", "Hawthorn Court")
_CLOSES = ("Gorse Close", "Fennel Walk", "Orchard Rise", "Tanners Way", "Mill Lane")


@dataclass(slots=True)
class Planted:
    """An event an agency recorded about a scenario."""

    channel: (
        str  # crime | csc_contact | csc_assessment | ae | exclusion | yj | nrm | asc | voluntary
    )
    when: datetime
    people: list[tuple[Person, str]]  # (person, role: victim|suspect|witness|associate|poc|subject)
    flags: tuple[str, ...] = ()  # taxonomy exploitation codes
    place: Place | None = None
    detail: str = ""  # writer-specific key (offence, outcome, abuse type ...)
    group: str = ""
    group_type: str = ""  # county_line | organised_group


@dataclass
class ScenarioPlan:
    events: dict[str, dict[str, list[Planted]]] = field(default_factory=dict)  # channel, pid
    members: list[tuple[str, str, str, str]] = field(default_factory=list)
    places: list[tuple[str, str, str]] = field(default_factory=list)
    count: int = 0

    def add(self, event: Planted) -> None:
        lead = event.people[0][0].pid
        self.events.setdefault(event.channel, {}).setdefault(lead, []).append(event)

    def channel(self, name: str) -> dict[str, list[Planted]]:
        return self.events.get(name, {})


class _Picker:
    """Draws people for scenarios without reusing anyone."""

    def __init__(self, rng: random.Random, people: list[Person]) -> None:
        self.rng = rng
        self.young = [p for p in people if p.kind == "young"]
        self.poc = [p for p in people if p.kind == "poc"]
        rng.shuffle(self.young)
        rng.shuffle(self.poc)
        self.used: set[str] = set()

    def young_aged(self, n: int, on: date, lo: int, hi: int, girls: float) -> list[Person]:
        out: list[Person] = []
        for want_f in [self.rng.random() < girls for _ in range(n)]:
            for strict in (True, False):
                found = next(
                    (
                        p
                        for p in self.young
                        if p.pid not in self.used
                        and lo <= age_on(p.dob, on) <= hi
                        and (not strict or (p.sex == "F") == want_f)
                    ),
                    None,
                )
                if found:
                    self.used.add(found.pid)
                    out.append(found)
                    break
        return out

    def adults(self, n: int) -> list[Person]:
        out = [p for p in self.poc if p.pid not in self.used][:n]
        self.used.update(p.pid for p in out)
        return out


def _moment(rng: random.Random, lo: date, hi: date, evening: bool = True) -> datetime:
    day = lo + timedelta(days=rng.randrange(max(1, (hi - lo).days)))
    hour = rng.choice((19, 20, 21, 22, 23, 0, 1, 2)) if evening else rng.randrange(9, 18)
    return datetime(day.year, day.month, day.day, hour, rng.randrange(60))


def _deprived_postcode(rng: random.Random, geo: Geography) -> str:
    areas = sorted(geo.small_areas, key=lambda a: -geo.deprivation[a.code])[:12]
    return rng.choice(geo.postcodes[rng.choice(areas).code])


def plan_scenarios(rng: random.Random, geo: Geography, people: list[Person]) -> ScenarioPlan:
    n = len(people)
    plan = ScenarioPlan()
    pick = _Picker(rng, people)
    for i in range(2 + n // 40_000):
        _county_line(rng, geo, plan, pick, f"CL{i + 1:02d}", _LINE_NAMES[i % len(_LINE_NAMES)])
    for i in range(2 + n // 50_000):
        _cse_network(rng, geo, plan, pick, f"CSE{i + 1:02d}", i)
    for i in range(3 + n // 15_000):
        _online(rng, plan, pick, f"ONL{i + 1:02d}")
    for i in range(3 + n // 12_000):
        _transition(rng, geo, plan, pick, f"TR{i + 1:02d}")
    return plan


def _member(plan: ScenarioPlan, sid: str, stype: str, p: Person, role: str) -> None:
    p.scenario = sid
    plan.members.append((sid, stype, p.pid, role))


def _missing(
    rng: random.Random, child: Person, start: datetime, found: Place, flags: tuple[str, ...]
) -> None:
    end = start + timedelta(hours=rng.randint(6, 72))
    child.missing.append(Missing(start, end, found, rng.choice(("High", "Medium")), flags))
    child.missing.sort(key=lambda m: m.start)


def _period(rng: random.Random) -> tuple[date, date]:
    """When a scenario is active: some ended long before the reference date, others are
    still going on in the year before it (as a partnership's current cases are), so that
    the default period of 12 months holds planted harm as real extracts do."""
    latest_start = (REFERENCE_DATE - WINDOW_START).days - 330
    start = WINDOW_START + timedelta(days=rng.randrange(60, latest_start))
    end = min(REFERENCE_DATE - timedelta(days=20), start + timedelta(days=rng.randint(300, 540)))
    return start, end


def _county_line(
    rng: random.Random, geo: Geography, plan: ScenarioPlan, pick: _Picker, sid: str, line: str
) -> None:
    lo, hi = _period(rng)
    name = f"{line} line"
    holders = pick.adults(rng.randint(1, 2))
    runners = pick.young_aged(rng.randint(1, 2), lo, 18, 21, girls=0.1)
    children = pick.young_aged(rng.randint(4, 7), lo, 13, 16, girls=0.2)
    if not children or not holders + runners:
        return  # too few people of the right ages (a very small run)
    plan.count += 1
    traps = []
    for _ in range(rng.randint(1, 2)):
        if rng.random() < 0.5:
            trap_name = f"Flat {rng.randint(1, 24)}, {rng.choice(_BLOCKS)}"
        else:
            trap_name = f"{rng.randint(2, 80)} {rng.choice(_CLOSES)}"
        traps.append(Place(trap_name, _deprived_postcode(rng, geo), "other_residential"))
    for place in traps:
        plan.places.append((sid, place.name, place.postcode))
    for p in holders + runners:
        _member(plan, sid, "county_lines", p, "person_of_concern")
    for p in children:
        _member(plan, sid, "county_lines", p, "victim")
    flags = ("county_lines", "cce")
    adults = holders + runners
    # Crimes at each trap house and on the street: the children recorded as suspects.
    for k in range(max(len(traps), rng.randint(3, 6))):
        place = (
            traps[k]
            if k < len(traps)
            else rng.choice(traps + geo.places[geo.ward_of(traps[0].postcode)])
        )
        kids = rng.sample(children, min(len(children), rng.randint(1, 3)))
        involved = [(c, "suspect") for c in kids] + [(rng.choice(adults), "suspect")]
        detail = rng.choice(("pwits_a", "pwits_a", "poss_b", "weapon"))
        plan.add(
            Planted(
                "crime", _moment(rng, lo, hi), involved, flags, place, detail, name, "county_line"
            )
        )
    for place in traps:  # cuckooing reported by a neighbour
        involved = [(rng.choice(children), "victim"), (holders[0] if holders else adults[0], "poc")]
        plan.add(
            Planted(
                "crime",
                _moment(rng, lo, hi),
                involved,
                (*flags, "cuckooing"),
                place,
                "inc_cuckoo",
                name,
                "county_line",
            )
        )
    for c in children:
        for _ in range(rng.randint(1, 3)):
            roll = rng.random()
            found = (
                rng.choice(traps)
                if roll < 0.4
                else rng.choice(geo.out_of_area)
                if roll < 0.8
                else rng.choice(geo.places[geo.authorities[0].code])
            )
            _missing(rng, c, _moment(rng, lo, hi), found, flags)
        when = _moment(rng, lo, hi, evening=False)
        plan.add(Planted("csc_contact", when, [(c, "subject")], ("cce",), None, "CCE"))
        factors = (
            ["24A", "10A"]
            + (["13A"] if rng.random() < 0.3 else [])
            + (["2A"] if rng.random() < 0.3 else [])
        )
        plan.add(
            Planted(
                "csc_assessment",
                when + timedelta(days=3),
                [(c, "subject")],
                ("cce",),
                None,
                ",".join(factors),
            )
        )
        if rng.random() < 0.4:
            plan.add(
                Planted("yj", _moment(rng, lo, hi, False), [(c, "subject")], flags, None, "pwits_a")
            )
        if rng.random() < 0.3:
            plan.add(
                Planted(
                    "nrm", _moment(rng, lo, hi, False), [(c, "subject")], ("cce",), None, "Criminal"
                )
            )
        if rng.random() < 0.25:
            plan.add(Planted("ae", _moment(rng, lo, hi), [(c, "subject")], ("cce",), None, "STAB"))
        if rng.random() < 0.4:
            plan.add(
                Planted(
                    "exclusion",
                    _moment(rng, lo, hi, False),
                    [(c, "subject")],
                    (),
                    None,
                    rng.choice(("DA", "WP")),
                )
            )
        if rng.random() < 0.25:
            plan.add(
                Planted(
                    "voluntary",
                    _moment(rng, lo, hi, False),
                    [(c, "subject")],
                    ("cce",),
                    None,
                    "cce",
                )
            )
    for r in runners:
        plan.add(
            Planted(
                "asc", _moment(rng, lo, hi, False), [(r, "subject")], ("cce",), None, "criminal"
            )
        )


def _cse_network(
    rng: random.Random, geo: Geography, plan: ScenarioPlan, pick: _Picker, sid: str, i: int
) -> None:
    lo, hi = _period(rng)
    op = f"Op {_OPERATIONS[i % len(_OPERATIONS)]}"
    authority = geo.authorities[i % 2].code
    ward_pcs = [place.postcode for place in geo.places[authority]]
    ward_pcs += [geo.places[w.code][0].postcode for w in geo.wards if w.parent == authority]
    takeaway = Place(_TAKEAWAYS[i % len(_TAKEAWAYS)], rng.choice(ward_pcs), "takeaway")
    hotel = Place(_HOTELS[i % len(_HOTELS)], rng.choice(ward_pcs), "hotel")
    flat = Place(
        f"Flat {rng.randint(1, 12)}, {rng.choice(_BLOCKS)}",
        _deprived_postcode(rng, geo),
        "other_residential",
    )
    places = [takeaway, hotel, flat]
    pocs = pick.adults(rng.randint(3, 5))
    victims = pick.young_aged(rng.randint(4, 8), lo, 12, 16, girls=1.0)
    victims += pick.young_aged(rng.randint(1, 2), lo, 13, 16, girls=0.0)
    if not victims or not pocs:
        return  # too few people of the right ages (a very small run)
    plan.count += 1
    if i == 0:  # a name a Windows-1252 police system keeps but UTF-8 readers trip over
        pocs[0].forename, pocs[0].alt_forename = "José", "Jose"
    for place in places:
        plan.places.append((sid, place.name, place.postcode))
    for p in pocs:
        _member(plan, sid, "cse_network", p, "person_of_concern")
    for p in victims:
        _member(plan, sid, "cse_network", p, "victim")
    flags = ("cse",)
    for place in places:  # children found with adults at each place
        involved = [(v, "victim") for v in rng.sample(victims, min(2, len(victims)))]
        involved += [(a, "poc") for a in rng.sample(pocs, min(2, len(pocs)))]
        plan.add(
            Planted(
                "crime",
                _moment(rng, lo, hi),
                involved,
                flags,
                place,
                "inc_cse",
                op,
                "organised_group",
            )
        )
    for _ in range(rng.randint(2, 5)):
        involved = [(rng.choice(victims), "victim"), (rng.choice(pocs), "suspect")]
        detail = rng.choice(("sex_child", "incite_child", "supply_child"))
        plan.add(
            Planted(
                "crime",
                _moment(rng, lo, hi),
                involved,
                flags,
                rng.choice(places),
                detail,
                op,
                "organised_group",
            )
        )
    for v in victims:
        for _ in range(rng.randint(1, 4)):
            _missing(rng, v, _moment(rng, lo, hi), rng.choice(places), flags)
        when = _moment(rng, lo, hi, evening=False)
        plan.add(Planted("csc_contact", when, [(v, "subject")], flags, None, "CSE"))
        factors = (
            ["11A"]
            + (["10A"] if rng.random() < 0.7 else [])
            + (["15A"] if rng.random() < 0.3 else [])
            + (["2A"] if rng.random() < 0.3 else [])
        )
        plan.add(
            Planted(
                "csc_assessment",
                when + timedelta(days=4),
                [(v, "subject")],
                flags,
                None,
                ",".join(factors),
            )
        )
        if rng.random() < 0.5:
            plan.add(
                Planted(
                    "ae",
                    _moment(rng, lo, hi),
                    [(v, "subject")],
                    flags,
                    None,
                    rng.choice(("INTOX", "OD", "SEXASS")),
                )
            )
        if rng.random() < 0.5:
            plan.add(
                Planted(
                    "voluntary", _moment(rng, lo, hi, False), [(v, "subject")], flags, None, "cse"
                )
            )
        if rng.random() < 0.2:
            plan.add(
                Planted("nrm", _moment(rng, lo, hi, False), [(v, "subject")], flags, None, "Sexual")
            )


def _online(rng: random.Random, plan: ScenarioPlan, pick: _Picker, sid: str) -> None:
    lo, hi = _period(rng)
    victims = pick.young_aged(1, lo, 11, 15, girls=0.7)
    if not victims:
        return
    plan.count += 1
    v = victims[0]
    _member(plan, sid, "online", v, "victim")
    involved: list[tuple[Person, str]] = [(v, "victim")]
    if rng.random() < 0.3:
        for a in pick.adults(1):
            _member(plan, sid, "online", a, "person_of_concern")
            involved.append((a, "suspect"))
    for _ in range(rng.randint(1, 2)):
        detail = rng.choice(("online_comms", "online_images"))
        plan.add(Planted("crime", _moment(rng, lo, hi), involved, ("online", "cse"), None, detail))
    plan.add(
        Planted(
            "csc_contact", _moment(rng, lo, hi, False), [(v, "subject")], ("online",), None, "ONL"
        )
    )
    if rng.random() < 0.4:
        plan.add(
            Planted(
                "voluntary",
                _moment(rng, lo, hi, False),
                [(v, "subject")],
                ("online",),
                None,
                "online",
            )
        )


def _transition(
    rng: random.Random, geo: Geography, plan: ScenarioPlan, pick: _Picker, sid: str
) -> None:
    found = pick.young_aged(1, REFERENCE_DATE, 19, 20, girls=0.6)
    if not found:
        return
    p = found[0]
    eighteen = date(p.dob.year + 18, p.dob.month, min(p.dob.day, 28))
    before = (WINDOW_START, eighteen - timedelta(days=1))
    after = (eighteen + timedelta(days=30), REFERENCE_DATE - timedelta(days=5))
    if before[0] >= before[1] or after[0] >= after[1]:
        return
    plan.count += 1
    kind = "cse" if p.sex == "F" and rng.random() < 0.7 else "cce"
    _member(plan, sid, "transition", p, "victim")
    flags = (kind,)
    place = rng.choice(geo.places[geo.authorities[rng.randrange(2)].code])
    plan.add(
        Planted(
            "crime",
            _moment(rng, *before),
            [(p, "victim")],
            flags,
            place,
            "inc_cse" if kind == "cse" else "pwits_a",
        )
    )
    plan.add(
        Planted(
            "csc_assessment",
            _moment(rng, *before, evening=False),
            [(p, "subject")],
            flags,
            None,
            "11A,10A" if kind == "cse" else "24A,10A",
        )
    )
    _missing(rng, p, _moment(rng, *before), place, flags)
    abuse = "sexual" if kind == "cse" else rng.choice(("slavery", "criminal"))
    for _ in range(rng.randint(1, 3)):
        plan.add(
            Planted(
                "asc", _moment(rng, *after, evening=False), [(p, "subject")], flags, None, abuse
            )
        )
    plan.add(
        Planted(
            "crime",
            _moment(rng, *after),
            [(p, "victim")],
            flags,
            place,
            "inc_cse" if kind == "cse" else "slavery",
        )
    )
    if rng.random() < 0.4:
        plan.add(
            Planted(
                "nrm",
                _moment(rng, *after, evening=False),
                [(p, "subject")],
                flags,
                None,
                "Sexual" if kind == "cse" else "Labour",
            )
        )
