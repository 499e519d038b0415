"""NHS trust A&E attendances: NHS number, "SURNAME, Forename", DOB as YYYYMMDD, sex 1/2/9."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from joinedup.synth.context import Context, count, local_id, test_person
from joinedup.synth.mess import Mess, Profile
from joinedup.synth.people import AGENCY_BITS, Person, random_moment
from joinedup.synth.scenarios import Planted
from joinedup.synth.writer import CsvOut, dob_text

__all__ = ["AE_FILE", "CATEGORY_BY_COMPLAINT", "COMPLAINTS", "write_health"]

AE_FILE = "extracts/health/ae_attendances_20261031.csv"

# code -> (description, weight in the background, chance the safeguarding flag is set)
COMPLAINTS = {
    "INJ": ("Limb injury", 30, 0.01),
    "HEAD": ("Head injury", 10, 0.03),
    "ABDO": ("Abdominal pain", 14, 0.0),
    "RESP": ("Breathing difficulty", 10, 0.0),
    "FEV": ("Fever", 8, 0.0),
    "RASH": ("Rash", 4, 0.0),
    "CP": ("Chest pain", 3, 0.0),
    "ASSLT": ("Assault", 5, 0.3),
    "OD": ("Overdose / ingestion", 3, 0.5),
    "SH": ("Self-harm", 4, 0.45),
    "INTOX": ("Alcohol / drug intoxication", 4, 0.35),
    "MH": ("Mental health crisis", 4, 0.2),
    "STAB": ("Stab wound", 0.4, 0.8),
    "SEXASS": ("Alleged sexual assault", 0.3, 0.9),
}
CATEGORY_BY_COMPLAINT = {
    "ASSLT": ("Assault", "DV"),
    "OD": ("Self-harm", "Neglect"),
    "SH": ("Self-harm",),
    "INTOX": ("Substance misuse", "CSE"),
    "MH": ("Self-harm",),
    "STAB": ("Knife crime", "CCE"),
    "SEXASS": ("CSE", "Sexual abuse"),
    "INJ": ("Neglect",),
    "HEAD": ("Neglect", "DV"),
}
_SEX = {"M": "1", "F": "2", "U": "9"}
_ETHNIC_CATEGORY = {
    "WBRI": "A",
    "WIRI": "B",
    "WIRT": "C",
    "WROM": "C",
    "WOTH": "C",
    "MWBC": "D",
    "MWBA": "E",
    "MWAS": "F",
    "MOTH": "G",
    "AIND": "H",
    "APKN": "J",
    "ABAN": "K",
    "AOTH": "L",
    "BCRB": "M",
    "BAFR": "N",
    "BOTH": "P",
    "CHNE": "R",
    "OOTH": "S",
}
_HEADER = [
    "AttendanceID",
    "HospitalNumber",
    "NHSNumber",
    "PatientName",
    "DOB",
    "SexCode",
    "EthnicCategory",
    "Postcode",
    "ArrivalDateTime",
    "ArrivalMode",
    "PresentingComplaintCode",
    "PresentingComplaint",
    "SafeguardingFlag",
    "SafeguardingCategory",
    "Site",
]
_PROFILE = Profile(
    nhs_missing=0.04, upn_missing=1.0, pnc_missing=1.0, nickname=0.02, typo_surname=0.02
)
_SITES = ("Wexbury General Hospital ED", "Ashdown Urgent Treatment Centre")


class _AE:
    def __init__(self, ctx: Context) -> None:
        self.rng = ctx.rng("health_ae")
        self.mess = Mess(self.rng, ctx.names, _PROFILE)
        self.out = CsvOut(
            ctx.root,
            ctx.truth,
            "health_ae",
            AE_FILE,
            _HEADER,
            columns={"dob": "DOB", "nhs": "NHSNumber"},
            test_column="PatientName",
        )
        ctx.register(self.out)
        self.codes = list(COMPLAINTS)
        self.weights = [COMPLAINTS[c][1] for c in self.codes]
        self.n = 0

    def attend(
        self, p: Person, when: datetime, code: str, category: str = "", dup: bool = False
    ) -> None:
        rng = self.rng
        if self.out.want_test():
            self.attend(test_person(rng, "Patient", "TEST"), when, "INJ")
        rec = self.mess.record(p, when.date(), duplicate=dup)
        self.n += 1
        rid = f"AE{when.year % 100:02d}-{self.n:07d}"
        desc, _weight, flag_chance = COMPLAINTS[code]
        flagged = bool(category) or rng.random() < flag_chance
        if flagged and not category:
            category = rng.choice(CATEGORY_BY_COMPLAINT.get(code, ("Other",)))
        surname = rec.surname.upper()
        name = f"{surname}, {rec.forename}" if p.kind != "test" else "TEST, Patient"
        mode = (
            "Police"
            if code in ("STAB", "ASSLT") and rng.random() < 0.3
            else rng.choice(("Walk-in", "Walk-in", "Ambulance"))
        )
        values = [
            rid,
            local_id("RWX", p, 55_555, duplicate=dup),
            rec.nhs,
            name,
            dob_text(rec, p, "%Y%m%d"),
            _SEX[rec.sex],
            _ETHNIC_CATEGORY.get(rec.ethnicity, "Z"),
            rec.postcode,
            when.strftime("%Y-%m-%d %H:%M"),
            mode,
            code,
            desc,
            "Y" if flagged else "N",
            category if flagged else "",
            rng.choice(_SITES),
        ]
        self.out.write(values, rid, p, rec)
        if rng.random() < 0.004:  # keyed twice by reception, the second time in a hurry
            self.attend(p, when + timedelta(minutes=rng.randint(1, 40)), code, category, dup=True)

    def background(self, p: Person) -> None:
        rng = self.rng
        span = p.eligible(0, 60)
        if span is None:
            return
        for _ in range(count(rng, 6.2)):
            code = rng.choices(self.codes, self.weights)[0]
            self.attend(
                p, random_moment(rng, *span), code, dup=bool(p.dup & 8) and rng.random() < 0.5
            )

    def planted(self, event: Planted, rng: random.Random) -> None:
        category = "CSE" if "cse" in event.flags else "CCE" if "cce" in event.flags else ""
        self.attend(event.people[0][0], event.when, event.detail, category)


def write_health(ctx: Context) -> None:
    ae = _AE(ctx)
    planted = ctx.plan.channel("ae")
    for i, p in enumerate(ctx.people):
        ctx.tick("health A&E", i + 1)
        for event in planted.get(p.pid, []):
            ae.planted(event, ae.rng)
        if p.agencies & AGENCY_BITS["health"]:
            ae.background(p)
    ae.out.close()
