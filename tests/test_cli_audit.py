"""`joinedup ask`, `export` and `report` put figures outside joinedup: each writes one
audit entry, as the web does for a download, naming who ran it (`cli:<login name>`), what
left (question, breakdown, tier, format, release) and where to, and never a figure or a
person's data; a command that fails writes none (issue 11, item 11)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from joinedup.access import source_agencies
from joinedup.cli import cli
from joinedup.errors import JoinedupError
from joinedup.release import current_release_id
from joinedup.state import AuditEntry, open_state

LOGIN = "ana.lyst"


@pytest.fixture(scope="module")
def partnership(synth_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built synthetic partnership: these tests add to its audit log."""
    root = tmp_path_factory.mktemp("cli-audit") / "partnership"
    shutil.copytree(synth_built, root)
    return root


@pytest.fixture(autouse=True)
def login(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operating system's login name, as `getpass.getuser` reads it."""
    monkeypatch.setenv("LOGNAME", LOGIN)


def _entries(directory: Path) -> list[AuditEntry]:
    with open_state(directory) as state:
        return state.audit.entries(newest_first=False)


def _run(directory: Path, *args: str) -> tuple[list[AuditEntry], str]:
    """Run a command and return the audit entries it added, and its stdout."""
    before = len(_entries(directory))
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    after = _entries(directory)
    with open_state(directory) as state:
        verified = state.audit.verify()
    assert verified.ok, verified.problems
    return after[before:], result.stdout


def test_ask_records_the_question_breakdown_tier_and_format(partnership: Path) -> None:
    added, out = _run(
        partnership,
        "ask",
        str(partnership),
        "children_with_concern",
        "--by",
        "ward",
        "--format",
        "csv",
    )
    assert len(added) == 1
    entry = added[0]
    assert (entry.actor, entry.action, entry.target) == (
        f"cli:{LOGIN}",
        "export",
        "children_with_concern",
    )
    assert entry.detail == {
        "via": "cli",
        "command": "ask",
        "question": "children_with_concern",
        "by": "ward",
        "period": "2025-11-01..2026-10-31",  # the default period (issue 14)
        "tier": "strategic",
        "format": "csv",
        "release_id": current_release_id(partnership),
        "output": "stdout",
    }
    # the agencies whose sources the answer draws on: what a data lead filters by
    assert entry.agencies and set(entry.agencies) <= set(source_agencies(partnership).values())
    assert out.startswith("Home ward,Children\n")  # the answer is still printed, unchanged


def test_ask_without_a_breakdown_and_at_another_tier(partnership: Path) -> None:
    added, out = _run(
        partnership,
        "ask",
        str(partnership),
        "children_with_concern",
        "--tier",
        "operational",
        "--format",
        "json",
    )
    assert len(added) == 1
    detail = added[0].detail
    assert (detail["by"], detail["tier"], detail["format"]) == ("none", "operational", "json")
    by_source = source_agencies(partnership)
    sources = json.loads(out)["question"]["sources"]
    assert set(added[0].agencies) == {by_source[s] for s in sources}


def test_a_refused_ask_writes_nothing(partnership: Path) -> None:
    before = len(_entries(partnership))
    result = CliRunner().invoke(cli, ["ask", str(partnership), "no_such_question"])
    assert result.exit_code == 1
    assert len(_entries(partnership)) == before


def test_export_records_the_files_written(partnership: Path, tmp_path: Path) -> None:
    out = tmp_path / "tables"
    added, stdout = _run(
        partnership, "export", str(partnership), "--format", "csv", "--out", str(out)
    )
    written = sorted(Path(line).name for line in stdout.splitlines())
    assert written and all((out / name).is_file() for name in written)
    assert len(added) == 1
    entry = added[0]
    assert (entry.actor, entry.action, entry.target) == (f"cli:{LOGIN}", "export", "overview")
    assert entry.detail == {
        "via": "cli",
        "command": "export",
        "files": written,
        "tier": "strategic",
        "format": "csv",
        "release_id": current_release_id(partnership),
        "output": str(out.absolute()),
    }
    assert set(entry.agencies) == set(source_agencies(partnership).values())


def test_report_records_the_board_and_the_file(partnership: Path, tmp_path: Path) -> None:
    target = tmp_path / "board.html"
    added, stdout = _run(
        partnership,
        "report",
        str(partnership),
        "--board",
        "adults",
        "--tier",
        "community",
        "--out",
        str(target),
    )
    assert stdout.strip() == str(target) and target.is_file()
    assert len(added) == 1
    entry = added[0]
    assert (entry.actor, entry.action, entry.target) == (f"cli:{LOGIN}", "export", "report")
    assert entry.detail == {
        "via": "cli",
        "command": "report",
        "board": "adults",
        "tier": "community",
        "format": "html",
        "release_id": current_release_id(partnership),
        "output": str(target.absolute()),
    }


def test_a_file_whose_entry_cannot_be_written_does_not_stay(
    partnership: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import joinedup.access

    def unavailable(*args: object, **kwargs: object) -> None:
        raise JoinedupError("The state database cannot be written.")

    monkeypatch.setattr(joinedup.access, "audit_output", unavailable)
    target = tmp_path / "board.html"
    result = CliRunner().invoke(cli, ["report", str(partnership), "--out", str(target)])
    assert result.exit_code == 1 and "cannot be written" in result.stderr
    assert not target.exists()
    out = tmp_path / "tables"
    result = CliRunner().invoke(
        cli, ["export", str(partnership), "--format", "csv", "--out", str(out)]
    )
    assert result.exit_code == 1 and not any(out.iterdir())


def test_audit_verify_still_passes_after_cli_reads(partnership: Path) -> None:
    _run(partnership, "ask", str(partnership), "children_with_concern", "--format", "json")
    result = CliRunner().invoke(cli, ["audit", "verify", str(partnership)])
    assert result.exit_code == 0 and "Audit log intact" in result.stdout
