"""What each synthetic agency recorded, row by row, with the true person it is about.

:func:`read_truth_rows` reads every extract in the native shape the generator wrote it
(``_SPECS``: the columns of dates, roles, codes, ends and places; a further event some
rows carry, such as a contact's assessment), gives each code the meaning the synthetic
agency gives it (``synth.crosswalks``, or the taxonomy's built-in crosswalk for national
code lists such as CIN census factors), and names the true person from
``truth/record_person.csv``. It never uses joinedup's readers, mapping or linkage: the
truth harness (``synth.expected``) compares the product with it.

When the generator's shapes change, ``_SPECS`` changes with them; a column it names that
an extract lacks stops the read with a message saying so.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from joinedup.errors import ConfigError, JoinedupError
from joinedup.synth.crosswalks import crosswalks
from joinedup.taxonomy import load_taxonomy

__all__ = ["TruthRow", "planted_places", "read_truth_rows", "truth_ids"]


@dataclass(frozen=True)
class _Linked:
    """A further event the agency records on the same row (its columns may be absent in
    an older extract): a referral's assessment, a youth justice outcome's NRM referral."""

    key: str
    date: tuple[str, str]
    codes: tuple[str, str, str]


@dataclass(frozen=True)
class _Spec:
    """Where one source's facts are in its native extract."""

    agency: str
    file: str
    date: tuple[str, str]  # column, format ("" for an Excel date)
    record: str = ""  # record id column ("" for the row's line number)
    event: str = ""  # event id column (default: the record)
    codes: tuple[str, str, str] = ("", "", "")  # column, crosswalk, separator
    role: str = ""  # role column (police_roles), else "subject"
    end: tuple[str, str] = ("", "")
    encoding: str = "utf-8"
    sheet: str = ""
    header_row: int = 1
    linked: tuple[_Linked, ...] = ()
    concern: str = ""  # a yes/no "exploitation concern" column: "type not stated" if no type
    spill: str = ""  # a column sometimes written unquoted, its commas splitting it


_WEX = "extracts/wexbury_csc/wexbury_childrens_services_*.xlsx"
_SPECS: dict[str, _Spec] = {
    "police_crimes": _Spec(
        "police", "extracts/police/crimes_incidents_*.csv", ("OccurredAt", "%d/%m/%Y %H:%M"),
        "InvolvementID", "OccurrenceRef", ("Flags", "police_flags", ";"), "InvolvementType",
        encoding="cp1252", spill="LocationAddress",
    ),
    "police_missing": _Spec(
        "police", "extracts/police/missing_episodes_*.csv", ("ReportedMissing", "%d/%m/%Y %H:%M"),
        "EpisodeRef", codes=("Flags", "police_flags", ";"), end=("Found", "%d/%m/%Y %H:%M"),
        encoding="utf-8-sig",
    ),
    "wexbury_csc_contacts": _Spec(
        "wexbury_csc", _WEX, ("ContactDate", ""), "ContactID",
        codes=("ContactReason", "wexbury_contact_reasons", ""), sheet="Contacts", header_row=3,
        linked=(_Linked("assessment", ("AssessmentStartDate", ""),
                        ("AssessmentFactors", "cin_factor", ",")),),
    ),
    "wexbury_csc_assessments": _Spec(
        "wexbury_csc", _WEX, ("AssessmentStartDate", ""), "AssessmentID",
        codes=("FactorsIdentified", "cin_factor", ","), sheet="Assessments",
    ),
    "wexbury_csc_rhi": _Spec(
        "wexbury_csc", _WEX, ("RHIOfferedDate", ""), "RHIID", end=("RHICompletedDate", ""),
        sheet="Return home interviews",
    ),
    "ashdown_csc": _Spec(
        "ashdown_csc", "extracts/ashdown_csc/ashdown_cs_episodes_*.csv",
        ("Episode_Start", "%d-%b-%Y"), "Ref_No", codes=("Risk_Factors", "ashdown_factors", "|"),
        end=("Episode_End", "%d-%b-%Y"),
    ),
    "health_ae": _Spec(
        "health", "extracts/health/ae_attendances_*.csv", ("ArrivalDateTime", "%Y-%m-%d %H:%M"),
        "AttendanceID", codes=("SafeguardingCategory", "health_safeguarding", ""),
    ),
    "yjs_outcomes": _Spec(
        "yjs", "extracts/youth_justice/yjs_outcomes_*.csv", ("Outcome_Date", "%Y-%m-%d"),
        "Outcome_ID", codes=("Exploitation_Concern", "yj_concerns", ";"),
        linked=(_Linked("nrm", ("NRM_Referral_Date", "%Y-%m-%d"), ("NRM_Type", "nrm_type", "")),),
    ),
    "nrm_referrals": _Spec(
        "nrm", "extracts/nrm/nrm_referrals_*.csv", ("ReferralDate", "%d/%m/%Y"), "NRMRef",
        codes=("ExploitationType", "nrm_types", ";"),
    ),
    "brightpath_support": _Spec(
        "brightpath", "extracts/voluntary/brightpath_referrals_*.csv", ("ServiceStart", "%d/%m/%Y"),
        "Ref", codes=("ReferralReason", "brightpath_reasons", ""),
    ),
    "crossroads_outreach": _Spec(
        "crossroads", "extracts/voluntary/crossroads_outreach_sessions_*.csv",
        ("Session date", "%d.%m.%Y"), codes=("Concern codes", "crossroads_codes", ";"),
        concern="Exploitation concern",
    ),
    "asc_concerns": _Spec(
        "asc", "extracts/adult_social_care/asc_safeguarding_concerns_*.csv",
        ("ConcernDate", "%Y-%m-%d"), "ConcernID", codes=("AbuseType", "asc_abuse_types", ""),
    ),
}  # fmt: skip
#: Sources the generator writes only in some versions (read when present).
_OPTIONAL = frozenset({"crossroads_outreach", "wexbury_csc_rhi", "wexbury_csc_assessments"})


@dataclass(frozen=True)
class TruthRow:
    """One extract row as the agency recorded it, with the true person it is about."""

    source: str
    record_id: str
    person_id: str
    agency: str
    event_id: str  # source-qualified: a police occurrence is one event
    day: date | None
    role: str  # victim | subject | person_of_concern | witness | associate
    types: tuple[str, ...]  # taxonomy exploitation codes recorded on the row
    end: date | None = None  # found (missing), completed (RHI), end of an episode
    place: tuple[str, str] | None = None  # (name, postcode) of a named place, not a home
    episode_start: date | None = None  # Wexbury RHIs: the start of the episode
    kind: str = ""  # Ashdown: the episode type ("Return Home Interview", ...)
    interview: tuple[date | None, date | None] | None = None  # an RHI on the episode's row
    #: types a reader of the police offence code would add (Home Office classes through
    #: the taxonomy's crosswalk): not the force's exploitation flags, so not the truth
    offence_types: tuple[str, ...] = ()


def truth_ids(folder: Path) -> dict[tuple[str, str], str]:
    with open(folder / "truth" / "record_person.csv", encoding="utf-8", newline="") as fh:
        return {(r["source"], r["source_record_id"]): r["person_id"] for r in csv.DictReader(fh)}


def _rows(folder: Path, spec: _Spec, optional: bool) -> Iterator[dict[str, object]]:
    files = sorted(folder.glob(spec.file))
    if not files and not optional:
        raise ConfigError(f"{folder}: no extract matches {spec.file}; regenerate the folder.")
    for path in files:
        if spec.sheet:
            book = load_workbook(path, read_only=True, data_only=True)
            try:
                if spec.sheet not in book.sheetnames and optional:
                    continue
                rows = book[spec.sheet].iter_rows(min_row=spec.header_row, values_only=True)
                header = [str(h) for h in next(rows)]
                for values in rows:
                    yield dict(zip(header, values, strict=False))
            finally:
                book.close()
        else:
            with open(path, encoding=spec.encoding, newline="") as fh:
                rows = csv.reader(fh)
                header = next(rows)
                spill = header.index(spec.spill) if spec.spill in header else -1
                for values in rows:
                    if len(values) < len(header):
                        continue  # a row cut short has lost its facts (the agencies count)
                    extra = len(values) - len(header)
                    if extra > 0 and spill >= 0:  # an address written with its commas
                        joined = ",".join(values[spill : spill + extra + 1])
                        values = [*values[:spill], joined, *values[spill + extra + 1 :]]
                    yield dict(zip(header, values, strict=False))


def _meaning(meanings: dict[str, Any], walk: str, source: str) -> dict[str, str]:
    """What a synthetic agency's codes mean (code -> taxonomy codes joined by ";"): as
    ``synth.crosswalks`` says, or for a national code list (CIN census factors, NRM
    types) as the taxonomy's built-in crosswalk says."""
    if walk in meanings:
        return {str(k): str(v) for k, v in meanings[walk]["codes"].items()}
    try:
        builtin = load_taxonomy().crosswalk(walk)
    except JoinedupError:
        raise ConfigError(
            f"No code list '{walk}' in synth.crosswalks or the taxonomy (source {source}); "
            "the generator's code lists changed, so update _SPECS in "
            "joinedup/synth/expected.py."
        ) from None
    out = {k: ";".join(v) for k, v in builtin.items()}
    return {**out, **{k.upper(): v for k, v in out.items()}}


def _offences(meanings: dict[str, Any]) -> dict[str, str]:
    try:
        return _meaning(meanings, "home_office_offence", "police_crimes")
    except ConfigError:  # a taxonomy without that crosswalk
        return {}


def _check_columns(folder: Path, source: str, spec: _Spec, row: dict[str, object]) -> None:
    wanted = [spec.record, spec.event, spec.date[0], spec.codes[0], spec.role, spec.end[0]]
    lost = sorted(c for c in wanted if c and c not in row)
    if lost:
        raise ConfigError(
            f"{folder / spec.file}: source {source} has no column(s) {', '.join(lost)}; the "
            "generator's shapes changed, so update _SPECS in joinedup/synth/expected.py to "
            "read them."
        )


def _day(value: object, fmt: str) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    return datetime.strptime(text, fmt).date() if fmt else date.fromisoformat(text[:10])


def _types(
    row: dict[str, object], codes: tuple[str, str, str], meaning: dict[str, str]
) -> set[str]:
    column, _walk, sep = codes
    raw = str(row.get(column) or "") if column else ""
    parts = [c.strip() for c in (raw.split(sep) if sep else [raw])]
    return {t for c in parts for t in meaning.get(c, meaning.get(c.lower(), "")).split(";") if t}


def read_truth_rows(folder: Path) -> list[TruthRow]:
    """Every extract row that is about a person (test records left out), with its true
    person and what the agency recorded: one row per event (a row that also records a
    linked event, such as a contact's assessment, gives one more)."""
    ids = truth_ids(folder)
    meanings = crosswalks()
    roles = meanings["police_roles"]["codes"]
    out: list[TruthRow] = []
    for source, spec in _SPECS.items():
        meaning = _meaning(meanings, spec.codes[1], source) if spec.codes[1] else {}
        linked = {k.key: _meaning(meanings, k.codes[1], source) for k in spec.linked}
        offences = _offences(meanings) if source == "police_crimes" else {}
        for n, row in enumerate(_rows(folder, spec, source in _OPTIONAL)):
            if n == 0:
                _check_columns(folder, source, spec, row)
            rid = str(row[spec.record]) if spec.record else str(n + spec.header_row + 1)
            person = ids.get((source, rid))
            if person is None:  # a planted test record, not a person
                continue
            types = _types(row, spec.codes, meaning)
            if not types and spec.concern and str(row.get(spec.concern) or "") in ("Y", "Yes"):
                types = {"type_not_stated"}
            place = interview = None
            if source == "police_crimes" and row.get("LocationName"):
                place = (str(row["LocationName"]), str(row["LocationPostcode"]))
            elif source == "police_missing":
                found = str(row.get("FoundLocation") or "")
                home = found == "Returned home" or row.get("FoundLocationType") == "Dwelling"
                if found and row.get("FoundPostcode") and not home:
                    place = (found, str(row["FoundPostcode"]))
                if row.get("RHIOffered"):  # an interview recorded on the episode's row
                    interview = (
                        _day(row["RHIOffered"], "%d/%m/%Y"),
                        _day(row.get("RHICompleted"), "%d/%m/%Y"),
                    )
            base = TruthRow(
                source=source,
                record_id=rid,
                person_id=person,
                agency=spec.agency,
                event_id=f"{source}:{row[spec.event] if spec.event else rid}",
                day=_day(row[spec.date[0]], spec.date[1]),
                role=roles[str(row[spec.role])] if spec.role else "subject",
                types=tuple(sorted(types)),
                end=_day(row[spec.end[0]], spec.end[1]) if spec.end[0] else None,
                place=place,
                episode_start=_day(row.get("MissingEpisodeStart"), ""),
                kind=str(row.get("Episode_Type") or ""),
                interview=interview,
                offence_types=tuple(sorted(_types(row, ("OffenceCode", "", ""), offences))),
            )
            out.append(base)
            for k in spec.linked:
                day = _day(row.get(k.date[0]), k.date[1])
                if day is not None:
                    out.append(
                        replace(
                            base,
                            event_id=f"{base.event_id}:{k.key}",
                            day=day,
                            types=tuple(sorted(_types(row, k.codes, linked[k.key]))),
                            end=None,
                            place=None,
                        )
                    )
    return out


def planted_places(folder: Path) -> set[tuple[str, str]]:
    with open(folder / "truth" / "scenario_places.csv", encoding="utf-8", newline="") as fh:
        return {(r["place name"], r["postcode"]) for r in csv.DictReader(fh)}
