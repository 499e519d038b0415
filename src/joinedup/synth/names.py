"""Name lists and the ways a name goes wrong on its way into an agency's system."""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect
from dataclasses import dataclass, field
from importlib import resources
from itertools import accumulate

__all__ = ["NameBook", "cp1252_safe", "ethnicity_origin", "typo"]

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
