"""What every agency writer needs: the people, the plan, the geography, the truth, the rng."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from joinedup.synth.geography import Geography
from joinedup.synth.names import NameBook
from joinedup.synth.people import Person
from joinedup.synth.scenarios import ScenarioPlan
from joinedup.synth.writer import SourceOut, Truth

__all__ = ["ETHNICITY_WORDS", "Context", "count", "local_id", "test_person"]

# Ethnicity as several agencies write it in words (their own list, mapped by a crosswalk).
ETHNICITY_WORDS = {
    "WBRI": "White - British",
    "WIRI": "White - Irish",
    "WIRT": "White - Traveller of Irish Heritage",
    "WROM": "White - Gypsy/Roma",
    "WOTH": "White - Any Other White Background",
    "MWBC": "Mixed - White and Black Caribbean",
    "MWBA": "Mixed - White and Black African",
    "MWAS": "Mixed - White and Asian",
    "MOTH": "Mixed - Any Other Mixed Background",
    "AIND": "Asian or Asian British - Indian",
    "APKN": "Asian or Asian British - Pakistani",
    "ABAN": "Asian or Asian British - Bangladeshi",
    "AOTH": "Asian or Asian British - Any Other",
    "BCRB": "Black or Black British - Caribbean",
    "BAFR": "Black or Black British - African",
    "BOTH": "Black or Black British - Any Other",
    "CHNE": "Chinese",
    "OOTH": "Any Other Ethnic Group",
    "REFU": "Refused",
    "NOBT": "Not Yet Obtained",
}


@dataclass
class Context:
    root: Path
    seed: int
    geo: Geography
    names: NameBook
    people: list[Person]
    plan: ScenarioPlan
    truth: Truth
    progress: Callable[[str, int, int], None] | None = None
    outs: list[SourceOut] = field(default_factory=list)

    def rng(self, name: str) -> random.Random:
        """An independent stream per writer, so one writer's changes never move another's."""
        return random.Random(f"{self.seed}:{name}")

    def tick(self, stage: str, done: int) -> None:
        if self.progress and (done % 5000 == 0 or done == len(self.people)):
            self.progress(stage, done, len(self.people))

    def register(self, out: SourceOut) -> SourceOut:
        self.outs.append(out)
        return out


def count(rng: random.Random, mean: float, cap: int = 40) -> int:
    """At least one; a long tail like real contact counts (geometric with the given mean)."""
    if mean <= 1:
        return 1
    return 1 + min(int(rng.expovariate(1 / (mean - 1))), cap)


def local_id(
    prefix: str, person: Person, salt: int, *, duplicate: bool = False, width: int = 7
) -> str:
    """An agency's own person id: stable per person, unrelated across agencies. A duplicate
    registration gets an id from the upper half of the range, so ids never collide."""
    half = 5 * 10 ** (width - 1)
    num = int(person.pid[2:]) if person.pid else 0
    value = (num * 7919 + salt) % half + (half if duplicate else 0)
    return f"{prefix}{value:0{width}d}"


def test_person(rng: random.Random, forename: str = "Test", surname: str = "TEST") -> Person:
    """A test record as agencies leave them in live systems."""
    dob = date(2000 + rng.randrange(10), 1 + rng.randrange(12), 1 + rng.randrange(28))
    return Person(
        pid="",
        kind="test",
        forename=forename,
        surname=surname,
        preferred="",
        sex="U",
        dob=dob,
        ethnicity="",
        addresses=[(dob, "WX1 1AA")],
        nhs="",
        upn="",
        pnc="",
    )
