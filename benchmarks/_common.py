"""Helpers shared by the benchmarks: run a step in a child process, measure time and peak memory,
and write figures into docs/benchmarks.md between markers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"


@dataclass
class Measure:
    seconds: float
    peak_mb: float


def measure(args: list[str], *, env: dict[str, str] | None = None) -> Measure:
    """Run a command to completion; wall time and the child's peak resident memory."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed ({proc.returncode}): {' '.join(args)}")
    return Measure(seconds, usage.ru_maxrss / 1024)


def python(*code_or_args: str) -> list[str]:
    return [sys.executable, *code_or_args]


def write_section(name: str, body: str) -> None:
    """Replace the text between <!-- name:start --> and <!-- name:end --> in the doc."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)


def machine() -> str:
    cpu = os.cpu_count()
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GB"
    except OSError:
        pass
    return f"{cpu} cores{mem}, Python {sys.version.split()[0]}"
