"""Brightpath Youth, a voluntary-sector service: first name, date of birth, postcode district.

The service keeps the least it can: no surname, no full postcode, no NHS number. It does
keep notes in the young person's own words, the voice of the child beside the figures.
A few notes carry a first name or a date, as real notes do, for the scrubber to find.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from importlib import resources

from joinedup.synth.context import Context, test_person
from joinedup.synth.mess import Mess, Profile
from joinedup.synth.people import AGENCY_BITS, REFERENCE_DATE, Person, random_moment
from joinedup.synth.writer import CsvOut

__all__ = ["BACKGROUND_REASONS", "REASONS", "VOLUNTARY_FILE", "write_voluntary"]

VOLUNTARY_FILE = "extracts/voluntary/brightpath_referrals_20261031.csv"
REASONS = {
    "cse": "Worried about older boyfriend/girlfriend",
    "cce": "Being asked to carry or hold things",
    "online": "Online safety worries",
}
BACKGROUND_REASONS = (
    "Low mood / anxiety",
    "Friendship worries",
    "Anger",
    "Bereavement",
    "Family conflict",
    "Going missing",
    "Substance use",
    "Low school attendance",
    "Worried about older boyfriend/girlfriend",
    "Being asked to carry or hold things",
    "Online safety worries",
)
_BACKGROUND_WEIGHTS = (20, 16, 10, 6, 14, 5, 8, 10, 2, 2, 3)
_PROFILE = Profile(nickname=0.3, typo_forename=0.03, swap_names=0.0, postcode_missing=0.08)


def _notes(name: str = "voice.txt") -> list[tuple[str, str]]:
    text = resources.files("joinedup.synth").joinpath("data", name).read_text("utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    return [(themes, note) for themes, note in rows]


_FRIENDS = ("Jayden", "Kai", "Tyler", "Leah", "Precious", "Mo", "Reece", "Skye", "Tia")
_STREETS = ("Gorse Close", "Fennel Walk", "Orchard Rise", "Tanners Way", "Mill Lane")
_BLOCKS = ("Kestrel House", "Linden Court", "Beech Tower", "Hawthorn Court")
_NICKNAMES = ("shadowkid07", "xX_Blaze_Xx", "lil_t", "nightowl_22")


def _fill(
    rng: random.Random, template: str, p: Person, forename: str, seen: datetime
) -> tuple[str, list[tuple[str, str]]]:
    """The note with its placeholders filled, and the identifying values planted in it
    (kind, value) for truth/planted_note_values.csv (issue 20: the scrubber measured)."""
    number = rng.randint(1, 60)
    address = (
        f"{number} {rng.choice(_STREETS)}"
        if rng.random() < 0.5
        else f"Flat {rng.randint(1, 24)}, {rng.choice(_BLOCKS)}"
    )
    friend, friend2 = rng.sample(_FRIENDS, 2)
    values = {
        "first_name": ("name", forename),
        "first_name_lower": ("name", forename.lower()),
        "surname": ("name", p.surname),
        "date": ("date", seen.strftime("%d/%m/%Y")),
        "date_long": ("date", f"{seen.day}{_suffix(seen.day)} {seen.strftime('%B %Y')}"),
        "address": ("address", address),
        "postcode": ("postcode", p.postcode_on(seen.date())),
        "phone": ("phone", f"07700 900{rng.randint(0, 999):03d}"),
        "nhs": ("identifier", f"{p.nhs[:3]} {p.nhs[3:6]} {p.nhs[6:]}"),
        "friend": ("name", friend),
        "friend2": ("name", friend2),
        "street": ("address", rng.choice(_STREETS)),
        "nickname": ("name", rng.choice(_NICKNAMES)),
    }
    used = [k for k in values if "{" + k + "}" in template]
    text = template.format(**{k: values[k][1] for k in used})
    return text, [values[k] for k in used]


def _suffix(day: int) -> str:
    return "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _dob(d: date | None, bad: bool, person: Person) -> str:
    if bad:
        return f"31/2/{person.dob.year}"
    return f"{d.day}/{d.month}/{d.year}" if d else ""


def write_voluntary(ctx: Context) -> None:
    rng = ctx.rng("voluntary")
    mess = Mess(rng, ctx.names, _PROFILE)
    out = CsvOut(
        ctx.root,
        ctx.truth,
        "brightpath_support",
        VOLUNTARY_FILE,
        [
            "Ref",
            "FirstName",
            "DOB",
            "PostcodeDistrict",
            "ServiceStart",
            "ServiceEnd",
            "ReferralReason",
            "Notes",
            "Themes",
        ],
        columns={"dob": "DOB"},
        test_column="FirstName",
    )
    ctx.register(out)
    notes = _notes()
    plain = [n for n in notes if "{" not in n[1]]
    marked = [n for n in notes if "{" in n[1]]
    held_back = _notes("voice_held_back.txt")
    planted = ctx.plan.channel("voluntary")
    n = 0

    def write(p: Person, when: datetime, reason: str) -> None:
        nonlocal n
        if out.want_test():
            write(test_person(rng, "Test", "TEST"), when, BACKGROUND_REASONS[0])
        rec = mess.record(p, when.date())
        n += 1
        rid = f"BP{n:06d}"
        end = when + timedelta(days=rng.randint(30, 300))
        roll = rng.random()
        pool = held_back if roll < 0.03 else marked if roll < 0.12 else plain
        themes, template = rng.choice(pool)
        seen = when + timedelta(days=rng.randint(3, 40))
        note, planted_values = _fill(rng, template, p, rec.forename or p.forename, seen)
        values = [
            rid,
            rec.forename,
            _dob(rec.dob, rec.dob_bad, p),
            rec.postcode.split(" ")[0],
            when.strftime("%d/%m/%Y"),
            end.strftime("%d/%m/%Y") if end.date() <= REFERENCE_DATE else "",
            reason,
            note if rng.random() < 0.85 else "",
            themes,
        ]
        out.write(values, rid, p, rec)
        if values[7]:
            for kind, value in planted_values:
                ctx.truth.note_values.writerow(
                    ["brightpath_support", rid, kind, value, int(pool is held_back)]
                )

    for i, p in enumerate(ctx.people):
        ctx.tick("voluntary sector", i + 1)
        for event in planted.get(p.pid, []):
            write(p, event.when, REASONS.get(event.detail, BACKGROUND_REASONS[0]))
        if p.agencies & AGENCY_BITS["voluntary"]:
            span = p.eligible(10, 24)
            if span is None:
                continue
            for _ in range(1 if rng.random() < 0.8 else 2):
                reason = rng.choices(BACKGROUND_REASONS, _BACKGROUND_WEIGHTS)[0]
                write(p, random_moment(rng, *span), reason)
    out.close()
