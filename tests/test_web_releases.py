"""Sources and releases pages: upload an extract, build from the web, compare releases."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.config import load_config, resolve_source_file
from joinedup.disclosure import Tier, policy_for, scope_release, source_scope
from joinedup.insight import overview_figures
from joinedup.insight.answers import release_period
from joinedup.pipeline.check import check_source_file
from joinedup.present.format import format_count
from joinedup.release import current_release_id, list_releases, open_release
from joinedup.release.store import build_lock
from joinedup.views import protect_overview
from joinedup.views.records import record_cells
from joinedup.web import create_app

SOURCE = "police_missing"
UPLOAD = f"/releases/sources/{SOURCE}/upload"


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("releases") / "partnership"
    shutil.copytree(synth_built, root)
    return root


@pytest.fixture(scope="module")
def app(partnership: Path):
    app = create_app(partnership)
    yield app
    app.state.governance.close()


@pytest.fixture(scope="module")
def lead(app) -> TestClient:
    client = TestClient(app)
    sign_in(client, "data_lead", agency="police", username="lead-police")
    return client


def csrf(client: TestClient) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/account").text)
    assert m is not None
    return m.group(1)


def target(partnership: Path) -> Path:
    cfg = load_config(partnership, check_files=False)
    path = resolve_source_file(partnership, next(s for s in cfg.sources if s.id == SOURCE))
    assert path is not None
    return path


def clean_lines(partnership: Path) -> list[str]:
    """The source's current extract without the rows a build would quarantine or whose
    values it would leave empty."""
    path = target(partnership)
    check = check_source_file(partnership, SOURCE, path, keep_rows=1000)
    bad = {q.row for q in check.quarantine} | {q.row for q in check.field_problems}
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return [line for i, line in enumerate(lines, start=1) if i not in bad]


def cells_of(line: str) -> list[str]:
    """One CSV line's cells (addresses hold quoted commas)."""
    return next(csv.reader([line]))


def line_of(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def protected_rows(partnership: Path, release_id: str) -> dict[str, dict]:
    """A release's source rows as its pages show them at the strategic tier."""
    cfg = load_config(partnership, check_files=False)
    with open_release(partnership, release_id).connect() as con:
        scope = source_scope(cfg, Tier.STRATEGIC)
        scope_release(con, scope)
        cells = record_cells(con, policy_for(Tier.STRATEGIC, cfg.disclosure), scope)
    return cells.sources


def encode(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def upload(client: TestClient, data: bytes, *, name: str = "missing.csv", **form: str):
    return client.post(
        UPLOAD,
        data={"csrf_token": csrf(client), **form},
        files={"extract": (name, data, "text/csv")},
    )


def audit(app, action: str) -> list:
    """Audit entries of ``action``, newest first."""
    return app.state.governance.state.audit.entries(actions=[action])


def test_roles_without_manage_releases_are_refused(app, partnership: Path) -> None:
    for role in ("analyst", "panel_member", "board_member", "community_viewer"):
        client = TestClient(app)
        sign_in(client, role, username=f"refused-{role}")
        for path in (
            "/releases",
            "/releases.json",
            "/releases/compare",
            "/releases/compare.json",
            UPLOAD,
            "/releases/builds/latest.json",
        ):
            assert client.get(path).status_code == 403, (role, path)
        token = csrf(client)
        r = client.post("/releases/build", data={"csrf_token": token})
        assert r.status_code == 403, role
        r = client.post(UPLOAD, data={"csrf_token": token}, files={"extract": ("x.csv", b"a\n")})
        assert r.status_code == 403, role
    # another agency's data lead may not replace police's extract; an admin may
    other = TestClient(app)
    sign_in(other, "data_lead", agency="health", username="lead-health")
    assert other.get(UPLOAD).status_code == 403
    assert other.get("/releases").status_code == 200
    admin = TestClient(app)
    sign_in(admin, "admin", agency="council", username="admin-council")
    assert admin.get(UPLOAD).status_code == 200
    rows = {s["source"]: s for s in other.get("/releases.json").json()["sources"]}
    assert rows[SOURCE]["may_upload"] is False and rows["health_ae"]["may_upload"] is True


def test_releases_page_lists_releases_and_sources(lead, partnership: Path) -> None:
    data = lead.get("/releases.json").json()
    assert data["current"] == current_release_id(partnership)
    assert [r["release_id"] for r in data["releases"]] == [
        h.release_id for h in reversed(list_releases(partnership))
    ]
    row = next(s for s in data["sources"] if s["source"] == SOURCE)
    path = target(partnership)
    assert row["file"] == str(path.relative_to(partnership))
    assert row["size_bytes"] == path.stat().st_size
    # rows read as the release's own pages protect them (issue 11: rows stand for people)
    assert row["rows_read"] == protected_rows(partnership, data["current"])[SOURCE]["rows_read"]
    page = lead.get("/releases").text
    assert f'/releases/sources/{SOURCE}/upload"' in page
    assert data["current"] in page and 'id="build-button"' in page


def test_upload_missing_column_is_refused_and_nothing_replaced(app, lead, partnership) -> None:
    path = target(partnership)
    before = path.read_bytes()
    lines = clean_lines(partnership)
    header = cells_of(lines[0])
    drop = header.index("ReportedMissing")
    cut = [line_of([c for i, c in enumerate(cells_of(line)) if i != drop]) for line in lines]
    r = upload(lead, encode(cut), name="missing_cut.csv")
    assert r.status_code == 422
    assert "column &#39;ReportedMissing&#39; is not in missing_cut.csv" in r.text
    assert "The extract was not saved" in r.text
    assert path.read_bytes() == before
    assert not path.with_name(path.name + ".previous").exists()
    assert not list(path.parent.glob(".upload-*"))  # the staged copy is gone
    assert audit(app, "upload_extract")[0].detail["outcome"] == "refused"


def test_upload_bad_date_shows_row_and_column_and_replaces_nothing(lead, partnership) -> None:
    path = target(partnership)
    before = path.read_bytes()
    lines = clean_lines(partnership)
    col = cells_of(lines[0]).index("ReportedMissing")
    cells = cells_of(lines[5])
    cells[col] = "31/02/2026 10:00"
    lines[5] = line_of(cells)  # file row 6 (the header is row 1)
    r = lead.post(
        UPLOAD,
        data={"csrf_token": csrf(lead)},
        files={"extract": ("bad.csv", encode(lines), "text/csv")},
        headers={"accept": "application/json"},
    )
    assert r.status_code == 422
    result = r.json()["result"]
    assert result["saved"] is False and result["needs_acceptance"] is True
    # a date that cannot be read is left empty and its row kept (bad_dates: empty)
    assert result["checks"][0]["quarantine"] == []
    q = result["checks"][0]["field_problems"]
    assert [(x["row"], x["column"], x["problem"]) for x in q] == [
        (6, "ReportedMissing", "bad_date")
    ]
    assert result["checks"][0]["values_emptied"] == 1
    assert "not a date in any accepted format" in q[0]["reason"]
    assert "31/02/2026" not in r.text  # never the value itself
    page = upload(lead, encode(lines), name="bad.csv")
    assert page.status_code == 422 and '>6</td><td class="govuk-table__cell">ReportedMissing' in (
        page.text
    )
    assert path.read_bytes() == before


def test_upload_over_the_size_cap_is_refused(app, lead, partnership) -> None:
    path = target(partnership)
    before = path.read_bytes()
    app.state.upload_max_bytes = 1000
    try:
        r = upload(lead, encode(clean_lines(partnership)))
    finally:
        del app.state.upload_max_bytes
    assert r.status_code == 413 and "larger than the 1,000 bytes" in r.text
    assert path.read_bytes() == before


def test_upload_good_extract_replaces_file_keeps_previous_and_audits(app, lead, partnership):
    path = target(partnership)
    before = path.read_bytes()
    data = encode(clean_lines(partnership))
    assert data != before
    r = upload(lead, data, name="police missing nov.csv")
    assert r.status_code == 200, r.text[-2000:]
    assert 'id="upload-saved"' in r.text
    assert path.read_bytes() == data
    assert path.with_name(path.name + ".previous").read_bytes() == before
    entry = audit(app, "upload_extract")[0]
    assert entry.actor == "lead-police" and entry.target == SOURCE
    assert entry.detail["outcome"] == "saved"
    assert entry.detail["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry.detail["size"] == len(data)
    assert entry.agencies == ("police",)
    # rows bound for quarantine are saved only when accepted
    lines = data.decode("utf-8-sig").splitlines()
    col = lines[0].split(",").index("ReportedMissing")
    cells = lines[3].split(",")
    cells[col] = "yesterday"
    lines[3] = ",".join(cells)
    r = upload(lead, encode(lines), accept_quarantine="true")
    assert r.status_code == 200 and path.read_bytes() == encode(lines)
    assert path.with_name(path.name + ".previous").read_bytes() == data


def test_a_build_held_elsewhere_refuses_a_web_build(lead, partnership: Path) -> None:
    with build_lock(partnership):
        r = lead.post("/releases/build", data={"csrf_token": csrf(lead)})
    assert r.status_code == 409
    assert "Another build of" in r.text and "is running" in r.text


def test_build_from_the_web_with_progress_then_compare(app, lead, partnership: Path) -> None:
    old = current_release_id(partnership)
    r = lead.post("/releases/build", data={"csrf_token": csrf(lead)}, follow_redirects=False)
    assert r.status_code == 303
    url = r.headers["location"]
    build_id = url.rsplit("/", 1)[1]
    page = lead.get(url)
    status = lead.get(url + ".json").json()["build"]
    if status["state"] == "running":
        # live progress without a timed reload (WCAG 2.2.1): a script reads the JSON
        # twin; without JavaScript, a link checks again
        assert 'id="build-progress-script"' in page.text and 'id="check-again"' in page.text
        assert 'http-equiv="refresh"' not in page.text
        # one at a time: a second build is refused with a message while this one runs
        second = lead.post("/releases/build", data={"csrf_token": csrf(lead)})
        assert second.status_code == 409 and "is running" in second.text
    seen = []
    deadline = time.monotonic() + 600
    while status["state"] == "running" and time.monotonic() < deadline:
        if status["stage"] and (not seen or seen[-1] != status["stage"]):
            seen.append(status["stage"])
        time.sleep(0.2)
        status = lead.get(url + ".json").json()["build"]
    assert status["state"] == "succeeded", status["error"]
    assert len(seen) >= 2, seen
    order = [s["stage"] for s in status["stages"]]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    assert all(s["status"] == "done" for s in status["stages"])
    new = current_release_id(partnership)
    assert new != old and status["release_id"] == new
    done = lead.get(url)
    assert "Release built" in done.text and "build-progress-script" not in done.text
    entry = audit(app, "build_release")[0]
    assert entry.target == new and entry.detail["build_id"] == build_id
    assert entry.detail["outcome"] == "succeeded"

    # the new release read the uploaded extract
    data = lead.get("/releases.json").json()
    row = next(s for s in data["sources"] if s["source"] == SOURCE)
    lines = target(partnership).read_text(encoding="utf-8-sig").splitlines()
    with open_release(partnership, new).connect() as con:
        read = con.execute("SELECT rows_read FROM source WHERE source = ?", [SOURCE]).fetchone()
    assert read is not None and read[0] == len(lines) - 1
    assert row["rows_read"] == protected_rows(partnership, new)[SOURCE]["rows_read"]
    assert [r["current"] for r in data["releases"]] == [True, False]

    # compare: defaults to the previous and the current release
    cmp = lead.get("/releases/compare.json").json()
    assert cmp["chosen"] == {"a": old, "b": new}
    c = cmp["comparison"]
    cfg = load_config(partnership, check_files=False)
    tier = Tier.STRATEGIC
    for side, rid in (("a", old), ("b", new)):
        with open_release(partnership, rid).connect() as con:
            scope = source_scope(cfg, tier)
            scope_release(con, scope)
            period, _ = release_period(con, None)  # each release's own default period
            expected = protect_overview(
                overview_figures(con, children_first=True, window=(period.start, period.end)),
                tier,
                policy=policy_for(tier, cfg.disclosure),
                scope=scope,
                records=record_cells(con, policy_for(tier, cfg.disclosure), scope),
            )
        assert {p["measure"]: p[side] for p in c["persons"]} == expected["persons"]
        assert {r["group"]: r[side] for r in c["concerns"]["rows"]} == {
            r["group"]: r["total"] for r in expected["concerns"]["rows"]
        }
        assert c["concerns"]["total"][side] == expected["concerns"]["total"]
        assert cmp["comparison"]["period"][side]["from"] == (
            period.start.isoformat() if period.start else None
        )
        assert {s["source"]: s[side]["rows_read"] for s in c["sources"]} == {
            s["source"]: s["rows_read"] for s in expected["sources"]
        }
    missing = next(s for s in c["sources"] if s["source"] == SOURCE)
    assert missing["b"]["rows_read"] == protected_rows(partnership, new)[SOURCE]["rows_read"]
    assert missing["a"]["rows_read"] == protected_rows(partnership, old)[SOURCE]["rows_read"]
    assert c["questions"] and all(set(q) >= {"id", "a", "b"} for q in c["questions"])
    assert c["person_changes"]["since"] == old and c["person_changes"]["since_is_a"]
    with open_release(partnership, new).connect() as con:
        n = dict(con.execute("SELECT change, count(*) FROM person_change GROUP BY 1").fetchall())
    threshold = policy_for(tier, cfg.disclosure).threshold
    for row in c["person_changes"]["rows"]:
        want = n.get(row["change"], 0)
        assert row["persons"] == ("c" if 1 <= want <= threshold else want)
    html = lead.get(f"/releases/compare?a={old}&b={new}").text
    assert old in html and new in html and 'id="compare-persons"' in html
    for p in c["persons"]:
        cell = (
            f'<td class="govuk-table__cell govuk-table__cell--numeric">{format_count(p["b"])}</td>'
        )
        assert cell in html
    assert lead.get("/releases/compare.json?a=nope&b=" + new).status_code == 404
