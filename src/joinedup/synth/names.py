"""Name lists and the ways a name goes wrong on its way into an agency's system."""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect
from dataclasses import dataclass, field
from importlib import resources
from itertools import accumulate

__all__ = [
    "NameBook",
    "NameForms",
    "cp1252_safe",
    "ethnicity_origin",
    "naming_convention",
    "pick_form",
    "typo",
]

# Which name list a DfE ethnicity code draws from (first origin most likely).
_ORIGINS: dict[str, tuple[tuple[str, float], ...]] = {
    "WBRI": (("british", 1.0),),
    "WIRI": (("british", 1.0),),
    "WIRT": (("british", 1.0),),
    "WROM": (("european", 0.8), ("british", 0.2)),
    "WOTH": (("european", 0.7), ("british", 0.3)),
    "MWBC": (("british", 0.6), ("caribbean", 0.4)),
    "MWBA": (("british", 0.5), ("african", 0.5)),
    "MWAS": (("british", 0.5), ("south_asian", 0.3), ("indian", 0.2)),
    "MOTH": (("british", 0.6), ("arab", 0.2), ("european", 0.2)),
    "AIND": (("indian", 1.0),),
    "APKN": (("south_asian", 1.0),),
    "ABAN": (("south_asian", 1.0),),
    "AOTH": (("south_asian", 0.5), ("indian", 0.3), ("arab", 0.2)),
    "BCRB": (("caribbean", 1.0),),
    "BAFR": (("african", 1.0),),
    "BOTH": (("african", 0.5), ("caribbean", 0.5)),
    "CHNE": (("chinese", 1.0),),
    "OOTH": (("arab", 0.8), ("european", 0.2)),
}

# Keys next to each other on a UK keyboard, for substitution typos.
_NEIGHBOURS = {
    "a": "sqz",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "w",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "zc",
    "y": "tu",
    "z": "x",
}


def _read(name: str) -> list[list[str]]:
    text = resources.files("joinedup.synth").joinpath("data", name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def ethnicity_origin(rng: random.Random, ethnicity: str) -> str:
    """Pick the name origin for a DfE ethnicity code."""
    options = _ORIGINS.get(ethnicity, (("british", 1.0),))
    roll = rng.random()
    for origin, share in options:
        roll -= share
        if roll < 0:
            return origin
    return options[-1][0]


@dataclass
class _Weighted:
    names: list[str] = field(default_factory=list)
    cum: list[float] = field(default_factory=list)

    def pick(self, rng: random.Random) -> str:
        return self.names[bisect(self.cum, rng.random() * self.cum[-1])]


def _weighted(names: list[str]) -> _Weighted:
    # Zipf-like: the first names of each list are far more common, as in real registers.
    weights = [1.0 / (rank + 4) for rank in range(len(names))]
    return _Weighted(names, list(accumulate(weights)))


class NameBook:
    """Forenames by origin and sex, surnames by origin, and nicknames."""

    def __init__(self) -> None:
        fore: dict[tuple[str, str], list[str]] = {}
        for origin, sex, name in _read("forenames.txt"):
            fore.setdefault((origin, sex), []).append(name)
        sur: dict[str, list[str]] = {}
        for origin, name in _read("surnames.txt"):
            sur.setdefault(origin, []).append(name)
        self._forenames = {key: _weighted(names) for key, names in fore.items()}
        self._surnames = {key: _weighted(names) for key, names in sur.items()}
        self.nicknames: dict[str, tuple[str, ...]] = {}
        for (line,) in _read("nicknames.txt"):
            formal, _, rest = line.partition(":")
            self.nicknames[formal.strip()] = tuple(n.strip() for n in rest.split(","))

    def forename(self, rng: random.Random, origin: str, sex: str) -> str:
        table = self._forenames.get((origin, sex)) or self._forenames[("british", sex)]
        return table.pick(rng)

    def surname(self, rng: random.Random, origin: str) -> str:
        return (self._surnames.get(origin) or self._surnames["british"]).pick(rng)

    def nickname(self, rng: random.Random, forename: str) -> str:
        """A nickname or variant of the forename, or '' when there is none."""
        options = self.nicknames.get(forename)
        return rng.choice(options) if options else ""


def typo(rng: random.Random, name: str) -> str:
    """One character edit: substitution by a neighbouring key, deletion, insertion or swap."""
    if len(name) < 3:
        return name
    i = rng.randrange(1, len(name) - 1)
    kind = rng.randrange(4)
    ch = name[i]
    if kind == 0 and ch.lower() in _NEIGHBOURS:
        new = rng.choice(_NEIGHBOURS[ch.lower()])
        return name[:i] + (new.upper() if ch.isupper() else new) + name[i + 1 :]
    if kind == 1:
        return name[:i] + name[i + 1 :]
    if kind == 2:
        return name[:i] + ch + name[i:]
    if name[i] != name[i + 1] and name[i + 1] not in " -'’":
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + name[i + 1 :]


def cp1252_safe(text: str) -> str:
    """What a Windows-1252 system keeps of a text: letters it cannot hold lose their accent."""
    if text.isascii():
        return text
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        out = []
        for ch in text:
            try:
                ch.encode("cp1252")
                out.append(ch)
            except UnicodeEncodeError:
                base = unicodedata.normalize("NFKD", ch)[0]
                out.append({"ł": "l", "Ł": "L"}.get(ch, base if base.isascii() else "?"))
        return "".join(out)


# --- naming conventions: one person, several ways their name is written -----------------
#
# Records of one child differ not only by typing: a Sikh child is "SINGH" to one agency
# and "GILL" to another; a Bangladeshi girl "BEGUM" or her family's name; a Vietnamese or
# Chinese child's family name is written first by some; a Somali child's surname is their
# father's given name to one agency and their grandfather's to another; a Polish girl's
# surname takes the feminine ending (Kowalska) except where copied from her father's
# record (Kowalski); double-barrelled names are hyphenated, spaced, joined or cut.
# Proportions follow the shares of the 2021 Census for England (Sikh about a third of
# people of Indian ethnicity; Somali about a fifth of Black African) and what agencies
# report of their own recording; docs/synthetic-data.md lists them.

#: (forename, surname, weight): the ways a person's name is written, most usual first.
NameForms = tuple[tuple[str, str, float], ...]

_SIKH_FAMILY = ("Gill", "Sandhu", "Sidhu", "Dhillon", "Grewal", "Bains", "Johal", "Atwal")
_BANGLADESHI_FAMILY = ("Rahman", "Miah", "Uddin", "Islam", "Ahmed", "Hoque", "Chowdhury")
_VIET_FAMILY = ("Nguyen", "Nguyen", "Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu")
_VIET_GIVEN = {
    "M": ("Minh", "Duc", "Huy", "Long", "Nam", "Quang", "Tuan", "Khoa"),
    "F": ("Linh", "Lan", "Mai", "Ngoc", "Thu", "Trang", "Huong", "Anh"),
}
_SOMALI_GIVEN = {
    "M": ("Abdirahman", "Abdullahi", "Mohamed", "Ahmed", "Hassan", "Yusuf", "Omar", "Ismail"),
    "F": ("Hodan", "Ayaan", "Fadumo", "Hibo", "Sahra", "Asha", "Amina", "Ifrah"),
}
_SOMALI_MALE = ("Mohamed", "Abdi", "Hassan", "Ali", "Warsame", "Farah", "Jama", "Abdullahi")
_POLISH_ENDINGS = (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka"))


def pick_form(rng: random.Random, forms: NameForms) -> tuple[str, str]:
    """One way of writing the name, by the forms' weights."""
    roll = rng.random() * sum(w for _, _, w in forms)
    for fore, sur, weight in forms:
        roll -= weight
        if roll < 0:
            return fore, sur
    return forms[-1][0], forms[-1][1]


def _feminine(surname: str) -> str | None:
    for male, female in _POLISH_ENDINGS:
        if surname.endswith(male):
            return surname[: -len(male)] + female
    return None


def naming_convention(
    rng: random.Random, ethnicity: str, origin: str, sex: str, forename: str, surname: str
) -> tuple[str, str, str, NameForms]:
    """``(convention, forename, surname, forms)``: the person's own name under the naming
    convention of their family, and the ways agencies write it (``forms``, empty when every
    agency writes it one way). ``convention`` names it for the docs and tests."""
    roll = rng.random()
    if ethnicity == "AIND" and origin == "indian" and roll < 0.35:
        family = rng.choice(_SIKH_FAMILY)
        title = "Kaur" if sex == "F" else "Singh"
        forms: NameForms = (
            (forename, family, 0.45),
            (forename, title, 0.3),
            (forename, f"{title} {family}", 0.15),
            (f"{forename} {title}", family, 0.1),
        )
        return "sikh", forename, family, forms
    if ethnicity == "ABAN" and sex == "F" and roll < 0.6:
        family = rng.choice(_BANGLADESHI_FAMILY)
        title = "Begum" if rng.random() < 0.75 else "Khatun"
        forms = (
            (forename, title, 0.5),
            (forename, family, 0.4),
            (f"{forename} {title}", family, 0.1),
        )
        return "begum_khatun", forename, title, forms
    if ethnicity == "CHNE" and roll < 0.3:
        return (
            "family_first",
            forename,
            surname,
            ((forename, surname, 0.75), (surname, forename, 0.25)),
        )
    if ethnicity == "OOTH" and roll < 0.3:
        given, family = (
            rng.choice(_VIET_GIVEN["F" if sex == "F" else "M"]),
            rng.choice(_VIET_FAMILY),
        )
        return "vietnamese", given, family, ((given, family, 0.65), (family, given, 0.35))
    if ethnicity == "BAFR" and roll < 0.2:
        given = rng.choice(_SOMALI_GIVEN["F" if sex == "F" else "M"])
        father, grandfather = rng.sample(_SOMALI_MALE, 2)
        forms = (
            (given, father, 0.55),
            (given, grandfather, 0.15),
            (given, f"{father} {grandfather}", 0.2),
            (f"{given} {father}", grandfather, 0.1),
        )
        return "patronymic", given, father, forms
    if origin == "european" and sex == "F" and (feminine := _feminine(surname)) is not None:
        return "gendered", forename, feminine, ((forename, feminine, 0.8), (forename, surname, 0.2))
    if "-" in surname:
        a, b = surname.split("-", 1)
        forms = (
            (forename, surname, 0.5),
            (forename, f"{a} {b}", 0.15),
            (forename, f"{a}{b.lower()}", 0.1),
            (forename, a, 0.15),
            (forename, b, 0.1),
        )
        return "double_barrelled", forename, surname, forms
    return "", forename, surname, ()
