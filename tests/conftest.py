"""Shared fixtures: a tiny hand-made partnership with known answers, and synthetic ones."""
# ruff: noqa: E501

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

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
    """The small synthetic partnership with one release built (copied: tests may add more)."""
    from joinedup.release.build import build_release

    root = tmp_path_factory.mktemp("built") / "partnership"
    shutil.copytree(synth_small, root)
    build_release(root)
    return root


def dedent(s: str) -> str:
    return textwrap.dedent(s)
