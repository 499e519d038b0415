"""Youth justice outcomes and National Referral Mechanism (NRM) referrals."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from joinedup.synth.context import ETHNICITY_WORDS, Context, count, local_id, test_person
from joinedup.synth.mess import Mess, Profile
from joinedup.synth.people import AGENCY_BITS, REFERENCE_DATE, Person, age_on, random_moment
from joinedup.synth.writer import CsvOut, dob_text

__all__ = ["CONCERN_WORDS", "NRM_FILE", "NRM_TYPES", "YJ_FILE", "write_justice"]

YJ_FILE = "extracts/youth_justice/yjs_outcomes_20261031.csv"
NRM_FILE = "extracts/nrm/nrm_referrals_20261031.csv"

CONCERN_WORDS = {
    "county_lines": "County lines",
    "cce": "Criminal exploitation",
    "cse": "Sexual exploitation",
    "trafficking": "Trafficking / modern slavery",
    "online": "Online harm",
}
_OFFENCES = (
    "Theft from a shop",
    "Common assault",
    "Criminal damage",
    "Possession of cannabis",
    "Possession of a bladed article",
    "Robbery",
    "Assault on an emergency worker",
    "Taking a vehicle without consent",
    "Burglary (dwelling)",
    "Public order offence",
)
_SCENARIO_OFFENCES = {
    "pwits_a": "Possession with intent to supply Class A",
    "weapon": "Possession of a bladed article",
}
_OUTCOMES = (
    ("Community Resolution", 30),
    ("Outcome 22 (deferred prosecution)", 10),
    ("Youth Caution", 15),
    ("Youth Conditional Caution", 12),
    ("Referral Order", 20),
    ("Youth Rehabilitation Order", 10),
    ("Detention and Training Order", 3),
)
NRM_TYPES = {
    "Criminal": ("cce",),
    "Sexual": ("cse",),
    "Labour": ("labour",),
    "Domestic servitude": ("domestic_servitude",),
    "Organ harvesting": ("organ_harvesting",),
}
_NATIONALITY = {
    "british": "British",
    "european": "Romanian",
    "arab": "Afghan",
    "african": "Eritrean",
}
_YJ_PROFILE = Profile(nhs_missing=1.0, upn_missing=1.0, pnc_missing=0.3, nickname=0.05)
_NRM_PROFILE = Profile(
    nhs_missing=1.0, upn_missing=1.0, pnc_missing=1.0, nickname=0.03, postcode_missing=0.15
)


def _yj(ctx: Context, rng: random.Random) -> None:
    mess = Mess(rng, ctx.names, _YJ_PROFILE)
    out = CsvOut(
        ctx.root,
        ctx.truth,
        "yjs_outcomes",
        YJ_FILE,
        [
            "Outcome_ID",
            "YJ_ID",
            "PNC_No",
            "First_Name",
            "Last_Name",
            "D_O_B",
            "Gender",
            "Ethnicity",
            "Postcode",
            "Outcome_Date",
            "Outcome",
            "Offence",
            "Exploitation_Concern",
        ],
        columns={"dob": "D_O_B"},
        test_column="Last_Name",
    )
    ctx.register(out)
    outcomes = [o for o, _ in _OUTCOMES]
    weights = [w for _, w in _OUTCOMES]
    n = 0

    def write(
        p: Person, when: datetime, offence: str, outcome: str, concern: tuple[str, ...]
    ) -> None:
        nonlocal n
        if out.want_test():
            write(test_person(rng), when, _OFFENCES[0], outcomes[0], ())
        dup = bool(p.dup & AGENCY_BITS["yj"]) and rng.random() < 0.5
        rec = mess.record(p, when.date(), duplicate=dup)
        n += 1
        rid = f"OUT{n:06d}"
        words = ";".join(CONCERN_WORDS[c] for c in concern if c in CONCERN_WORDS)
        values = [
            rid,
            local_id("YJ", p, 2_468, duplicate=dup, width=6),
            rec.pnc,
            rec.forename,
            rec.surname,
            dob_text(rec, p, "%d/%m/%Y"),
            {"M": "Male", "F": "Female"}.get(rec.sex, "Not known"),
            ETHNICITY_WORDS.get(rec.ethnicity, "Not Yet Obtained"),
            rec.postcode,
            when.strftime("%Y-%m-%d"),
            outcome,
            offence,
            words,
        ]
        out.write(values, rid, p, rec)

    planted = ctx.plan.channel("yj")
    for i, p in enumerate(ctx.people):
        ctx.tick("youth justice", i + 1)
        for event in planted.get(p.pid, []):
            outcome = rng.choice(
                (
                    "Referral Order",
                    "Youth Rehabilitation Order",
                    "Outcome 22 (deferred prosecution)",
                )
            )
            write(
                p,
                event.when,
                _SCENARIO_OFFENCES.get(event.detail, _OFFENCES[3]),
                outcome,
                event.flags,
            )
        if p.agencies & AGENCY_BITS["yj"]:
            span = p.eligible(10, 17)
            if span is None:
                continue
            for _ in range(count(rng, 2.2)):
                concern: tuple[str, ...] = ()
                roll = rng.random()
                if roll < 0.05:
                    concern = ("cce",)
                elif roll < 0.07:
                    concern = ("county_lines", "cce")
                elif roll < 0.08:
                    concern = ("cse",)
                outcome = rng.choices(outcomes, weights)[0]
                write(p, random_moment(rng, *span), rng.choice(_OFFENCES), outcome, concern)
    out.close()


def _nrm(ctx: Context, rng: random.Random) -> None:
    mess = Mess(rng, ctx.names, _NRM_PROFILE)
    out = CsvOut(
        ctx.root,
        ctx.truth,
        "nrm_referrals",
        NRM_FILE,
        [
            "NRMRef",
            "FirstResponder",
            "Forename",
            "Surname",
            "DOB",
            "Gender",
            "Nationality",
            "Postcode",
            "ReferralDate",
            "ExploitationType",
            "Decision",
            "DecisionDate",
            "AgeAtExploitation",
        ],
        columns={"dob": "DOB"},
    )
    ctx.register(out)
    n = 0

    def write(p: Person, when: datetime, types: str, positive: bool) -> None:
        nonlocal n
        if out.want_test():
            write(test_person(rng), when, "Labour", False)
        rec = mess.record(p, when.date())
        n += 1
        rid = f"NRM-{when.year}-{n:05d}"
        rg_date = when + timedelta(days=rng.randint(3, 30))
        cg_date = rg_date + timedelta(days=rng.randint(120, 500))
        if rg_date.date() > REFERENCE_DATE:
            decision, decided = "Awaiting reasonable grounds", None
        elif cg_date.date() <= REFERENCE_DATE and rng.random() < 0.7:
            outcome = "positive" if positive or rng.random() < 0.6 else "negative"
            decision, decided = f"Conclusive grounds - {outcome}", cg_date
        else:
            outcome = "positive" if positive or rng.random() < 0.8 else "negative"
            decision, decided = f"Reasonable grounds - {outcome}", rg_date
        child = age_on(p.dob, when.date()) < 18
        responder = rng.choice(("Wexbury Council", "Ashdown Council", "Wexbury and Ashdown Police"))
        origin = "british" if rng.random() < 0.8 else rng.choice(list(_NATIONALITY))
        values = [
            rid,
            responder,
            rec.forename,
            rec.surname,
            dob_text(rec, p, "%d/%m/%Y"),
            rec.sex if rec.sex != "U" else "",
            _NATIONALITY[origin],
            rec.postcode,
            when.strftime("%d/%m/%Y"),
            types,
            decision,
            decided.strftime("%d/%m/%Y") if decided else "",
            "Child" if child else "Adult",
        ]
        out.write(values, rid, p, rec)

    planted = ctx.plan.channel("nrm")
    types = list(NRM_TYPES)
    for i, p in enumerate(ctx.people):
        ctx.tick("NRM referrals", i + 1)
        for event in planted.get(p.pid, []):
            write(p, event.when, event.detail, True)
        if p.kind == "young" and p.agencies & (AGENCY_BITS["police"] | AGENCY_BITS["csc"]):
            span = p.eligible(12, 24)
            if span and rng.random() < 0.004:
                kind = rng.choices(types, (50, 15, 20, 10, 0.5))[0]
                if rng.random() < 0.08:
                    kind = f"{kind};Labour" if kind != "Labour" else "Labour;Criminal"
                write(p, random_moment(rng, *span), kind, False)
    out.close()


def write_justice(ctx: Context) -> None:
    _yj(ctx, ctx.rng("youth_justice"))
    _nrm(ctx, ctx.rng("nrm"))
