"""Youth justice outcomes and National Referral Mechanism (NRM) referrals.

A youth justice outcome row also carries the NRM referral the service made for the child
(date, the NRM's own type code, decision): a second event on the row. Such referrals are
not also in the NRM extract, so no referral is counted twice. Both extracts, and adult
social care, record a Romanian personal numeric code for people born there.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from joinedup.synth.addresses import BadOnce, recorded_foreign_id
from joinedup.synth.context import ETHNICITY_WORDS, Context, count, local_id, test_person
from joinedup.synth.mess import Mess, Profile
from joinedup.synth.people import AGENCY_BITS, REFERENCE_DATE, Person, age_on, random_moment
from joinedup.synth.scenarios import Planted
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
# The NRM's own type codes (the built-in crosswalk nrm_type), as the youth justice
# service records the referral it made
_YJ_NRM_TYPES = {
    "Criminal": "child_criminal",
    "Sexual": "child_sexual",
    "cce": "child_criminal",
    "cse": "child_sexual",
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


def _on_yj_rows(ctx: Context) -> dict[str, Planted]:
    """Planted NRM referrals of children who also have a planted youth justice outcome: the
    first is recorded on that outcome's row instead of in the NRM extract."""
    yj = ctx.plan.channel("yj")
    out: dict[str, Planted] = {}
    for pid, events in ctx.plan.channel("nrm").items():
        child = [
            e
            for e in events
            if age_on(e.people[0][0].dob, e.when.date()) < 18 and e.when.date() <= REFERENCE_DATE
        ]
        if pid in yj and child and child[0].detail in ("Criminal", "Sexual"):
            out[pid] = child[0]
    return out


def _nrm_on_row(rng: random.Random, nrm: tuple[datetime, str] | None) -> list[str]:
    if nrm is None:
        return ["", "", ""]
    when, kind = nrm
    if when.date() > REFERENCE_DATE:
        return ["", "", ""]
    decided = when + timedelta(days=rng.randint(3, 30))
    decision = "Awaiting reasonable grounds"
    if decided.date() <= REFERENCE_DATE:
        decision = "Reasonable grounds - positive"
    return [when.strftime("%Y-%m-%d"), kind, decision]


def _yj(ctx: Context, rng: random.Random, on_yj_row: dict[str, Planted]) -> None:
    on_yj_row = dict(on_yj_row)
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
            "NRM_Referral_Date",
            "NRM_Type",
            "NRM_Decision",
            "Foreign_ID",
        ],
        columns={"dob": "D_O_B"},
        test_column="Last_Name",
    )
    ctx.register(out)
    outcomes = [o for o, _ in _OUTCOMES]
    weights = [w for _, w in _OUTCOMES]
    n = 0

    def write(
        p: Person,
        when: datetime,
        offence: str,
        outcome: str,
        concern: tuple[str, ...],
        nrm: tuple[datetime, str] | None = None,
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
            *_nrm_on_row(rng, nrm),
        ]
        cnp, problems = recorded_foreign_id(p, "Foreign_ID", bad.due(p))
        out.write([*values, cnp], rid, p, rec, problems)

    planted = ctx.plan.channel("yj")
    bad = BadOnce()
    made_one = False
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
            nrm = on_yj_row.get(p.pid)
            write(
                p,
                event.when,
                _SCENARIO_OFFENCES.get(event.detail, _OFFENCES[3]),
                outcome,
                event.flags,
                (nrm.when, _YJ_NRM_TYPES[nrm.detail]) if nrm else None,
            )
            on_yj_row.pop(p.pid, None)
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
                when = random_moment(rng, *span)
                nrm_made = None
                if concern and (rng.random() < 0.3 or not made_one):
                    made_one = True  # at least one, even in a small run
                    nrm_made = (when + timedelta(days=rng.randint(1, 60)), _YJ_NRM_TYPES["cce"])
                    if "cse" in concern:
                        nrm_made = (nrm_made[0], _YJ_NRM_TYPES["cse"])
                write(p, when, rng.choice(_OFFENCES), outcome, concern, nrm_made)
    out.close()


def _nrm(ctx: Context, rng: random.Random, on_yj_row: dict[str, Planted]) -> None:
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
            "HomeCountryID",
        ],
        columns={"dob": "DOB"},
    )
    ctx.register(out)
    bad = BadOnce()
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
        cnp, problems = recorded_foreign_id(p, "HomeCountryID", bad.due(p))
        if cnp:
            origin = "european"
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
            cnp,
        ]
        out.write(values, rid, p, rec, problems)

    planted = ctx.plan.channel("nrm")
    types = list(NRM_TYPES)
    for i, p in enumerate(ctx.people):
        ctx.tick("NRM referrals", i + 1)
        for event in planted.get(p.pid, []):
            if on_yj_row.get(p.pid) is not event:
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
    on_yj_row = _on_yj_rows(ctx)
    _yj(ctx, ctx.rng("youth_justice"), on_yj_row)
    _nrm(ctx, ctx.rng("nrm"), on_yj_row)
