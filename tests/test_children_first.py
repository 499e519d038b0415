"""Children first (issue 14, items 1, 2 and 6) on a hand-made partnership built end to end.

One police extract, worked by hand (ages on the event date; reference date 2026-10-31):

====  ==========  ====================================  =====================================
ref   date        flags                                 people (role, age that day)
====  ==========  ====================================  =====================================
O1    01/06/2026  CCE;CL (county lines)                 Kyle suspect 17, Dean suspect adult
O2    10/03/2026  CSE                                   Vera victim 14, Eric suspect adult,
                                                        Sam associate 14, Will witness 16
O4    20/04/2026  POSS (no exploitation type)           Dean suspect, Vera victim
O5    05/05/2026  Y ("exploitation concern: yes")       Nina victim 13
O6    06/06/2026  Y;CL                                  Bea victim 15
O7    07/07/2026  MSHT (trafficking)                    Bea suspect 15
O8    01/12/2025  CCE                                   Adam suspect 17 (18 by the reference)
O9    01/05/2026  CCE                                   Adam suspect 18
====  ==========  ====================================  =====================================

Children with a concern: Kyle, Vera, Sam, Nina, Bea, Adam (6); Will was only a witness.
The old definitions (victim or subject, under 18 on the reference date) counted Vera,
Nina and Bea (3), and left Kyle, recorded only as a suspect on a county-lines occurrence,
out altogether.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from joinedup.disclosure import Tier
from joinedup.errors import JoinedupError
from joinedup.insight import load_questions, read_answer
from joinedup.pipeline import build
from joinedup.release.store import open_current
from joinedup.views.evidence import person_evidence

PARTNERSHIP = """\
partnership:
  name: Children First Test Partnership
  reference_date: 2026-10-31
authorities:
  - {code: XA0000001, name: Northtown}
  - {code: XA0000002, name: Southtown}
geography:
  postcodes: geography/postcodes.csv
agencies:
  - {id: police, name: Test Police, type: police}
sharing_agreements:
  - {key: isa, title: Test agreement, tiers: [operational, strategic]}
crosswalks:
  roles:
    list: role
    codes: {V: victim, S: person_of_concern, W: witness, A: associate}
  flags:
    list: exploitation_type
    codes: {CSE: cse, CCE: cce, CL: county_lines, MSHT: trafficking, Y: type_not_stated,
      POSS: ""}
sources:
  - id: police_crimes
    agency: police
    dataset: Crimes and incidents
    file: extracts/crimes.csv
    format: csv
    sharing_agreement: isa
    record:
      id: InvID
    identity:
      forename: Forename
      surname: Surname
      dob: {column: DOB, parse: date, formats: ["%d/%m/%Y"]}
      sex: Gender
      postcode: Postcode
      pnc_id: PNC
    event:
      id: Ref
      type: {value: crime}
      date: {column: When, parse: date, formats: ["%d/%m/%Y"]}
      exploitation: {column: Flags, split: ";", crosswalk: flags}
    role: {column: Role, crosswalk: roles}
"""

# name: (forename, surname, dob, sex, postcode, PNC)
PEOPLE = {
    "kyle": ("Kyle", "Carter", "10/05/2009", "M", "WX1 2AB", "26/0001A"),
    "dean": ("Dean", "Hart", "01/01/1990", "M", "WX2 1AB", "26/0002B"),
    "vera": ("Vera", "Lane", "03/03/2011", "F", "WX1 2AB", "26/0003C"),
    "eric": ("Eric", "Stone", "02/02/1985", "M", "QY1 1AB", "26/0004D"),
    "sam": ("Sam", "Lowe", "08/08/2011", "M", "QY1 1AB", "26/0005E"),
    "will": ("Will", "Moss", "01/01/2010", "M", "QY1 1AB", "26/0006F"),
    "nina": ("Nina", "Ford", "07/07/2012", "F", "WX1 2AB", "26/0007G"),
    "bea": ("Bea", "Kerr", "10/10/2010", "F", "QY1 1AB", "26/0008H"),
    "adam": ("Adam", "Reed", "15/01/2008", "M", "WX2 1AB", "26/0009J"),
}
# (ref, date, flags, [(name, role)])
EVENTS = [
    ("O1", "01/06/2026", "CCE;CL", [("kyle", "S"), ("dean", "S")]),
    ("O2", "10/03/2026", "CSE", [("vera", "V"), ("eric", "S"), ("sam", "A"), ("will", "W")]),
    ("O4", "20/04/2026", "POSS", [("dean", "S"), ("vera", "V")]),
    ("O5", "05/05/2026", "Y", [("nina", "V")]),
    ("O6", "06/06/2026", "Y;CL", [("bea", "V")]),
    ("O7", "07/07/2026", "MSHT", [("bea", "S")]),
    ("O8", "01/12/2025", "CCE", [("adam", "S")]),
    ("O9", "01/05/2026", "CCE", [("adam", "S")]),
]

POSTCODES = """\
postcode,small_area,lat,lon
WX1 2AB,XS001,51.5,-1.2
WX2 1AB,XS002,51.6,-1.1
QY1 1AB,XS003,51.4,-1.3
"""


def _crimes() -> str:
    lines = ["InvID,Ref,Role,Forename,Surname,DOB,Gender,Postcode,PNC,When,Flags"]
    n = 0
    for ref, when, flags, people in EVENTS:
        for name, role in people:
            n += 1
            fore, sur, dob, sex, postcode, pnc = PEOPLE[name]
            lines.append(
                f"{n},{ref},{role},{fore},{sur},{dob},{sex},{postcode},{pnc},{when},{flags}"
            )
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def partnership(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("children_first") / "partnership"
    (root / "extracts").mkdir(parents=True)
    (root / "geography").mkdir()
    (root / "partnership.yaml").write_text(PARTNERSHIP, encoding="utf-8")
    (root / "extracts" / "crimes.csv").write_text(_crimes(), encoding="utf-8")
    (root / "geography" / "postcodes.csv").write_text(POSTCODES, encoding="utf-8")
    build(root)
    return root


@pytest.fixture(scope="module")
def release(partnership: Path):
    con = open_current(partnership).connect()
    yield con
    con.close()


@pytest.fixture(scope="module")
def pid(release: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each hand-made person's pseudonymous id, found through their PNC id."""
    rows = release.execute(
        "SELECT DISTINCT i.pnc_id, rp.person_id FROM identity i "
        "JOIN record_person rp USING (source, source_record_id)"
    ).fetchall()
    by_pnc = {str(p): str(q) for p, q in rows}
    ids = {name: by_pnc[p[5]] for name, p in PEOPLE.items()}
    assert len(set(ids.values())) == len(PEOPLE)  # one person each, linked on the PNC id
    return ids


def by(con, qid: str, field: str) -> dict:
    a = read_answer(con, qid, by=field)
    return {c: cell.units for (s, c), cell in a.cells.items() if s is None and c and cell.units}


def total(con, qid: str) -> int:
    return read_answer(con, qid).total.units


def units(con, qid: str) -> set[str]:
    rows = con.execute("SELECT unit_id FROM question_unit WHERE question_id = ?", [qid])
    return {str(r[0]) for r in rows.fetchall()}


def test_a_child_recorded_only_as_a_suspect_on_county_lines_is_a_child_with_a_concern(
    release, pid
) -> None:
    assert pid["kyle"] in units(release, "children_with_concern")
    sql = next(q.spec.sql for q in load_questions(None) if q.id == "children_with_concern")
    kyle = release.execute(
        f"SELECT DISTINCT recorded_role, exploitation_type FROM ({sql}) WHERE unit_id = ?",
        [pid["kyle"]],
    ).fetchall()
    assert kyle == [("Recorded as suspect or offender", "CCE and county lines")]
    assert by(release, "children_with_concern", "recorded_role") == {
        "Recorded as victim": 2,  # Vera, Nina
        "Recorded as suspect or offender": 2,  # Kyle (county lines), Adam (at 17)
        "Both": 1,  # Bea: victim on O6, suspect on O7
        "Recorded as associate only": 1,  # Sam
    }


def test_children_counted_whatever_the_role_and_by_age_on_the_event_date(release, pid) -> None:
    assert total(release, "children_with_concern") == 6
    counted = units(release, "children_with_concern")
    assert counted == {pid[n] for n in ("kyle", "vera", "sam", "nina", "bea", "adam")}
    assert pid["will"] not in counted  # a witness only
    # Adam is 18 on the reference date but was 17 when recorded on O8
    assert by(release, "children_with_concern", "age_band") == {"10-13": 1, "14-15": 3, "16-17": 2}


def test_types_from_the_evidence_with_type_not_stated_apart(release) -> None:
    assert by(release, "children_with_concern", "exploitation_type") == {
        "CSE": 2,  # Vera, Sam (O2)
        "CCE and county lines": 3,  # Kyle (O1), Bea (O6: "yes" and county lines), Adam (O8)
        "Trafficking and modern slavery": 1,  # Bea (O7)
        "Type not stated": 1,  # Nina: her record says only "yes"; not "Other"
    }
    # an event: "yes" and county lines is a county-lines event, not also one of unknown type
    assert by(release, "concern_events", "exploitation_type") == {
        "CSE": 1,
        "CCE and county lines": 4,  # O1 O6 O8 O9
        "Trafficking and modern slavery": 1,
        "Type not stated": 1,  # O5 only
    }


def test_children_recorded_as_suspects(release, pid) -> None:
    assert units(release, "children_recorded_as_suspects") == {
        pid[n] for n in ("kyle", "bea", "adam")
    }
    assert by(release, "children_recorded_as_suspects", "also_victim") == {
        "Recorded only as a suspect or offender": 2,
        "Also recorded as a victim or subject": 1,  # Bea
    }
    assert by(release, "children_recorded_as_suspects", "exploitation_type") == {
        "CCE and county lines": 2,  # Kyle, Adam (O8 at 17; O9 at 18 is not a child's)
        "Trafficking and modern slavery": 1,  # Bea on O7
    }


def test_persons_of_concern_include_children_shown_as_both(release, pid) -> None:
    assert units(release, "persons_of_concern") == {
        pid[n] for n in ("dean", "eric", "kyle", "bea", "adam")
    }
    assert by(release, "persons_of_concern", "age_when_recorded") == {
        "18 or over": 3,  # Dean, Eric, Adam (O9)
        "Under 18 (a child with a concern)": 3,  # Kyle, Bea, Adam (O8)
    }
    # never only a perpetrator: every child person of concern is a child with a concern
    child_pocs = {pid["kyle"], pid["bea"], pid["adam"]}
    assert child_pocs <= units(release, "children_with_concern")


def test_associations_count_occurrences_without_an_exploitation_code(release, pid) -> None:
    assert by(release, "persons_of_concern", "linked_children") == {
        "Linked to 2 or more children": 2,  # Dean: Kyle (O1), Vera (O4, no code); Eric: Vera, Sam
        "Not linked to a child": 3,  # Kyle, Bea, Adam: no other child on their events
    }
    links = set(
        release.execute(
            "SELECT person_id, child_id, concern_event FROM child_association"
        ).fetchall()
    )
    assert (pid["dean"], pid["vera"], False) in links  # O4: no exploitation code
    assert (pid["dean"], pid["kyle"], True) in links  # O1: county lines
    assert not any(b == pid["will"] for _, b, _ in links)  # witnesses are not associated
    edge = release.execute(
        "SELECT shared_events FROM network_edge WHERE person_a = ? AND person_b = ?",
        sorted([pid["dean"], pid["vera"]]),
    ).fetchone()
    assert edge == (1,)  # Dean and Vera share only O4, which carries no exploitation code


def test_evidence_trail_names_source_field_code_and_date(release, pid) -> None:
    rows = release.execute(
        "SELECT source, field, column_name, local_code, exploitation_type, report_group, "
        "strftime(event_date, '%Y-%m-%d'), role, age_at_event, counted "
        "FROM concern_evidence WHERE person_id = ? ORDER BY local_code",
        [pid["kyle"]],
    ).fetchall()
    assert rows == [
        ("police_crimes", "event.exploitation", "Flags", "CCE", "cce", "CCE and county lines",
         "2026-06-01", "person_of_concern", 17, True),
        ("police_crimes", "event.exploitation", "Flags", "CL", "county_lines",
         "CCE and county lines", "2026-06-01", "person_of_concern", 17, True),
    ]  # fmt: skip
    bea = release.execute(
        "SELECT local_code, report_group, counted FROM concern_evidence "
        "WHERE person_id = ? AND event_date = DATE '2026-06-06' ORDER BY local_code",
        [pid["bea"]],
    ).fetchall()
    # the "yes" on O6 is kept in the trail but set aside: the event states county lines
    assert bea == [("CL", "CCE and county lines", True), ("Y", "Type not stated", False)]
    witnessed = release.execute(
        "SELECT count(*) FROM concern_evidence WHERE person_id = ?", [pid["will"]]
    ).fetchone()
    assert witnessed == (0,)


def test_the_operational_tier_reads_the_evidence_and_no_other_tier_does(partnership, pid) -> None:
    rows = person_evidence(partnership, pid["nina"], tier=Tier.OPERATIONAL)
    assert [(r["local_code"], r["report_group"], r["event_date"], r["counted"]) for r in rows] == [
        ("Y", "Type not stated", "2026-05-05", True)
    ]
    assert person_evidence(partnership, pid["will"], tier=Tier.OPERATIONAL) == []
    with pytest.raises(JoinedupError, match="operational tier only"):
        person_evidence(partnership, pid["nina"], tier=Tier.STRATEGIC)


def test_the_person_page_shows_why_a_child_recorded_as_a_suspect_is_counted(
    partnership, pid
) -> None:
    """A panel member opening Kyle's timeline sees the county-lines codes behind his
    concern, recorded as a suspect at 17, in words; the view is audited."""
    from fastapi.testclient import TestClient

    from conftest import sign_in
    from joinedup.web import create_app

    app = create_app(partnership)
    try:
        client = TestClient(app)
        sign_in(client, "panel_member", agency="police", username="evidence-panel")
        data = client.get(f"/people/{pid['kyle']}.json").json()
        rows = {
            (e["local_code"], e["type_label"], e["role"], e["age_at_event"])
            for e in data["evidence"]
        }
        assert {code for code, *_ in rows} == {"CCE", "CL"}
        assert all(role == "person_of_concern" and age == 17 for _, _, role, age in rows)
        assert all(e["agency_name"] == "Test Police" for e in data["evidence"])
        page = client.get(f"/people/{pid['kyle']}").text
        assert "Why this person is counted" in page
        assert page.count('data-counted="yes"') == 2
        will = client.get(f"/people/{pid['will']}").text
        assert 'id="no-evidence"' in will
        views = app.state.governance.state.audit.entries(actions=["view_person"])
        assert len(views) >= 3
    finally:
        app.state.governance.close()


def test_the_overview_counts_children_in_its_period(partnership, release) -> None:
    """Hand-worked: from May 2026 the events are O1 (Kyle), O5 (Nina), O6 and O7 (Bea)
    and O9 (Adam, 18 by then and a suspect: not counted); over all time Vera, Sam and
    Adam (at 17, on O8) are counted too."""
    import datetime as dt

    from joinedup.insight import overview_figures
    from joinedup.views import current_overview

    may = overview_figures(
        release, children_first=True, window=(dt.date(2026, 5, 1), dt.date(2026, 10, 31))
    )
    assert may.concerns.total == 3
    assert overview_figures(release, children_first=True).concerns.total == 6
    page = current_overview(partnership, Tier.OPERATIONAL, period="all")
    assert page["period"]["key"] == "all"
    assert [p["key"] for p in page["periods"]] == ["default", "all"]
    default = current_overview(partnership, Tier.OPERATIONAL)
    assert default["period"]["key"] == "default"
    assert default["period"]["from"] == "2025-11-01" and default["period"]["to"] == "2026-10-31"
