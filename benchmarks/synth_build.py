"""Synthesise and build a partnership at about 100k and 1M source records.

For each size, in one run: ``joinedup synth`` and ``joinedup build`` (wall time, peak
memory of the process), and, as the baseline these noisy machines need, DuckDB reading
every CSV extract with its own ``read_csv`` in a fresh process. The build is reported as a
ratio of that baseline. Figures go to docs/benchmarks.md.

    .venv/bin/python benchmarks/synth_build.py            # 100k and 1M
    .venv/bin/python benchmarks/synth_build.py --sizes 10000   # people, ~10 records each
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
from pathlib import Path

import yaml

from _common import ROOT, machine, measure, python, write_section

WORK = ROOT / "benchmarks" / ".work"

BASELINE = """
import duckdb, sys
con = duckdb.connect()
for f in sys.argv[1:]:
    con.execute(
        f"SELECT count(*) FROM read_csv('{f}', all_varchar=true, strict_mode=false, "
        "null_padding=true)"
    ).fetchall()
"""


def utf8_extracts(folder: Path) -> list[str]:
    """Every CSV extract as DuckDB can read it natively (cp1252 ones copied to UTF-8 first,
    outside the timing): the baseline is DuckDB's own reading of the same rows."""
    cfg = yaml.safe_load((folder / "partnership.yaml").read_text(encoding="utf-8"))
    out = []
    for s in cfg["sources"]:
        if s["format"] != "csv":
            continue
        f = sorted(folder.glob(s["file"]))[-1]
        enc = s.get("encoding", "utf-8")
        if enc not in ("utf-8", "utf-8-sig"):
            copy = folder / "baseline" / (f.name + ".utf8.csv")
            copy.parent.mkdir(exist_ok=True)
            copy.write_text(f.read_text(encoding=enc), encoding="utf-8")
            f = copy
        out.append(str(f))
    return sorted(set(out))


def run(people: int) -> dict[str, float | int]:
    folder = WORK / f"p{people}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    cli = str(ROOT / ".venv" / "bin" / "joinedup")
    synth = measure([cli, "synth", str(folder), "--people", str(people), "--seed", "1"])
    build = measure([cli, "build", str(folder)])
    base = measure(python("-c", BASELINE, *utf8_extracts(folder)))
    manifest = json.loads(next((folder / "releases").glob("2*/manifest.json")).read_text())
    records = sum(1 for f in (folder / "truth" / "record_person.csv").open(encoding="utf-8")) - 1
    return {
        "people": people,
        "source_records": records,
        "synth_s": synth.seconds,
        "synth_mb": synth.peak_mb,
        "build_s": build.seconds,
        "build_mb": build.peak_mb,
        "baseline_s": base.seconds,
        "persons": int(manifest["persons"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        help="numbers of people (about 10 source records each)",
    )
    args = parser.parse_args()
    rows = [run(n) for n in args.sizes]
    lines = [
        f"Measured {dt.date.today().isoformat()} on {machine()} with "
        "`.venv/bin/python benchmarks/synth_build.py`.",
        "",
        "| people | source records | synth (s) | synth peak (MB) | build (s) | build peak (MB) "
        "| DuckDB read_csv of the extracts (s) | build ÷ read_csv |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['people']:,} | {r['source_records']:,} | {r['synth_s']:.1f} | "
            f"{r['synth_mb']:.0f} | {r['build_s']:.1f} | {r['build_mb']:.0f} | "
            f"{r['baseline_s']:.2f} | {r['build_s'] / r['baseline_s']:.1f}× |"
        )
        print(r)
    write_section("synth-build", "\n".join(lines))


if __name__ == "__main__":
    main()
