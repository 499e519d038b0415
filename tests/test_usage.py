"""Where is my data used (issue 19): the usage report against the audit log, on the web
(for the agency's data lead) and as a monthly CLI report."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from conftest import sign_in
from joinedup.cli import cli
from joinedup.state import open_state
from joinedup.views.usage import UsageError, month_bounds
from joinedup.web import create_app

MONTH = dt.datetime.now(dt.UTC).strftime("%Y-%m")


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("usage") / "p"
    # the release, without the app state other tests may have written to this session
    # (their audit entries would be counted too): this test's log starts empty
    shutil.copytree(synth_built, root, ignore=shutil.ignore_patterns("state"))
    return root


@pytest.fixture(scope="module")
def client(partnership: Path) -> TestClient:
    app = create_app(partnership)
    c = TestClient(app)
    lead = sign_in(c, "data_lead", agency="police")
    state = app.state.governance.state
    other = sign_in(TestClient(app), "panel_member", agency="brightpath")
    log = state.audit
    # what the log records: two exports of a question, one re-identification, one view
    # of another agency's data only, one panel change
    for _ in range(2):
        log.append(
            actor=other.username,
            action="export",
            target="children_with_concern",
            detail={"question": "children_with_concern"},
            agencies=["police"],
        )
    log.append(
        actor=other.username,
        action="reidentify",
        target="p1",
        purpose="Strategy meeting on 3 Dec",
        detail={"page": "person"},
        agencies=["police", "brightpath"],
    )
    log.append(
        actor=other.username,
        action="view_person",
        target="p2",
        detail={"page": "person"},
        agencies=["brightpath"],
    )
    log.append(actor="cli:ops", action="export", target="report", detail={}, agencies=["police"])
    assert lead is not None
    return c


def test_usage_counts_match_the_audit_log(client: TestClient) -> None:
    got = client.get(f"/usage.json?month={MONTH}")
    assert got.status_code == 200
    data = got.json()
    assert data["agency"] == "police"
    rows = {(r["kind"], r["what"], r["purpose"], r["role"]): r["uses"] for r in data["rows"]}
    assert (
        rows[
            (
                "Question export",
                "children_with_concern",
                "Strategic needs assessment",
                "panel_member",
            )
        ]
        == 2
    )
    assert rows[("Re-identification", "person", "Operational safeguarding", "panel_member")] == 1
    assert rows[("Export", "report", "Strategic needs assessment", "command line")] == 1
    assert data["uses"]["total"] == 4  # the view of brightpath's data alone is not counted
    assert data["reidentification_purposes"] == [
        {"purpose": "Strategy meeting on 3 Dec", "uses": 1}
    ]
    page = client.get(f"/usage?month={MONTH}")
    assert page.status_code == 200
    assert "Where" in page.text and "children_with_concern" in page.text


def test_only_the_agency_data_lead_or_an_administrator(client: TestClient) -> None:
    assert client.get("/usage.json?agency=brightpath").status_code == 403
    assert client.get("/usage.json?month=2026-13").status_code == 422
    anonymous = TestClient(client.app)
    assert anonymous.get("/usage.json").status_code == 401
    board = TestClient(client.app)
    sign_in(board, "board_member", agency="police")
    assert board.get("/usage.json").status_code == 403


def test_monthly_report_on_the_command_line(partnership: Path, client: TestClient) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "usage",
            str(partnership),
            "--agency",
            "police",
            "--month",
            MONTH,
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["uses"]["total"] >= 4
    bad = CliRunner().invoke(
        cli, ["usage", str(partnership), "--agency", "nobody", "--month", MONTH]
    )
    assert bad.exit_code == 1
    assert "There is no agency 'nobody'" in bad.output
    with open_state(partnership) as state:
        assert state.audit.entries(actions=["view_usage"], limit=1)


def test_month_must_be_a_month() -> None:
    assert month_bounds("2026-12")[1] == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(UsageError, match="YYYY-MM"):
        month_bounds("December")
