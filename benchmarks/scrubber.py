"""How well the free-text scrubber does on the synthetic partnership's notes (issue 20).

Not a timing: a measurement of what the scrubber leaves behind. The synthetic voluntary
service's notes carry identifying values the generator records in
truth/planted_note_values.csv (names, dates, addresses, postcodes, phone numbers, NHS
numbers); a held-back sample of note templates, which the scrubber was not written
against (names with no cue before them, a name typed in lower case, an online nickname, a
street named without a number), is planted beside them. This builds a partnership and
counts, per kind and sample, the planted values still present in the scrubbed text.
Figures go to docs/benchmarks.md ("Scrubber").

    .venv/bin/python benchmarks/scrubber.py --people 20000
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
from collections import Counter

import duckdb

from _common import ROOT, write_section
from joinedup.pipeline import build
from joinedup.release import open_current
from joinedup.synth import generate

WORK = ROOT / "benchmarks" / ".work" / "scrubber"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    generate(WORK, people=args.people, seed=args.seed)
    build(WORK)
    with open(WORK / "truth" / "planted_note_values.csv", encoding="utf-8") as fh:
        planted = list(csv.DictReader(fh))
    con = duckdb.connect(str(open_current(WORK).db_path), read_only=True)
    scrubbed = {
        (str(s), str(r)): str(t)
        for s, r, t in con.execute(
            "SELECT n.source, n.source_record_id, s.text FROM note n "
            "JOIN note_scrubbed s USING (note_id)"
        ).fetchall()
    }
    con.close()
    total: Counter[tuple[str, str]] = Counter()
    missed: Counter[tuple[str, str]] = Counter()
    for row in planted:
        key = (row["source"], row["source_record_id"])
        if key not in scrubbed:
            continue
        sample = "held back" if row["held_back"] == "1" else "main"
        total[(sample, row["kind"])] += 1
        pattern = rf"(?<!\w){re.escape(row['value'])}(?!\w)"
        if re.search(pattern, scrubbed[key], re.IGNORECASE):
            missed[(sample, row["kind"])] += 1
    lines = [
        f"Synthetic partnership of {args.people:,} people (seed {args.seed}): "
        f"{len(scrubbed):,} notes scrubbed. Planted identifying values still present after "
        "scrubbing, by sample and kind:",
        "",
        "| sample | kind | planted | still present | share missed |",
        "|---|---|---:|---:|---:|",
    ]
    for sample, kind in sorted(total):
        n, m = total[(sample, kind)], missed[(sample, kind)]
        lines.append(f"| {sample} | {kind} | {n:,} | {m:,} | {m / n:.1%} |")
    lines += [
        "",
        "The main sample is what `tests/test_scrubber.py` requires to be gone entirely. The "
        "held-back sample shows what a pattern scrubber cannot know: a friend's name that "
        "appears in no agency's records and has no cue before it, a name typed in lower "
        "case, an online nickname, a street named without a number. That is why scrubbed "
        "notes are still shown only to the tiers their source's agreement allows.",
        "",
        f"Command: `.venv/bin/python benchmarks/scrubber.py --people {args.people}`",
    ]
    body = "\n".join(lines)
    write_section("Scrubber", body)
    print(body)


if __name__ == "__main__":
    main()
