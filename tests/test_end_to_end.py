"""The synthetic partnership through the whole pipeline: what a new user meets first."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from joinedup.cli import cli
from joinedup.config import load_config
from joinedup.release import list_releases, open_current
from joinedup.web import create_app


def _truth(root: Path, name: str) -> list[dict[str, str]]:
    with (root / "truth" / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_synthetic_release_matches_truth(synth_built: Path) -> None:
    truth = {(r["source"], r["source_record_id"]) for r in _truth(synth_built, "record_person.csv")}
    planted = _truth(synth_built, "planted_problems.csv")
    # the rows the truth says a build sets aside (issue 13: a cut-short row, a repeated
    # row, an impossible date in the one source with bad_dates: quarantine)
    set_aside = {
        (p["source"], p["source_record_id"]) for p in planted if p["effect"] == "quarantined"
    }
    with open_current(synth_built).connect() as con:
        loaded = set(con.execute("SELECT source, source_record_id FROM record_person").fetchall())
        quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()
        unknown_sources = con.execute(
            "SELECT count(*) FROM record_person WHERE person_id IS NULL"
        ).fetchone()
        # issue 19: records past their agreement's retention on the build day, counted
        retained = dict(
            con.execute("SELECT name, rows FROM lineage WHERE kind = 'retention'").fetchall()
        )
    # every loaded record is in the truth; the only ones missing are those set aside and
    # those left out past retention, exactly as many per source as lineage says
    assert loaded <= truth
    missing = truth - loaded
    assert set_aside <= missing
    past = missing - set_aside
    per_source: dict[str, int] = {}
    for source, _ in past:
        per_source[source] = per_source.get(source, 0) + 1
    assert per_source == {k: v for k, v in retained.items() if v}
    assert quarantined == (len(set_aside),)
    assert unknown_sources == (0,)


def test_linkage_never_joins_two_true_people(synth_built: Path) -> None:
    """A wrong link puts one child's history on another's file: none on the synthetic data."""
    truth = {
        (r["source"], r["source_record_id"]): r["person_id"]
        for r in _truth(synth_built, "record_person.csv")
    }
    with open_current(synth_built).connect() as con:
        rows = con.execute(
            "SELECT source, source_record_id, person_id FROM record_person"
        ).fetchall()
    true_people: dict[str, set[str]] = {}
    for source, rid, pid in rows:
        true_people.setdefault(pid, set()).add(truth[(source, rid)])
    merged = [p for p, t in true_people.items() if len(t) > 1]
    assert merged == []


def test_overview_page_on_synthetic_release(synth_built: Path) -> None:
    from conftest import sign_in

    client = TestClient(create_app(synth_built))
    assert client.get("/overview.json").status_code == 401  # figures refuse anonymous visitors
    sign_in(client, "board_member", username="e2e-board-member")
    page = client.get("/")
    assert page.status_code == 200
    assert "Wexbury" in page.text and "Ashdown" in page.text
    data = client.get("/overview.json").json()
    assert data == client.get("/overview.json").json()
    assert page.headers["content-type"].startswith("text/html")


def test_demo_no_serve(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = CliRunner().invoke(
        cli, ["demo", "--dir", str(target), "--people", "200", "--seed", "3", "--no-serve"]
    )
    assert result.exit_code == 0, result.stderr
    assert "Built release" in result.stdout
    # the demo's agreements let data leads and panel members review links (issue 16)
    cfg = load_config(target, check_files=False)
    assert all(a.reviewers == ["data_lead", "panel_member"] for a in cfg.sharing_agreements)
    # a second run reuses the folder and builds again
    again = CliRunner().invoke(cli, ["demo", "--dir", str(target), "--no-serve"])
    assert again.exit_code == 0
    assert "Using the synthetic partnership already in" in again.stdout
    assert len(list_releases(target)) == 2
