"""partnership.yaml for the synthetic partnership: every extract mapped in its own shape."""

from __future__ import annotations

from typing import Any

import yaml

from joinedup.synth.crosswalks import crosswalks
from joinedup.synth.geography import Geography, geography_config
from joinedup.synth.people import REFERENCE_DATE

__all__ = ["partnership_yaml"]

_ISA = "isa_exploitation_2026"
_HEALTH = "isa_health_2026"
_VOLUNTARY = "brightpath_consent_2026"


def _d(column: str, *formats: str) -> dict[str, Any]:
    out: dict[str, Any] = {"column": column, "parse": "date"}
    if formats:
        out["formats"] = list(formats)
    return out


def _x(column: str, crosswalk: str, split: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"column": column, "crosswalk": crosswalk}
    if split:
        out["split"] = split
    return out


def _src(sid: str, agency: str, dataset: str, file: str, isa: str, **rest: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": sid, "agency": agency, "dataset": dataset, "file": file}
    out["format"] = rest.pop("format", "csv")
    if out["format"] == "csv":
        out["encoding"] = rest.pop("encoding", "utf-8")
        out["delimiter"] = ","
    out.update({k: rest.pop(k) for k in ("sheet", "header_row") if k in rest})
    out["extracted_at"] = REFERENCE_DATE
    out["sharing_agreement"] = isa
    # the planted impossible dates of birth stay in quarantine, as truth/ records them
    # (issue 13's default keeps such rows with the date left empty)
    out["bad_dates"] = "quarantine"
    out.update(rest)
    return out


def _sources() -> list[dict[str, Any]]:
    test = [{"column": "Surname", "equals": "TEST"}]
    police_identity = {
        "forename": "Forename",
        "surname": "Surname",
        "dob": _d("DOB", "%d/%m/%Y"),
        "sex": _x("Gender", "police_sex"),
        "local_id": "NominalID",
    }
    wex_identity = {
        "forename": "Forename",
        "surname": "Surname",
        "dob": _d("DateOfBirth", "%Y-%m-%d"),
        "sex": _x("GenderCode", "wexbury_gender"),
        "postcode": "Postcode",
        "local_id": "ChildID",
    }
    wex_full = {
        **wex_identity,
        "nhs_number": "NHSNumber",
        "upn": "UPN",
        "ethnicity": "EthnicityCode",
    }
    wex_file = "extracts/wexbury_csc/wexbury_childrens_services_*.xlsx"
    words = {"column": "Gender", "crosswalk": "words_sex"}
    return [
        _src(
            "police_crimes",
            "police",
            "Crimes and incidents: people involved, aged under 25 or linked to them",
            "extracts/police/crimes_incidents_*.csv",
            _ISA,
            encoding="cp1252",
            filters=test,
            record={"id": "InvolvementID", "date": _d("OccurredAt", "%d/%m/%Y %H:%M")},
            identity={
                **police_identity,
                "postcode": "HomePostcode",
                "pnc_id": "PNCID",
                "ethnicity": _x("EthnicityCode", "police_ethnicity"),
            },
            event={
                "id": "OccurrenceRef",
                "type": _x("RecordType", "police_record_types"),
                "date": _d("OccurredAt", "%d/%m/%Y %H:%M"),
                "detail": "OffenceCode",
                "exploitation": _x("Flags", "police_flags", ";"),
            },
            role=_x("InvolvementType", "police_roles"),
            place={
                "name": "LocationName",
                "postcode": "LocationPostcode",
                "type": _x("LocationType", "police_place_types"),
            },
            group={
                "id": "GroupName",
                "name": "GroupName",
                "type": _x("GroupType", "police_group_types"),
                "role": _x("InvolvementType", "police_roles"),
            },
        ),
        _src(
            "police_missing",
            "police",
            "Missing episodes of children and young people",
            "extracts/police/missing_episodes_*.csv",
            _ISA,
            encoding="utf-8-sig",
            filters=test,
            record={"id": "EpisodeRef", "date": _d("ReportedMissing", "%d/%m/%Y %H:%M")},
            identity={
                **police_identity,
                "sex": _x("Sex", "police_sex"),
                # issue 13: a value taken by pattern, and the (restricted) address field
                "postcode": {"column": "HomeAddressPostcode", "pattern": "postcode"},
                "address": "HomeAddressPostcode",
            },
            event={
                "id": "EpisodeRef",
                "type": {"value": "missing_episode"},
                "date": _d("ReportedMissing", "%d/%m/%Y %H:%M"),
                "end_date": _d("Found", "%d/%m/%Y %H:%M"),
                "outcome": "RiskGrade",
                "exploitation": _x("Flags", "police_flags", ";"),
            },
            place={
                "name": "FoundLocation",
                "postcode": "FoundPostcode",
                "type": _x("FoundLocationType", "police_place_types"),
            },
        ),
        _src(
            "wexbury_csc_contacts",
            "wexbury_csc",
            "Contacts to Wexbury children's social care",
            wex_file,
            _ISA,
            format="xlsx",
            sheet="Contacts",
            header_row=3,
            filters=test,
            record={"id": "ContactID", "date": _d("ContactDate")},
            identity={**wex_full, "preferred_name": "KnownAs"},
            event={
                "id": "ContactID",
                "type": {"value": "contact"},
                "date": _d("ContactDate"),
                "outcome": "ContactOutcome",
                "detail": "ContactReason",
                "exploitation": _x("ContactReason", "wexbury_contact_reasons"),
            },
        ),
        _src(
            "wexbury_csc_assessments",
            "wexbury_csc",
            "Children and families assessments, with CIN census factors",
            wex_file,
            _ISA,
            format="xlsx",
            sheet="Assessments",
            header_row=1,
            filters=test,
            record={"id": "AssessmentID", "date": _d("AssessmentStartDate")},
            identity=wex_full,
            event={
                "id": "AssessmentID",
                "type": {"value": "assessment"},
                "date": _d("AssessmentStartDate"),
                "end_date": _d("AssessmentAuthorisedDate"),
                "outcome": "AssessmentOutcome",
                "detail": "FactorsIdentified",
                # the built-in crosswalk of CIN census factors (docs/taxonomy.md)
                "exploitation": _x("FactorsIdentified", "cin_factor", ","),
            },
        ),
        _src(
            "wexbury_csc_rhi",
            "wexbury_csc",
            "Return home interviews after missing episodes",
            wex_file,
            _ISA,
            format="xlsx",
            sheet="Return home interviews",
            header_row=1,
            filters=test,
            record={"id": "RHIID", "date": _d("RHIOfferedDate")},
            identity=dict(wex_identity),
            event={
                "id": "RHIID",
                "type": {"value": "return_home_interview"},
                "date": _d("RHIOfferedDate"),
                "end_date": _d("RHICompletedDate"),
                "outcome": "RHIOutcome",
            },
        ),
        _src(
            "ashdown_csc",
            "ashdown_csc",
            "Ashdown children's services episodes (contacts to RHIs)",
            "extracts/ashdown_csc/ashdown_cs_episodes_*.csv",
            _ISA,
            filters=[{"column": "Legal_Surname", "equals": "TEST"}],
            record={"id": "Ref_No", "date": _d("Episode_Start", "%d-%b-%Y")},
            identity={
                "forename": "Legal_Forename",
                "surname": "Legal_Surname",
                "preferred_name": "Also_Known_As",
                "dob": _d("Birth_Date", "%d-%b-%Y"),
                "sex": _x("Sex", "ashdown_sex"),
                "ethnicity": _x("Ethnic_Origin", "ethnicity_words"),
                "postcode": "Post_Code",
                "nhs_number": "NHS_No",
                "upn": "UPN",
                "local_id": "Person_ID",
            },
            event={
                "id": "Ref_No",
                "type": _x("Episode_Type", "ashdown_episode_types"),
                "date": _d("Episode_Start", "%d-%b-%Y"),
                "end_date": _d("Episode_End", "%d-%b-%Y"),
                "outcome": "Outcome",
                "detail": "Risk_Factors",
                "exploitation": _x("Risk_Factors", "ashdown_factors", "|"),
            },
        ),
        _src(
            "health_ae",
            "health",
            "Emergency department attendances, patients aged under 25",
            "extracts/health/ae_attendances_*.csv",
            _HEALTH,
            filters=[{"column": "PatientName", "equals": "TEST, Patient"}],
            record={"id": "AttendanceID", "date": _d("ArrivalDateTime", "%Y-%m-%d %H:%M")},
            identity={
                "full_name": {"column": "PatientName", "order": "surname_forename"},
                "dob": _d("DOB", "%Y%m%d"),
                "sex": _x("SexCode", "nhs_sex"),
                "ethnicity": _x("EthnicCategory", "nhs_ethnic_category"),
                "postcode": "Postcode",
                "nhs_number": "NHSNumber",
                "local_id": "HospitalNumber",
            },
            event={
                "id": "AttendanceID",
                "type": {"value": "ae_attendance"},
                "date": _d("ArrivalDateTime", "%Y-%m-%d %H:%M"),
                "detail": "PresentingComplaintCode",
                "exploitation": _x("SafeguardingCategory", "health_safeguarding"),
            },
        ),
        _src(
            "education_exclusions",
            "education",
            "Suspensions and permanent exclusions",
            "extracts/education/suspensions_exclusions_*.csv",
            _ISA,
            filters=test,
            record={"id": "ExclRef", "date": _d("StartDate", "%d-%m-%Y")},
            identity={
                "upn": "UPN",
                "forename": "Forename",
                "surname": "Surname",
                "dob": _d("DOB", "%d/%m/%Y"),
                "sex": _x("Gender", "education_sex"),
                "ethnicity": "Ethnicity",
                "postcode": "HomePostcode",
            },
            event={
                "id": "ExclRef",
                "type": _x("Category", "exclusion_categories"),
                "date": _d("StartDate", "%d-%m-%Y"),
                "detail": "ReasonCode",
            },
            place={"name": "SchoolName", "postcode": "SchoolPostcode", "type": {"value": "school"}},
        ),
        _src(
            "education_absence",
            "education",
            "Persistent absence by pupil and term",
            "extracts/education/persistent_absence_*.csv",
            _ISA,
            filters=test,
            record={"id": {"columns": ["UPN", "Term"]}, "date": _d("TermStart", "%d-%m-%Y")},
            identity={
                "upn": "UPN",
                "forename": "Forename",
                "surname": "Surname",
                "dob": _d("DOB", "%d/%m/%Y"),
                "sex": _x("Gender", "education_sex"),
            },
            event={
                "id": {"columns": ["UPN", "Term"]},
                "type": {"value": "absence"},
                "date": _d("TermStart", "%d-%m-%Y"),
                "detail": "SessionsMissed",
            },
        ),
        _src(
            "yjs_outcomes",
            "yjs",
            "Youth justice outcomes",
            "extracts/youth_justice/yjs_outcomes_*.csv",
            _ISA,
            filters=[{"column": "Last_Name", "equals": "TEST"}],
            record={"id": "Outcome_ID", "date": _d("Outcome_Date", "%Y-%m-%d")},
            identity={
                "forename": "First_Name",
                "surname": "Last_Name",
                "dob": _d("D_O_B", "%d/%m/%Y"),
                "sex": words,
                "ethnicity": _x("Ethnicity", "ethnicity_words"),
                "postcode": "Postcode",
                "pnc_id": "PNC_No",
                "local_id": "YJ_ID",
            },
            event={
                "id": "Outcome_ID",
                "type": {"value": "youth_justice_outcome"},
                "date": _d("Outcome_Date", "%Y-%m-%d"),
                "outcome": "Outcome",
                "detail": "Offence",
                "exploitation": _x("Exploitation_Concern", "yj_concerns", ";"),
            },
        ),
        _src(
            "nrm_referrals",
            "nrm",
            "National Referral Mechanism referrals by local first responders",
            "extracts/nrm/nrm_referrals_*.csv",
            _ISA,
            filters=test,
            record={"id": "NRMRef", "date": _d("ReferralDate", "%d/%m/%Y")},
            identity={
                "forename": "Forename",
                "surname": "Surname",
                "dob": _d("DOB", "%d/%m/%Y"),
                "sex": _x("Gender", "police_sex"),
                "postcode": "Postcode",
            },
            event={
                "id": "NRMRef",
                "type": {"value": "nrm_referral"},
                "date": _d("ReferralDate", "%d/%m/%Y"),
                "end_date": _d("DecisionDate", "%d/%m/%Y"),
                "outcome": "Decision",
                "exploitation": _x("ExploitationType", "nrm_types", ";"),
            },
        ),
        _src(
            "brightpath_support",
            "brightpath",
            "Brightpath Youth support episodes",
            "extracts/voluntary/brightpath_referrals_*.csv",
            _VOLUNTARY,
            filters=[{"column": "FirstName", "equals": "Test"}],
            record={"id": "Ref", "date": _d("ServiceStart", "%d/%m/%Y")},
            identity={
                "forename": "FirstName",
                "dob": _d("DOB", "%d/%m/%Y"),
                "postcode": "PostcodeDistrict",
            },
            event={
                "id": "Ref",
                "type": {"value": "support_episode"},
                "date": _d("ServiceStart", "%d/%m/%Y"),
                "end_date": _d("ServiceEnd", "%d/%m/%Y"),
                "exploitation": _x("ReferralReason", "brightpath_reasons"),
            },
            note={"text": "Notes", "theme": {"column": "Themes"}, "tier": "operational"},
        ),
        _src(
            "asc_concerns",
            "asc",
            "Adult safeguarding concerns about people aged 18 to 25",
            "extracts/adult_social_care/asc_safeguarding_concerns_*.csv",
            _ISA,
            filters=test,
            record={"id": "ConcernID", "date": _d("ConcernDate", "%Y-%m-%d")},
            identity={
                "forename": "FirstName",
                "surname": "Surname",
                "dob": _d("DOB", "%d/%m/%Y"),
                "sex": words,
                "ethnicity": "Ethnicity",
                "postcode": "Postcode",
                "nhs_number": "NHSNumber",
                "local_id": "PersonID",
            },
            event={
                "id": "ConcernID",
                "type": {"value": "safeguarding_concern"},
                "date": _d("ConcernDate", "%Y-%m-%d"),
                "outcome": "ConcernOutcome",
                "detail": "AbuseType",
                "exploitation": _x("AbuseType", "asc_abuse_types"),
            },
        ),
    ]


def partnership_yaml(geo: Geography, *, seed: int, people: int) -> str:
    doc: dict[str, Any] = {
        "partnership": {
            "name": "Wexbury and Ashdown Safeguarding Partnership",
            "reference_date": REFERENCE_DATE,
        },
        "taxonomy_version": "2026.1",
        "authorities": [{"code": a.code, "name": a.name} for a in geo.authorities],
        "geography": geography_config(),  # ONSPD-like, areas CSV (issue 13)
        "agencies": [
            {"id": "police", "name": "Wexbury and Ashdown Police", "type": "police"},
            {
                "id": "wexbury_csc",
                "name": "Wexbury Council Children's Services",
                "type": "childrens_social_care",
                "authority": geo.authorities[0].code,
            },
            {
                "id": "ashdown_csc",
                "name": "Ashdown Council Children's Services",
                "type": "childrens_social_care",
                "authority": geo.authorities[1].code,
            },
            {"id": "health", "name": "Wexbury and Ashdown NHS Foundation Trust", "type": "health"},
            {
                "id": "education",
                "name": "Wexbury and Ashdown pupil data (both councils)",
                "type": "education",
            },
            {
                "id": "yjs",
                "name": "Wexbury and Ashdown Youth Justice Service",
                "type": "youth_justice",
            },
            {
                "id": "nrm",
                "name": "Modern slavery first responders (NRM referrals)",
                "type": "other",
            },
            {
                "id": "brightpath",
                "name": "Brightpath Youth (voluntary sector)",
                "type": "voluntary",
            },
            {
                "id": "asc",
                "name": "Wexbury and Ashdown Adult Social Care",
                "type": "adult_social_care",
            },
        ],
        "sharing_agreements": [
            {
                "key": _ISA,
                "title": "Wexbury and Ashdown exploitation information sharing agreement 2026",
                "tiers": ["operational", "strategic", "community"],
                "lawful_basis": "UK GDPR 6(1)(e) public task; 9(2)(g) with DPA 2018 Sch 1 para 18",
                "purposes": [
                    "Safeguarding children and young adults from exploitation",
                    "Partnership strategic needs assessment",
                ],
                "retention_years": 6,
                "owner": "Wexbury and Ashdown Safeguarding Partnership business unit",
            },
            {
                "key": _HEALTH,
                "title": "NHS trust data sharing agreement for exploitation panels 2026",
                "tiers": ["operational", "strategic", "community"],
                "lawful_basis": "UK GDPR 6(1)(e) public task; 9(2)(h) health and social care",
                "purposes": ["Safeguarding children and young adults from exploitation"],
                "retention_years": 6,
                "owner": "Named nurse for safeguarding, Wexbury and Ashdown NHS FT",
            },
            {
                "key": _VOLUNTARY,
                "title": "Brightpath Youth: consent-based sharing 2026",
                "tiers": ["operational", "strategic"],
                "lawful_basis": "Consent of the young person, or 6(1)(e) where a child is at risk",
                "purposes": ["Exploitation panel casework", "Voice of young people in reports"],
                "retention_years": 3,
                "owner": "Brightpath Youth safeguarding lead",
            },
        ],
        "crosswalks": crosswalks(),
        "sources": _sources(),
    }
    head = (
        "# Wexbury and Ashdown: a FICTIONAL partnership made by `joinedup synth`\n"
        f"# (seed {seed}, {people} people). Every person, place and identifier is made up.\n"
        "# Format: docs/configuration.md. Truth for testing linkage: truth/.\n\n"
    )
    parts = [head]
    for key, value in doc.items():
        if key in _COMMENTS:
            parts.append(f"\n# {_COMMENTS[key]}\n")
        parts.append(
            yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        )
    return "".join(parts)


_COMMENTS = {
    "authorities": "The local authorities in the partnership (fictional codes: XA, XW, XS).",
    "geography": "Boundaries, postcode lookup and resident population aged 0-24.",
    "agencies": "Who holds the data.",
    "sharing_agreements": "What each source is shared under, and which tiers may see it.",
    "crosswalks": "Each agency's own codes and words -> taxonomy codes.",
    "sources": "One entry per extract (and per Excel sheet), mapped in the agency's own shape.",
}


class _Dumper(yaml.SafeDumper):
    """Block style for sections, flow style for one field ({column: X, parse: date}), and
    no anchors: the file is for people to read and edit."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    leaf = bool(data) and set(data) & {"column", "columns", "value", "equals", "in"}
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=bool(leaf))


_Dumper.add_representer(dict, _represent_dict)
