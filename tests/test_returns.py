"""National returns read with no mapping (issue 13, item 6): the children in need census
(XML), the SSDA903 looked-after children return and the Standard Safeguarding Dataset.

Each test writes a small file made for it (or copies the examples the project ships in
``joinedup/sources/returns/examples``), reads it with the build's own read and map
stages into an in-memory release schema, and asserts what was loaded, what was set aside
and the exact message. The fuzz tests at the end mangle each reader's input.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import joinedup.sources.returns as returns_pkg
from conftest import map_partnership
from joinedup.config import load_config
from joinedup.config.model import SourceConfig
from joinedup.config.returns import RETURN_FORMATS, return_spec, table_from_file
from joinedup.errors import ConfigError, JoinedupError, SourceError
from joinedup.pipeline import build
from joinedup.pipeline.check import check_partnership
from joinedup.sources import stage
from joinedup.sources.returns import CIN_COLUMNS

EXAMPLES = Path(returns_pkg.__file__).parent / "examples"
FIX = "add it in the case management system and export the return again"

HEAD = """\
partnership: {name: Returns test}
authorities: [{code: XA1, name: Town}]
agencies: [{id: csc, name: Children's services, type: childrens_social_care}]
sharing_agreements: [{key: isa, title: Agreement}]
sources:
"""


def _source(sid: str, file: str, fmt: str, **extra: str) -> str:
    more = "".join(f", {k}: {v}" for k, v in extra.items())
    return (
        f"  - {{id: {sid}, agency: csc, dataset: {sid}, file: {file}, format: {fmt}, "
        f"sharing_agreement: isa{more}}}\n"
    )


def _partnership(root: Path, sources: str, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "partnership.yaml").write_text(HEAD + sources, encoding="utf-8")
    for name, body in files.items():
        data = body.encode("utf-8") if isinstance(body, str) else body
        (root / name).write_bytes(data)
    return root


def _map(base: Path) -> duckdb.DuckDBPyConnection:
    """Every source through the read and map stages, into a fresh release schema."""
    con, _ = map_partnership(base, as_of=dt.date(2026, 4, 1), read_quarantine=True)
    return con


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in con.execute(sql).fetchall()]


def _stage_one(path: Path, fmt: str, **extra: str) -> tuple[duckdb.DuckDBPyConnection, object]:
    src = SourceConfig.model_validate(
        {
            "id": "s",
            "agency": "a",
            "dataset": "d",
            "file": path.name,
            "format": fmt,
            "sharing_agreement": "isa",
            **extra,
        }
    )
    con = duckdb.connect()
    return con, stage(con, path, src, "raw")


# --------------------------------------------------------------------------- the examples


def test_examples_load_with_no_mapping(tmp_path: Path) -> None:
    base = tmp_path / "examples"
    shutil.copytree(EXAMPLES, base)
    con = _map(base)
    assert _rows(con, "SELECT count(*) FROM quarantine") == [(0,)]
    assert _rows(con, "SELECT count(*) FROM field_problem") == [(0,)]
    counts = dict(_rows(con, "SELECT source, count(*) FROM record GROUP BY 1"))
    assert counts == {
        "cin_census": 11,  # 5 CIN episodes, 3 assessments, 1 S47, 1 CIN plan, 1 CP plan
        "lac_header": 3,
        "lac_episodes": 4,
        "lac_missing": 3,
        "ssd_person": 3,
        "ssd_contacts": 3,
        "ssd_cin_episodes": 2,
        "ssd_s47": 1,
        "ssd_cp_plans": 1,
        "ssd_missing": 2,
    }

    # the CIN census: one event per element, typed, dated, with the factors' types
    events = _rows(
        con,
        "SELECT event_id, event_type, event_date, end_date, outcome, detail FROM event "
        "WHERE source = 'cin_census' ORDER BY event_id",
    )
    d = dt.date
    assert events == [
        ("cin_census:EXAMPLE-A1|2025-06-02|assessment|1", "assessment", d(2025, 6, 3),
         d(2025, 7, 10), None, "Assessment"),
        ("cin_census:EXAMPLE-A1|2025-06-02|cin_episode|", "referral", d(2025, 6, 2), None,
         None, "2A"),
        ("cin_census:EXAMPLE-A1|2025-06-02|cp_plan|1", "support_episode", d(2025, 6, 24),
         d(2026, 1, 15), "Sexual abuse", "Child protection plan"),
        ("cin_census:EXAMPLE-A1|2025-06-02|section47|1", "strategy_discussion",
         d(2025, 6, 5), None, None, "Section 47 enquiry"),
        ("cin_census:EXAMPLE-B2|2025-04-14|assessment|1", "assessment", d(2025, 4, 15),
         d(2025, 5, 28), None, "Assessment"),
        ("cin_census:EXAMPLE-B2|2025-04-14|cin_episode|", "referral", d(2025, 4, 14),
         d(2025, 5, 30), "RC8", "5C"),
        ("cin_census:EXAMPLE-B2|2025-10-01|assessment|1", "assessment", d(2025, 10, 2),
         d(2025, 11, 12), None, "Assessment"),
        ("cin_census:EXAMPLE-B2|2025-10-01|cin_episode|", "referral", d(2025, 10, 1), None,
         None, "5B"),
        ("cin_census:EXAMPLE-B2|2025-10-01|cin_plan|1", "support_episode", d(2025, 11, 13),
         None, None, "Child in need plan"),
        ("cin_census:EXAMPLE-C3|2026-02-16|cin_episode|", "referral", d(2026, 2, 16),
         d(2026, 2, 16), "RC8", "1C"),
        ("cin_census:EXAMPLE-D4|2026-01-05|cin_episode|", "referral", d(2026, 1, 5), None,
         "No further action", "3E"),
    ]  # fmt: skip
    # factor 11A is CSE, 24A and 13A criminal exploitation; 10A (missing) and 21 none
    assert _rows(
        con, "SELECT event_id, exploitation_type, local_code FROM event_exploitation ORDER BY 1, 3"
    ) == [
        ("cin_census:EXAMPLE-A1|2025-06-02|assessment|1", "cse", "11A"),
        ("cin_census:EXAMPLE-B2|2025-10-01|assessment|1", "cce", "13A"),
        ("cin_census:EXAMPLE-B2|2025-10-01|assessment|1", "cce", "24A"),
    ]
    # identities: the LA child id (linked within the agency), a UPN with its check letter
    # (the former UPN when there is no UPN), date of birth, sex and ethnicity
    people = _rows(
        con,
        "SELECT DISTINCT local_id, upn, dob, sex, ethnicity FROM identity "
        "WHERE source = 'cin_census' ORDER BY 1",
    )
    assert people == [
        ("EXAMPLE-A1", "C999000000001", d(2011, 4, 1), "F", "WBRI"),
        ("EXAMPLE-B2", "R999000000002", d(2009, 11, 20), "M", "MWBC"),
        ("EXAMPLE-C3", "F999000000003", d(2014, 2, 9), "F", "ABAN"),
        ("EXAMPLE-D4", None, d(2013, 7, 19), "U", "REFU"),
    ]

    # SSDA903: the header's identities (UN2, "no UPN yet", is not a UPN), episodes and
    # missing episodes by CHILD
    assert _rows(
        con,
        "SELECT local_id, upn, dob, sex, ethnicity FROM identity "
        "WHERE source = 'lac_header' ORDER BY 1",
    ) == [
        ("EXAMPLE-L1", "V999000000004", d(2010, 3, 14), "M", "WBRI"),
        ("EXAMPLE-L2", None, d(2008, 9, 2), "F", "BAFR"),
        ("EXAMPLE-L3", "J999000000005", d(2009, 12, 30), "M", "AOTH"),
    ]
    assert _rows(
        con,
        "SELECT e.event_type, e.event_date, e.end_date, e.outcome, e.detail, i.local_id, "
        "i.postcode FROM event e JOIN event_person p USING (event_id) "
        "JOIN identity i ON i.source = p.source AND i.source_record_id = p.source_record_id "
        "WHERE e.source = 'lac_episodes' ORDER BY e.event_date",
    ) == [
        ("support_episode", d(2025, 4, 1), d(2025, 9, 15), "X1", "C2 / U3", "EXAMPLE-L1",
         "WX1 2AB"),
        ("support_episode", d(2025, 6, 20), d(2025, 8, 18), "E11", "V2 / U1", "EXAMPLE-L2",
         "WX4 5GH"),
        ("support_episode", d(2025, 9, 15), None, None, "C2 / K2", "EXAMPLE-L1", "WX1 2AB"),
        ("support_episode", d(2026, 1, 5), None, None, "J2 / R1", "EXAMPLE-L3", "WX2 7LN"),
    ]  # fmt: skip
    assert _rows(
        con,
        "SELECT event_type, event_date, end_date, detail FROM event "
        "WHERE source = 'lac_missing' ORDER BY event_date",
    ) == [
        ("missing_episode", d(2025, 10, 12), d(2025, 10, 14), "Missing"),
        ("missing_episode", d(2025, 11, 2), d(2025, 11, 2),
         "Away from placement without authorisation"),
        ("missing_episode", d(2026, 1, 20), None, "Missing"),
    ]  # fmt: skip

    # the Standard Safeguarding Dataset, one table a source
    assert _rows(
        con,
        "SELECT source, event_type, event_date, end_date, outcome, detail FROM event "
        "WHERE source LIKE 'ssd_%' ORDER BY source, event_date",
    ) == [
        ("ssd_cin_episodes", "referral", d(2025, 6, 2), None, None, "2A"),
        ("ssd_cin_episodes", "referral", d(2025, 9, 16), d(2025, 11, 30), "RC8", "5B"),
        ("ssd_contacts", "contact", d(2025, 6, 1), None, None, "Schools"),
        ("ssd_contacts", "contact", d(2025, 9, 15), None, None, "Youth justice"),
        ("ssd_contacts", "contact", d(2026, 1, 8), None, None, "1A"),
        ("ssd_cp_plans", "support_episode", d(2025, 6, 24), None, "Sexual abuse",
         "Child protection plan"),
        ("ssd_missing", "missing_episode", d(2025, 10, 3), d(2025, 10, 4), None, "Missing"),
        ("ssd_missing", "missing_episode", d(2025, 10, 20), d(2025, 10, 22), None, "Missing"),
        ("ssd_s47", "strategy_discussion", d(2025, 6, 5), d(2025, 6, 20), None,
         "Section 47 enquiry"),
    ]  # fmt: skip
    assert _rows(
        con, "SELECT local_id, dob, sex, ethnicity FROM identity WHERE source = 'ssd_person'"
    ) == [
        ("EX91", d(2011, 4, 1), "F", "WBRI"),
        ("EX92", d(2010, 8, 17), "M", "BCRB"),
        ("EX93", d(2012, 1, 30), "M", "WOTH"),
    ]


# --------------------------------------------------------------------------- CIN census

# line numbers matter: each element below starts on the line its comment gives
BAD_CHILDREN = """\
<?xml version="1.0" encoding="UTF-8"?>
<Message>
<Children>
<Child>
<ChildIdentifiers><LAchildID>T1</LAchildID><PersonBirthDate>2012-02-30</PersonBirthDate>
<GenderCurrent>1</GenderCurrent></ChildIdentifiers>
<CINdetails><CINreferralDate>2025-01-10</CINreferralDate>
<Assessments><AssessmentActualStartDate>2025-01-11</AssessmentActualStartDate>
<AssessmentFactors><AssessmentFactor>12A</AssessmentFactor></AssessmentFactors></Assessments>
<Assessments><AssessmentAuthorisationDate>2025-02-01</AssessmentAuthorisationDate>
</Assessments>
</CINdetails>
</Child>
<Child>
<ChildIdentifiers><UPN>C999000000001</UPN></ChildIdentifiers>
<CINdetails><CINreferralDate>2025-03-01</CINreferralDate>
<Section47><S47ActualStartDate>2025-03-02</S47ActualStartDate></Section47>
</CINdetails>
</Child>
<Child>
<ChildIdentifiers><LAchildID>T3</LAchildID></ChildIdentifiers>
<CINdetails><ReferralSource>2A</ReferralSource>
<CINPlanDates><CINPlanStartDate>2025-04-02</CINPlanStartDate></CINPlanDates>
</CINdetails>
<CINdetails><CINreferralDate>2025-05-01</CINreferralDate></CINdetails>
</Child>
<Child><ChildIdentifiers><LAchildID>T4</LAchildID></ChildIdentifiers></Child>
<Child>
<ChildIdentifiers><LAchildID>T5</LAchildID></ChildIdentifiers>
<CINdetails><CINreferralDate>2025-06-01</CINreferralDate>
<Assessments><AssessmentActualStartDate>2025-06-02</AssessmentActualStartDate></Assessments>
<Section47><S47ActualStartDate>2025-06-03</S47ActualStartDate></Section47>
<ChildProtectionPlans><CPPstartDate>2025-06-20</CPPstartDate></ChildProtectionPlans>
</CINdetails>
</Child>
</Children>
</Message>
"""


def test_cin_children_without_required_fields_are_set_aside(tmp_path: Path) -> None:
    base = _partnership(
        tmp_path / "p", _source("cin", "cin.xml", "cin_census_xml"), {"cin.xml": BAD_CHILDREN}
    )
    con = _map(base)
    assert _rows(
        con, "SELECT row_number, column_name, problem, reason FROM quarantine ORDER BY 1"
    ) == [
        (3, "AssessmentActualStartDate", "missing_field",
         "child 1 (line 4), CIN episode 1, assessment 2 (line 10) has no "
         f"AssessmentActualStartDate, which the CIN census requires: the row was set aside; {FIX}"),
        (4, "LAchildID", "missing_field",
         "child 2 (line 14) has no LAchildID, which the CIN census requires: the child's 2 "
         f"row(s) were set aside; {FIX}"),
        (5, "LAchildID", "missing_field",
         "child 2 (line 14) has no LAchildID, which the CIN census requires: the child's 2 "
         f"row(s) were set aside; {FIX}"),
        (6, "CINreferralDate", "missing_field",
         "child 3 (line 20), CIN episode 1 (line 22) has no CINreferralDate, which the CIN "
         f"census requires: the episode's 2 row(s) were set aside; {FIX}"),
        (7, "CINreferralDate", "missing_field",
         "child 3 (line 20), CIN episode 1 (line 22) has no CINreferralDate, which the CIN "
         f"census requires: the episode's 2 row(s) were set aside; {FIX}"),
        (9, "", "missing_field",
         "child 4 (line 27) has no CINdetails: the CIN census returns every child with at "
         "least one CIN episode, so the child was set aside; record the child's CIN episode "
         "in the case management system and export the return again"),
    ]  # fmt: skip
    assert _rows(con, "SELECT source_record_id, source_row FROM record ORDER BY source_row") == [
        ("T1|2025-01-10|cin_episode|", 1),
        ("T1|2025-01-10|assessment|1", 2),
        ("T3|2025-05-01|cin_episode|", 8),
        ("T5|2025-06-01|cin_episode|", 10),
        ("T5|2025-06-01|assessment|1", 11),
        ("T5|2025-06-01|section47|1", 12),
        ("T5|2025-06-01|cp_plan|1", 13),
    ]
    # 12A is trafficking; an impossible date of birth costs the value, not the rows
    assert _rows(con, "SELECT exploitation_type, local_code FROM event_exploitation") == [
        ("trafficking", "12A")
    ]
    assert _rows(
        con, "SELECT row_number, column_name, field, problem FROM field_problem ORDER BY 1"
    ) == [
        (1, "PersonBirthDate", "identity.dob", "bad_date"),
        (2, "PersonBirthDate", "identity.dob", "bad_date"),
    ]
    # no identifier, name or date of birth in any message
    reasons = " ".join(r[0] for r in _rows(con, "SELECT reason FROM quarantine"))
    assert "T1" not in reasons and "C999" not in reasons and "2012" not in reasons


def test_cin_census_with_namespaces_and_other_spellings(tmp_path: Path) -> None:
    xml = (
        '<?xml version="1.0"?>\n<c:Message xmlns:c="urn:example">\n<c:Children><c:Child>'
        "<c:ChildIdentifiers><c:LAchildID> N1 </c:LAchildID><c:Sex>2</c:Sex>"
        "</c:ChildIdentifiers><c:Unknown>ignored</c:Unknown>"
        "<c:CINdetails><c:CINreferralDate>2025-01-10</c:CINreferralDate>"
        "<c:Section47><c:S47ActualStartDate>2025-01-12</c:S47ActualStartDate>"
        "<c:ICPCdate>2025-01-20</c:ICPCdate></c:Section47>"
        "</c:CINdetails></c:Child></c:Children></c:Message>"
    )
    path = tmp_path / "ns.xml"
    path.write_text(xml, encoding="utf-8")
    con, staged = _stage_one(path, "cin_census_xml")
    assert staged.columns == CIN_COLUMNS  # type: ignore[attr-defined]
    assert _rows(
        con,
        'SELECT _row, Child, Line, Record, Episode, Item, LAchildID, GenderCurrent, '
        '"CINreferralDate", "S47ActualStartDate", "DateOfInitialCPC" FROM raw ORDER BY _row',
    ) == [
        (1, "1", "3", "cin_episode", "1", None, "N1", "2", "2025-01-10", None, None),
        (2, "1", "3", "section47", "1", "1", "N1", "2", "2025-01-10", "2025-01-12",
         "2025-01-20"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "<Message>\n<Children>\n<Child>\n</Children>\n</Message>\n",
            "x.xml: is not well-formed XML at line 4, column 3 (an end tag does not match the "
            "element it closes). Export the return again; nothing from this file was loaded.",
        ),
        (
            "<Message>\n<Children>\n<Child><ChildIdentifiers><LAchildID>A",
            "x.xml: is not well-formed XML at line 3, column 38 (it ends before its elements "
            "are closed: the file looks cut short). Export the return again; nothing from "
            "this file was loaded.",
        ),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE Message [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<Message>&b;</Message>\n',
            "x.xml: declares a document type, an entity or an external reference, which a CIN "
            "census return does not have and joinedup does not read (such a file can expand "
            "without limit). Export the return again without them.",
        ),
        (
            "CHILD,SEX,DOB\nX1,1,01/01/2010\n",
            "x.xml: is not XML (it does not start with '<'). Check 'file:' points at the CIN "
            "census return and 'format:' for this source.",
        ),
        (
            "<Workbook><Sheet/></Workbook>",
            "x.xml: is XML, but not a children in need census return: its root element is "
            "<Workbook>, not <Message>. Check 'file:' and 'format:' for this source.",
        ),
        (
            "<Message>\n<Children>\n<Child><ChildIdentifiers><LAchildID>A1</LAchildID>"
            "</ChildIdentifiers></Child>\n</Children>\n</Message>\n<Message/>",
            "x.xml: is not well-formed XML at line 6, column 1 (there is more after the end of "
            "the return's </Message>). Export the return again; nothing from this file was "
            "loaded.",
        ),
    ],
    ids=["mismatched-tag", "cut-short", "entities", "not-xml", "another-root", "junk-after"],
)
def test_cin_files_that_cannot_be_used_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as info:
        _stage_one(path, "cin_census_xml")
    assert str(info.value) == message


def test_an_xml_bomb_is_refused_at_once(tmp_path: Path) -> None:
    levels = "".join(
        f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' if i else '<!ENTITY e0 "lol">' for i in range(10)
    )
    path = tmp_path / "bomb.xml"
    path.write_text(f"<!DOCTYPE Message [{levels}]>\n<Message>&e9;</Message>", encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(SourceError, match="declares a document type"):
        _stage_one(path, "cin_census_xml")
    assert time.perf_counter() - started < 5


def test_a_census_most_of_which_cannot_be_used_is_refused(tmp_path: Path) -> None:
    child = (
        "<Child><ChildIdentifiers><UPN>X</UPN></ChildIdentifiers>"
        "<CINdetails><CINreferralDate>2025-01-01</CINreferralDate></CINdetails></Child>\n"
    )
    good = child.replace("<UPN>X</UPN>", "<LAchildID>G</LAchildID>")
    path = tmp_path / "most.xml"
    path.write_text(f"<Message><Children>\n{good}{child * 3}</Children></Message>")
    with pytest.raises(SourceError) as info:
        _stage_one(path, "cin_census_xml")
    assert str(info.value) == (
        "most.xml: 3 of 4 rows could not be read (3 with a field the return requires missing, "
        "first on row 2), more than 50% of the file, so it is not used: check 'file:' points "
        "at the return 'format:' names, and export it again."
    )


def test_a_census_is_streamed_not_held_whole(tmp_path: Path) -> None:
    """Python's memory while reading does not grow with the file: one child at a time,
    rows written to the database in batches."""
    import tracemalloc

    child = (
        "<Child><ChildIdentifiers><LAchildID>ID{i}</LAchildID></ChildIdentifiers>"
        "<CINdetails><CINreferralDate>2025-06-02</CINreferralDate>"
        "<Assessments><AssessmentActualStartDate>2025-06-03</AssessmentActualStartDate>"
        "</Assessments></CINdetails></Child>\n"
    )
    peaks = []
    for n in (5_500, 16_500):  # both past one batch of rows (10,000)
        path = tmp_path / f"c{n}.xml"
        with path.open("w", encoding="utf-8") as fh:
            fh.write("<Message><Children>\n")
            fh.writelines(child.format(i=i) for i in range(n))
            fh.write("</Children></Message>\n")
        tracemalloc.start()
        try:
            con, staged = _stage_one(path, "cin_census_xml")
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert staged.rows == 2 * n  # type: ignore[attr-defined]
    assert peaks[1] < 1.3 * peaks[0], peaks  # three times the file, about the same memory


# --------------------------------------------------------------------------- SSDA903 and SSD


def test_ssda903_table_in_lower_case_with_a_column_missing_and_bad_rows(tmp_path: Path) -> None:
    episodes = (
        "child,decom,rne,ls,cin,place,dec,rec,home_post\n"  # no PLACE_PROVIDER, PL_POST, URN
        "E1,01/04/2025,S,C2,N1,U3,31/02/2025,X1,WX1 2AB\n"
        "E2,02/04/2025,S\n"
        "E3,03/04/2025,S,C2,N1,U3,,,WX1 2AB\n"
        "E1,01/04/2025,S,C2,N1,U3,31/02/2025,X1,WX1 2AB\n"
    )
    base = _partnership(
        tmp_path / "p",
        _source("lac", "903_episodes_2026.csv", "ssda903"),
        {"903_episodes_2026.csv": episodes},
    )
    con = _map(base)
    assert _rows(
        con, "SELECT row_number, column_name, problem, reason FROM quarantine ORDER BY 1"
    ) == [
        (3, "", "too_few_fields",
         "the row has 3 fields where the header has 9; correct the row in the extract (a value "
         "may hold an unquoted line break)"),
        (5, "", "duplicate_row",
         "the row repeats row 2 exactly (every column): it was loaded once, from row 2; remove "
         "the repeat from the extract"),
    ]  # fmt: skip
    assert _rows(
        con, "SELECT event_id, event_date, end_date, outcome, detail FROM event ORDER BY 1"
    ) == [
        ("lac:E1|01/04/2025", dt.date(2025, 4, 1), None, "X1", "C2 / U3"),
        ("lac:E3|03/04/2025", dt.date(2025, 4, 3), None, None, "C2 / U3"),
    ]
    assert _rows(con, "SELECT row_number, column_name, field, problem FROM field_problem") == [
        (2, "DEC", "event.end_date", "bad_date")
    ]


def test_a_return_table_that_is_another_table_says_which(tmp_path: Path) -> None:
    path = tmp_path / "lac_2026.csv"
    path.write_text("CHILD,DECOM,RNE,LS,PLACE,DEC,REC\nE1,01/04/2025,S,C2,U3,,\n")
    with pytest.raises(SourceError) as info:
        _stage_one(path, "ssda903", table="missing")
    assert str(info.value) == (
        "lac_2026.csv: is not the missing table of the SSDA903 looked-after children return: "
        "it has no MIS_START; its columns are those of the episodes table: set 'table: "
        "episodes' for this source, or point 'file:' at the missing table."
    )
    path.write_text("Ref,When\n1,2025-01-01\n")
    with pytest.raises(SourceError) as info:
        _stage_one(path, "ssd", table="cp_plans")
    assert str(info.value) == (
        "lac_2026.csv: is not the cp_plans table of the Standard Safeguarding Dataset: it has "
        "no cppl_cp_plan_id, cppl_person_id, cppl_cp_plan_start_date; check 'file:' points at "
        "the cp_plans table of the return (it has cppl_cp_plan_id, cppl_person_id, "
        "cppl_cp_plan_start_date) and the delimiter."
    )


def test_ssd_repeated_ids_and_unknown_codes(tmp_path: Path) -> None:
    cin = (
        "cine_referral_id;cine_person_id;cine_referral_date;cine_referral_source_code\n"
        "R1;P1;2025-06-02 00:00:00.000;2A\n"
        "R2;P2;2025-06-03;9Z\n"
        "R1;P3;2025-06-04;3A\n"
    )
    base = _partnership(
        tmp_path / "p", _source("cin", "ssd_cin_episodes.csv", "ssd"), {"ssd_cin_episodes.csv": cin}
    )
    con = _map(base)
    assert _rows(con, "SELECT row_number, column_name, problem FROM quarantine") == [
        (4, "cine_referral_id", "duplicate_id")
    ]
    assert _rows(con, "SELECT event_id, event_date, detail FROM event ORDER BY 1") == [
        ("cin:R1", dt.date(2025, 6, 2), "2A"),
        ("cin:R2", dt.date(2025, 6, 3), None),
    ]
    assert _rows(con, "SELECT field, local_code, rows FROM unmapped_code") == [
        ("event.detail", "9Z", 1)
    ]


# --------------------------------------------------------------------------- configuration


def test_the_table_is_told_by_the_file_name_or_said() -> None:
    assert table_from_file("ssda903", "extracts/903/episodes_2026-03.csv") == "episodes"
    assert table_from_file("ssda903", "LAC_Header.CSV") == "header"
    assert table_from_file("ssd", "ssd_cin_episodes.csv") == "cin_episodes"
    assert table_from_file("ssd", "ssd_cin_plans_*.csv") == "cin_plans"
    assert table_from_file("ssd", "ssd_missing.csv") == "missing"
    assert table_from_file("ssd", "extract.csv") is None
    assert table_from_file("ssda903", "header_and_episodes.csv") is None  # two tables
    assert table_from_file("cin_census_xml", "anything.xml") == "cin"
    for fmt in RETURN_FORMATS:  # every built-in mapping reads only its table's columns
        for table in return_spec(fmt).tables.values():
            src = SourceConfig.model_validate(
                {"id": "s", "agency": "a", "dataset": "d", "file": "f", "format": fmt,
                 "table": table.name, "sharing_agreement": "isa"}
            )  # fmt: skip
            read = {c for spec in src.field_specs().values() for c in spec.source_columns()}
            assert read <= set(table.columns), (fmt, table.name, read - set(table.columns))
            assert set(table.required) <= set(table.columns)


def test_configuration_problems_are_named_at_the_source(tmp_path: Path) -> None:
    sources = (
        _source("a", "extract.csv", "ssd")
        + _source("b", "lac.csv", "ssda903", table="placements")
        + _source("c", "c.xml", "cin_census_xml", identity="{dob: PersonBirthDate}")
        + _source("d", "d.csv", "csv", table="header")
    )
    base = _partnership(tmp_path / "p", sources, {})
    with pytest.raises(ConfigError) as info:
        load_config(base, check_files=False)
    problems = [str(p) for p in info.value.problems]
    assert problems == [
        "sources[0] (a): say which table of the Standard Safeguarding Dataset this file is, "
        "with 'table:' (one of person, address, contacts, early_help_episodes, cin_episodes, "
        "cin_assessments, cin_plans, s47_enquiry, cp_plans, cla_episodes, missing); its file "
        "name does not say",
        "sources[1] (b): 'placements' is not a table of the SSDA903 looked-after children "
        "return that joinedup reads; use one of header, episodes, missing, uasc, oc3",
        "sources[2] (c): the children in need census has its mapping built in: leave out "
        "'identity' (or give a whole mapping of your own, starting with 'record')",
        "sources[3] (d): 'table' applies only to national returns (format: cin_census_xml, "
        "ssda903, ssd)",
    ]


def test_a_return_may_take_a_mapping_of_its_own(tmp_path: Path) -> None:
    """A partnership that wants more from a return maps its staged columns itself."""
    own = (
        "  - id: cin\n    agency: csc\n    dataset: CIN\n    file: cin.xml\n"
        "    format: cin_census_xml\n    sharing_agreement: isa\n"
        "    record: {id: {parts: [LAchildID, CINreferralDate, Record, Item]}}\n"
        "    identity: {local_id: LAchildID}\n"
        "    filters: [{column: Record, in: [assessment, section47, cin_plan, cp_plan]}]\n"
    )
    base = _partnership(tmp_path / "p", own, {"cin.xml": BAD_CHILDREN})
    con = _map(base)
    assert _rows(con, "SELECT source_record_id FROM record ORDER BY 1") == [
        ("T1|2025-01-10|cin_episode|",),
        ("T3|2025-05-01|cin_episode|",),
        ("T5|2025-06-01|cin_episode|",),
    ]


# --------------------------------------------------------------------------- check and build


@pytest.mark.parametrize("case", ["children-set-aside", "not-well-formed"])
def test_check_and_build_agree_on_a_return(tmp_path: Path, case: str) -> None:
    base = tmp_path / "examples"
    shutil.copytree(EXAMPLES, base)
    bad = BAD_CHILDREN if case == "children-set-aside" else BAD_CHILDREN[:-12]
    (base / "cin_census.xml").write_text(bad, encoding="utf-8")
    if case == "not-well-formed":
        with pytest.raises(JoinedupError) as checked:
            check_partnership(base, full=True)
        with pytest.raises(JoinedupError) as built:
            build(base)
        message = (
            "sources (cin_census).file: cin_census.xml: is not well-formed XML at line 36, "
            "column 12 (it ends before its elements are closed: the file looks cut short). "
            "Export the return again; nothing from this file was loaded."
        )
        assert [str(p) for p in checked.value.problems] == [message]
        assert [str(p) for p in built.value.problems] == [message]
        return
    lines = check_partnership(base, full=True)
    cin = next(x for x in lines if x.startswith("cin_census: "))
    assert cin == (
        "cin_census: cin_census.xml, 13 rows; sample of 13: 7 mapped, 0 filtered, 6 to quarantine"
        ", 2 value(s) to be left empty"
    )
    release = build(base).release
    with release.connect() as con:
        assert con.execute(
            "SELECT rows_read, rows_loaded, rows_quarantined FROM source WHERE source = "
            "'cin_census'"
        ).fetchall() == [(13, 7, 6)]
        assert con.execute(
            "SELECT count(*) FROM quarantine WHERE source = 'cin_census'"
        ).fetchall() == [(6,)]


# --------------------------------------------------------------------------- fuzz

SETTINGS = settings(
    max_examples=int(os.environ.get("JU_HYPOTHESIS_EXAMPLES", "15")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
value = st.text(alphabet="abcé&<>'\" 9-]", min_size=1, max_size=6).filter(lambda s: s.strip())
ITEM_TAGS = {
    "Assessments": ("assessment", "AssessmentActualStartDate"),
    "Section47": ("section47", "S47ActualStartDate"),
    "CINPlanDates": ("cin_plan", "CINPlanStartDate"),
    "ChildProtectionPlans": ("cp_plan", "CPPstartDate"),
}
mostly = st.integers(0, 4).map(bool)  # True four times in five


@st.composite
def cin_case(draw: st.DrawFn) -> tuple[str, dict[int, tuple[str, ...]], set[int]]:
    """A census of random children, some without what the census requires; the rows
    expected loaded (row -> Record, LAchildID, the element's date, Item) and set aside."""
    nl = "\n" if draw(st.booleans()) else ""
    out = [f'<?xml version="1.0" encoding="UTF-8"?>{nl}<Message>{nl}<Children>{nl}']
    loaded: dict[int, tuple[str, ...]] = {}
    aside: set[int] = set()
    row = 1
    for _ in range(draw(st.integers(1, 5))):
        has_id, la_id = draw(mostly), draw(value)
        ident = f"<LAchildID>{escape(la_id)}</LAchildID>" if has_id else ""
        out.append(f"<Child>{nl}<ChildIdentifiers>{ident}<UPN>{escape(draw(value))}</UPN>")
        out.append(f"</ChildIdentifiers>{nl}")
        episodes = draw(st.integers(0, 2))
        if episodes == 0:
            aside.add(row)
            row += 1
        for _ in range(episodes):
            has_date, ref = draw(mostly), draw(value)
            date = f"<CINreferralDate>{escape(ref)}</CINreferralDate>" if has_date else ""
            out.append(f"<CINdetails>{date}<ReferralSource>2A</ReferralSource>{nl}")
            ep_row = row
            row += 1
            items = []
            counts: dict[str, int] = {}
            for _ in range(draw(st.integers(0, 3))):
                tag = draw(st.sampled_from(sorted(ITEM_TAGS)))
                record, required = ITEM_TAGS[tag]
                n = counts[record] = counts.get(record, 0) + 1
                given, when = draw(mostly), draw(value)
                inner = f"<{required}>{escape(when)}</{required}>" if given else "<Other>x</Other>"
                out.append(f"<{tag}>{inner}</{tag}>{nl}")
                items.append((row, record, given, when, n))
                row += 1
            out.append(f"</CINdetails>{nl}")
            if not (has_id and has_date):
                aside.update(range(ep_row, row))
                continue
            loaded[ep_row] = ("cin_episode", la_id.strip(), ref.strip(), "")
            for r, record, given, when, n in items:
                if given:
                    loaded[r] = (record, la_id.strip(), when.strip(), str(n))
                else:
                    aside.add(r)
        out.append(f"</Child>{nl}")
    out.append(f"</Children>{nl}</Message>{nl}")
    return "".join(out), loaded, aside


def _staged_rows(
    con: duckdb.DuckDBPyConnection, staged: object
) -> tuple[dict[int, tuple[str, ...]], dict[int, str]]:
    date = (
        "coalesce(AssessmentActualStartDate, S47ActualStartDate, CINPlanStartDate, "
        "CPPstartDate, CINreferralDate)"
    )
    loaded = {
        r[0]: tuple(r[1:])
        for r in con.execute(
            f"SELECT _row, Record, LAchildID, {date}, coalesce(Item, '') FROM raw"
        ).fetchall()
    }
    table = staged.report.rejects_table  # type: ignore[attr-defined]
    aside = dict(con.execute(f'SELECT row_number, problem FROM "{table}"').fetchall())
    return loaded, aside


def test_cin_children_mangled_are_set_aside_and_the_rest_load(tmp_path: Path) -> None:
    @SETTINGS
    @given(case=cin_case())
    def check(case: tuple[str, dict[int, tuple[str, ...]], set[int]]) -> None:
        text, expected, expected_aside = case
        path = tmp_path / "c.xml"
        path.write_text(text, encoding="utf-8")
        total = len(expected) + len(expected_aside)
        if len(expected_aside) > 0.5 * total:
            with pytest.raises(SourceError, match=r"^c\.xml: \d+ of \d+ rows could not be read"):
                _stage_one(path, "cin_census_xml")
            return
        con, staged = _stage_one(path, "cin_census_xml")
        loaded, aside = _staged_rows(con, staged)
        assert loaded == expected
        assert aside == dict.fromkeys(expected_aside, "missing_field")

    check()


def test_cin_bytes_mangled_are_refused_by_name_or_read_row_by_row(tmp_path: Path) -> None:
    original = (EXAMPLES / "cin_census.xml").read_bytes()

    @SETTINGS
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        raw = bytearray(original)
        for _ in range(data.draw(st.integers(1, 4))):
            at = data.draw(st.integers(0, len(raw) - 1))
            how = data.draw(st.sampled_from(["cut", "drop", "flip", "insert"]))
            if how == "cut":
                del raw[at:]
            elif how == "drop":
                del raw[at : at + data.draw(st.integers(1, 40))]
            elif how == "flip":
                raw[at] = data.draw(st.sampled_from(b"<>/&\x00\xff\"'a "))
            else:
                raw[at:at] = data.draw(st.sampled_from([b"<Child>", b"</CINdetails>", b"&x;"]))
            if not raw:
                raw.extend(b"<")
        path = tmp_path / "m.xml"
        path.write_bytes(bytes(raw))
        try:
            con, staged = _stage_one(path, "cin_census_xml")
        except SourceError as exc:
            assert str(exc).startswith("m.xml: ")
            assert "EXAMPLE" not in str(exc)  # never a value from the file
            return
        loaded, aside = _staged_rows(con, staged)
        assert not set(loaded) & set(aside)
        assert set(loaded) | set(aside) == set(range(1, len(loaded) + len(aside) + 1))

    check()


@st.composite
def episodes_case(draw: st.DrawFn) -> tuple[str, dict[int, tuple[str, ...]], dict[int, str]]:
    """An SSDA903 episodes table with up to a third of its rows mangled."""
    n = draw(st.integers(3, 10))
    picked = draw(st.lists(st.integers(0, n - 1), max_size=n // 3, unique=True))
    lines = ["CHILD,DECOM,RNE,LS,CIN,PLACE,DEC,REC\n"]
    loaded: dict[int, tuple[str, ...]] = {}
    aside: dict[int, str] = {}
    for i in range(n):
        child = f"C{i}-{draw(st.text(alphabet='abcé;|', max_size=4))}"
        values = [child, f"{draw(st.integers(1, 28)):02d}/04/2025", "S", "C2", "N1", "U3", "", ""]
        how = draw(st.sampled_from(["short", "nul"])) if i in picked else "ok"
        if how == "short":
            lines.append(",".join(values[:3]) + "\n")
            aside[i + 2] = "too_few_fields"
        elif how == "nul":
            lines.append(",".join([values[0] + "\x00", *values[1:]]) + "\n")
            aside[i + 2] = "nul_byte"
        else:
            lines.append(",".join(values) + "\n")
            loaded[i + 2] = (values[0], values[1], None)
    return "".join(lines), loaded, aside


def test_ssda903_rows_mangled_are_set_aside_and_the_rest_load(tmp_path: Path) -> None:
    @SETTINGS
    @given(case=episodes_case())
    def check(case: tuple[str, dict[int, tuple[str, ...]], dict[int, str]]) -> None:
        text, expected, expected_aside = case
        path = tmp_path / "episodes.csv"
        path.write_text(text, encoding="utf-8")
        con, staged = _stage_one(path, "ssda903")
        loaded = {
            r[0]: tuple(r[1:])
            for r in con.execute('SELECT _row, CHILD, DECOM, "URN" FROM raw').fetchall()
        }
        table = staged.report.rejects_table  # type: ignore[attr-defined]
        aside = dict(con.execute(f'SELECT row_number, problem FROM "{table}"').fetchall())
        assert loaded == expected
        assert aside == expected_aside

    check()
