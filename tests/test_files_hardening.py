"""Files (issue 11, item 8) and interrupted operations (item 11): releases, state and
uploads are owner-only from the moment they are made; paths in partnership.yaml stay in
the partnership folder; a killed build or upload is audited when the next one starts; a
password is shown only for an account that exists."""

from __future__ import annotations

import builtins
import fcntl
import io
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import AE
from joinedup.cli import cli
from joinedup.config import load_config
from joinedup.errors import ConfigError
from joinedup.release.store import releases_dir
from joinedup.state import HEAD_FILE, STATE_DIR, STATE_FILE, open_state
from joinedup.web.uploads import recover_at_start, save_extract


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture
def usual_umask():
    """The usual umask (0022): files would be 0644 unless joinedup sees to it."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _entries(folder: Path, action: str) -> list:
    with open_state(folder) as st:
        return st.audit.entries(actions=[action], newest_first=False)


# --- modes -----------------------------------------------------------------------------


def test_a_release_and_the_state_are_owner_only(mini: Path, usual_umask) -> None:
    from joinedup.pipeline import build

    result = build(mini)
    rdir = releases_dir(mini)
    release = result.release.path
    modes = {
        "releases/": _mode(rdir),
        "release folder": _mode(release),
        "release.duckdb": _mode(release / "release.duckdb"),
        "manifest.json": _mode(release / "manifest.json"),
        "CURRENT": _mode(rdir / "CURRENT"),
        ".build.lock": _mode(rdir / ".build.lock"),
        "secret": _mode(mini / ".joinedup-secret"),
    }
    assert modes == {
        "releases/": 0o700,
        "release folder": 0o700,
        "release.duckdb": 0o600,
        "manifest.json": 0o600,
        "CURRENT": 0o600,
        ".build.lock": 0o600,
        "secret": 0o600,
    }
    others = [p for p in release.rglob("*") if _mode(p) & 0o077]
    assert others == []
    with open_state(mini) as st:
        st.audit.append(actor="t", action="x")
    assert _mode(mini / STATE_DIR) == 0o700
    assert _mode(mini / STATE_DIR / STATE_FILE) == 0o600
    assert _mode(mini / STATE_DIR / HEAD_FILE) == 0o600


def test_an_older_state_file_is_made_owner_only(tmp_path: Path) -> None:
    with open_state(tmp_path):
        pass
    db = tmp_path / STATE_DIR / STATE_FILE
    db.chmod(0o644)
    with open_state(tmp_path):
        pass
    assert _mode(db) == 0o600


class _Watched(io.BytesIO):
    """An upload stream that records the upload folder's and file's modes (and the
    file's size) when the first bytes are about to be written."""

    def __init__(self, data: bytes, folder: Path) -> None:
        super().__init__(data)
        self.folder = folder
        self.seen: list[tuple[int, int, int]] = []

    def read(self, n: int | None = -1) -> bytes:
        if not self.seen:
            (work,) = self.folder.glob(".upload-*")
            (staged,) = [p for p in work.iterdir() if p.name != ".lock"]
            self.seen.append((_mode(work), _mode(staged), staged.stat().st_size))
        return super().read(n)


def test_an_upload_is_owner_only_before_any_byte_is_written(mini: Path, usual_umask) -> None:
    cfg = load_config(mini)
    target = mini / "extracts" / "ae.csv"
    target.chmod(0o644)
    stream = _Watched(AE.encode(), target.parent)
    result = save_extract(
        mini, cfg, "health_ae", stream, file_name="ae.csv", accept_quarantine=True
    )
    assert result.saved, result.problems
    assert stream.seen == [(0o700, 0o600, 0)]
    assert _mode(target) == 0o600
    assert _mode(mini / "extracts" / "ae.csv.previous") == 0o600
    assert list(target.parent.glob(".upload-*")) == []


# --- interrupted uploads and builds ------------------------------------------------------


def _old(path: Path) -> None:
    os.utime(path, (1_700_000_000, 1_700_000_000))


def test_upload_debris_is_removed_and_audited_by_the_next_upload(mini: Path) -> None:
    cfg = load_config(mini)
    extracts = mini / "extracts"
    debris = extracts / ".upload-health_ae.0123456789ab"
    debris.mkdir()
    (debris / "ae.csv").write_text(AE)
    (debris / "ae.csv").chmod(0o644)
    _old(debris)
    running = extracts / ".upload-running0000"  # an upload still in progress elsewhere
    running.mkdir(mode=0o700)
    fd = os.open(running / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    _old(running)
    try:
        result = save_extract(
            mini, cfg, "health_ae", io.BytesIO(AE.encode()), accept_quarantine=True
        )
        assert result.saved
        assert not debris.exists()
        assert running.is_dir()
    finally:
        os.close(fd)
    (entry,) = _entries(mini, "upload_interrupted")
    assert (entry.actor, entry.target) == ("joinedup", "health_ae")
    assert entry.detail == {
        "source": "health_ae",
        "removed": "extracts/.upload-health_ae.0123456789ab",
        "stage": "receiving the file",
    }


def test_upload_debris_is_removed_and_audited_when_a_server_starts(mini: Path) -> None:
    debris = mini / "extracts" / ".upload-feedfacecafe"  # an older joinedup's
    debris.mkdir()
    (debris / "crimes_2026-10.csv").write_text("x")
    _old(debris)
    recover_at_start(mini)
    assert not debris.exists()
    (entry,) = _entries(mini, "upload_interrupted")
    assert entry.target is None
    assert entry.detail == {
        "removed": "extracts/.upload-feedfacecafe",
        "stage": "receiving the file",
        "sources": ["health_ae", "police_crimes"],  # both read extracts/
    }


KILLED = """\
import os, sys
from pathlib import Path
from joinedup.release.store import build_lock, lock_context, staging_dir

d = Path(sys.argv[1])
with lock_context({context}), build_lock(d, operation={operation!r}):
    if {operation!r} == "build":
        staging_dir(d, "20261031T120000Z-abcdef").mkdir()
        (staging_dir(d, "20261031T120000Z-abcdef") / "release.duckdb").write_bytes(b"x")
    os.kill(os.getpid(), 9)
"""


def _killed(folder: Path, operation: str, context: str) -> None:
    script = textwrap.dedent(KILLED.format(context=context, operation=operation))
    proc = subprocess.run([sys.executable, "-c", script, str(folder)], check=False)
    assert proc.returncode == -9


def test_a_killed_web_build_is_audited_by_the_next_build(mini: Path) -> None:
    from joinedup.pipeline import build

    _killed(mini, "build", "web_build_id='WEB-123', started_by='ann'")
    stale = releases_dir(mini) / ".building-20261031T120000Z-abcdef"
    assert stale.is_dir()
    build(mini)
    assert not stale.exists()  # the debris is still removed
    (entry,) = _entries(mini, "build_interrupted")
    assert (entry.actor, entry.target) == ("joinedup", "20261031T120000Z-abcdef")
    detail = dict(entry.detail)
    assert isinstance(detail.pop("pid"), int) and detail.pop("started_at")
    assert detail == {
        "build_id": "20261031T120000Z-abcdef",
        "web_build_id": "WEB-123",
        "started_by": "ann",
        "how": "killed",
        "removed": ".building-20261031T120000Z-abcdef",
    }
    build(mini)  # audited once
    assert len(_entries(mini, "build_interrupted")) == 1


def test_an_upload_killed_while_swapping_is_audited_when_a_server_starts(mini: Path) -> None:
    _killed(mini, "upload", "source='health_ae'")
    recover_at_start(mini)
    (entry,) = _entries(mini, "upload_interrupted")
    assert entry.target == "health_ae"
    assert entry.detail["stage"] == "replacing the file"
    assert entry.detail["how"] == "killed"


# --- source paths confined to the partnership folder ------------------------------------


def _outside_file(tmp_path: Path) -> Path:
    outside = tmp_path / "elsewhere" / "shadow.csv"
    outside.parent.mkdir()
    outside.write_text("root_SECRET_HEADER,x\n1,2\n")
    return outside


def _point_at(mini: Path, old: str, new: str) -> None:
    cfg = mini / "partnership.yaml"
    cfg.write_text(cfg.read_text().replace(old, new))


def _message(where: str, value: str, leads_to: Path) -> str:
    return (
        f"{where}: '{value}' is outside the partnership folder (it leads to {leads_to}), so "
        "nothing was read from it; put the file inside the partnership folder and give its "
        "path relative to that folder"
    )


def test_a_source_path_outside_the_folder_is_a_config_error(mini: Path, tmp_path) -> None:
    outside = _outside_file(tmp_path)
    value = "../elsewhere/shadow.csv"
    _point_at(mini, "file: extracts/ae.csv", f"file: {value}")
    with pytest.raises(ConfigError) as err:
        load_config(mini)
    assert [str(p) for p in err.value.problems] == [
        _message("sources[1] (health_ae).file", value, outside.resolve())
    ]
    _point_at(mini, f"file: {value}", f"file: {outside}")  # absolute
    with pytest.raises(ConfigError) as err:
        load_config(mini, check_files=False)
    assert [str(p) for p in err.value.problems] == [
        _message("sources[1] (health_ae).file", str(outside), outside.resolve())
    ]


def test_a_symlink_out_of_the_folder_is_a_config_error(mini: Path, tmp_path) -> None:
    outside = _outside_file(tmp_path)
    link = mini / "extracts" / "ae.csv"
    link.unlink()
    link.symlink_to(outside)
    _point_at(mini, "postcodes: geography/postcodes.csv", "postcodes: geography/../../x.csv")
    with pytest.raises(ConfigError) as err:
        load_config(mini)
    assert [str(p) for p in err.value.problems] == [
        _message("sources[1] (health_ae).file", "extracts/ae.csv", outside.resolve()),
        _message("geography.postcodes", "geography/../../x.csv", (mini.parent / "x.csv")),
    ]


def test_check_never_opens_a_file_outside_the_folder(mini: Path, tmp_path, monkeypatch) -> None:
    outside = _outside_file(tmp_path)
    link = mini / "extracts" / "ae.csv"
    link.unlink()
    link.symlink_to(outside)
    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def guard(path, *args, **kwargs):
        if isinstance(path, str | Path) and Path(path).resolve() == outside.resolve():
            opened.append(str(path))
            raise AssertionError("the file outside the partnership folder was opened")
        return real_open(path, *args, **kwargs)

    def os_guard(path, *args, **kwargs):
        if isinstance(path, str | Path) and Path(path).resolve() == outside.resolve():
            opened.append(str(path))
            raise AssertionError("the file outside the partnership folder was opened")
        return real_os_open(path, *args, **kwargs)

    staged: list[str] = []
    import joinedup.pipeline.check as check_module

    real_stage = check_module.stage

    def stage_guard(con, path, src, *args, **kwargs):
        staged.append(src.id)
        return real_stage(con, path, src, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guard)
    monkeypatch.setattr(io, "open", guard)
    monkeypatch.setattr(os, "open", os_guard)
    monkeypatch.setattr(check_module, "stage", stage_guard)
    out = CliRunner().invoke(cli, ["check", str(mini)])
    monkeypatch.undo()
    assert out.exit_code != 0
    assert "SECRET_HEADER" not in out.output
    assert "is outside the partnership folder" in out.output
    assert "sources[1] (health_ae).file" in out.output
    assert opened == [] and staged == []


# --- a password only for an account that exists --------------------------------------------


def test_users_add_prints_no_password_when_the_account_is_not_stored(mini: Path) -> None:
    with open_state(mini):
        pass
    con = sqlite3.connect(mini / STATE_DIR / STATE_FILE)
    con.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON user_account "
        "BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
    )
    con.commit()
    con.close()
    args = ["users", "add", str(mini), "jo", "--agency", "police", "--role", "analyst"]
    out = CliRunner().invoke(cli, [*args, "--generate-password"])
    assert out.exit_code != 0
    assert "Password" not in out.output and "password" not in out.output.lower()
    with open_state(mini) as st:
        assert st.audit.entries(actions=["user_created"]) == []
    con = sqlite3.connect(mini / STATE_DIR / STATE_FILE)
    con.execute("DROP TRIGGER refuse")
    con.commit()
    con.close()
    ok = CliRunner().invoke(cli, [*args, "--generate-password"])
    assert ok.exit_code == 0, ok.output
    lines = ok.stdout.splitlines()
    assert lines[0] == "Added jo (police: analyst)."
    assert lines[1].startswith("Password (give it to them securely; it is not shown again): ")
