"""Insight at scale: computing the whole question pack for a release of about a million
records, and reading one stored answer, each beside a plain DuckDB count on the same
release (the baseline these noisy machines need).

1. The pack: in a fresh process, every insight table and every question (what the build's
   insight stage does) on a copy of the release, timed with its peak memory; baseline,
   in another fresh process, ``SELECT count(*) FROM event_person`` on the same file.
2. Reading: ``read_answer`` + ``protect_answer`` of ``children_with_concern`` by ward,
   against the plain DuckDB count that answers the same question from scratch
   (distinct children with a concern by home ward), each the median of 20 runs on one
   open connection.
3. A crossed answer (issue 14): ``read_cross`` + ``protect_crossed`` of
   ``children_with_concern`` by type x authority for the stored default period (with
   its margins protected as a cube), against the plain DuckDB count of the same cross
   from scratch (distinct children by type and home authority with a concern event in the
   period), each the median of 20 runs.

    .venv/bin/python benchmarks/insight.py                    # 100,000 people (~1M records)
    .venv/bin/python benchmarks/insight.py --people 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import duckdb

from _common import ROOT, machine, measure, python, write_section

WORK = ROOT / "benchmarks" / ".work"

PACK = """
import datetime as dt, json, sys
import duckdb
from joinedup.config import load_config
from joinedup.insight import compute_insight, load_questions
from joinedup.release.schema import TABLES

base, db = sys.argv[1], sys.argv[2]
con = duckdb.connect(db)
first = [t.name for t in TABLES].index("person_concern")
for t in TABLES[first:]:
    con.execute(f'DROP TABLE IF EXISTS "{t.name}"')
    con.execute(t.create_sql())
cfg = load_config(base, check_files=False)
types = {a.id: a.type for a in cfg.agencies}
by_type = {}
for s in cfg.sources:
    by_type.setdefault(types[s.agency], []).append(s.id)
ref = dt.date.fromisoformat(
    con.execute("SELECT value FROM release_info WHERE key = 'reference_date'").fetchone()[0]
)
compute_insight(con, questions=load_questions(base), agency_types=types,
                sources_by_type=by_type, reference=ref)
con.execute("CHECKPOINT")
con.close()
"""

BASELINE = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SELECT count(*) FROM event_person").fetchall()
"""

CROSS_PLAIN = """SELECT c.report_group, p.home_authority, count(DISTINCT c.person_id)
FROM person_concern c JOIN person p USING (person_id)
WHERE c.age_at_event < 18 AND c.role IS DISTINCT FROM 'witness'
  AND c.event_date BETWEEN ? AND ?
GROUP BY GROUPING SETS ((1, 2), (1), (2), ())"""

PLAIN = """SELECT p.home_ward, count(DISTINCT p.person_id)
FROM event_exploitation x
JOIN event_person ep USING (event_id)
JOIN record_person rp ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id
JOIN person p ON p.person_id = rp.person_id
WHERE nullif(trim(x.exploitation_type), '') IS NOT NULL AND p.age < 18
  AND ep.role IN ('victim', 'subject')
GROUP BY 1"""


def ensure_release(people: int) -> Path:
    folder = WORK / f"insight-p{people}"
    cli = str(ROOT / ".venv" / "bin" / "joinedup")
    if (folder / "releases" / "CURRENT").is_file() and not _has_periods(folder):
        subprocess.run([cli, "build", str(folder)], check=True)  # built before periods
    if not (folder / "releases" / "CURRENT").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [cli, "synth", str(folder), "--people", str(people), "--seed", "1"], check=True
        )
        subprocess.run([cli, "build", str(folder)], check=True)
    return folder


def _has_periods(folder: Path) -> bool:
    from joinedup.release import open_current

    con = duckdb.connect(str(open_current(folder).db_path), read_only=True)
    try:
        found = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'question_cross'"
        ).fetchone()
        return bool(found and found[0])
    finally:
        con.close()


def median_seconds(fn, runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()
    folder = ensure_release(args.people)
    from joinedup.disclosure import Tier
    from joinedup.insight import read_answer
    from joinedup.release import open_current
    from joinedup.views.answers import protect_answer

    db = open_current(folder).db_path
    con = duckdb.connect(str(db), read_only=True)
    records = con.execute("SELECT count(*) FROM record").fetchone()[0]
    persons = con.execute("SELECT count(*) FROM person").fetchone()[0]
    questions = con.execute("SELECT count(*) FROM question").fetchone()[0]
    read_s = median_seconds(
        lambda: protect_answer(read_answer(con, "children_with_concern", by="ward"), Tier.STRATEGIC)
    )
    plain_s = median_seconds(lambda: con.execute(PLAIN).fetchall())
    from joinedup.insight import read_cross
    from joinedup.views.crosses import protect_crossed

    by = ("exploitation_type", "authority")
    cross = read_cross(con, "children_with_concern", by)
    window = [cross.period.start, cross.period.end]
    cross_s = median_seconds(
        lambda: protect_crossed(read_cross(con, "children_with_concern", by), Tier.STRATEGIC)
    )
    cross_plain_s = median_seconds(lambda: con.execute(CROSS_PLAIN, window).fetchall())
    con.close()

    copy = WORK / f"insight-p{args.people}-pack.duckdb"
    shutil.copy(db, copy)
    pack = measure(python("-c", PACK, str(folder), str(copy)))
    base = measure(python("-c", BASELINE, str(copy)))
    copy.unlink()

    figures = {
        "people": args.people,
        "records": records,
        "persons": persons,
        "questions": questions,
        "pack_s": round(pack.seconds, 2),
        "pack_mb": round(pack.peak_mb),
        "baseline_s": round(base.seconds, 2),
        "read_ms": round(read_s * 1000, 2),
        "plain_ms": round(plain_s * 1000, 2),
        "cross_ms": round(cross_s * 1000, 2),
        "cross_plain_ms": round(cross_plain_s * 1000, 2),
        "cross_ratio": round(cross_s / cross_plain_s, 2),
    }
    print(json.dumps(figures, indent=1))
    body = "\n".join(
        [
            f"Measured {dt.date.today().isoformat()} on {machine()} with "
            f"`.venv/bin/python benchmarks/insight.py --people {args.people}`.",
            "",
            "| source records | persons | questions | whole pack (s) | pack peak (MB) "
            "| fresh-process DuckDB count (s) | pack ÷ count |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {records:,} | {persons:,} | {questions} | {pack.seconds:.1f} | {pack.peak_mb:.0f} "
            f"| {base.seconds:.2f} | {pack.seconds / base.seconds:.1f} |",
            "",
            "| read one stored answer by ward, protected (ms) | the same count from scratch "
            "in DuckDB (ms) | read ÷ count |",
            "|---:|---:|---:|",
            f"| {read_s * 1000:.1f} | {plain_s * 1000:.1f} | {read_s / plain_s:.2f} |",
            "",
            f"| read a crossed answer (type x authority, {cross.period.label}), protected "
            "as a cube (ms) | the same cross counted from scratch in DuckDB (ms) "
            "| read ÷ count |",
            "|---:|---:|---:|",
            f"| {cross_s * 1000:.1f} | {cross_plain_s * 1000:.1f} "
            f"| {cross_s / cross_plain_s:.2f} |",
        ]
    )
    write_section(
        "insight", "## Insight\n\n" + __doc__.split("\n\n")[0].replace("\n", " ") + "\n\n" + body
    )


if __name__ == "__main__":
    main()
