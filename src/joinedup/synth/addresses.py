"""Free-text addresses and a foreign identifier, as agencies write them (issue 13).

Each is a pure function of the true person (or place) and a hash of its id, so adding
them never moves another writer's random draws: a person has one house at each postcode,
written in several ways (postcode in upper or lower case, with or without its space), and
a place one street address. Some people born in Romania carry a Romanian personal
numeric code (CNP), which three agencies record: a non-UK identifier of a declared kind.
"""

from __future__ import annotations

import zlib
from datetime import date

from joinedup.synth.geography import Geography, Place
from joinedup.synth.people import Person

__all__ = [
    "FOREIGN_ID_NAME",
    "BadOnce",
    "bad_foreign_id",
    "foreign_id",
    "home_address",
    "place_address",
    "recorded_foreign_id",
]

FOREIGN_ID_NAME = "Romanian personal numeric code (CNP)"

_STREETS = (
    "Elm Road",
    "Church Lane",
    "Victoria Street",
    "Meadow View",
    "Oak Avenue",
    "Queens Road",
    "Mill Street",
    "Park Crescent",
    "Cedar Grove",
    "Windsor Drive",
    "Brook Street",
    "Chapel Row",
)
_PLACE_STREETS = ("Market Street", "Bridge Street", "London Road", "Union Street", "Castle Way")
_OUT_OF_AREA_TOWN = "Crossgate"


def _hash(*parts: str) -> int:
    return zlib.crc32("|".join(parts).encode("utf-8"))


def _town(geo: Geography, postcode: str) -> str:
    if postcode in geo.area_of:
        return geo.town(geo.authority_of(postcode))
    return _OUT_OF_AREA_TOWN


def _postcode_written(postcode: str, style: int) -> str:
    """A postcode as people type it into a free-text address."""
    if style == 0:
        return postcode
    if style == 1:
        return postcode.lower().replace(" ", "")
    if style == 2:
        return postcode.replace(" ", "")
    return postcode.capitalize()


def home_address(
    geo: Geography, person: Person, postcode: str, style: int, *, with_postcode: bool = True
) -> str:
    """The person's address at ``postcode`` in free text, the postcode inside in one of
    four ways (``style`` 0..3); without it when the agency did not record it."""
    h = _hash(person.pid, postcode)
    line = f"{1 + h % 97} {_STREETS[(h >> 8) % len(_STREETS)]}, {_ward_name(geo, postcode)}"
    if not with_postcode:
        return line
    return f"{line} {_postcode_written(postcode, style % 4)}"


def _ward_name(geo: Geography, postcode: str) -> str:
    if postcode not in geo.area_of:
        return _OUT_OF_AREA_TOWN
    ward = geo.ward_of(postcode)
    return next(w.name for w in geo.wards if w.code == ward)


def place_address(geo: Geography, place: Place) -> str:
    """A named place's street address, with commas, as a police system holds it."""
    h = _hash(place.name, place.postcode)
    street = _PLACE_STREETS[h % len(_PLACE_STREETS)]
    return f"{1 + (h >> 8) % 120} {street}, {_town(geo, place.postcode)}, {place.postcode}"


def foreign_id(person: Person) -> str:
    """A CNP for about 40% of people of White Other or Roma heritage, '' for others. Its
    form: sex and century digit, YYMMDD, county, serial, check digit (Romania's rule)."""
    if person.kind != "young" and person.kind != "poc":
        return ""
    h = _hash("cnp", person.pid)
    if person.ethnicity not in ("WOTH", "WROM") or h % 100 >= 40:
        return ""
    return _cnp(person.dob, person.sex, h)


def _cnp(dob: date, sex: str, h: int) -> str:
    century = 1 if dob.year < 2000 else 5
    first = century + (1 if sex == "F" else 0)
    body = f"{first}{dob:%y%m%d}{1 + (h >> 8) % 40:02d}{(h >> 16) % 1000:03d}"
    total = sum(int(d) * int(w) for d, w in zip(body, "279146358279", strict=True))
    check = total % 11
    return body + str(1 if check == 10 else check)


def bad_foreign_id(valid: str) -> str:
    """The code with one digit lost in keying (twelve digits: fails the kind's check)."""
    return valid[:6] + valid[7:]


class BadOnce:
    """Plants one foreign id with a digit lost per source (the second person who has one),
    so every source recording them has one value failing its check."""

    def __init__(self) -> None:
        self.seen = 0
        self.done = False

    def due(self, p: Person) -> bool:
        if self.done or not foreign_id(p):
            return False
        self.seen += 1
        if self.seen >= 2:  # the second: the first is recorded well
            self.done = True
            return True
        return False


def recorded_foreign_id(p: Person, column: str, bad: bool) -> tuple[str, list[tuple[str, str]]]:
    """The code as a source records it, and the planted problem when ``bad``."""
    cnp = foreign_id(p) if p.kind != "test" else ""
    if cnp and bad:
        return bad_foreign_id(cnp), [(column, "invalid_foreign_id")]
    return cnp, []
