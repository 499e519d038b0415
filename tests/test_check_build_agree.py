"""``check`` sees what ``build`` sees (issue 13, item 4).

Every bad-input case of the suite (tests/test_bad_input.py, test_readers_robust.py,
test_no_silent_loss.py, test_geography_config.py, a configuration problem and a bad
memory limit) is made on the hand-made partnership, then ``joinedup check --full`` and
the build are both run on it, and they must agree:

- the build refuses (a problem with a file, a column, the configuration) exactly when
  ``check`` fails, with the same problems in the same words, and the command exits 1;
- the build stops until confirmed (a source that shrank sharply or looks cut short,
  ``--accept-drop``) exactly when ``check`` warns, in the build's own words;
- when the build publishes, ``check`` passed with no warning and set aside the same
  number of rows of each source.

(tests/test_build_errors.py's cases are a full disk and database failures made by
monkeypatching: the machine, not the input, so there is nothing for ``check`` to see.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from joinedup.cli import cli
from joinedup.errors import JoinedupError
from joinedup.pipeline import SourcesShrank, build
from joinedup.pipeline.check import check_partnership
from joinedup.release import current_release_id

AE_HEADER = "AttendanceID,PatientName,DOB,Sex,Postcode,NHSNumber,Arrived\n"
RAGGED_AE = (
    AE_HEADER + 'A1,"=HYPERLINK(""x""), Amy",20100403,2,WX1 2AB,943 476 5919,2026-09-02\n'
    'A2,"SMITH, Jo",20100403,2\n'
    'A3,"@SUM(1), Bo",not a date,1,QY1 1AB,,2026-09-04\n'
)
CUT_AE = (
    AE_HEADER + 'A1,"SMITH, Amelie",20100403,2,WX1 2AB,943 476 5919,2026-09-02\n'
    "A2,BROWN,20110605,1\n"
    'A3,"WHITE, Zoe",20120101,2,WX1 2AB,4010232137,2026-09-04\n'
    "A4,GREEN\x00,20120101,2,WX1 2AB,,2026-09-04\n"
    'A5,"BLACK, Ann",20120101,2,WX1 2AB,,2026-09-05,x,y\n'
    + "".join(f'A{i},"GREY, Al",20120101,1,WX1 2AB,,2026-09-06\n' for i in range(8, 13))
    + 'A7,"PINK, Jo",2012'
)
OLD_GEOGRAPHY = "geography:\n  postcodes: geography/postcodes.csv\n"


def _write(root: Path, rel: str, data: str | bytes) -> None:
    path = root / rel
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", newline="")


def _edit(root: Path, old: str, new: str) -> None:
    cfg = root / "partnership.yaml"
    text = cfg.read_text(encoding="utf-8")
    assert old in text
    cfg.write_text(text.replace(old, new, 1), encoding="utf-8")


def _ae(data: str | bytes, *, second_problem: bool = False) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        _write(root, "extracts/ae.csv", data)
        if second_problem:  # test_bad_input: a second, independent problem in the other source
            _edit(root, "pnc_id: PNC", "pnc_id: PNCNumber")

    return setup


def _geography(block: str, files: dict[str, str]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        _edit(root, OLD_GEOGRAPHY, block)
        for rel, body in files.items():
            _write(root, rel, body)

    return setup


def _after_a_release(change: Callable[[Path], None]) -> Callable[[Path], None]:
    """Build once (the release a monthly build compares with), then change the input."""

    def setup(root: Path) -> None:
        build(root)
        change(root)

    return setup


def _keep_crimes(rows: int) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        path = root / "extracts" / "crimes_2026-10.csv"
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[: 1 + rows]))

    return change


def _no_record_ids(root: Path) -> None:
    """Every record id blank: every row read, none loaded."""
    path = root / "extracts" / "crimes_2026-10.csv"
    lines = path.read_text(encoding="cp1252").splitlines(keepends=True)
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[0] = ""
        out.append(",".join(cells))
    path.write_bytes("".join(out).encode("cp1252"))


def _bad_memory(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOINEDUP_MEMORY_LIMIT", "lots")


ONSPD = (
    "pcd7,pcds,oslaua,osward,lat,long\n"
    "WX1 2AB,WX1 2AB,XA0000001,XW001,51.5,-1.2\n"
    "QY1 1AB,QY1 1AB,XA0000002,XW003,51.4,-1.3\n"
)
AREAS = "code,name,type,parent\nXA0000001,Northtown,LAD,\nXW001,North Ward,WD,XA0000001\n"
POPULATION = "LSOA,Sex,Age,Count\nXS001,1,4,10\nXS001,2,4,12\n"


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[..., None]
    expect: str  # refused | stopped | published
    with_monkeypatch: bool = False


CASES = [
    # tests/test_bad_input.py: fatal files, with a second problem in the other source
    Case("empty-file", _ae(b"", second_problem=True), "refused"),
    Case("zip-not-csv", _ae(b"PK\x03\x04 not really a workbook", second_problem=True), "refused"),
    Case("binary", _ae(AE_HEADER.encode() + b"\x00\x01\x02\x03", second_problem=True), "refused"),
    Case(
        "duplicate-header",
        _ae(AE_HEADER.replace("\n", ",Arrived\n"), second_problem=True),
        "refused",
    ),
    Case(
        "missing-column",
        _ae(AE_HEADER + "A1,X,20100403,2,WX1 2AB,,2026-09-02\n", second_problem=True),
        "refused",
    ),
    Case("formula-and-ragged-rows", _ae(RAGGED_AE), "published"),
    # tests/test_readers_robust.py
    Case("ragged-and-cut-short", _ae(CUT_AE), "stopped"),
    Case("mostly-unreadable", _ae(AE_HEADER + "".join(f"A{i},X\n" for i in range(5))), "refused"),
    Case("binary-noise", _ae(bytes(range(256)) * 8), "refused"),
    # tests/test_no_silent_loss.py
    Case("header-only-first-build", _ae(AE_HEADER), "stopped"),
    Case("header-only-monthly", _after_a_release(_keep_crimes(0)), "stopped"),
    Case("fall-of-60-percent", _after_a_release(_keep_crimes(3)), "stopped"),
    Case("fall-in-rows-loaded", _after_a_release(_no_record_ids), "stopped"),
    Case("fall-of-25-percent", _after_a_release(_keep_crimes(6)), "published"),
    # tests/test_geography_config.py: reference files
    Case(
        "onspd-missing-column",
        _geography(
            "geography:\n  postcodes:\n    file: geography/onspd.csv\n"
            "    columns: {postcode: pcd, ward: osward, authority: oslaua, lon: long}\n",
            {"geography/onspd.csv": ONSPD},
        ),
        "refused",
    ),
    Case(
        "onspd-with-todays-defaults",
        _geography(
            "geography:\n  postcodes: geography/onspd.csv\n", {"geography/onspd.csv": ONSPD}
        ),
        "refused",
    ),
    Case(
        "onspd-named",
        _geography(
            "geography:\n  postcodes:\n    file: geography/onspd.csv\n"
            "    columns: {postcode: pcds, ward: osward, authority: oslaua, lon: long}\n",
            {"geography/onspd.csv": ONSPD},
        ),
        "published",
    ),
    Case(
        "areas-unknown-types",
        _geography(
            OLD_GEOGRAPHY + "  areas: geography/areas.csv\n", {"geography/areas.csv": AREAS}
        ),
        "refused",
    ),
    Case(
        "areas-not-geojson",
        _geography(
            OLD_GEOGRAPHY + "  areas: geography/areas.geojson\n", {"geography/areas.geojson": "{"}
        ),
        "refused",
    ),
    Case(
        "population-missing-column",
        _geography(
            OLD_GEOGRAPHY + "  population: geography/pop.csv\n", {"geography/pop.csv": POPULATION}
        ),
        "refused",
    ),
    Case(
        "population-sex-codes",
        _geography(
            OLD_GEOGRAPHY + "  population:\n    file: geography/pop.csv\n"
            "    columns: {area: LSOA, sex: Sex, age: Age, count: Count}\n",
            {"geography/pop.csv": POPULATION},
        ),
        "refused",
    ),
    Case("no-geography", _geography("", {}), "published"),
    # the configuration, and the machine the configuration sets
    Case(
        "unknown-crosswalk",
        lambda root: _edit(root, "crosswalk: roles", "crosswalk: rolez"),
        "refused",
    ),
    Case("bad-memory-limit", _bad_memory, "refused", with_monkeypatch=True),
]


def _problems(exc: JoinedupError) -> list[str]:
    return [str(p) for p in exc.problems] or [str(exc)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_and_build_agree(mini: Path, case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    if case.with_monkeypatch:
        case.setup(mini, monkeypatch)
    else:
        case.setup(mini)
    before = current_release_id(mini)

    checked: list[str] | None = None
    refused_by_check: list[str] | None = None
    try:
        checked = check_partnership(mini, full=True)
    except JoinedupError as exc:
        refused_by_check = _problems(exc)
    result = CliRunner().invoke(cli, ["check", str(mini), "--full"])
    out = result.stdout + result.stderr

    if case.expect == "refused":
        with pytest.raises(JoinedupError) as info:
            build(mini)
        assert not isinstance(info.value, SourcesShrank)
        refused = _problems(info.value)
        assert refused_by_check is not None, "check passed a file the build refuses"
        # the same problems, in the same words; check lists every one at once, where the
        # build stops at the first stage that finds any
        assert refused and set(refused) <= set(refused_by_check)
        assert result.exit_code == 1, out
        for text in refused:
            assert text.splitlines()[0] in out
        assert "BinderException" not in out and "database error" not in " ".join(refused)
        assert current_release_id(mini) == before
        return

    assert refused_by_check is None, f"check refused what the build takes: {refused_by_check}"
    assert checked is not None and result.exit_code == 0, out
    warnings = [line.removeprefix("  warning: ") for line in checked if "  warning: " in line]
    source_warnings = [w for w in warnings if not w.startswith("geography: ")]
    if case.expect == "stopped":
        with pytest.raises(SourcesShrank) as info:
            build(mini)
        assert sorted(_problems(info.value)) == sorted(source_warnings)
        assert current_release_id(mini) == before
        return

    assert source_warnings == [], "check warned of a stop the build did not make"
    release = build(mini).release
    with release.connect() as con:
        from_build = dict(
            con.execute("SELECT source, rows_quarantined FROM source ORDER BY 1").fetchall()
        )
    for source, n in from_build.items():
        line = next(x for x in checked if x.startswith(f"{source}: "))
        assert f", {n:,} to quarantine" in line, (line, n)
