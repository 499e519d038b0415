"""`make test` installs what the tests need, or stops at once naming the commands (issue 11).

scripts/test-deps.sh runs here with a PATH of stand-ins only (so this machine's Chromium,
Java and apt-get are out of sight), a stand-in venv python (pyspark present or not,
PostgreSQL reachable or not) and JOINEDUP_TEST_DEPS_NO_ROOT=1 where a user without root or
sudo is simulated. Stand-in apt-get, apt-cache and sudo record every call, so a test sees
whether anything was (or would have been) installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "test-deps.sh"
BASH = shutil.which("bash") or "/bin/bash"
CP = shutil.which("cp") or "/bin/cp"
PG_URL = "postgresql://tester:pw-secret@127.0.0.1:1/admin"
ENV_LINE = f"export JOINEDUP_TEST_PG_URL='{PG_URL}'\n"
PIP_LINE = "/bin/python -m pip install --no-build-isolation -e '.[spark]'"

# The venv's python: answers the script's three uses of it from marker files.
FAKE_PYTHON = r"""#!{bash}
d="{venv}"
case "$*" in
  *"-m pip install"*) echo "pip $*" >>"{calls}"; : >"$d/has-pyspark" ;;
  *find_spec*pyspark*) [[ -e $d/has-pyspark ]] ;;
  "- "*) while read -r _; do :; done; [[ -e $d/pg-ok ]] ;;
  *) echo "unexpected python call: $*" >&2; exit 3 ;;
esac
"""
FAKE_JAVA = "#!{bash}\necho 'openjdk version \"{version}\" 2022-01-18' >&2\n"
FAKE_TOOL = "#!{bash}\nexit 0\n"
# apt-get: `install` copies the stand-in tools each package brings into bin.
FAKE_APT_GET = r"""#!{bash}
echo "apt-get $*" >>"{calls}"
[[ $1 == install ]] || exit 0
for p in "$@"; do
  case "$p" in
    chromium) {cp} "{pool}/chromium" "{bin}/" ;;
    poppler-utils) {cp} "{pool}/pdftoppm" "{pool}/pdftotext" "{bin}/" ;;
    openjdk-*-jre-headless) {cp} "{pool}/java" "{bin}/" ;;
  esac
done
"""
FAKE_APT_CACHE = r"""#!{bash}
echo "apt-cache $*" >>"{calls}"
[[ " $* " == *" {known} "* ]]
"""
FAKE_SUDO = r"""#!{bash}
echo "sudo $*" >>"{calls}"
[[ $1 == -n ]] && exit 0
while [[ $1 == *=* ]]; do export "$1"; shift; done
exec "$@"
"""


class Machine:
    """A PATH of stand-ins and a stand-in venv, in ``tmp``."""

    def __init__(self, tmp: Path) -> None:
        self.bin = tmp / "bin"
        self.pool = tmp / "pool"  # tools that the stand-in apt-get "installs"
        self.venv = tmp / "venv"
        self.calls = tmp / "calls.log"
        for d in (self.bin, self.pool, self.venv / "bin"):
            d.mkdir(parents=True)
        self.write(self.venv / "bin" / "python", FAKE_PYTHON)
        self.write(self.pool / "chromium", FAKE_TOOL)
        self.write(self.pool / "pdftoppm", FAKE_TOOL)
        self.write(self.pool / "pdftotext", FAKE_TOOL)
        self.write(self.pool / "java", FAKE_JAVA.replace("{version}", "17.0.2"))
        self.pg_ok(True)

    def write(self, path: Path, text: str) -> None:
        for key, value in {
            "bash": BASH,
            "cp": CP,
            "venv": str(self.venv),
            "calls": str(self.calls),
            "pool": str(self.pool),
            "bin": str(self.bin),
        }.items():
            text = text.replace("{" + key + "}", value)
        path.write_text(text)
        path.chmod(0o755)

    def has(self, *tools: str) -> None:
        for tool in tools:
            shutil.copy(self.pool / tool, self.bin / tool)

    def has_everything(self) -> None:
        self.has("chromium", "pdftoppm", "pdftotext", "java")
        (self.venv / "has-pyspark").touch()

    def java(self, version: str) -> None:
        self.write(self.bin / "java", FAKE_JAVA.replace("{version}", version))

    def pg_ok(self, ok: bool) -> None:
        marker = self.venv / "pg-ok"
        if ok:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)

    def can_install(self, apt_knows: str = "openjdk-17-jre-headless") -> None:
        self.write(self.bin / "apt-get", FAKE_APT_GET)
        self.write(self.bin / "apt-cache", FAKE_APT_CACHE.replace("{known}", apt_knows))
        self.write(self.bin / "sudo", FAKE_SUDO)

    def run(self, *args: str, no_root: bool = False, **env: str) -> subprocess.CompletedProcess:
        environ = {"PATH": str(self.bin), "HOME": str(self.venv), "JOINEDUP_TEST_PG_URL": PG_URL}
        if no_root:
            environ["JOINEDUP_TEST_DEPS_NO_ROOT"] = "1"
        environ.update(env)
        environ = {k: v for k, v in environ.items() if v}
        cmd = [BASH, str(SCRIPT), "--venv", str(self.venv), *args]
        return subprocess.run(cmd, env=environ, capture_output=True, text=True, timeout=60)

    def called(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def test_env(self) -> str | None:
        path = self.venv / "test-env"
        return path.read_text() if path.exists() else None


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_without_root_it_stops_at_once_naming_the_exact_commands(machine: Machine) -> None:
    machine.can_install()  # apt-get and a willing sudo are there, but this user may not
    started = time.monotonic()
    out = machine.run(no_root=True)
    assert time.monotonic() - started < 10
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert lines[0].startswith("make test cannot run yet: JOINEDUP_TEST_DEPS_NO_ROOT=1 is set")
    assert "  missing: Chromium (browser tests and PDF reports)" in lines
    assert "  missing: pdftoppm and pdftotext (PDF report tests)" in lines
    assert "  missing: Java 17 or newer (Spark linkage test; found none)" in lines
    assert any(line.startswith("  missing: pyspark, the spark extra") for line in lines)
    commands = lines[lines.index("Run these commands, then make test again:") + 1 :]
    assert commands == [
        "  sudo apt-get update",
        "  sudo apt-get install -y chromium poppler-utils openjdk-17-jre-headless",
        f"  {machine.venv}{PIP_LINE}",
    ]
    assert out.stdout == ""
    assert machine.called() == []  # nothing installed, not even pip
    assert machine.test_env() is None


def test_java_older_than_17_counts_as_missing(machine: Machine) -> None:
    machine.has_everything()
    machine.java("11.0.2")
    out = machine.run(no_root=True)
    assert out.returncode == 1
    assert "  missing: Java 17 or newer (Spark linkage test; found Java 11)" in out.stderr
    assert "  sudo apt-get install -y openjdk-17-jre-headless\n" in out.stderr
    assert "chromium" not in out.stderr and "pip install" not in out.stderr


def test_everything_present_is_silent_and_records_the_postgres_url(machine: Machine) -> None:
    machine.can_install()
    machine.has_everything()
    check = machine.run("--check")
    assert (check.returncode, check.stdout, check.stderr) == (0, "", "")
    assert machine.test_env() is None  # --check writes nothing
    out = machine.run()
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")
    assert machine.called() == []  # no apt-get update when nothing is missing
    assert machine.test_env() == ENV_LINE


def test_check_installs_nothing_even_when_it_could(machine: Machine) -> None:
    machine.can_install()
    machine.has("pdftoppm", "pdftotext", "java")
    out = machine.run("--check")
    assert out.returncode == 1
    assert out.stderr.startswith("make test cannot run yet: --check installs nothing.")
    sudo = "" if os.geteuid() == 0 else "sudo "
    assert f"  {sudo}apt-get install -y chromium\n" in out.stderr
    assert PIP_LINE in out.stderr
    assert [c for c in machine.called() if "install" in c or "update" in c] == []


# Debian 12 has Java 17; Debian 13 only Java 21, which the step takes instead.
@pytest.mark.parametrize("java_pkg", ["openjdk-17-jre-headless", "openjdk-21-jre-headless"])
def test_installs_what_is_missing_once_then_has_nothing_to_do(
    machine: Machine, java_pkg: str
) -> None:
    machine.can_install(apt_knows=java_pkg)  # root here, or a password-free sudo otherwise
    out = machine.run()
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "test-deps: installed chromium (Debian package)",
        "test-deps: installed poppler-utils (Debian package)",
        f"test-deps: installed {java_pkg} (Debian package)",
        f"test-deps: installed the spark extra (pyspark) into {machine.venv}",
    ]
    apt = [c for c in machine.called() if c.startswith(("apt-get", "pip"))]
    assert apt[0] == "apt-get update -qq"
    assert apt[1].startswith("apt-get install -y -qq ")
    assert apt[1].endswith(f" chromium poppler-utils {java_pkg}")
    assert len(apt) == 3 and apt[2].startswith("pip ") and "-e .[spark]" in apt[2]
    assert machine.test_env() == ENV_LINE

    before = machine.called()
    again = machine.run()
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert machine.called() == before


def test_pip_needs_no_root_so_a_missing_spark_extra_is_just_installed(machine: Machine) -> None:
    machine.can_install()
    machine.has_everything()
    (machine.venv / "has-pyspark").unlink()
    out = machine.run(no_root=True)
    assert (out.returncode, out.stderr) == (0, "")
    assert out.stdout == f"test-deps: installed the spark extra (pyspark) into {machine.venv}\n"
    assert [c.split()[0] for c in machine.called()] == ["pip"]  # no apt-get, no sudo
    assert machine.test_env() == ENV_LINE


def test_an_unreachable_postgres_url_stops_without_printing_it(machine: Machine) -> None:
    machine.can_install()
    machine.has_everything()
    machine.pg_ok(False)
    out = machine.run()
    assert out.returncode == 1
    assert "  problem: JOINEDUP_TEST_PG_URL is set, but no PostgreSQL accepts" in out.stderr
    assert "pw-secret" not in out.stderr + out.stdout
    assert machine.test_env() is None


def test_with_no_server_it_names_the_script_that_starts_one(machine: Machine) -> None:
    machine.has_everything()
    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = machine.run("--check", JOINEDUP_TEST_PG_URL="", PGPORT=str(port))
    assert out.returncode == 1
    assert f"  missing: a PostgreSQL server on 127.0.0.1:{port} (app-state tests)" in out.stderr
    assert out.stderr.endswith(f"  PGPORT={port} bash .ci/postgres.sh\n")


def test_make_test_runs_the_step_first_and_ci_runs_make_test() -> None:
    dry = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    step = dry.index("scripts/test-deps.sh")
    assert step < dry.index("ruff check") < dry.index("mypy") < dry.index("pytest")
    assert ". ./.venv/test-env && .venv/bin/python -m pytest" in dry
    demo = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True)
    assert "test-deps" not in demo.stdout
    code = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln[:1] != "#"]
    assert code[-1] == "make test"  # CI uses the same step, no copy of it
    installs = [ln for ln in code if "install" in ln or "postgres" in ln]
    assert installs == ["  apt-get update -qq && apt-get install -y -qq make"]
