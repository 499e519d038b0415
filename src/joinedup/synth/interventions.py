"""Issue 21 in the synthetic partnership: interventions, a catalogue, a framework, a
housing agency that shares nothing, and agencies' self-assessments.

- :func:`add_maturity` adds to partnership.yaml's document: the housing association (an
  agency type no source supplies), the ``catalogue`` of what agencies hold (some of it not
  shared), the partnership's ``framework``, and the interventions source with its
  crosswalk.
- :func:`write_interventions` runs after every other writer, once ``truth/record_person.csv``
  is complete: it plants interventions (support programmes, disruption, safety plans,
  step-down) on children already known to Wexbury children's social care, each row
  carrying the child's Wexbury ChildID (so it links deterministically and changes no
  other figure), and writes ``truth/interventions.csv`` (person id, type, start date).
- ``truth/self_assessments.json``: the agencies' self-assessments (levels 1 to 5 on the six
  dimensions). The pupil data service (education) rates its recording and sharing at 5;
  its extracts are late (timeliness about 80%), so the board summary names it.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from joinedup.synth.context import Context, local_id, test_person
from joinedup.synth.people import REFERENCE_DATE
from joinedup.synth.sourcemaps import ISA
from joinedup.synth.writer import SourceOut, Truth

__all__ = [
    "HOUSING_AGENCY",
    "INTERVENTION_SOURCE",
    "INTERVENTION_TYPES",
    "SELF_ASSESSMENTS",
    "add_maturity",
    "write_interventions",
]

INTERVENTION_SOURCE = "wexbury_interventions"
INTERVENTION_FILE = "extracts/wexbury_csc/interventions.csv"
HOUSING_AGENCY = "wexbury_homes"
#: Wexbury's words for an intervention -> the taxonomy's event type.
INTERVENTION_TYPES = {
    "Exploitation support programme": "support_programme",
    "CAWN / disruption": "disruption",
    "Safety plan": "safety_planning",
    "Step down to early help": "step_down",
}
_WEXBURY_SOURCES = ("wexbury_csc_contacts", "wexbury_csc_assessments")
_DATE = {"parse": "date", "formats": ["%Y-%m-%d"]}

#: The agencies' self-assessments (agency, date, levels in the questionnaire's order:
#: collection, systems, recording, analysis, sharing, decision making).
SELF_ASSESSMENTS: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("police", "2026-03-01", (3, 4, 3, 3, 3, 2)),
    ("police", "2026-09-01", (4, 5, 4, 3, 4, 3)),
    ("health", "2026-09-15", (3, 3, 4, 2, 4, 2)),
    ("education", "2026-04-20", (3, 4, 4, 2, 4, 2)),
    ("education", "2026-09-20", (4, 4, 5, 3, 5, 3)),
)
_DIMENSIONS = ("collection", "systems", "recording", "analysis", "sharing", "decision_making")


def add_maturity(doc: dict[str, Any]) -> dict[str, Any]:
    """partnership.yaml's document with issue 21's additions (in place, and returned)."""
    doc["agencies"].append(
        {"id": HOUSING_AGENCY, "name": "Wexbury Homes (housing association)", "type": "housing"}
    )
    doc["crosswalks"]["wexbury_intervention_types"] = {
        "list": "event_type",
        "codes": dict(INTERVENTION_TYPES),
    }
    doc["sources"].append(
        {
            "id": INTERVENTION_SOURCE,
            "agency": "wexbury_csc",
            "dataset": "Interventions: support programmes, disruption, safety plans, step-down",
            "file": INTERVENTION_FILE,
            "format": "csv",
            "encoding": "utf-8",
            "extracted_at": REFERENCE_DATE,
            "sharing_agreement": ISA,
            "filters": [{"column": "Surname", "equals": "TEST"}],
            "record": {"id": "InterventionID", "date": {"column": "StartDate", **_DATE}},
            "identity": {
                "local_id": "ChildID",
                "forename": "Forename",
                "surname": "Surname",
                "dob": {"column": "DateOfBirth", **_DATE},
            },
            "event": {
                "id": "InterventionID",
                "type": {"column": "InterventionType", "crosswalk": "wexbury_intervention_types"},
                "date": {"column": "StartDate", **_DATE},
                "end_date": {"column": "EndDate", **_DATE},
            },
        }
    )
    doc["catalogue"] = {
        "police": [
            {"name": "Crimes and incidents", "system": "Niche RMS", "supplied": True,
             "source": "police_crimes", "fields": ["offence", "flags", "location", "role"]},
            {"name": "Intelligence reports on exploitation", "system": "Niche RMS",
             "fields": ["subject", "location", "grading"], "supplied": False},
        ],
        "education": [
            {"name": "Suspensions and exclusions from maintained schools", "supplied": True,
             "source": "education_exclusions", "system": "Council pupil database"},
            {"name": "exclusions from academies", "system": "Academy trusts' MIS",
             "fields": ["pupil", "reason", "date"], "supplied": False},
        ],
        HOUSING_AGENCY: [
            {"name": "Tenancy and anti-social behaviour cases, including suspected cuckooing",
             "system": "Housing management system",
             "fields": ["tenancy", "address", "ASB category", "vulnerability flag"],
             "supplied": False},
        ],
    }  # fmt: skip
    doc["framework"] = {
        "title": "Wexbury and Ashdown exploitation performance framework 2026-27",
        "outcomes": [
            {
                "outcome": "Children at risk of exploitation are identified early",
                "questions": [
                    {"question": "children_with_concern", "direction": "reference"},
                    {"question": "children_known_to_one_agency", "target": 40,
                     "direction": "at_most", "note": "share known to one agency only, per cent"},
                ],
            },
            {
                "outcome": "Children who go missing are seen and heard when they return",
                "questions": [{"question": "missing_episodes_rhi", "target": 80,
                               "direction": "at_least",
                               "note": "return home interviews offered within 72 hours, per cent"}],
            },
            {
                "outcome": "Support makes a difference",
                "questions": [{"question": "intervention_outcomes", "direction": "reference"}],
            },
        ],
    }  # fmt: skip
    return doc


def _wexbury_children(ctx: Context) -> list[str]:
    """Person ids of children with a record in Wexbury children's social care."""
    seen: set[str] = set()
    with open(ctx.root / "truth" / "record_person.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["source"] in _WEXBURY_SOURCES and row["person_id"]:
                seen.add(row["person_id"])
    return sorted(seen)


class _Appending(Truth):
    """truth/record_person.csv opened to add rows (the other truth files are complete)."""

    def __init__(self, ctx: Context) -> None:
        folder = ctx.root / "truth"
        self._rp_file = open(folder / "record_person.csv", "a", encoding="utf-8", newline="")
        self._pp_file = open(folder / "planted_problems.csv", "a", encoding="utf-8", newline="")
        self.record_person = csv.writer(self._rp_file, lineterminator="\n")
        self.problems = csv.writer(self._pp_file, lineterminator="\n")

    def close(self) -> None:
        self._rp_file.close()
        self._pp_file.close()


class _Rows(SourceOut):
    """The interventions extract: rows written through ``csv`` as they come."""

    def __init__(self, truth: Truth, writer: Any) -> None:
        super().__init__(truth, INTERVENTION_SOURCE, INTERVENTION_FILE, {}, "Surname")
        self._writer = writer

    def _put(self, values: Sequence[Any]) -> None:
        self._writer.writerow(values)


def write_interventions(ctx: Context) -> None:
    """Plant interventions on children known to Wexbury children's social care."""
    rng = random.Random(f"{ctx.seed}:interventions")
    people = {p.pid: p for p in ctx.people if p.kind == "young"}
    known = [pid for pid in _wexbury_children(ctx) if pid in people]
    earliest, latest = (
        REFERENCE_DATE - timedelta(days=3 * 365),
        REFERENCE_DATE - timedelta(days=200),
    )
    chosen = rng.sample(known, min(len(known), max(8, len(ctx.people) // 12)))
    truth = _Appending(ctx)
    path = ctx.root / INTERVENTION_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    planted = []
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(
            ["InterventionID", "ChildID", "Forename", "Surname", "DateOfBirth",
             "InterventionType", "StartDate", "EndDate"]
        )  # fmt: skip
        out = _Rows(truth, w)
        for n, pid in enumerate(sorted(chosen), start=1):
            if out.want_test():  # a test record, as live systems hold them
                tp = test_person(rng)
                tid = f"INT-T{n:04d}"
                out.write([tid, "LL000000", tp.forename, tp.surname, tp.dob.isoformat(),
                           "Safety plan", "2026-01-05", ""], tid, tp)  # fmt: skip
            p = people[pid]
            words = rng.choice(sorted(INTERVENTION_TYPES))
            start = earliest + timedelta(days=rng.randrange((latest - earliest).days))
            end = start + timedelta(days=rng.randrange(30, 180))
            rid = f"INT-{n:05d}"
            values = [
                rid,
                local_id("LL", p, 4_321, width=6),
                p.forename,
                p.surname,
                p.dob.isoformat(),
                words,
                start.isoformat(),
                end.isoformat() if end <= REFERENCE_DATE else "",
            ]
            out.write(values, rid, p)
            planted.append((pid, INTERVENTION_TYPES[words], start.isoformat(), rid))
    truth.close()
    ctx.register(out)
    with open(ctx.root / "truth" / "interventions.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["person_id", "event_type", "start_date", "source_record_id"])
        w.writerows(planted)
    _write_self_assessments(ctx)


def _write_self_assessments(ctx: Context) -> None:
    rows = [
        {"agency": a, "submitted_on": on, "levels": dict(zip(_DIMENSIONS, lv, strict=True))}
        for a, on, lv in SELF_ASSESSMENTS
    ]
    (ctx.root / "truth" / "self_assessments.json").write_text(
        json.dumps(rows, indent=1) + "\n", encoding="utf-8"
    )
