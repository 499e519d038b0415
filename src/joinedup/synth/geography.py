"""The fictional area: two authorities, wards, small areas, postcodes, places and population.

Everything is laid on a grid in a lat/lon box in the English Midlands: each small area is a
rectangle, a ward is the rectangle of its small areas, an authority the rectangle of its
wards, so polygons never overlap. Codes start XA (authority), XW (ward) and XS (small area),
which no real ONS code does; postcodes use the areas WX (Wexbury) and AS (Ashdown), which do
not exist, and out-of-area finds use EY, which does not exist either.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from joinedup.synth.identifiers import postcode_unit

__all__ = [
    "AGE_MAX",
    "ETHNIC_GROUPS",
    "Area",
    "Geography",
    "Place",
    "School",
    "build_geography",
    "geography_config",
]

AGE_MAX = 24
ETHNIC_GROUPS = ("White", "Mixed", "Asian", "Black", "Chinese or other")

_AUTHORITIES = (
    # code, name, postcode area, UPN LA number, ward grid (cols, rows), lon range
    ("XA0000001", "Wexbury", "WX", 990, (3, 3), (-1.60, -1.25)),
    ("XA0000002", "Ashdown", "AS", 991, (4, 2), (-1.25, -0.90)),
)
_LAT = (52.10, 52.40)
_WARD_NAMES = (
    "Millbrook",
    "Northgate",
    "Crowmarsh",
    "Kingsmead",
    "Hollowell",
    "Saxonfield",
    "Brackley Vale",
    "St Aldhelm's",
    "Riverside",
    "Fenwick",
    "Thornbury Park",
    "Eastleigh Green",
    "Harcourt",
    "Oakhanger",
    "Westmoor",
    "Linden",
    "Copsewood",
    "Marlstone",
    "Greyfriars",
    "Ashby Fields",
)
_SMALL_AREA_GRIDS = ((2, 3), (2, 4), (3, 3), (2, 5), (3, 2), (2, 3), (3, 3))
_SAINTS = ("Edmund", "Thomas More", "Bede", "Hilda", "Chad")
_OUT_OF_AREA = (
    ("Crossgate Railway Station", "EY1 4TN", "transport"),
    ("Flat 2, Marsh House, Crossgate", "EY3 7QP", "other_residential"),
    ("Hollin Bay Seafront", "EY9 2AD", "street"),
    ("Crossgate Services, M-way Junction 12", "EY5 1XW", "transport"),
)


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    type: str  # authority | ward | small_area
    parent: str
    box: tuple[float, float, float, float]  # lon0, lat0, lon1, lat1


@dataclass(frozen=True)
class Place:
    """A named location where things happen (never a home address line)."""

    name: str
    postcode: str
    type: str  # taxonomy place_type
    ward: str = ""


@dataclass(frozen=True)
class School:
    urn: str
    name: str
    postcode: str
    phase: str  # primary | secondary | pru
    authority: str


@dataclass
class Geography:
    authorities: list[Area] = field(default_factory=list)
    wards: list[Area] = field(default_factory=list)
    small_areas: list[Area] = field(default_factory=list)
    postcodes: dict[str, list[str]] = field(default_factory=dict)  # small area -> postcodes
    coords: dict[str, tuple[float, float]] = field(default_factory=dict)  # postcode -> lat, lon
    area_of: dict[str, str] = field(default_factory=dict)  # postcode -> small area
    parent: dict[str, str] = field(default_factory=dict)  # area code -> parent code
    deprivation: dict[str, float] = field(default_factory=dict)  # small area -> 0..1
    mix: dict[str, tuple[float, ...]] = field(default_factory=dict)  # small area -> group shares
    places: dict[str, list[Place]] = field(default_factory=dict)  # ward or authority -> places
    schools: dict[str, list[School]] = field(default_factory=dict)  # authority -> schools
    upn_la: dict[str, int] = field(default_factory=dict)  # authority -> UPN LA number
    out_of_area: list[Place] = field(default_factory=list)
    population_rows: list[tuple[str, int, str, str, int]] = field(default_factory=list)

    def authority_of(self, postcode: str) -> str:
        return self.parent[self.parent[self.area_of[postcode]]]

    def ward_of(self, postcode: str) -> str:
        return self.parent[self.area_of[postcode]]

    def town(self, authority: str) -> str:
        return next(a.name for a in self.authorities if a.code == authority)

    def write(self, folder: Path) -> dict[str, int]:
        """Write the reference files as partnerships receive them (issue 13): a postcode
        directory cut with ONSPD's column names, the areas as a CSV with codes, names,
        types, parents and centroids, their boundaries as GeoJSON, and the population in
        long form with its own column names. Returns rows per file."""
        folder.mkdir(parents=True, exist_ok=True)
        areas = [*self.authorities, *self.wards, *self.small_areas]
        features = []
        for area in areas:
            x0, y0, x1, y1 = area.box
            ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
            features.append(
                {
                    "type": "Feature",
                    "properties": {"AREACD": area.code, "AREANM": area.name},
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]],
                    },
                }
            )
        doc = {"type": "FeatureCollection", "features": features}
        (folder / "boundaries.geojson").write_text(
            json.dumps(doc, indent=1) + "\n", encoding="utf-8"
        )
        kinds = {"authority": "LAD", "ward": "WD", "small_area": "LSOA"}
        rows = ["code,name,type,parent,lat,long"]
        for area in areas:
            x0, y0, x1, y1 = area.box
            name = f'"{area.name}"' if "," in area.name else area.name
            rows.append(
                f"{area.code},{name},{kinds[area.type]},{area.parent},"
                f"{(y0 + y1) / 2:.6f},{(x0 + x1) / 2:.6f}"
            )
        (folder / "areas.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        lines = ["pcd7,pcds,dointr,doterm,oslaua,osward,lsoa21,lat,long"]
        for area in self.small_areas:
            ward = self.parent[area.code]
            for pc in self.postcodes[area.code]:
                lat, lon = self.coords[pc]
                out, inward = pc.split(" ")
                pcd7 = out + inward if len(out) == 4 else f"{out:<4}{inward}"[:7]
                lines.append(
                    f"{pcd7},{pc},199801,,{self.parent[ward]},{ward},{area.code},"
                    f"{lat:.6f},{lon:.6f}"
                )
        (folder / "onspd_cut.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        sexes = {"M": "1", "F": "2"}  # as in ONS mid-year estimates
        pop = ["LSOA code,Sex,Age,Ethnic group,Count"]
        pop += [f"{a},{sexes[sex]},{age},{grp},{n}" for a, age, sex, grp, n in self.population_rows]
        (folder / "population.csv").write_text("\n".join(pop) + "\n", encoding="utf-8")
        return {
            "geography/areas.csv": len(rows) - 1,
            "geography/boundaries.geojson": len(features),
            "geography/onspd_cut.csv": len(lines) - 1,
            "geography/population.csv": len(pop) - 1,
        }


def geography_config() -> dict[str, Any]:
    """The ``geography`` section of partnership.yaml for the files :meth:`Geography.write`
    writes: every column named as the files name it."""
    return {
        "postcodes": {
            "file": "geography/onspd_cut.csv",
            "columns": {
                "postcode": "pcds",
                "small_area": "lsoa21",
                "ward": "osward",
                "authority": "oslaua",
                "lat": "lat",
                "lon": "long",
            },
        },
        "areas": {
            "file": "geography/areas.csv",
            "columns": {"lon": "long"},
            "types": {"LAD": "authority", "WD": "ward", "LSOA": "small_area"},
        },
        "boundaries": {"file": "geography/boundaries.geojson", "code": "AREACD"},
        "population": {
            "file": "geography/population.csv",
            "columns": {
                "area": "LSOA code",
                "sex": "Sex",
                "age": "Age",
                "ethnicity": "Ethnic group",
                "count": "Count",
            },
            "sex_codes": {"1": "M", "2": "F"},
        },
    }


def _templates() -> list[tuple[str, str]]:
    text = resources.files("joinedup.synth").joinpath("data", "places.txt").read_text("utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    return [(kind, pattern) for kind, pattern in rows]


_PLACE_TYPES = {
    "park": "park",
    "shop": "shop",
    "takeaway": "takeaway",
    "street": "street",
    "transport": "transport",
    "leisure": "leisure",
    "licensed": "licensed_premises",
    "hotel": "hotel",
}


def _mix(rng: random.Random, deprivation: float) -> tuple[float, ...]:
    # Shares of White, Mixed, Asian, Black, Chinese or other among under-25s: England is
    # about 74/7/12/6/2; poorer, urban small areas here are more diverse.
    diverse = rng.betavariate(2, 5) * (0.6 + deprivation)
    white = max(0.25, 0.93 - diverse)
    rest = 1 - white
    parts = [0.25 + rng.random() * 0.1, 0.4 + rng.random() * 0.2, 0.22 + rng.random() * 0.1, 0.07]
    scale = rest / sum(parts)
    return (white, *(p * scale for p in parts))


def build_geography(rng: random.Random, people: int) -> Geography:
    """Lay out the area. The population is scaled so that the people in the data are
    roughly a quarter of the area's residents aged 0-24."""
    geo = Geography()
    templates = _templates()
    ward_names = list(_WARD_NAMES)
    rng.shuffle(ward_names)
    ward_no = sa_no = 0
    urn = 990100
    for code, town, pc_area, la_number, (cols, rows), (lon0, lon1) in _AUTHORITIES:
        geo.upn_la[code] = la_number
        geo.authorities.append(Area(code, town, "authority", "", (lon0, _LAT[0], lon1, _LAT[1])))
        geo.schools[code] = []
        geo.places[code] = []
        ward_w = (lon1 - lon0) / cols
        ward_h = (_LAT[1] - _LAT[0]) / rows
        district = 0
        for r in range(rows):
            for c in range(cols):
                ward_no += 1
                district += 1
                wname = ward_names.pop()
                wcode = f"XW{ward_no:07d}"
                wx0, wy0 = lon0 + c * ward_w, _LAT[0] + r * ward_h
                geo.wards.append(
                    Area(wcode, wname, "ward", code, (wx0, wy0, wx0 + ward_w, wy0 + ward_h))
                )
                geo.parent[wcode] = code
                sa_cols, sa_rows = rng.choice(_SMALL_AREA_GRIDS)
                ward_pcs: list[str] = []
                for sr in range(sa_rows):
                    for sc in range(sa_cols):
                        sa_no += 1
                        sector = sr * sa_cols + sc
                        scode = f"XS{sa_no:07d}"
                        sw, sh = ward_w / sa_cols, ward_h / sa_rows
                        box = (
                            wx0 + sc * sw,
                            wy0 + sr * sh,
                            wx0 + (sc + 1) * sw,
                            wy0 + (sr + 1) * sh,
                        )
                        name = f"{town} {sa_no:03d}{'ABCDEFGHJK'[sector]}"
                        geo.small_areas.append(Area(scode, name, "small_area", wcode, box))
                        geo.parent[scode] = wcode
                        units = sorted({postcode_unit(rng) for _ in range(rng.randint(10, 24))})
                        pcs = [f"{pc_area}{district} {sector}{u}" for u in units]
                        geo.postcodes[scode] = pcs
                        ward_pcs.extend(pcs)
                        for pc in pcs:
                            geo.area_of[pc] = scode
                            lon = box[0] + sw * (0.05 + 0.9 * rng.random())
                            lat = box[1] + sh * (0.05 + 0.9 * rng.random())
                            geo.coords[pc] = (lat, lon)
                        geo.deprivation[scode] = rng.random()
                        geo.mix[scode] = _mix(rng, geo.deprivation[scode])
                places = []
                for kind, pattern in templates:
                    scope, _, what = kind.partition("_")
                    if scope == "ward" and rng.random() < 0.5:
                        name = pattern.format(ward=wname, town=town)
                        places.append(Place(name, rng.choice(ward_pcs), _PLACE_TYPES[what], wcode))
                    elif scope == "town" and r == 0 and c == 0:
                        name = pattern.format(ward=wname, town=town)
                        geo.places[code].append(
                            Place(name, rng.choice(ward_pcs), _PLACE_TYPES[what], wcode)
                        )
                if not places:
                    places.append(Place(f"{wname} Park", rng.choice(ward_pcs), "park", wcode))
                geo.places[wcode] = places
                urn += 1
                geo.schools[code].append(
                    School(
                        str(urn), f"{wname} Primary School", rng.choice(ward_pcs), "primary", code
                    )
                )
                if district % 2 == 1:
                    urn += 1
                    style = rng.choice(("Academy", "High School", "Community College"))
                    sname = f"{wname} {style}"
                    if rng.random() < 0.25:
                        sname = f"St {rng.choice(_SAINTS)}'s Catholic High School, {town}"
                    school = School(str(urn), sname, rng.choice(ward_pcs), "secondary", code)
                    geo.schools[code].append(school)
        urn += 1
        pru = School(
            str(urn),
            f"{town} Pupil Referral Unit",
            geo.postcodes[geo.small_areas[-1].code][0],
            "pru",
            code,
        )
        geo.schools[code].append(pru)
    geo.out_of_area = [Place(n, pc, t) for n, pc, t in _OUT_OF_AREA]
    _population(rng, geo, people)
    return geo


def _population(rng: random.Random, geo: Geography, people: int) -> None:
    per_area = max(300.0, people * 4.0 / len(geo.small_areas))
    for area in geo.small_areas:
        size = per_area * (0.6 + 0.8 * rng.random())
        mix = geo.mix[area.code]
        for age in range(AGE_MAX + 1):
            age_weight = 0.85 if 19 <= age <= 22 else 1.0
            for sex, sex_share in (("F", 0.49), ("M", 0.51)):
                for group, share in zip(ETHNIC_GROUPS, mix, strict=True):
                    expected = size / (AGE_MAX + 1) * age_weight * sex_share * share
                    n = int(expected + rng.random())
                    geo.population_rows.append((area.code, age, sex, group, n))
