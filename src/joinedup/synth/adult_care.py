"""Adult social care: safeguarding concerns about 18 to 25 year olds (Care Act categories)."""

from __future__ import annotations

from datetime import datetime

from joinedup.synth.addresses import BadOnce, recorded_foreign_id
from joinedup.synth.context import Context, count, local_id, test_person
from joinedup.synth.mess import Mess, Profile
from joinedup.synth.people import AGENCY_BITS, Person, random_moment
from joinedup.synth.writer import CsvOut, dob_text

__all__ = ["ABUSE_TYPES", "ASC_FILE", "BACKGROUND_ABUSE", "write_adult_care"]

ASC_FILE = "extracts/adult_social_care/asc_safeguarding_concerns_18_25_20261031.csv"
ABUSE_TYPES = {
    "sexual": "Sexual Exploitation",
    "slavery": "Modern Slavery",
    "criminal": "Criminal Exploitation",
}
BACKGROUND_ABUSE = (
    ("Physical", 14),
    ("Sexual", 6),
    ("Psychological", 12),
    ("Financial or Material", 10),
    ("Neglect and Acts of Omission", 14),
    ("Self-neglect", 12),
    ("Domestic Abuse", 16),
    ("Discriminatory", 1),
    ("Organisational", 2),
    ("Modern Slavery", 1),
    ("Sexual Exploitation", 2),
    ("Criminal Exploitation", 2),
)
_LOCATIONS = (
    "Own home",
    "Own home",
    "In the community",
    "Supported accommodation",
    "Hotel/B&B",
    "Someone else's home",
    "Online",
)
_PROFILE = Profile(nhs_missing=0.15, upn_missing=1.0, pnc_missing=1.0, nickname=0.05)


def write_adult_care(ctx: Context) -> None:
    rng = ctx.rng("adult_social_care")
    mess = Mess(rng, ctx.names, _PROFILE)
    out = CsvOut(
        ctx.root,
        ctx.truth,
        "asc_concerns",
        ASC_FILE,
        [
            "ConcernID",
            "PersonID",
            "NHSNumber",
            "FirstName",
            "Surname",
            "DOB",
            "Gender",
            "Ethnicity",
            "Postcode",
            "ConcernDate",
            "AbuseType",
            "LocationOfRisk",
            "ConcernOutcome",
            "ForeignNationalID",
        ],
        columns={"dob": "DOB", "nhs": "NHSNumber"},
    )
    ctx.register(out)
    types = [t for t, _ in BACKGROUND_ABUSE]
    weights = [w for _, w in BACKGROUND_ABUSE]
    n = 0

    def write(p: Person, when: datetime, abuse: str) -> None:
        nonlocal n
        if out.want_test():
            write(test_person(rng), when, "Physical")
        dup = bool(p.dup & AGENCY_BITS["asc"]) and rng.random() < 0.5
        rec = mess.record(p, when.date(), duplicate=dup)
        n += 1
        rid = f"SC{n:07d}"
        location = rng.choice(_LOCATIONS)
        if abuse == "Sexual Exploitation" and rng.random() < 0.5:
            location = "Hotel/B&B"
        values = [
            rid,
            local_id("AP", p, 13_579, duplicate=dup),
            rec.nhs,
            rec.forename,
            rec.surname,
            dob_text(rec, p, "%d/%m/%Y"),
            {"M": "Male", "F": "Female"}.get(rec.sex, "Not known"),
            rec.ethnicity,
            rec.postcode,
            when.strftime("%Y-%m-%d"),
            abuse,
            location,
            rng.choice(
                (
                    "Section 42 enquiry",
                    "Other safeguarding enquiry",
                    "No further action",
                    "Information and advice",
                )
            ),
        ]
        cnp, problems = recorded_foreign_id(p, "ForeignNationalID", bad.due(p))
        out.write([*values, cnp], rid, p, rec, problems)

    bad = BadOnce()
    planted = ctx.plan.channel("asc")
    for i, p in enumerate(ctx.people):
        ctx.tick("adult social care", i + 1)
        for event in planted.get(p.pid, []):
            write(p, event.when, ABUSE_TYPES.get(event.detail, "Sexual Exploitation"))
        if p.agencies & AGENCY_BITS["asc"]:
            span = p.eligible(18, 25)
            if span is None:
                continue
            for _ in range(count(rng, 1.7)):
                write(p, random_moment(rng, *span), rng.choices(types, weights)[0])
    out.close()
