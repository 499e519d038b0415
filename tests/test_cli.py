"""The joinedup command: exit codes, messages and the contracts scripts rely on."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from joinedup.cli import cli
from joinedup.release import current_release_id


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_every_command_has_help_with_an_example() -> None:
    for name in ("init", "synth", "build", "releases", "check", "serve", "demo"):
        code, out, _ = run(name, "--help")
        assert code == 0, name
        assert "Example" in out, name


def test_build_then_releases(mini: Path) -> None:
    code, out, _ = run("releases", str(mini))
    assert code == 0 and "No releases" in out
    code, out, _ = run("build", str(mini))
    assert code == 0, out
    assert "4 records" not in out and "7 records, 5 persons, 3 rows in quarantine" in out
    rid = current_release_id(mini)
    code, out, _ = run("releases", str(mini))
    assert code == 0 and f"* {rid}" in out
    code, out, _ = run("releases", str(mini), "--current")
    assert code == 0
    assert out.strip().splitlines()[-1] == str(mini / "releases" / str(rid) / "release.duckdb")


def test_releases_current_without_release_fails(mini: Path) -> None:
    code, out, err = run("releases", str(mini), "--current")
    assert code == 1
    assert out == ""
    assert "No release has been built" in err and "joinedup build" in err


def test_config_error_exit_code_and_message(mini: Path) -> None:
    cfg = mini / "partnership.yaml"
    cfg.write_text(cfg.read_text().replace("format: csv", "format: docx", 1))
    code, out, err = run("build", str(mini))
    assert code == 1
    assert "sources[0] (police_crimes).format" in err
    assert "fix them and run again" in err


def test_missing_folder(tmp_path: Path) -> None:
    code, _, err = run("build", str(tmp_path / "nowhere"))
    assert code == 1 and "No partnership.yaml" in err


def test_usage_error_is_exit_2(mini: Path) -> None:
    code, _, _ = run("synth", str(mini), "--people", "3")
    assert code == 2


def test_check_reports_each_source(mini: Path) -> None:
    code, out, err = run("check", str(mini))
    assert code == 0, err
    assert "partnership.yaml is valid: 2 sources" in out
    assert "police_crimes: extracts/crimes_2026-10.csv, 8 rows" in out
    assert "3 to quarantine" in out
    assert not (mini / "releases").exists()


def test_check_lists_missing_columns(mini: Path) -> None:
    cfg = mini / "partnership.yaml"
    cfg.write_text(cfg.read_text().replace("surname: Surname", "surname: surname"))
    code, _, err = run("check", str(mini))
    assert code == 1
    assert "column 'surname' is not in extracts/crimes_2026-10.csv (did you mean 'Surname'?)" in err


def test_init_writes_a_starter(tmp_path: Path) -> None:
    target = tmp_path / "new"
    code, out, _ = run("init", str(target), "--name", "Northshire")
    assert code == 0 and "joinedup check" in out
    text = (target / "partnership.yaml").read_text()
    assert 'name: "Northshire"' in text
    code, _, err = run("init", str(target))
    assert code == 1 and "already exists" in err
    # the starter is valid YAML whose only problem is the missing extract
    code, _, err = run("check", str(target))
    assert code == 1
    assert "no file matches 'extracts/police/crimes_*.csv'" in err
