"""Crossroads Youth Outreach: a second voluntary service, detached youth work in Ashdown.

Its spreadsheet holds little, in its own way: no reference column at all (the record id
is the row number), a first name or the name the young person gives, the date of birth
in three columns (day, month name, year), a gender code, the postcode district, where
the worker met them in free text ("Outside Star Kebab House", "Ashdown Bus Station",
"Snapchat"), a yes/no "exploitation concern" and the service's own concern codes, one
of them a local category (drug debt) the partnership adds to the taxonomy under CCE. A
row is sometimes pasted twice: the repeat is set aside as a duplicate row.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from joinedup.synth.context import Context, test_person
from joinedup.synth.mess import Mess, Profile
from joinedup.synth.people import REFERENCE_DATE, Person, age_on, random_moment
from joinedup.synth.writer import CsvOut

__all__ = ["CONCERN_CODES", "OUTREACH_FILE", "REPEAT_EVERY", "write_outreach"]

OUTREACH_FILE = "extracts/voluntary/crossroads_outreach_sessions_2026-10.csv"
#: The service's concern codes: taxonomy code ('' for a concern that is not exploitation;
#: local_drug_debt is declared under taxonomy_extensions with parent cce).
CONCERN_CODES = {
    "SX": "cse",
    "CX": "cce",
    "DD": "local_drug_debt",
    "OS": "online",
    "MH": "",
    "AT": "",
    "FAM": "",
}
#: The 5th session row, and every REPEAT_EVERY-th after it, is pasted twice (an exact
#: repeat: set aside as a duplicate row).
REPEAT_EVERY = 40
_BY_SCENARIO = {
    "county_lines": ("CX;DD", "CX", "DD"),
    "cse_network": ("SX", "SX;MH"),
    "online": ("OS",),
    "transition": ("SX", "CX"),
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_GENDER = {"M": "1", "F": "2", "U": "3"}
_ONLINE = ("Snapchat", "Instagram message", "WhatsApp group")
_PROFILE = Profile(nickname=0.35, typo_forename=0.03, swap_names=0.0, postcode_missing=0.1)


def _where(ctx: Context, rng: random.Random, p: Person, when: datetime, online: bool) -> str:
    if online or rng.random() < 0.08:
        return rng.choice(_ONLINE)
    home = p.postcode_on(when.date())
    places = ctx.geo.places.get(ctx.geo.ward_of(home)) if home in ctx.geo.area_of else None
    if not places:
        return "Town centre"
    place = rng.choice(places)
    return place.name if rng.random() < 0.6 else f"Outside {place.name}"


def write_outreach(ctx: Context) -> None:
    rng = ctx.rng("outreach")
    mess = Mess(rng, ctx.names, _PROFILE)
    out = CsvOut(
        ctx.root,
        ctx.truth,
        "crossroads_outreach",
        OUTREACH_FILE,
        [
            "Session date",
            "Worker",
            "Known as",
            "First name",
            "Birth day",
            "Birth month",
            "Birth year",
            "Gender",
            "Area",
            "Where",
            "Exploitation concern",
            "Concern codes",
        ],
        columns={},
        test_column="First name",
    )
    ctx.register(out)
    ashdown = ctx.geo.authorities[1].code
    scenario_of = {pid: stype for _, stype, pid, _ in ctx.plan.members}
    row = 1  # the header is row 1
    not_stated = 0

    def write(p: Person, when: datetime, codes: str, concern: bool, online: bool) -> None:
        nonlocal row
        if out.want_test():
            write(test_person(rng, "Test", "TEST"), when, "", False, False)
        rec = mess.record(p, when.date())
        dob = rec.dob
        values = [
            when.strftime("%d.%m.%Y"),
            rng.choice(("KD", "RS", "AM", "JT")),
            rec.forename if rng.random() < 0.3 else "",
            rec.forename if p.kind == "test" or rng.random() < 0.8 else "",
            str(dob.day) if dob else "",
            _MONTHS[dob.month - 1] if dob else "",
            str(dob.year) if dob else "",
            _GENDER[rec.sex],
            rec.postcode.split(" ")[0],
            _where(ctx, rng, p, when, online),
            "Y" if concern else "N",
            codes,
        ]
        if not values[2] and not values[3]:
            values[3] = rec.forename  # a first name, at least
        row += 1
        out.write(values, str(row), p, rec)
        if p.kind != "test" and (out.rows == 5 or out.rows % REPEAT_EVERY == 0):
            row += 1  # pasted twice: the repeat is the same person's row again
            out.write(values, str(row), p, rec, [("", "repeated_row")])

    for p in ctx.people:
        if p.kind != "young":
            continue
        span = p.eligible(11, 19)
        if span is None:
            continue
        stype = scenario_of.get(p.pid)
        lo, hi = span
        if stype in _BY_SCENARIO and rng.random() < 0.35:
            when = random_moment(rng, lo, hi)
            codes = rng.choice(_BY_SCENARIO[stype])
            if _lives_in(ctx, p, when, ashdown):
                write(p, when, codes, True, stype == "online")
        if rng.random() < 0.06:
            for _ in range(rng.choice((1, 1, 2, 3))):
                when = random_moment(rng, lo, hi)
                if not _lives_in(ctx, p, when, ashdown):
                    continue
                roll = rng.random()
                if roll < 0.05 or not_stated == 0:  # a worry recorded, its kind not stated
                    not_stated += 1
                    write(p, when, "", True, False)
                elif roll < 0.45:
                    write(p, when, rng.choice(("MH", "AT", "FAM", "MH;FAM")), False, False)
                else:
                    write(p, when, "", False, False)
    out.close()


def _lives_in(ctx: Context, p: Person, when: datetime, authority: str) -> bool:
    home = p.postcode_on(when.date())
    young = age_on(p.dob, when.date()) <= 19
    recent = when.date() <= REFERENCE_DATE and when.date() >= REFERENCE_DATE - timedelta(days=1300)
    return young and recent and home in ctx.geo.area_of and ctx.geo.authority_of(home) == authority
