"""The ``sources:`` of the synthetic partnership.yaml: every extract (and every Excel sheet)
mapped in its own shape, using the mapping language of issue 13 where the extract needs it
(indicators, linked events, derived values, addresses, identifier kinds, keywords)."""

from __future__ import annotations

from typing import Any

from joinedup.synth.people import REFERENCE_DATE
from joinedup.synth.writer import QUARANTINE_BAD_DATES

__all__ = ["HEALTH_ISA", "ISA", "OUTREACH_ISA", "VOLUNTARY_ISA", "source_mappings"]

ISA = "isa_exploitation_2026"
HEALTH_ISA = "isa_health_2026"
VOLUNTARY_ISA = "brightpath_consent_2026"
OUTREACH_ISA = "crossroads_sharing_2026"
_ISA, _HEALTH, _VOLUNTARY, _OUTREACH = ISA, HEALTH_ISA, VOLUNTARY_ISA, OUTREACH_ISA


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
    if sid in QUARANTINE_BAD_DATES:  # elsewhere an impossible date is emptied, the row kept
        out["bad_dates"] = "quarantine"
    out.update(rest)
    return out


def source_mappings() -> list[dict[str, Any]]:
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
                # issue 13: the force's flags and the Home Office offence classification
                # (a built-in crosswalk), with the partnership's precedence rule
                "indicators": {
                    "fields": [
                        _x("Flags", "police_flags", ";"),
                        _x("OffenceCode", "home_office_offence"),
                    ],
                    # an offence code types an occurrence only where no flag does: a
                    # CSE victim of "supplying a controlled drug to a child" is CSE
                    "fallback": [1],
                    "precedence": [{"prefer": "online", "over": ["cse"]}],
                },
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
                # issue 13: the postcode taken from the free-text address by pattern, and
                # the (restricted) address itself, for linkage and for home vs not home
                "postcode": {"column": "HomeAddress", "pattern": "postcode"},
                "address": "HomeAddress",
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
                # issue 13: the type read from the free-text location by keywords
                "type": {"column": "FoundLocation", "keywords": True},
            },
            # issue 13: Ashdown's return home interview, on the episode's row
            linked_events=[
                {
                    "key": "rhi",
                    "type": {"value": "return_home_interview"},
                    "date": _d("RHIOffered", "%d/%m/%Y"),
                    "end_date": _d("RHICompleted", "%d/%m/%Y"),
                    "outcome": "RHIOutcome",
                }
            ],
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
            # issue 13: the referral and the assessment recorded on the contact's row
            linked_events=[
                {
                    "key": "referral",
                    "type": {"value": "referral"},
                    "date": _d("ReferralDate"),
                    "detail": _x("ReferralSource", "cin_referral_source"),
                },
                {
                    "key": "assessment",
                    "type": {"value": "assessment"},
                    "date": _d("AssessmentStartDate"),
                    "end_date": _d("AssessmentAuthorisedDate"),
                    "outcome": "AssessmentOutcome",
                    "exploitation": _x("AssessmentFactors", "cin_factor", ","),
                    "follows": "referral",
                },
            ],
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
                "detail": _x("ReasonCode", "dfe_exclusion_reason"),
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
            # issue 13: an id that keeps each part, a date from the academic year and term
            record={
                "id": {"parts": ["UPN", "AcademicYear", "Term"]},
                "date": {"academic_year": "AcademicYear", "term": "Term"},
            },
            identity={
                "upn": "UPN",
                "forename": "Forename",
                "surname": "Surname",
                "dob": _d("DOB", "%d/%m/%Y"),
                "sex": _x("Gender", "education_sex"),
            },
            event={
                "id": {"parts": ["UPN", "AcademicYear", "Term"]},
                "type": {"value": "absence"},
                "date": {"academic_year": "AcademicYear", "term": "Term"},
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
                "ids": {"cnp": "Foreign_ID"},
            },
            event={
                "id": "Outcome_ID",
                "type": {"value": "youth_justice_outcome"},
                "date": _d("Outcome_Date", "%Y-%m-%d"),
                "outcome": "Outcome",
                "detail": "Offence",
                "exploitation": _x("Exploitation_Concern", "yj_concerns", ";"),
            },
            # issue 13: the NRM referral the service made, on the outcome's row, with the
            # NRM's own type codes (the built-in crosswalk nrm_type)
            linked_events=[
                {
                    "key": "nrm",
                    "type": {"value": "nrm_referral"},
                    "date": _d("NRM_Referral_Date", "%Y-%m-%d"),
                    "outcome": "NRM_Decision",
                    "exploitation": _x("NRM_Type", "nrm_type"),
                }
            ],
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
                "ids": {"cnp": "HomeCountryID"},
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
            # issue 20: scrubbed, young people's words may be quoted beside strategic
            # figures (the agreement's purpose "Voice of young people in reports")
            note={"text": "Notes", "theme": {"column": "Themes"}, "tier": "strategic"},
        ),
        _src(
            "crossroads_outreach",
            "crossroads",
            "Crossroads Youth Outreach: detached youth work sessions in Ashdown",
            "extracts/voluntary/crossroads_outreach_sessions_*.csv",
            _OUTREACH,
            filters=[{"column": "First name", "equals": "Test"}],
            # issue 13: no key in the file, so the row number is the record id
            record={"id": {"row_number": True}, "date": _d("Session date", "%d.%m.%Y")},
            identity={
                "forename": {"first_of": ["Known as", "First name"]},
                "dob": {
                    "date_parts": {"year": "Birth year", "month": "Birth month", "day": "Birth day"}
                },
                "sex": {"column": "Gender", "values": {"1": "M", "2": "F", "3": "U"}},
                "postcode": "Area",
            },
            event={
                "id": {"row_number": True},
                "type": {"value": "support_episode"},
                "date": _d("Session date", "%d.%m.%Y"),
                "indicators": {
                    "fields": [_x("Concern codes", "crossroads_codes", ";")],
                    "type_not_stated": {
                        "when": {"column": "Exploitation concern", "parse": "boolean"}
                    },
                },
            },
            place={"name": "Where", "type": {"column": "Where", "keywords": True}},
            age_range=[11, 19],
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
                "ids": {"cnp": "ForeignNationalID"},
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
