"""What storing cell keys costs (issue 19, item 7): answering the whole question pack with
record and cell keys (the build, which always stores them) against the same pack without
(the baseline: no secret), on copies of one synthetic release, in the same process,
alternating, the median of ``--runs`` each; and reading a period counted on request
(``read_answer`` by sex for chosen months: keyed, as now, against unkeyed).

    .venv/bin/python benchmarks/cell_keys.py                  # 5,000 people
    .venv/bin/python benchmarks/cell_keys.py --people 20000
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import time
from pathlib import Path

import duckdb

from _common import ROOT, machine, write_section

WORK = ROOT / "benchmarks" / ".work" / "cell_keys"


def _pack(db: Path, secret: bytes | None) -> float:
    from joinedup.insight import load_questions
    from joinedup.insight.answers import ALL
    from joinedup.insight.periods import default_period
    from joinedup.insight.results import compute_answers

    con = duckdb.connect(str(db))
    for table in ("question", "question_result", "question_cross", "question_row", "question_unit"):
        con.execute(f'DELETE FROM "{table}"')
    ref = con.execute("SELECT value FROM release_info WHERE key = 'reference_date'").fetchone()
    reference = dt.date.fromisoformat(str(ref[0])) if ref else dt.date.today()
    questions = load_questions(None)
    started = time.perf_counter()
    compute_answers(
        con,
        questions,
        sources_by_type={},
        periods=[default_period("12 months", reference)],
        secret=secret,
    )
    seconds = time.perf_counter() - started
    con.close()
    assert ALL.key == "all"
    return seconds


def _on_request(db: Path, keyed: bool, runs: int) -> float:
    """Median seconds to tally children_with_concern by sex for chosen months from the
    stored rows: with cell keys (as now) or without (the code before)."""
    from joinedup.insight import read_answer
    from joinedup.insight.answers import tally_rows
    from joinedup.insight.periods import custom_period
    from joinedup.insight.tally import rows_sql, tally_keyed

    con = duckdb.connect(str(db), read_only=True)
    period = custom_period("2025-01-01", "2026-03-31")
    info = read_answer(con, "children_with_concern").question
    layout = info.layout
    sets = [(), (layout.col("sex"),)]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        if keyed:
            tally_rows(con, info.id, layout, period, sets)
        else:
            tally_keyed(con, rows_sql(info.id, layout), layout, period, sets, False)
        times.append(time.perf_counter() - started)
    con.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from joinedup.pipeline import build
    from joinedup.release import open_current
    from joinedup.synth import generate

    shutil.rmtree(WORK, ignore_errors=True)
    root = WORK / "partnership"
    generate(root, people=args.people, seed=7)
    started = time.perf_counter()
    build(root)
    whole = time.perf_counter() - started
    src = Path(open_current(root).db_path)
    keyed_db, plain_db = WORK / "keyed.duckdb", WORK / "plain.duckdb"
    shutil.copy(src, keyed_db)
    shutil.copy(src, plain_db)
    secret = b"benchmark-secret-0123456789abcdef0123456789"
    keyed, plain = [], []
    for _ in range(args.runs):
        plain.append(_pack(plain_db, None))
        keyed.append(_pack(keyed_db, secret))
    k, p = statistics.median(keyed), statistics.median(plain)
    rk, rp = _on_request(keyed_db, True, 20), _on_request(keyed_db, False, 20)
    body = (
        f"Cell keys (issue 19): {args.people:,} synthetic people, {machine()}, median of "
        f"{args.runs}.\n\n"
        "| Step | With cell keys | Without (baseline) | Ratio |\n|---|---|---|---|\n"
        f"| Question pack at build (`compute_answers`) | {k:.2f} s | {p:.2f} s | {k / p:.2f} |\n"
        f"| A period counted on request (children_with_concern by sex) | {rk * 1000:.1f} ms "
        f"| {rp * 1000:.1f} ms | {rk / rp:.2f} |\n\n"
        f"The whole build (with cell keys) took {whole:.1f} s: the keys add "
        f"{k - p:.1f} s, {100 * (k - p) / whole:.0f}% of it.\n\n"
        "Command: `.venv/bin/python benchmarks/cell_keys.py "
        f"--people {args.people} --runs {args.runs}`."
    )
    print(body)
    write_section("cell_keys", body)


if __name__ == "__main__":
    main()
