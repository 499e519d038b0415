"""A 1M-row CSV extract through reading, mapping and validation, against DuckDB's own reader.

In one run, each step in a fresh process (wall time and peak memory of that process):

1. the baseline: DuckDB's ``read_csv`` of the file (all columns as text) into a table,
   which is the least any ingest must do;
2. joinedup: the source staged (encoding checked, read), mapped through the police
   mapping of the synthetic partnership (names, dates, postcodes, crosswalks, places,
   groups, exploitation types), quarantine decided, and data quality measured.

Throughput is reported as a ratio of the baseline's; figures go to docs/benchmarks.md.

    .venv/bin/python benchmarks/ingest.py                # 1,000,000 rows
    .venv/bin/python benchmarks/ingest.py --rows 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
from pathlib import Path

from _common import ROOT, machine, measure, python, write_section

WORK = ROOT / "benchmarks" / ".work" / "ingest"

MAKE = """
import csv, io, sys
from pathlib import Path
from joinedup.synth import generate
work, rows = Path(sys.argv[1]), int(sys.argv[2])
generate(work / "p", people=2000, seed=11)
src = next((work / "p" / "extracts" / "police").glob("crimes_incidents_*.csv"))
with src.open(encoding="cp1252", newline="") as fh:
    reader = csv.reader(fh)
    header = next(reader)
    body = list(reader)
idx = header.index("InvolvementID")
out = work / "crimes_1m.csv"
with out.open("w", encoding="utf-8", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(header)
    for i in range(rows):
        row = list(body[i % len(body)])
        row[idx] = f"INV{i:09d}"
        w.writerow(row)
"""

BASELINE = """
import duckdb, json, sys, time
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute(
    f"CREATE TEMP TABLE t AS SELECT * FROM read_csv('{sys.argv[1]}', all_varchar = true, "
    "header = true)"
)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""

INGEST = """
import datetime as dt, json, sys, time
from pathlib import Path
import duckdb
from joinedup.config import load_config
from joinedup.release.build import _check_columns, _load_canonical, _map_validate
from joinedup.release.schema import create_schema_sql
from joinedup.sources import resolve_crosswalks, stage
from joinedup.sources.parsers import install_macros
base, csv_path, db = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
cfg = load_config(base)
src = cfg.source("police_crimes").model_copy(update={"encoding": "auto"})
cw = resolve_crosswalks(cfg, base)
con = duckdb.connect(db)
con.execute("SET enable_progress_bar = false")
for sql in create_schema_sql():
    con.execute(sql)
install_macros(con)
con.execute(
    "CREATE TEMP TABLE _ju_places (place_id VARCHAR, name VARCHAR, place_type VARCHAR, "
    "postcode VARCHAR)"
)
t0 = time.perf_counter()
st = stage(con, csv_path, src, "_ju_raw")
assert not _check_columns(con, src, "_ju_raw", csv_path.name, st)
t1 = time.perf_counter()
_map_validate(
    con, src, "_ju_raw", csv_path.name, cw, as_of=dt.date(2026, 10, 31),
    native_dates=st.native_dates,
)
t2 = time.perf_counter()
counts = _load_canonical(con, src, "_ju_raw", cw)
con.execute("CHECKPOINT")
t3 = time.perf_counter()
print(json.dumps({
    "read_s": t1 - t0, "map_s": t2 - t1, "load_s": t3 - t2, "seconds": t2 - t0,
    "total_s": t3 - t0, **counts,
}))
"""


def _child(args: list[str], out: Path) -> tuple[dict[str, float], float, float]:
    """Run a step writing JSON on stdout into ``out``; (its JSON, wall s, peak MB)."""
    import subprocess

    with out.open("w") as fh:
        proc = subprocess.Popen(args, stdout=fh)
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(args)}")
    data = json.loads(out.read_text().strip().splitlines()[-1])
    return data, float(data["seconds"]), usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    measure(python("-c", MAKE, str(WORK), str(args.rows)))
    csv_path = WORK / "crimes_1m.csv"
    size_mb = csv_path.stat().st_size / 1e6
    base, base_s, base_mb = _child(
        python("-c", BASELINE, str(csv_path), str(WORK / "baseline.duckdb")), WORK / "b.json"
    )
    ing, ing_s, ing_mb = _child(
        python("-c", INGEST, str(WORK / "p"), str(csv_path), str(WORK / "ingest.duckdb")),
        WORK / "i.json",
    )
    ratio = base_s / ing_s
    total_ratio = base_s / ing["total_s"]
    rows = args.rows
    lines = [
        f"Measured {dt.date.today().isoformat()} on {machine()} with "
        f"`.venv/bin/python benchmarks/ingest.py --rows {rows}`.",
        "",
        f"A {rows:,}-row CSV ({size_mb:.0f} MB, 21 columns, the synthetic police extract's "
        "shape, UTF-8 with `encoding: auto`) through the police mapping: names, dates, "
        "postcodes, five crosswalks, place, group and exploitation types.",
        "",
        "| step | time (s) | rows/s |",
        "|---|---:|---:|",
        f"| DuckDB `read_csv` into a table (the baseline) | {base_s:.1f} | {rows / base_s:,.0f} |",
        f"| joinedup read: encoding detected, checks, staged | {ing['read_s']:.1f} | |",
        f"| joinedup map and validate: parse, quarantine, field quality | {ing['map_s']:.1f} | |",
        f"| **joinedup through mapping and validation** | **{ing_s:.1f}** | "
        f"**{rows / ing_s:,.0f}** |",
        f"| joinedup load: canonical tables written to the release file | {ing['load_s']:.1f} | |",
        f"| joinedup, everything for one source | {ing['total_s']:.1f} | "
        f"{rows / ing['total_s']:,.0f} |",
        "",
        f"Through mapping and validation joinedup runs at **{ratio:.2f}×** DuckDB's raw "
        f"`read_csv` throughput (target: at least 0.33×); with the canonical tables written "
        f"to disk, {total_ratio:.2f}×. {ing['loaded']:,} rows loaded, {ing['quarantined']:,} "
        f"quarantined. Peak memory: baseline {base_mb:,.0f} MB, joinedup {ing_mb:,.0f} MB "
        "(target: about 2 GB at most). Times are measured inside each process, after imports.",
    ]
    print("\n".join(lines))
    print(json.dumps({"baseline_s": base_s, **ing, "ratio": ratio, "total_ratio": total_ratio}))
    write_section("ingest", "\n".join(lines))


if __name__ == "__main__":
    main()
