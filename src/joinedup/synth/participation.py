"""What the synthetic partnership's children and young people say (issue 20, item 2): a
safety survey (one row a response) and a youth clubs' mapping exercise (one row a ward
and type of place), with planted places where they feel unsafe.

Some planted places are places the agencies also record as hotspots (a takeaway and a
hotel of a CSE network in ``truth/scenario_places.csv``); others are recorded nowhere
else (an underpass, a towpath, a park in the mapping exercise): the point of children's
own maps. Everything is drawn from its own random stream, so no other extract or figure
changes. Truth: ``truth/participation_wards.csv`` (responses and those saying unsafe by
ward, the survey and the mapping exercise together; ward empty for responses that
cannot be placed) and ``truth/participation_places.csv`` (the planted places).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from joinedup.synth.geography import Geography
from joinedup.synth.people import REFERENCE_DATE

__all__ = [
    "MAPPING_FILE",
    "SURVEY_FILE",
    "participation_config",
    "write_participation",
]

SURVEY_FILE = "participation/safety_survey_2026.csv"
MAPPING_FILE = "participation/youth_club_mapping_2026.csv"
_SURVEY_COLUMNS = (
    "Age group",
    "Place",
    "Postcode (if you know it)",
    "Where is it?",
    "How safe do you feel there?",
    "What would make it feel safer?",
    "Date",
)
_MAPPING_COLUMNS = (
    "Ward code",
    "Type of place",
    "Young people taking part",
    "Marked unsafe",
    "Month",
)
_AGES = ("11-13", "11-13", "14-15", "14-15", "16-17", "16-17", "18-24")
_UNSAFE = ("Unsafe", "Very unsafe", "unsafe", "Not safe")
_SAFE = ("Safe", "Very safe", "safe", "Quite safe")
_UNSURE = ("Not sure", "Don't know", "")
_HELPS = (
    "Brighter street lights",
    "Police walking round more",
    "Somewhere to go after school",
    "Adults who actually listen",
    "CCTV that works",
    "A youth worker there in the evenings",
    "Buses that run later",
    "Nothing, it's fine",
    "",
    "",
)
#: Free text that a scrubber must clean (names after "called", a phone number).
_HELPS_NAMED = (
    "Someone to stop the man called Dean who hangs round there",
    "Text 07700 900123 if you see them, that's what people say",
)
_GENERIC = ("the park", "the shops", "the bus stop", "outside school", "the town centre")
_PLANTED_NEW = (
    ("The underpass by {ward} shops", "street"),
    ("{ward} canal towpath", "street"),
)


@dataclass(frozen=True)
class _Spot:
    name: str
    postcode: str
    ward: str
    recorded: bool


def participation_config(agency: str, agreement: str) -> list[dict[str, Any]]:
    """The ``participation:`` entries of partnership.yaml for the files written here."""
    return [
        {
            "id": "safety_survey_2026",
            "title": "Young people's safety survey 2026",
            "kind": "individual",
            "agency": agency,
            "sharing_agreement": agreement,
            "file": SURVEY_FILE,
            "columns": {
                "age_band": "Age group",
                "place": "Place",
                "postcode": "Postcode (if you know it)",
                "location": "Where is it?",
                "feeling": "How safe do you feel there?",
                "what_helps": "What would make it feel safer?",
                "date": "Date",
            },
            "unsafe_values": ["unsafe", "very unsafe", "not safe"],
            "safe_values": ["safe", "very safe", "quite safe"],
        },
        {
            "id": "youth_club_mapping_2026",
            "title": "Youth clubs' mapping exercise 2026",
            "kind": "aggregate",
            "agency": agency,
            "sharing_agreement": agreement,
            "file": MAPPING_FILE,
            "columns": {
                "area_code": "Ward code",
                "place_type": "Type of place",
                "responses": "Young people taking part",
                "unsafe": "Marked unsafe",
                "period": "Month",
            },
        },
    ]


def _day(rng: random.Random) -> date:
    """A day of the survey: the four months before the last month of the data."""
    return REFERENCE_DATE - timedelta(days=rng.randint(30, 150))


def write_participation(
    root: Path, geo: Geography, places: list[tuple[str, str, str]], seed: int
) -> None:
    """Write the survey, the mapping exercise and their truth under ``root``."""
    rng = random.Random(f"{seed}:participation")
    ward_name = {w.code: w.name for w in geo.wards}
    ward_pcs: dict[str, list[str]] = {}
    for sa, pcs in sorted(geo.postcodes.items()):
        ward_pcs.setdefault(geo.parent[sa], []).extend(pcs)
    wards = sorted(ward_pcs)
    # planted places: two recorded hotspots (a CSE network's takeaway and hotel) ...
    spots: list[_Spot] = []
    for sid, name, pc in places:
        if sid.startswith("CSE") and not name.startswith("Flat") and pc in geo.area_of:
            if not any(s.postcode == pc for s in spots):
                spots.append(_Spot(name, pc, geo.ward_of(pc), True))
        if len(spots) == 2:
            break
    # ... and two places no agency records, in wards apart from those
    taken = {s.ward for s in spots}
    free = [w for w in wards if w not in taken]
    for (pattern, _), ward in zip(_PLANTED_NEW, rng.sample(free, len(_PLANTED_NEW)), strict=True):
        name = pattern.format(ward=ward_name[ward])
        spots.append(_Spot(name, rng.choice(ward_pcs[ward]), ward, False))
    truth: dict[str, list[int]] = {}  # ward ("" not placed) -> [responses, unsafe]
    spot_unsafe: dict[str, int] = {}

    def tally(ward: str, responses: int, unsafe: int) -> None:
        t = truth.setdefault(ward, [0, 0])
        t[0] += responses
        t[1] += unsafe

    rows: list[list[str]] = []
    for spot in spots:  # planted: mostly unsafe, placed by postcode or the ward's name
        for _ in range(rng.randint(12, 20)):
            unsafe = rng.random() < 0.85
            by_postcode = rng.random() < 0.7
            rows.append(
                [
                    rng.choice(_AGES),
                    spot.name,
                    spot.postcode if by_postcode else "",
                    "" if by_postcode else f"round there, in {ward_name[spot.ward]}",
                    rng.choice(_UNSAFE if unsafe else _SAFE),
                    rng.choice(_HELPS_NAMED if rng.random() < 0.1 else _HELPS),
                    _day(rng).isoformat(),
                ]
            )
            tally(spot.ward, 1, int(unsafe))
            spot_unsafe[spot.name] = spot_unsafe.get(spot.name, 0) + unsafe
    n_background = max(240, len(geo.area_of) // 4)
    for _ in range(n_background):  # the rest: anywhere, mostly safe
        ward = rng.choice(wards)
        roll = rng.random()
        feeling = _UNSURE if roll < 0.1 else _UNSAFE if roll < 0.28 else _SAFE
        unsafe = feeling is _UNSAFE
        kind = rng.random()
        place, pc, where = rng.choice(_GENERIC), "", ""
        if kind < 0.5:
            pc = rng.choice(ward_pcs[ward])
        elif kind < 0.95:
            where = f"{place} in {ward_name[ward]}"
        else:
            ward, place = "", rng.choice(("online", "everywhere really", "don't know"))
        rows.append(
            [
                rng.choice(_AGES),
                place,
                pc,
                where,
                rng.choice(feeling),
                rng.choice(_HELPS),
                _day(rng).isoformat(),
            ]
        )
        tally(ward, 1, int(unsafe))
    rng.shuffle(rows)
    _write(root / SURVEY_FILE, _SURVEY_COLUMNS, rows)
    # the mapping exercise: wards and types of place; one park planted, recorded nowhere
    park_ward = rng.choice([w for w in free if w not in {s.ward for s in spots}])
    table: list[list[str]] = []
    for ward in sorted(set(rng.sample(wards, min(8, len(wards)))) | {park_ward}):
        types = ["Park", "Bus station", "Shops", "Alleyways"]
        for place_type in rng.sample(types, 2) if ward != park_ward else ["Park"]:
            taking_part = rng.randint(6, 25)
            marked = rng.randint(0, taking_part // 3)
            if ward == park_ward:
                taking_part, marked = rng.randint(22, 30), rng.randint(15, 20)
                spot_unsafe[f"{ward_name[ward]} park (mapping exercise)"] = marked
            month = REFERENCE_DATE.replace(day=1) - timedelta(days=rng.randint(40, 120))
            row = [ward, place_type, str(taking_part), str(marked), month.strftime("%Y-%m")]
            table.append(row)
            tally(ward, taking_part, marked)
    _write(root / MAPPING_FILE, _MAPPING_COLUMNS, table)
    _write(
        root / "truth" / "participation_wards.csv",
        ("ward_code", "ward_name", "responses", "unsafe"),
        [[w, ward_name.get(w, ""), str(r), str(u)] for w, (r, u) in sorted(truth.items())],
    )
    planted = [
        ["safety_survey_2026", s.name, s.postcode, s.ward, "yes" if s.recorded else "no"]
        + [str(spot_unsafe.get(s.name, 0))]
        for s in spots
    ]
    planted.append(
        ["youth_club_mapping_2026", f"{ward_name[park_ward]} park (mapping exercise)", ""]
        + [park_ward, "no", str(spot_unsafe[f"{ward_name[park_ward]} park (mapping exercise)"])]
    )
    _write(
        root / "truth" / "participation_places.csv",
        ("participation", "place", "postcode", "ward_code", "recorded", "unsafe"),
        planted,
    )


def _write(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
