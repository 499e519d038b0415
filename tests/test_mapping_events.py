"""Several events from one row, several exploitation indicators per source, contexts,
taxonomy extensions, and the checks `joinedup check` makes of them (issue 13).

Each test writes a small partnership made for it and maps it with the build's own map
stage into an in-memory release schema, then reads what was loaded and quarantined.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import duckdb
import pytest

from conftest import map_partnership
from joinedup.config import load_config
from joinedup.errors import ConfigError
from joinedup.taxonomy import load_taxonomy

HEAD = """\
partnership: {name: Events test}
authorities: [{code: XA1, name: Town}]
agencies:
  - {id: csc, name: Children's services, type: childrens_social_care}
  - {id: police, name: Police, type: police}
sharing_agreements: [{key: isa, title: Agreement}]
"""

BAD_DATE = (
    "not a date in any accepted format: the value was left empty and the row kept; correct "
    "it in the extract, or list its format under formats: for this field in partnership.yaml"
)


def _partnership(tmp_path: Path, body: str, files: dict[str, str]) -> Path:
    (tmp_path / "partnership.yaml").write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def _map(base: Path) -> duckdb.DuckDBPyConnection:
    """Every source of the partnership through the map stage, into a fresh schema."""
    con, _ = map_partnership(base)
    return con


SHARED_TYPES = tuple(load_taxonomy().lists["exploitation_type"])


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in con.execute(sql).fetchall()]


# --- several events from one row -------------------------------------------------------

CONTACTS = """\
ContactID,Forename,Surname,DOB,ContactDate,ContactOutcome,ReferralDate,ReferralSource,AssessmentStart,AssessmentEnd,AssessmentOutcome
C1,Amy,Lee,01/02/2010,01/03/2026,Referral,02/03/2026,6,03/03/2026,20/03/2026,CIN plan
C2,Bo,Ray,01/02/2011,05/03/2026,NFA,,,,,
C3,Cy,Dee,01/02/2012,06/03/2026,Referral,07/03/2026,Schools,,,
C4,Di,Eve,01/02/2012,06/03/2026,Referral,31/02/2026,5A,,,
C5,Ed,Fox,01/02/2012,08/03/2026,Referral,09/03/2026,school bus,,,
"""

CONTACT_SOURCE = """\
sources:
  - id: csc_contacts
    agency: csc
    dataset: Contacts with referrals and assessments
    file: contacts.csv
    format: csv
    sharing_agreement: isa
    record: {id: ContactID}
    identity: {forename: Forename, surname: Surname, dob: DOB}
    event:
      id: ContactID
      type: {value: contact}
      date: ContactDate
      outcome: ContactOutcome
    linked_events:
      - key: referral
        type: {value: referral}
        date: ReferralDate
        detail: {column: ReferralSource, crosswalk: cin_referral_source}
      - key: assessment
        type: {value: assessment}
        date: AssessmentStart
        end_date: AssessmentEnd
        outcome: AssessmentOutcome
        follows: referral
"""


def test_a_contact_row_gives_its_referral_and_assessment_linked_in_order(tmp_path: Path) -> None:
    con = _map(_partnership(tmp_path, CONTACT_SOURCE, {"contacts.csv": CONTACTS}))
    events = _rows(
        con,
        "SELECT event_id, event_type, event_date, end_date, outcome, detail, related_event_id "
        "FROM event LEFT JOIN event_link USING (event_id) ORDER BY event_id",
    )
    d = dt.date
    assert events == [
        ("csc_contacts:C1", "contact", d(2026, 3, 1), None, "Referral", None, None),
        (
            "csc_contacts:C1:assessment",
            "assessment",
            d(2026, 3, 3),
            d(2026, 3, 20),
            "CIN plan",
            None,
            "csc_contacts:C1:referral",
        ),
        ("csc_contacts:C1:referral", "referral", d(2026, 3, 2), None, None, "6", "csc_contacts:C1"),
        ("csc_contacts:C2", "contact", d(2026, 3, 5), None, "NFA", None, None),
        ("csc_contacts:C3", "contact", d(2026, 3, 6), None, "Referral", None, None),
        # a built-in crosswalk matches a label too: "Schools" is 2A
        (
            "csc_contacts:C3:referral",
            "referral",
            d(2026, 3, 7),
            None,
            None,
            "2A",
            "csc_contacts:C3",
        ),
        ("csc_contacts:C4", "contact", d(2026, 3, 6), None, "Referral", None, None),
        # a referral whose date cannot be read is still a referral: its date is left empty
        ("csc_contacts:C4:referral", "referral", None, None, None, "5A", "csc_contacts:C4"),
        ("csc_contacts:C5", "contact", d(2026, 3, 8), None, "Referral", None, None),
        # "school bus" is neither a code nor a label: not valid, and listed
        (
            "csc_contacts:C5:referral",
            "referral",
            d(2026, 3, 9),
            None,
            None,
            None,
            "csc_contacts:C5",
        ),
    ]
    people = _rows(con, "SELECT event_id, source_record_id, role FROM event_person ORDER BY 1")
    assert [p for p in people if p[1] == "C1"] == [
        ("csc_contacts:C1", "C1", "subject"),
        ("csc_contacts:C1:assessment", "C1", "subject"),
        ("csc_contacts:C1:referral", "C1", "subject"),
    ]
    # ... and recorded where it is, naming the field, never the value; the row is kept
    assert _rows(
        con, "SELECT row_number, column_name, field, problem, reason FROM field_problem"
    ) == [(5, "ReferralDate", "linked_events.referral.date", "bad_date", BAD_DATE)]
    assert _rows(con, "SELECT count(*) FROM quarantine") == [(0,)]
    assert _rows(con, "SELECT count(*) FROM record") == [(5,)]
    assert _rows(
        con,
        "SELECT field, column_name, local_code, rows FROM unmapped_code",
    ) == [("linked_events.referral.detail", "ReferralSource", "school bus", 1)]
    quality = {
        f: (filled, valid)
        for f, filled, valid in _rows(con, "SELECT field, filled, valid FROM field_quality")
    }
    assert quality["linked_events.referral.detail"] == (4, 3)
    assert quality["linked_events.assessment.end_date"] == (1, 1)
    assert quality["linked_events.referral.date"] == (4, 3)


MISSING = """\
EpisodeRef,Forename,Surname,Missing,Found,RHIRef,RHIOffered,RHIDone,RHIOutcome
M1,Amy,Lee,01/03/2026 22:00,02/03/2026 08:00,R1,03/03/2026,04/03/2026,Completed
M2,Bo,Ray,05/03/2026 22:00,06/03/2026 09:00,,,,
M3,Cy,Dee,07/03/2026 21:00,,R1,08/03/2026,,Declined
"""


def test_a_missing_episode_row_gives_its_return_interview_keyed_by_its_own_id(
    tmp_path: Path,
) -> None:
    body = """\
    sources:
      - id: missing
        agency: police
        dataset: Missing episodes with return home interviews
        file: missing.csv
        format: csv
        sharing_agreement: isa
        record: {id: EpisodeRef}
        identity: {forename: Forename, surname: Surname}
        event:
          id: EpisodeRef
          type: {value: missing_episode}
          date: {column: Missing, formats: ["%d/%m/%Y %H:%M"], parse: date}
          end_date: {column: Found, formats: ["%d/%m/%Y %H:%M"], parse: date}
        linked_events:
          - key: rhi
            id: RHIRef
            type: {value: return_home_interview}
            date: RHIOffered
            end_date: RHIDone
            outcome: RHIOutcome
            role: {value: subject}
    """
    con = _map(_partnership(tmp_path, body, {"missing.csv": MISSING}))
    # rows sharing the interview's own id are one event with two people
    assert _rows(
        con,
        "SELECT event_id, event_type, event_date, outcome, related_event_id FROM event "
        "LEFT JOIN event_link USING (event_id) "
        "WHERE event_type = 'return_home_interview' ORDER BY ALL",
    ) == [  # one interview, following both episodes whose rows record it
        ("missing:rhi:R1", "return_home_interview", dt.date(2026, 3, 3), "Completed", "missing:M1"),
        ("missing:rhi:R1", "return_home_interview", dt.date(2026, 3, 3), "Completed", "missing:M3"),
    ]
    assert _rows(
        con,
        "SELECT source_record_id FROM event_person WHERE event_id = 'missing:rhi:R1' ORDER BY 1",
    ) == [("M1",), ("M3",)]
    assert _rows(con, "SELECT count(*) FROM event WHERE event_type = 'missing_episode'") == [(3,)]
    assert _rows(con, "SELECT count(*) FROM quarantine") == [(0,)]


YJ = """\
OutcomeID,Forename,Surname,OffenceDate,OffenceCode,NRMDate,NRMType,NRMDecision
Y1,Amy,Lee,01/03/2026,92A,05/03/2026,child_criminal,Positive reasonable grounds
Y2,Bo,Ray,02/03/2026,46,,,
Y3,Cy,Dee,03/03/2026,106,09/03/2026,Sexual exploitation of a child,
"""


def test_an_offence_row_gives_its_nrm_referral_each_with_its_own_types(tmp_path: Path) -> None:
    body = """\
    sources:
      - id: yjs
        agency: police
        dataset: Youth justice outcomes with NRM referrals
        file: yj.csv
        format: csv
        sharing_agreement: isa
        record: {id: OutcomeID}
        identity: {forename: Forename, surname: Surname}
        event:
          id: OutcomeID
          type: {value: crime}
          date: OffenceDate
          detail: OffenceCode
          exploitation: {column: OffenceCode, crosswalk: home_office_offence}
        linked_events:
          - key: nrm
            type: {value: nrm_referral}
            date: NRMDate
            outcome: NRMDecision
            exploitation: {column: NRMType, crosswalk: nrm_type}
    """
    con = _map(_partnership(tmp_path, body, {"yj.csv": YJ}))
    assert _rows(con, "SELECT * FROM event_exploitation ORDER BY ALL") == [
        ("yjs:Y1", "cce", "92A"),
        ("yjs:Y1:nrm", "cce", "child_criminal"),
        ("yjs:Y3", "trafficking", "106"),
        ("yjs:Y3:nrm", "cse", "Sexual exploitation of a child"),  # matched by its label
    ]
    assert _rows(
        con,
        "SELECT event_id, related_event_id FROM event JOIN event_link USING (event_id) "
        "WHERE event_type = 'nrm_referral' ORDER BY 1",
    ) == [("yjs:Y1:nrm", "yjs:Y1"), ("yjs:Y3:nrm", "yjs:Y3")]
    # shoplifting (46) is a known offence that names no exploitation: nothing unmapped
    assert _rows(con, "SELECT count(*) FROM unmapped_code") == [(0,)]


# --- several indicator fields per source ------------------------------------------------

CRIMES = """\
InvID,Ref,Forename,Surname,When,Flags,OffenceCode,Factors,AbuseType,Exploited,Context
1,R1,Amy,Lee,01/03/2026,ONL;CSE,,,,Y,peer_group;School
2,R2,Bo,Ray,02/03/2026,,106,,,N,
3,R3,Cy,Dee,03/03/2026,DA,,,,Y,nowhere
4,R4,Di,Eve,04/03/2026,CL,92A,,,Yes,
5,R5,Ed,Fox,05/03/2026,XYZ,,,,,
6,R6,Flo,Gee,06/03/2026,CSE,88A,,,,
7,R7,Gus,Hay,07/03/2026,,,"10A, 24A",Modern slavery,,
8,R8,Hal,Ivy,08/03/2026,,,3A,,,
"""

INDICATORS = """\
taxonomy_extensions:
  exploitation_type:
    local_hate_crime:
      label: Exploitation linked to hate crime
      parent: other
crosswalks:
  police_flags:
    list: exploitation_type
    codes: {CSE: cse, ONL: online, CL: county_lines, DA: ""}
  abuse_types:
    list: exploitation_type
    codes: {Modern slavery: trafficking, Neglect: ""}
sources:
  - id: crimes
    agency: police
    dataset: Crimes
    file: crimes.csv
    format: csv
    sharing_agreement: isa
    record: {id: InvID}
    identity: {forename: Forename, surname: Surname}
    event:
      id: Ref
      type: {value: crime}
      date: When
      context: {column: Context, split: ";"}
      indicators:
        fields:
          - {column: Flags, split: ";", crosswalk: police_flags}
          - {column: OffenceCode, crosswalk: home_office_offence}
          - {column: Factors, split: ",", crosswalk: cin_factor}
          - {column: AbuseType, crosswalk: abuse_types}
        precedence:
          - {prefer: online, over: [cse]}
        type_not_stated:
          when: {column: Exploited, parse: boolean}
"""


def test_indicator_fields_combine_with_precedence_and_type_not_stated(tmp_path: Path) -> None:
    con = _map(_partnership(tmp_path, INDICATORS, {"crimes.csv": CRIMES}))
    assert _rows(con, "SELECT * FROM event_exploitation ORDER BY ALL") == [
        ("crimes:R1", "online", "ONL"),  # online, not CSE, when both flags are set
        ("crimes:R2", "trafficking", "106"),
        ("crimes:R3", "type_not_stated", "Y"),  # DA names no type; Exploited = Y
        ("crimes:R4", "cce", "92A"),
        ("crimes:R4", "county_lines", "CL"),
        ("crimes:R6", "cse", "88A"),
        ("crimes:R6", "cse", "CSE"),
        ("crimes:R7", "cce", "24A"),
        ("crimes:R7", "trafficking", "Modern slavery"),
    ]
    # R5's unknown flag is listed, never guessed; R8's 3A is known and names no type
    assert _rows(con, "SELECT field, column_name, local_code, rows FROM unmapped_code") == [
        ("event.indicators.fields[0]", "Flags", "XYZ", 1)
    ]
    quality = {
        f: (filled, valid)
        for f, filled, valid in _rows(con, "SELECT field, filled, valid FROM field_quality")
    }
    assert quality["event.indicators.fields[0]"] == (5, 4)
    assert quality["event.indicators.fields[1]"] == (3, 3)
    assert quality["event.indicators.fields[2]"] == (2, 2)
    # contexts: taxonomy codes in any case; an unknown one is left out
    assert _rows(con, "SELECT * FROM event_context ORDER BY ALL") == [
        ("crimes:R1", "peer_group", "peer_group"),
        ("crimes:R1", "school", "School"),
    ]
    assert quality["event.context"] == (2, 1)  # R1 has known items; R3's "nowhere" is not
    assert _rows(con, "SELECT count(*) FROM quarantine") == [(0,)]


def test_a_fallback_field_counts_only_where_the_others_name_no_type(tmp_path: Path) -> None:
    """An offence code is a weaker signal than a practitioner's flag: with the offence
    field as a fallback, R4 (county-lines flag and offence 92A) is county lines only and
    R6 (CSE flag and offence 88A) CSE by its flag only, while R2 (an offence alone)
    keeps the offence's type."""
    body = INDICATORS.replace(
        "        precedence:\n", "        fallback: [1]\n        precedence:\n"
    )
    con = _map(_partnership(tmp_path, body, {"crimes.csv": CRIMES}))
    assert _rows(con, "SELECT * FROM event_exploitation ORDER BY ALL") == [
        ("crimes:R1", "online", "ONL"),
        ("crimes:R2", "trafficking", "106"),
        ("crimes:R3", "type_not_stated", "Y"),
        ("crimes:R4", "county_lines", "CL"),
        ("crimes:R6", "cse", "CSE"),
        ("crimes:R7", "cce", "24A"),
        ("crimes:R7", "trafficking", "Modern slavery"),
    ]


def test_check_names_a_fallback_outside_the_fields(tmp_path: Path) -> None:
    for fallback, message in (
        ("[4]", "fallback names field 4, but fields has 4 (counted from 0)"),
        ("[0, 1, 2, 3]", "fallback names every field: leave at least one field"),
    ):
        body = INDICATORS.replace(
            "        precedence:\n", f"        fallback: {fallback}\n        precedence:\n"
        )
        folder = tmp_path / fallback.strip("[]").replace(", ", "_")
        folder.mkdir()
        problems = _problems(folder, body)
        assert any(message in p for p in problems), problems


# --- what `joinedup check` says about the new keys --------------------------------------


def _problems(tmp_path: Path, body: str) -> list[str]:
    base = _partnership(tmp_path, body, {"crimes.csv": CRIMES})
    with pytest.raises(ConfigError) as info:
        load_config(base)
    return [str(p) for p in info.value.problems]


def test_check_names_bad_precedence_rules(tmp_path: Path) -> None:
    body = INDICATORS.replace(
        "          - {prefer: online, over: [cse]}\n",
        "          - {prefer: online, over: [cse]}\n"
        "          - {prefer: cse, over: [online, onlin]}\n"
        "          - {prefer: cce, over: cce}\n",
    )
    types = ", ".join([*SHARED_TYPES, "local_hate_crime"])
    assert _problems(tmp_path, body) == [
        "sources[0] (crimes).event.indicators.precedence[1].over: 'onlin' is not an "
        f"exploitation_type code; use one of: {types}",
        "sources[0] (crimes).event.indicators.precedence[1]: prefers 'cse' over 'online', but "
        "precedence[0] prefers 'online' over 'cse'; keep one",
        "sources[0] (crimes).event.indicators.precedence[2]: 'cce' is preferred over itself; "
        "remove it from over",
    ]


def test_check_names_an_unknown_crosswalk_and_one_onto_the_wrong_list(tmp_path: Path) -> None:
    body = INDICATORS.replace("crosswalk: home_office_offence", "crosswalk: ho_offences")
    body = body.replace("crosswalk: abuse_types}", "crosswalk: cin_referral_source}")
    assert _problems(tmp_path, body) == [
        "sources[0] (crimes).event.indicators.fields[1].crosswalk: no crosswalk named "
        "'ho_offences'; declare it under 'crosswalks' or use a built-in one (cin_factor, "
        "cin_referral_source, dfe_exclusion_reason, home_office_offence, home_office_violence, "
        "nrm_type)",
        "sources[0] (crimes).event.indicators.fields[3].crosswalk: crosswalk "
        "'cin_referral_source' maps onto cin_referral_source, but this field needs one onto "
        "exploitation_type",
    ]


def test_check_names_an_extension_whose_parent_is_not_in_the_taxonomy(tmp_path: Path) -> None:
    body = INDICATORS.replace("      parent: other\n", "      parent: harm\n")
    assert _problems(tmp_path, body) == [
        "taxonomy_extensions.exploitation_type.local_hate_crime.parent: 'harm' is not in the "
        "exploitation_type list of taxonomy 2026.1; use one of: " + ", ".join(SHARED_TYPES)
    ]


def test_check_names_a_type_not_stated_code_outside_the_taxonomy(tmp_path: Path) -> None:
    body = INDICATORS.replace(
        "        type_not_stated:\n", "        type_not_stated:\n          code: unstated\n"
    )
    assert _problems(tmp_path, body) == [
        "sources[0] (crimes).event.indicators.type_not_stated.code: 'unstated' is not an "
        "exploitation_type code; use a shared one or declare a local one under "
        "taxonomy_extensions.exploitation_type (e.g. local_type_not_stated with parent: other)"
    ]


def test_check_names_bad_extension_lists_codes_and_links(tmp_path: Path) -> None:
    body = INDICATORS.replace(
        "taxonomy_extensions:\n",
        "taxonomy_extensions:\n  sex:\n    local_x: {label: X}\n"
        "  context:\n    hangout: {label: Hang-out}\n",
    ).replace("    linked_events", "    linked_events")
    body += (
        "    linked_events:\n"
        "      - {key: nrm, type: {value: nrm_referral}, date: When, follows: referal}\n"
    )
    assert _problems(tmp_path, body) == [
        "taxonomy_extensions.sex: 'sex' is not a list that takes local codes; use one of: "
        "context, event_type, exploitation_type, group_type, place_type, violence_type",
        "taxonomy_extensions.context.hangout: a local code starts with 'local_' and uses only "
        "lower case letters, digits and '_' (e.g. local_hate_crime), so it never clashes with "
        "a shared code",
        "sources[0] (crimes).linked_events.nrm.follows: 'referal' is not 'event' nor the key "
        "of another linked event of this source (nrm)",
    ]


def test_a_local_extension_is_a_taxonomy_code_for_crosswalks(tmp_path: Path) -> None:
    body = INDICATORS.replace('DA: ""', "DA: local_hate_crime")
    con = _map(_partnership(tmp_path, body, {"crimes.csv": CRIMES}))
    assert ("crimes:R3", "local_hate_crime", "DA") in _rows(con, "SELECT * FROM event_exploitation")
