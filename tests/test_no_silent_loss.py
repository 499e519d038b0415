"""No silent loss (issue 11, item 3): a source that shrank sharply stops the build.

An empty extract, one whose last row is cut short (or ends inside a quote), or a source
whose rows fell by more than ``build.max_drop_share`` against the current release stops
``joinedup build`` before publishing, with a message naming the source, its file, the
counts and the fall; ``--accept-drop SOURCE`` (or the web build page) lets it through and
is audited; ``joinedup check`` warns in the same words; the web upload refuses a file
with no data rows.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.cli import cli
from joinedup.config import load_config, resolve_source_file
from joinedup.pipeline import SourcesShrank, build
from joinedup.pipeline.check import check_partnership
from joinedup.pipeline.drops import PreviousRows, assess_source
from joinedup.release import current_release_id, list_releases, open_release
from joinedup.state import open_state
from joinedup.web import create_app

CRIMES = "police_crimes"
MISSING = "police_missing"
ADVICE = (
    ". Check the extract (export it again if it is incomplete); to publish it as it is, "
    "run `joinedup build {dir} --accept-drop {source}` or tick it on the web app's build page."
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture(scope="module")
def base(synth_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built 400-person partnership, copied once for this module."""
    root = tmp_path_factory.mktemp("silent") / "partnership"
    shutil.copytree(synth_built, root)
    return root


def copy_of(base: Path, tmp_path: Path) -> Path:
    root = tmp_path / "partnership"
    shutil.copytree(base, root)
    return root


def source_file(root: Path, source: str) -> Path:
    cfg = load_config(root, check_files=False)
    path = resolve_source_file(root, next(s for s in cfg.sources if s.id == source))
    assert path is not None
    return path


def rel(root: Path, source: str) -> str:
    return str(source_file(root, source).relative_to(root))


def rows_in_release(root: Path, source: str) -> int:
    release = current_release_id(root)
    assert release is not None
    with open_release(root, release).connect() as con:
        found = con.execute("SELECT rows_read FROM source WHERE source = ?", [source]).fetchone()
    assert found is not None
    return int(found[0])


def keep_share(root: Path, source: str, share: float) -> int:
    """Keep the header and the first ``share`` of the rows (one row a line); rows kept."""
    path = source_file(root, source)
    lines = path.read_bytes().splitlines(keepends=True)
    keep = round((len(lines) - 1) * share)
    path.write_bytes(b"".join(lines[: 1 + keep]))
    return keep


def unchanged(root: Path, release: str, count: int) -> None:
    """Nothing was published: the same release is current, no release and no staging
    folder was added."""
    assert current_release_id(root) == release
    assert len(list_releases(root)) == count
    assert not list((root / "releases").glob(".building-*"))


def expected_fall(root: Path, source: str, rows: int, prev: int, release: str) -> str:
    pct = f"{(prev - rows) / prev:.0%}"
    return (
        f"{source}: {rel(root, source)} has {rows:,} rows, down from {prev:,} in release "
        f"{release}, a fall of {pct}, more than the 50% fall build.max_drop_share allows"
        + ADVICE.format(dir=root, source=source)
    )


# --- the rule itself -------------------------------------------------------------------


def test_assess_source_rule() -> None:
    prev = PreviousRows("R1", {"s": (1000, 990)})

    def assess(rows: int, loaded: int | None = None, truncated: bool = False):
        return assess_source(
            "s",
            "f.csv",
            rows=rows,
            truncated=truncated,
            previous=prev,
            share=0.5,
            directory="D",
            loaded=loaded,
        )

    assert assess(700) is None  # 30%
    assert assess(500) is None  # exactly half is not more than half
    fell = assess(400)  # 60%
    assert fell is not None and fell.kind == "fall" and fell.fall == pytest.approx(0.6)
    assert fell.finding == (
        "f.csv has 400 rows, down from 1,000 in release R1, a fall of 60%, more than the "
        "50% fall build.max_drop_share allows"
    )
    loaded = assess(1000, loaded=300)  # every row read, most not loaded
    assert loaded is not None and loaded.measure == "loaded"
    assert "f.csv has 300 rows loaded, down from 990 in release R1, a fall of 70%" in (
        loaded.message
    )
    empty = assess(0)
    assert empty is not None and empty.message == (
        "f.csv has no data rows: 0 rows, down from 1,000 in release R1, a fall of 100%"
        + ADVICE.format(dir="D", source="s")
    )
    cut = assess(1001, truncated=True)
    assert cut is not None and cut.finding == (
        "f.csv ends part-way through its last row (cut short, or a quote never closed), so "
        "the extract looks cut short: 1,001 rows, up from 1,000 in release R1"
    )
    # a source the current release does not have, or no release: only empty or cut short
    for prev in (None, PreviousRows("R1", {"other": (1000, 990)})):
        kw = {"truncated": False, "previous": prev, "share": 0.5, "directory": "D"}
        assert assess_source("s", "f.csv", rows=5, **kw) is None
        none = assess_source("s", "f.csv", rows=0, **kw)
        assert none is not None and none.finding == "f.csv has no data rows: 0 rows"


def test_first_build_stops_on_an_empty_extract_not_on_a_drop(mini: Path) -> None:
    ae = mini / "extracts" / "ae.csv"
    full = ae.read_text(encoding="utf-8")
    ae.write_text(full.splitlines()[0] + "\n", encoding="utf-8")
    code, out = run("build", str(mini))
    assert code == 1
    assert (
        "health_ae: extracts/ae.csv has no data rows: 0 rows"
        + ADVICE.format(dir=mini, source="health_ae")
    ) in out
    assert "Nothing was published; there is still no release." in out
    assert current_release_id(mini) is None
    code, out = run("build", str(mini), "--accept-drop", "nosuch")
    assert code == 1
    assert "--accept-drop names 'nosuch', which is not a source in partnership.yaml" in out
    assert current_release_id(mini) is None


# --- the monthly build on the 400-person partnership -------------------------------------


def test_header_only_extract_stops_the_build_and_check_warns(base: Path, tmp_path: Path) -> None:
    root = copy_of(base, tmp_path)
    release = current_release_id(root)
    assert release is not None
    count = len(list_releases(root))
    prev = rows_in_release(root, CRIMES)
    path = source_file(root, CRIMES)
    path.write_bytes(path.read_bytes().splitlines(keepends=True)[0])  # the header only

    code, out = run("build", str(root))
    assert code == 1
    line = (
        f"{CRIMES}: {rel(root, CRIMES)} has no data rows: 0 rows, down from {prev:,} in "
        f"release {release}, a fall of 100%" + ADVICE.format(dir=root, source=CRIMES)
    )
    assert f"  - {line}" in out.splitlines()
    assert f"Nothing was published; release {release} is still current." in out
    unchanged(root, release, count)

    code, out = run("check", str(root))
    assert code == 0, out  # a warning, as check's notes on quarantined rows are
    assert f"  warning: {line}" in out.splitlines()
    assert out.count("warning:") == 1


def test_a_file_cut_mid_row_stops_the_build(base: Path, tmp_path: Path) -> None:
    root = copy_of(base, tmp_path)
    release = current_release_id(root)
    assert release is not None
    count = len(list_releases(root))
    prev = rows_in_release(root, CRIMES)
    path = source_file(root, CRIMES)
    data = path.read_bytes()
    half = data.index(b"\n", len(data) // 2) + 1  # the start of a row near the middle
    cut = data[: data.index(b",", half) + 1]  # ... cut after its first field
    path.write_bytes(cut)
    rows = cut.count(b"\n")  # complete rows after the header, and the cut one

    with pytest.raises(SourcesShrank) as stopped:
        build(root)
    assert [d.source for d in stopped.value.drops] == [CRIMES]
    drop = stopped.value.drops[0]
    assert drop.kind == "truncated" and drop.rows == rows
    assert drop.message == (
        f"{rel(root, CRIMES)} ends part-way through its last row (cut short, or a quote "
        f"never closed), so the extract looks cut short: {rows:,} rows, down from {prev:,} "
        f"in release {release}, a fall of {(prev - rows) / prev:.0%}"
        + ADVICE.format(dir=root, source=CRIMES)
    )
    unchanged(root, release, count)

    # the lesser finding: a quote on the last row never closed (the file ends inside it)
    # no longer loads silently
    assert data.endswith(b"\n")
    path.write_bytes(data + b'WA/26/9999999,INV09999999,Crime,"Victim,SMITH')
    with pytest.raises(SourcesShrank) as stopped:
        build(root)
    (drop,) = stopped.value.drops
    assert drop.source == CRIMES and drop.kind == "truncated" and drop.rows == prev + 1
    assert f"{prev + 1:,} rows, up from {prev:,} in release {release}" in drop.message
    unchanged(root, release, count)


def test_a_fall_of_60_percent_stops_30_does_not_and_accept_drop_publishes(
    base: Path, tmp_path: Path
) -> None:
    root = copy_of(base, tmp_path)
    release = current_release_id(root)
    assert release is not None
    count = len(list_releases(root))
    prev_crimes, prev_missing = rows_in_release(root, CRIMES), rows_in_release(root, MISSING)
    crimes = keep_share(root, CRIMES, 0.4)  # a fall of 60%
    missing = keep_share(root, MISSING, 0.7)  # a fall of 30%
    assert (prev_crimes - crimes) / prev_crimes > 0.59
    assert 0.29 < (prev_missing - missing) / prev_missing < 0.31

    with pytest.raises(SourcesShrank) as stopped:
        build(root)
    assert [str(p) for p in stopped.value.problems] == [
        expected_fall(root, CRIMES, crimes, prev_crimes, release)
    ]
    unchanged(root, release, count)
    lines = check_partnership(root)
    assert [x for x in lines if "warning:" in x] == [
        "  warning: " + expected_fall(root, CRIMES, crimes, prev_crimes, release)
    ]

    with open_state(root) as state:
        before = len(state.audit.entries(actions=["accept_drop"]))
    code, out = run("build", str(root), "--accept-drop", CRIMES)
    assert code == 0, out
    new = current_release_id(root)
    assert new is not None and new != release
    assert out.strip().splitlines()[-1] == str(root / "releases" / new / "release.duckdb")
    assert f"Published as confirmed (in the audit log): {CRIMES}: {rel(root, CRIMES)} has " in out
    with open_release(root, new).connect() as con:
        got = dict(con.execute("SELECT source, rows_read FROM source").fetchall())
    assert got[CRIMES] == crimes and got[MISSING] == missing
    with open_state(root) as state:
        entries = state.audit.entries(actions=["accept_drop"])
    assert len(entries) == before + 1
    entry = entries[0]
    assert entry.actor.startswith("cli") and entry.target == CRIMES
    assert entry.agencies == ("police",)
    assert entry.detail == {
        "via": "cli",
        "source": CRIMES,
        "file": rel(root, CRIMES),
        "kind": "fall",
        "measure": "read",
        "previous_rows": prev_crimes,
        "rows": crimes,
        "fall_percent": round(100 * (prev_crimes - crimes) / prev_crimes),
        "previous_release": release,
        "release_id": new,
    }


# --- the web app -------------------------------------------------------------------------


def csrf(client: TestClient) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/account").text)
    assert m is not None
    return m.group(1)


def test_web_refuses_a_header_only_upload_and_confirms_a_stopped_build(
    base: Path, tmp_path: Path
) -> None:
    root = copy_of(base, tmp_path)
    app = create_app(root)
    try:
        lead = TestClient(app)
        sign_in(lead, "data_lead", agency="police", username="lead-police")
        path = source_file(root, MISSING)
        before = path.read_bytes()
        header = before.splitlines(keepends=True)[0]
        r = lead.post(
            f"/releases/sources/{MISSING}/upload",
            data={"csrf_token": csrf(lead)},
            files={"extract": ("missing nov.csv", header, "text/csv")},
        )
        assert r.status_code == 422
        assert 'class="govuk-error-summary"' in r.text
        assert (
            "missing nov.csv: the file has no data rows, only a header, so it would leave "
            f"{MISSING} with no records; nothing was replaced."
        ) in r.text
        assert path.read_bytes() == before
        assert not path.with_name(path.name + ".previous").exists()

        # a 60% fall put in place by hand stops a web build; the page offers to confirm
        release = current_release_id(root)
        assert release is not None
        prev = rows_in_release(root, MISSING)
        kept = keep_share(root, MISSING, 0.4)
        r = lead.post("/releases/build", data={"csrf_token": csrf(lead)}, follow_redirects=False)
        assert r.status_code == 303
        url = r.headers["location"]
        app.state.builds.wait(url.rsplit("/", 1)[1], timeout=600)
        status = lead.get(url + ".json").json()["build"]
        assert status["state"] == "failed"
        message = expected_fall(root, MISSING, kept, prev, release)
        assert [f"{MISSING}: {d['message']}" for d in status["drops"]] == [message]
        assert f"  - {message}" in status["error"]
        page = lead.get(url).text
        assert f'id="accept-drop-{MISSING}" name="accept_drop" type="checkbox"' in page
        assert "I have checked this extract; publish anyway" in page
        assert current_release_id(root) == release

        # only police's data lead (or an administrator) may confirm a police extract
        other = TestClient(app)
        sign_in(other, "data_lead", agency="health", username="lead-health")
        r = other.post("/releases/build", data={"csrf_token": csrf(other), "accept_drop": MISSING})
        assert r.status_code == 403

        r = lead.post(
            "/releases/build",
            data={"csrf_token": csrf(lead), "accept_drop": MISSING},
            follow_redirects=False,
        )
        assert r.status_code == 303
        url = r.headers["location"]
        app.state.builds.wait(url.rsplit("/", 1)[1], timeout=600)
        status = lead.get(url + ".json").json()["build"]
        assert status["state"] == "succeeded", status["error"]
        new = current_release_id(root)
        assert new != release and status["release_id"] == new
        state = app.state.governance.state
        (entry,) = state.audit.entries(actions=["accept_drop"])
        assert entry.actor == "lead-police" and entry.target == MISSING
        assert entry.detail["via"] == "web" and entry.detail["release_id"] == new
        assert (entry.detail["previous_rows"], entry.detail["rows"]) == (prev, kept)
        built = state.audit.entries(actions=["build_release"])
        assert built[0].detail["accept_drop"] == [MISSING]
        assert built[1].detail["stopped_by"] == [MISSING]
    finally:
        app.state.governance.close()
