"""Shared fixtures: a tiny hand-made partnership with known answers, and synthetic ones."""
# ruff: noqa: E501

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import duckdb
import pytest

MINI_YAML = """\
partnership:
  name: Mini Test Partnership
  reference_date: 2026-10-31
authorities:
  - {code: XA0000001, name: Northtown}
  - {code: XA0000002, name: Southtown}
geography:
  postcodes: geography/postcodes.csv
agencies:
  - {id: police, name: Mini Police, type: police}
  - {id: health, name: Mini Hospital, type: health}
sharing_agreements:
  - {key: isa, title: Test agreement, tiers: [operational, strategic]}
crosswalks:
  roles:
    list: role
    codes: {V: victim, S: person_of_concern, W: witness}
  flags:
    list: exploitation_type
    codes: {CSE: cse, CCE: cce, CL: county_lines, DA: ""}
  places:
    list: place_type
    codes: {Takeaway: takeaway, Park: park, House: other_residential}
sources:
  - id: police_crimes
    agency: police
    dataset: Crimes
    file: extracts/crimes_*.csv
    format: csv
    encoding: cp1252
    sharing_agreement: isa
    bad_dates: quarantine  # these tests expect such rows set aside (default: kept)
    filters:
      - {column: Surname, equals: TEST}
    record:
      id: InvID
    identity:
      forename: Forename
      surname: Surname
      dob: {column: DOB, parse: date, formats: ["%d/%m/%Y"]}
      sex: Gender
      postcode: Postcode
      nhs_number: NHS
      pnc_id: PNC
    event:
      id: Ref
      type: {value: crime}
      date: {column: When, parse: date, formats: ["%d/%m/%Y %H:%M"]}
      exploitation: {column: Flags, split: ";", crosswalk: flags}
    role: {column: Role, crosswalk: roles}
    place:
      name: Location
      postcode: LocPostcode
      type: {column: LocType, crosswalk: places}
  - id: health_ae
    agency: health
    dataset: A&E attendances
    file: extracts/ae.csv
    format: csv
    sharing_agreement: isa
    bad_dates: quarantine  # these tests expect such rows set aside (default: kept)
    record:
      id: AttendanceID
    identity:
      full_name: {column: PatientName, order: surname_forename}
      dob: {column: DOB, parse: date, formats: ["%Y%m%d"]}
      sex: Sex
      postcode: Postcode
      nhs_number: NHSNumber
    event:
      id: AttendanceID
      type: {value: ae_attendance}
      date: {column: Arrived, parse: date}
"""

# NHS numbers: 9434765919 and 4010232137 are valid; 9434765918 is not.
# (The CSV lines below are long on purpose: they are rows of an extract.)
CRIMES = """\
InvID,Ref,Role,Forename,Surname,DOB,Gender,Postcode,NHS,PNC,When,Flags,Location,LocPostcode,LocType
1,C1,V,Amélie,Smith,03/04/2010,F,WX1 2AB,9434765919,,01/09/2026 22:10,CSE;DA,Chicken Palace,WX1 3AB,Takeaway
2,C1,S,Dan,Jones,01/01/1990,M,WX2 1AB,,12/345A,01/09/2026 22:10,CSE,Chicken Palace,WX1 3AB,Takeaway
3,C2,V,Kai,Brown,05/06/2011,M,QY1 1AB,,,02/09/2026 10:00,CCE;CL,Flat 3,QY1 2AB,House
4,C3,V,Ben,Green,31/02/2010,M,QY1 1AB,,,03/09/2026 10:00,CCE,Park,QY1 2AB,Park
5,C4,S,Dan,Jones,01/01/1990,M,WX2 1AB,,12/345A,04/09/2026 10:00,CCE;CL,Flat 3,QY1 2AB,House
5,C5,V,Dup,Licate,01/01/2012,M,QY1 1AB,,,05/09/2026 10:00,,Park,QY1 2AB,Park
6,C6,V,Test,TEST,01/01/2012,M,QY1 1AB,,,05/09/2026 10:00,CSE,Park,QY1 2AB,Park
,C7,V,No,Id,01/01/2012,M,QY1 1AB,,,05/09/2026 10:00,CSE,Park,QY1 2AB,Park
"""

AE = """\
AttendanceID,PatientName,DOB,Sex,Postcode,NHSNumber,Arrived
A1,"SMITH, Amelie",20100403,2,WX1 2AB,943 476 5919,2026-09-02
A2,"BROWN, Kai",20110605,1,QY1 1AB,9434765918,2026-09-03
A3,"WHITE, Zoe",20120101,2,WX1 2AB,4010232137,2026-09-04
"""

POSTCODES = """\
postcode,small_area,lat,lon
WX1 2AB,XS001,51.5,-1.2
WX1 3AB,XS001,51.5,-1.2
WX2 1AB,XS002,51.6,-1.1
QY1 1AB,XS003,51.4,-1.3
QY1 2AB,XS003,51.4,-1.3
"""


def write_mini(root: Path) -> Path:
    """A two-source partnership whose right answers are worked out by hand in the tests."""
    (root / "extracts").mkdir(parents=True)
    (root / "geography").mkdir()
    (root / "partnership.yaml").write_text(MINI_YAML, encoding="utf-8")
    (root / "extracts" / "crimes_2026-10.csv").write_bytes(CRIMES.encode("cp1252"))
    (root / "extracts" / "ae.csv").write_text(AE, encoding="utf-8")
    (root / "geography" / "postcodes.csv").write_text(POSTCODES, encoding="utf-8")
    return root


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    return write_mini(tmp_path / "mini")


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic partnership of 400 people, generated once per test session."""
    from joinedup.synth import generate

    root = tmp_path_factory.mktemp("synth") / "partnership"
    generate(root, people=400, seed=7)
    return root


@pytest.fixture(scope="session")
def synth_built(synth_small: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small synthetic partnership built with every stage (copied: tests may add more)."""
    from joinedup.pipeline import build

    root = tmp_path_factory.mktemp("built") / "partnership"
    shutil.copytree(synth_small, root)
    build(root)
    return root


def dedent(s: str) -> str:
    return textwrap.dedent(s)


# --- app state on both engines (issue 6) -------------------------------------------
# A test that takes `state_url` (or `state`) runs once on SQLite and once on a real
# PostgreSQL server, in a database of its own that is dropped afterwards. The server is
# JOINEDUP_TEST_PG_URL (an admin URL; `make test-deps` starts one and writes it to
# .venv/test-env), else the local default below. Select one engine with `-m postgres` or
# `-m "not postgres"`.

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_url() -> object:
    """A fresh, empty PostgreSQL database for one test; its SQLAlchemy URL."""
    import os
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    admin_url = make_url(os.environ.get("JOINEDUP_TEST_PG_URL") or PG_ADMIN_URL)
    conninfo = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"joinedup_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            "PostgreSQL is not reachable for the app-state tests "
            f"({type(exc).__name__}); run `make test-deps` (it starts one) and "
            "`. .venv/test-env`, or set JOINEDUP_TEST_PG_URL to an admin URL of a running "
            "server."
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.set(drivername="postgresql+psycopg", database=name)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest) -> str | None:
    """None (the default SQLite file in the partnership folder) or a PostgreSQL URL."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def state(tmp_path: Path, state_url: str | None):
    """An open app state for a bare partnership folder, on each engine in turn."""
    from joinedup.state import open_state

    with open_state(tmp_path, url=state_url) as st:
        yield st


def sign_in(client, role: str = "board_member", *, agency: str = "police", username=None):
    """Give a TestClient a session of a new user holding ``role`` (issue 6).

    The user is created in the app's own state and the session started directly (no
    password hashing), so tests of pages other than sign-in stay fast.
    """
    from joinedup.access import SESSION_COOKIE, create_user, start_session

    state = client.app.state.governance.state
    user = create_user(
        state,
        username=username or f"{role.replace('_', '-')}-{agency}",
        display_name=f"Test {role}",
        agency=agency,
        roles=role.split("+"),
        actor="test",
    )
    info = start_session(state, user, method="password", client="testclient")
    client.cookies.set(SESSION_COOKIE, info.token)
    return user


# --- insight (issue 5): a hand-made release with known answers ------------------------

INSIGHT_AGENCIES = {
    "police": "police",
    "csc": "childrens_social_care",
    "health": "health",
    "edu": "education",
    "asc": "adult_social_care",
    "nrm": "other",
    "vol": "voluntary",
}
# person: (sex, ethnicity_group, dob, small area, records {source: record id})
INSIGHT_PEOPLE = {
    "C1": (
        "F",
        "White",
        "2012-05-01",
        "S1",
        {"police": "P1", "csc": "K1", "health": "H1", "edu": "D1", "vol": "V1"},
    ),
    "C2": ("F", "Asian", "2011-02-01", "S1", {"police": "P2", "csc": "K2", "vol": "V2"}),
    "C3": ("M", "Black", "2010-06-01", "S2", {"police": "P3", "csc": "K3", "nrm": "N3"}),
    "C4": ("M", "White", "2009-09-01", "S2", {"police": "P4"}),
    "K0": ("F", "White", "2014-01-01", "S1", {"police": "P0", "health": "H0", "edu": "D0"}),
    "Y1": ("F", "Mixed", "2007-03-01", "S1", {"police": "P5", "asc": "A1"}),
    "Y2": ("M", "White", "2006-01-15", "S2", {"asc": "A2"}),
    "POC1": ("M", "White", "1996-01-01", "S2", {"police": "P6"}),
    "POC2": ("M", "White", "2001-01-01", "S2", {"police": "P7"}),
}
# event: (source, type, date, end, place, outcome, [(record id, role)], [exploitation types])
INSIGHT_EVENTS = {
    "E1": (
        "police",
        "crime",
        "2026-03-10",
        None,
        "T1",
        None,
        [("P1", "victim"), ("P2", "victim"), ("P6", "person_of_concern")],
        ["cse"],
    ),
    "E2": ("csc", "contact", "2026-03-20", None, None, None, [("K1", "subject")], ["cse"]),
    "E3": ("health", "ae_attendance", "2026-01-05", None, None, None, [("H1", "subject")], [""]),
    "E4": ("edu", "suspension", "2026-02-01", None, None, None, [("D1", "subject")], []),
    "E5": (
        "police",
        "missing_episode",
        "2026-04-01",
        "2026-04-02",
        "T1",
        "High",
        [("P2", "subject")],
        [],
    ),
    "E6": (
        "csc",
        "return_home_interview",
        "2026-04-03",
        "2026-04-04",
        None,
        "Completed",
        [("K2", "subject")],
        [],
    ),
    "E7": ("csc", "contact", "2026-05-01", None, None, None, [("K3", "subject")], ["cce"]),
    "E8": (
        "police",
        "crime",
        "2026-06-01",
        None,
        "R1",
        None,
        [("P3", "person_of_concern"), ("P7", "person_of_concern")],
        ["cce", "county_lines"],
    ),
    "E9": ("police", "crime", "2026-07-01", None, None, None, [("P4", "victim")], ["online"]),
    "E10": ("police", "crime", "2024-01-01", None, None, None, [("P5", "victim")], ["cse"]),
    "E11": (
        "asc",
        "safeguarding_concern",
        "2026-02-01",
        None,
        None,
        "Section 42 enquiry",
        [("A1", "subject")],
        ["cse"],
    ),
    "E12": (
        "asc",
        "safeguarding_concern",
        "2026-03-01",
        None,
        None,
        None,
        [("A2", "subject")],
        ["cce"],
    ),
    "E13": ("edu", "absence", "2025-09-01", None, None, None, [("D0", "subject")], []),
    "E14": ("health", "ae_attendance", "2025-10-01", None, None, None, [("H0", "subject")], []),
    "E15": (
        "nrm",
        "nrm_referral",
        "2026-06-15",
        None,
        None,
        "Reasonable grounds - positive",
        [("N3", "subject")],
        ["cce"],
    ),
    "E17": (
        "police",
        "missing_episode",
        "2026-08-01",
        "2026-08-01",
        None,
        "Low",
        [("P0", "subject")],
        [],
    ),
}


def _age(dob: str, on: str) -> int:
    y, m, d = (int(x) for x in dob.split("-"))
    oy, om, od = (int(x) for x in on.split("-"))
    return oy - y - (1 if (om, od) < (m, d) else 0)


def build_insight_release(path: Path, *, with_insight: bool = True) -> Path:
    """The hand-made release that tests/test_questions*.py and friends know by heart."""

    import duckdb

    from joinedup.pipeline.derive import AGE_BANDS
    from joinedup.release.schema import create_schema_sql

    con = duckdb.connect(str(path))
    for sql in create_schema_sql():
        con.execute(sql)
    con.execute(
        "INSERT INTO release_info VALUES ('release_id', 'R-TEST'), ('reference_date', '2026-10-31')"
    )
    con.executemany(
        "INSERT INTO area VALUES (?, ?, ?, ?, NULL)",
        [
            ("A1", "Northtown", "authority", None),
            ("A2", "Southtown", "authority", None),
            ("W1", "Ward One", "ward", "A1"),
            ("W2", "Ward Two", "ward", "A2"),
            ("S1", "Small One", "small_area", "W1"),
            ("S2", "Small Two", "small_area", "W2"),
        ],
    )
    con.executemany(
        "INSERT INTO population VALUES (?, ?, ?, ?, ?)",
        [
            ("S1", 14, "F", "White", 200),
            ("S1", 15, "F", "Asian", 100),
            ("S2", 16, "M", "Black", 50),
            ("S2", 17, "M", "White", 150),
        ],
    )
    con.executemany(
        "INSERT INTO place VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, ?, NULL, NULL)",
        [
            ("T1", "Golden Grill", "takeaway", "WX1 1AA", "S1", "W1", "A1"),
            ("R1", "Flat 3, Test House", "other_residential", "WX2 2BB", "S2", "W2", "A2"),
        ],
    )
    ward = {"S1": ("W1", "A1"), "S2": ("W2", "A2")}
    forenames = {
        "C1": "AMELIE",
        "C2": "ROSA",
        "C3": "KAI",
        "C4": "BEN",
        "K0": "ZOE",
        "Y1": "MIA",
        "Y2": "LEO",
        "POC1": "DAN",
        "POC2": "ROB",
    }
    for pid, (sex, eth, dob, sa, recs) in INSIGHT_PEOPLE.items():
        age = _age(dob, "2026-10-31")
        band = next((lbl for lo, hi, lbl in AGE_BANDS if lo <= age <= hi), "25+")
        agencies = sorted(recs)
        con.execute(
            "INSERT INTO person VALUES (?, ?, NULL, ?, ?, ?, ?, NULL, ?, ?, ?, NULL, NULL, ?, ?, ?)",
            [
                pid,
                sex,
                eth,
                int(dob[:4]),
                age,
                band,
                sa,
                *ward[sa],
                len(recs),
                len(agencies),
                ";".join(agencies),
            ],
        )
        for source, rid in recs.items():
            dates = [e[2] for e in INSIGHT_EVENTS.values() if any(r == rid for r, _ in e[6])]
            con.execute(
                "INSERT INTO record VALUES (?, ?, ?, 2, ?)",
                [source, rid, source, min(dates, default="2026-05-05")],
            )
            con.execute(
                "INSERT INTO record_person VALUES (?, ?, ?, 1.0, 'local_id')", [source, rid, pid]
            )
            con.execute(
                "INSERT INTO identity (source, source_record_id, forename, surname, dob, sex) VALUES (?, ?, ?, 'TESTER', ?, ?)",
                [source, rid, forenames[pid], dob, sex],
            )
    for eid, (source, etype, date, end, place, outcome, people, types) in INSIGHT_EVENTS.items():
        con.execute(
            "INSERT INTO event VALUES (?, ?, ?, ?, ?, ?, ?, ?, false, NULL)",
            [eid, source, source, etype, date, end, place, outcome],
        )
        for rid, role in people:
            con.execute("INSERT INTO event_person VALUES (?, ?, ?, ?)", [eid, source, rid, role])
        for t in types:
            con.execute("INSERT INTO event_exploitation VALUES (?, ?, 'X')", [eid, t])
    con.execute(
        "INSERT INTO groups VALUES ('police:Op Test', 'police', 'organised_group', 'Op Test')"
    )
    for rid in ("P1", "P2", "P6"):
        con.execute(
            "INSERT INTO group_member VALUES ('police:Op Test', 'police', ?, 'victim')", [rid]
        )
    con.executemany(
        "INSERT INTO note VALUES (?, 'vol', ?, NULL, ?, ?, ?, ?)",
        [
            (
                "vol:V1",
                "V1",
                "2026-03-05",
                "older_friends;online",
                "Amelie said she met him on 05/03/2026.",
                "strategic",
            ),
            ("vol:V2", "V2", "2026-04-05", "online", "Spends nights gaming online.", "operational"),
        ],
    )
    if with_insight:
        compute_insight_on(con)
    con.close()
    return path


def compute_insight_on(con, *, previous: tuple[str, str] | None = None) -> None:
    """Compute the default question pack into a hand-made release, as the build would."""
    from joinedup.insight import compute_insight, load_questions

    by_type: dict[str, list[str]] = {}
    for agency, kind in INSIGHT_AGENCIES.items():
        by_type.setdefault(kind, []).append(agency)
    compute_insight(
        con,
        questions=load_questions(None),
        agency_types=INSIGHT_AGENCIES,
        sources_by_type=by_type,
        reference=dt.date(2026, 10, 31),
        previous=previous,
    )


@pytest.fixture(scope="session")
def insight_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made release (a DuckDB file) with every insight table and answer."""
    return build_insight_release(tmp_path_factory.mktemp("insight") / "release.duckdb")


@pytest.fixture(scope="session")
def synth_insight(synth_built: Path) -> Path:
    """The 400-person synthetic partnership built with every stage (insight included)."""
    return synth_built


def map_partnership(
    base: Path, *, as_of: dt.date = dt.date(2026, 10, 31), read_quarantine: bool = False
) -> tuple[duckdb.DuckDBPyConnection, dict[str, dict[str, int]]]:
    """Every source of the partnership at ``base`` through the read and map stages, into
    a fresh in-memory release schema: the connection and each source's counts.
    ``read_quarantine`` also records the rows the reader set aside, as a build does."""
    from joinedup.config import load_config
    from joinedup.config.eventcheck import partnership_taxonomy
    from joinedup.pipeline.context import add_mapping_lookups
    from joinedup.pipeline.mapping import map_source
    from joinedup.release.schema import create_schema_sql
    from joinedup.sources import record_read_quarantine, resolve_crosswalks, stage
    from joinedup.sources.parsers import install_macros

    cfg = load_config(base)
    cw = resolve_crosswalks(cfg, base)
    con = duckdb.connect()
    for sql in create_schema_sql():
        con.execute(sql)
    install_macros(con)
    add_mapping_lookups(con, partnership_taxonomy(cfg))
    counts = {}
    for src in cfg.sources:
        raw = f"_raw_{src.id}"
        st = stage(con, base / src.file, src, raw)
        if read_quarantine:
            record_read_quarantine(con, st.report, src.id, src.file)
        counts[src.id] = map_source(
            con, src, cfg, raw, src.file, cw, as_of=as_of, native_dates=st.native_dates
        )
    return con, counts


# --- linkage accuracy and fairness (issue 15) -----------------------------------------


@pytest.fixture(scope="session")
def synth_linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-person synthetic partnership built through the link stage (quality,
    derive and insight left out), for the linkage accuracy and fairness tests."""
    from joinedup.pipeline import STAGES, build
    from joinedup.synth import generate

    root = tmp_path_factory.mktemp("linked") / "partnership"
    generate(root, people=2000, seed=11)
    build(root, stages=[s for s in STAGES if s.name not in ("quality", "derive", "insight")])
    return root


@pytest.fixture(scope="session")
def synth_region_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic region of issue 17 (four small partnerships built and packed, and the
    regional release built): test_region*.py."""
    from joinedup.region.demo import synthetic_region

    out = tmp_path_factory.mktemp("region") / "midshire"
    synthetic_region(out, people=60, seed=7)
    return out


# --- cell key perturbation (issue 19, item 7) -------------------------------------------


@pytest.fixture(scope="session")
def cell_key_built(synth_small: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small synthetic partnership choosing ``disclosure.method: cell_key``, built
    twice from its extracts alone (two releases of the same data, nothing another test
    did to a shared release in them): test_cell_key_figures.py, test_cell_key_pages.py.
    Tests read it and never change it."""
    from joinedup.pipeline import build

    root = tmp_path_factory.mktemp("cellkey") / "partnership"
    shutil.copytree(synth_small, root, ignore=shutil.ignore_patterns("releases", "state"))
    with (root / "partnership.yaml").open("a", encoding="utf-8") as f:
        f.write("\ndisclosure:\n  method: cell_key\n")
    build(root)
    build(root)
    return root
