"""Per agency, "what would improve the picture most": recording changes ranked by effect.

Each candidate change is scored as the records it would improve times the weight of the
field for the partnership's picture (identifiers that link a child's records across
agencies and the exploitation type weigh most). Candidates come from the measures:
missing values, values that fail validation, codes the crosswalk does not know, rows set
aside in quarantine, a strong identifier the extract does not carry at all, duplicate ids
and an old extract.

Advice names a source by its dataset's name (``source.dataset``), never its id, and holds
no count of rows: counts of records are protected like counts of people, so the page
shows ``records_affected`` beside the advice through the tier's disclosure policy.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FIELD_LABELS", "FIELD_WEIGHTS", "Advice", "advise"]

FIELD_WEIGHTS: dict[str, float] = {
    "identity.nhs_number": 3.0,
    "identity.upn": 3.0,
    "identity.pnc_id": 2.5,
    "identity.dob": 3.0,
    "identity.forename": 2.0,
    "identity.surname": 2.0,
    "identity.full_name": 2.5,
    "identity.postcode": 2.0,
    "identity.sex": 1.0,
    "identity.ethnicity": 1.5,
    "event.exploitation": 2.5,
    "event.date": 2.0,
    "record.date": 2.0,
    "place.postcode": 1.5,
    "place.type": 1.0,
    "role": 1.0,
}
"""How much a field matters to the joined-up picture (others weigh 0.5)."""

FIELD_LABELS: dict[str, str] = {
    "identity.nhs_number": "the NHS number",
    "identity.upn": "the unique pupil number (UPN)",
    "identity.pnc_id": "the PNC id",
    "identity.dob": "the date of birth",
    "identity.forename": "the forename",
    "identity.surname": "the surname",
    "identity.full_name": "the name",
    "identity.postcode": "the home postcode",
    "identity.sex": "sex",
    "identity.ethnicity": "ethnicity",
    "event.exploitation": "the exploitation type",
    "event.date": "the date of the event",
    "record.date": "the date of the record",
    "place.postcode": "the postcode of the place",
    "place.type": "the type of place",
    "role": "the person's role",
}

# identifier each kind of agency usually holds, for sources that carry none
_EXPECTED_ID = {
    "health": "identity.nhs_number",
    "childrens_social_care": "identity.nhs_number",
    "adult_social_care": "identity.nhs_number",
    "education": "identity.upn",
    "police": "identity.pnc_id",
    "youth_justice": "identity.pnc_id",
}


@dataclass(frozen=True)
class Advice:
    agency: str
    source: str
    field: str
    dimension: str
    advice: str
    records_affected: int
    score: float


def _label(field: str) -> str:
    return FIELD_LABELS.get(field, field.split(".")[-1].replace("_", " "))


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.0f}%" if d else "0%"


def _name(source: dict[str, object] | None, src: str) -> str:
    """A source in words: its dataset's name, or its id when it has none."""
    name = str((source or {}).get("dataset") or "").strip()
    return name or src


def advise(
    sources: list[dict[str, object]],
    fields: list[dict[str, object]],
    measures: list[dict[str, object]],
    *,
    per_agency: int = 5,
) -> list[tuple[int, Advice]]:
    """Ranked advice ``(rank, Advice)``, at most ``per_agency`` per agency.

    ``sources``: rows of ``source``; ``fields``: rows of ``field_quality``; ``measures``:
    rows of ``quality_measure`` (each as a dict of column -> value).
    """
    by_source = {str(s["source"]): s for s in sources}
    out: list[Advice] = []
    mapped: dict[str, set[str]] = {}
    for f in fields:
        src = str(f["source"])
        s = by_source.get(src)
        if s is None:
            continue
        field, col = str(f["field"]), str(f["column_name"])
        rows, filled, valid = int(f["rows"]), int(f["filled"]), int(f["valid"])  # type: ignore[call-overload]
        unmapped = int(f.get("unmapped") or 0)  # type: ignore[call-overload]
        formula = int(f.get("formula_like") or 0)  # type: ignore[call-overload]
        mapped.setdefault(src, set()).add(field)
        weight = FIELD_WEIGHTS.get(field, 0.5)
        agency = str(s["agency"])
        name = _name(s, src)
        missing = rows - filled
        if missing and weight >= 1:
            out.append(
                Advice(
                    agency,
                    src,
                    field,
                    "completeness",
                    f"Record {_label(field)} (column {col} in {name}): {_pct(missing, rows)} "
                    "of rows leave it blank.",
                    missing,
                    missing * weight,
                )
            )
        if unmapped:
            out.append(
                Advice(
                    agency,
                    src,
                    field,
                    "validity",
                    f"Add the codes in column {col} of {name} that the crosswalk does not "
                    "know to the crosswalk (the page lists them for the agency's data lead).",
                    unmapped,
                    unmapped * max(weight, 1.0),
                )
            )
        invalid = filled - valid - unmapped
        if invalid > 0:
            out.append(
                Advice(
                    agency,
                    src,
                    field,
                    "validity",
                    f"Check {_label(field)} (column {col} in {name}): "
                    f"{_pct(invalid, filled)} of the values filled in fail validation "
                    "(check digit, format or a date out of range).",
                    invalid,
                    invalid * weight,
                )
            )
        if formula:
            out.append(
                Advice(
                    agency,
                    src,
                    field,
                    "validity",
                    f"Column {col} of {name} has values starting with = + - or @, which "
                    "spreadsheets read as formulas; check how the extract is produced.",
                    formula,
                    formula * 0.5,
                )
            )
    for src, s in by_source.items():
        agency = str(s["agency"])
        name = _name(s, src)
        kept = int(s["rows_read"]) - int(s["rows_filtered"])  # type: ignore[call-overload]
        quarantined = int(s["rows_quarantined"])  # type: ignore[call-overload]
        if quarantined:
            out.append(
                Advice(
                    agency,
                    src,
                    "",
                    "validity",
                    f"Correct the rows of {name} set aside in quarantine (the quarantine "
                    "table names each row, column and what to fix).",
                    quarantined,
                    quarantined * 3.0,
                )
            )
        expected = _EXPECTED_ID.get(str(s["agency_type"]))
        have = mapped.get(src, set())
        strong = {"identity.nhs_number", "identity.upn", "identity.pnc_id"}
        if expected and not (have & strong):
            loaded = int(s["rows_loaded"])  # type: ignore[call-overload]
            out.append(
                Advice(
                    agency,
                    src,
                    expected,
                    "linkability",
                    f"Add {_label(expected)} to the extract of {name}: it carries no identifier "
                    "shared with other agencies, so its records link on names and dates alone.",
                    loaded,
                    loaded * FIELD_WEIGHTS[expected] * 0.5,
                )
            )
        del kept
    for m in measures:
        src = str(m["source"])
        s = by_source.get(src)
        if s is None:
            continue
        agency = str(s["agency"])
        source_name = _name(s, src)
        name = str(m["measure"])
        den = int(m["denominator"] or 0)  # type: ignore[call-overload]
        num = int(m["numerator"] or 0)  # type: ignore[call-overload]
        value = m["value"]
        if name == "unique_ids" and den - num > 0:
            out.append(
                Advice(
                    agency,
                    src,
                    "record.id",
                    "uniqueness",
                    f"Give every row of {source_name} its own id: some rows repeat an "
                    "earlier row's id.",
                    den - num,
                    (den - num) * 2.0,
                )
            )
        if name == "extract_lag_days" and isinstance(value, int | float) and value > 60:
            loaded = int(s["rows_loaded"])  # type: ignore[call-overload]
            out.append(
                Advice(
                    agency,
                    src,
                    "",
                    "timeliness",
                    f"Send {source_name} more often or more promptly: its newest record is "
                    f"{value:.0f} days older than the extract.",
                    loaded,
                    loaded * 0.2,
                )
            )
    ranked: list[tuple[int, Advice]] = []
    by_agency: dict[str, list[Advice]] = {}
    for a in out:
        by_agency.setdefault(a.agency, []).append(a)
    for agency in sorted(by_agency):
        items = sorted(by_agency[agency], key=lambda a: (-a.score, a.source, a.field))
        ranked.extend((i, a) for i, a in enumerate(items[:per_agency], start=1))
    return ranked
