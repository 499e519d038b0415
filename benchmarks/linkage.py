"""Person linkage: joinedup vs plain Splink (tutorial configuration) vs exact identifiers.

    .venv/bin/python benchmarks/linkage.py                 # 10,000 and 100,000 people
    .venv/bin/python benchmarks/linkage.py --people 10000  # ~100k records only

For each size, in one run on one machine: a synthetic partnership (``joinedup synth``)
is built once with identifier linkage only, to get its canonical ``identity`` and
``record`` tables; then each method links those same records in a child process (wall
time and peak memory of the child), and is scored against ``truth/record_person.csv``:

- joinedup: identifiers, then Splink with joinedup's model, clusters and ids (a full build);
- generic Splink: the configuration of Splink's own example for person records
  ("deduplicate 50k synthetic") on the same columns (``linkage.settings.generic_settings``),
  clustered with Splink at 0.95;
- exact: identifier links only (``linkage.exact.exact_record_person``).

At the largest size, an incremental build: the release is first linked without 2% of the
records (A&E attendances and police records whose id hashes to a bucket), then the full
set is linked incrementally against it; its time is given as a ratio to the full relink.
Figures go to docs/benchmarks.md (section ``linkage``) and the blocking-rule pair counts
and accuracy at the first size to docs/linkage.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, machine, measure, python, write_section

SECRET = b"benchmark-secret-" * 4
LINKAGE_TABLES = (
    "record_person",
    "link_pair",
    "person_flag",
    "person_change",
    "linkage_model",
    "linkage_report",
)


# --- child steps (run in their own process) ---------------------------------------------


def _open(db: str):  # type: ignore[no-untyped-def]
    import duckdb

    con = duckdb.connect(db)
    for t in LINKAGE_TABLES:
        con.execute(f"DELETE FROM {t}")
    return con


def _metrics(con, partnership: Path) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from joinedup.linkage import truth_metrics

    return truth_metrics(
        con,
        partnership / "truth" / "record_person.csv",
        voluntary_sources=["brightpath_support"],
    )


def child_joinedup(db: str, partnership: Path, previous: str | None, out: Path) -> None:
    from joinedup.config.model import LinkageConfig
    from joinedup.linkage import link_persons

    con = _open(db)
    t = time.perf_counter()
    outcome = link_persons(
        con, SECRET, config=LinkageConfig(), previous=Path(previous) if previous else None
    )
    seconds = time.perf_counter() - t
    blocking = dict(
        con.execute("SELECT item, value FROM linkage_report WHERE section = 'blocking'").fetchall()
    )
    result = {
        "seconds": seconds,
        "mode": outcome.mode,
        "persons": outcome.persons,
        "new_records": outcome.new_records,
        "records": outcome.records,
        "steps": outcome.seconds,
        "blocking": blocking,
        **_metrics(con, partnership),
    }
    con.execute("CHECKPOINT")
    con.close()
    out.write_text(json.dumps(result))


def child_generic(db: str, partnership: Path, out: Path) -> None:
    import logging

    from splink import DuckDBAPI, Linker

    from joinedup.linkage.features import INPUT_TABLE, prepare_input
    from joinedup.linkage.settings import (
        GENERIC_EM_RULES,
        GENERIC_PRIOR_RECALL,
        GENERIC_PRIOR_RULES,
        GENERIC_THRESHOLD,
        GENERIC_U_PAIRS,
        generic_settings,
    )

    con = _open(db)
    t = time.perf_counter()
    prepare_input(con)
    con.execute(
        "CREATE TEMP TABLE _gen_input AS SELECT unique_id, forename, surname, "
        "forename || ' ' || surname AS forename_surname, dob_str, postcode "
        f"FROM {INPUT_TABLE}"
    )
    api = DuckDBAPI(connection=con)
    linker = Linker(
        api.register("_gen_input", dataset_display_name="records"),
        generic_settings(),
        log_level=logging.ERROR,
    )
    linker.training.estimate_probability_two_random_records_match(
        list(GENERIC_PRIOR_RULES), recall=GENERIC_PRIOR_RECALL
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=GENERIC_U_PAIRS, seed=42)
    for rule in GENERIC_EM_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    pred = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, GENERIC_THRESHOLD)
    con.execute(
        "INSERT INTO record_person SELECT i.source, i.source_record_id, "
        "'G' || c.cluster_id::VARCHAR, 1.0, 'generic' "
        f"FROM {clusters.physical_name} c JOIN {INPUT_TABLE} i USING (unique_id)"
    )
    seconds = time.perf_counter() - t
    out.write_text(json.dumps({"seconds": seconds, **_metrics(con, partnership)}))


def child_exact(db: str, partnership: Path, out: Path) -> None:
    from joinedup.linkage import exact_record_person

    con = _open(db)
    t = time.perf_counter()
    exact_record_person(con, SECRET)
    seconds = time.perf_counter() - t
    out.write_text(json.dumps({"seconds": seconds, **_metrics(con, partnership)}))


def child_holdback(db: str) -> None:
    """Remove 2% of records: those that arrive in next month's extract."""
    import duckdb

    con = duckdb.connect(db)
    for t in ("identity", "record"):
        con.execute(
            f"DELETE FROM {t} WHERE source IN ('health_ae', 'police_crimes') "
            "AND hash(source_record_id) % 100 < 3"
        )
    con.close()


# --- the parent -------------------------------------------------------------------------


def _run(step: list[str], out: Path) -> dict[str, float]:
    m = measure(python(str(Path(__file__).resolve()), "--child", *step, "--out", str(out)))
    result: dict[str, float] = json.loads(out.read_text())
    result["wall"] = m.seconds
    result["peak_mb"] = m.peak_mb
    return result


def prepare(work: Path, people: int, seed: int) -> tuple[Path, Path]:
    """A synthetic partnership and a release of it with identifier linkage only."""
    import duckdb

    from joinedup.release import open_current
    from joinedup.release.build import build_release
    from joinedup.synth import generate

    part = work / f"p{people}"
    if not (part / "partnership.yaml").exists():
        generate(part, people=people, seed=seed)
    cfg = part / "partnership.yaml"
    text = cfg.read_text()
    if "\nlinkage:" not in text:
        cfg.write_text(text + "\nlinkage:\n  probabilistic: false\n")
    base = work / f"base{people}.duckdb"
    if not base.exists():
        build_release(part)
        shutil.copy(open_current(part).db_path, base)
    with duckdb.connect(str(base), read_only=True) as con:
        con.execute("SELECT count(*) FROM identity").fetchall()
    return part, base


def bench(work: Path, people: int, seed: int, incremental: bool) -> dict[str, dict[str, float]]:
    part, base = prepare(work, people, seed)
    res: dict[str, dict[str, float]] = {}
    for name, extra in (("joinedup", ["-"]), ("generic", []), ("exact", [])):
        db = work / f"{name}{people}.duckdb"
        shutil.copy(base, db)
        res[name] = _run([name, str(db), str(part), *extra], work / f"{name}.json")
        print(people, name, json.dumps(res[name]), flush=True)
    if incremental:
        prev = work / f"prev{people}.duckdb"
        shutil.copy(base, prev)
        measure(python(str(Path(__file__).resolve()), "--child", "holdback", str(prev)))
        res["previous"] = _run(["joinedup", str(prev), str(part), "-"], work / "prev.json")
        db = work / f"incr{people}.duckdb"
        shutil.copy(base, db)
        res["incremental"] = _run(["joinedup", str(db), str(part), str(prev)], work / "incr.json")
        print(people, "incremental", json.dumps(res["incremental"]), flush=True)
    return res


def _row(name: str, r: dict[str, float], base: dict[str, float]) -> str:
    return (
        f"| {name} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | "
        f"{r['voluntary_recall']:.3f} | {r['wall']:.1f} | {r['wall'] / base['wall']:.2f}x | "
        f"{r['peak_mb']:.0f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--child", nargs="+")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "joinedup":
            child_joinedup(rest[0], Path(rest[1]), None if rest[2] == "-" else rest[2], args.out)
        elif kind == "generic":
            child_generic(rest[0], Path(rest[1]), args.out)
        elif kind == "exact":
            child_exact(rest[0], Path(rest[1]), args.out)
        elif kind == "holdback":
            child_holdback(rest[0])
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="joinedup-linkage-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted(args.people)
    lines = [
        f"Measured by `.venv/bin/python benchmarks/linkage.py --people "
        f"{' '.join(map(str, sizes))}` on {machine()} (seed {args.seed}). Each method links "
        "the same canonical records in its own process, from `identity` to persons; "
        "accuracy is against `truth/record_person.csv`. *Voluntary recall* is recall over "
        "true pairs involving a voluntary-sector record (first name, date of birth and "
        "postcode district only). Time ratio is to generic Splink in the same run.",
        "",
    ]
    first_blocking: dict[str, float] = {}
    first_acc: dict[str, float] = {}
    first_people = 0
    for people in sizes:
        res = bench(work, people, args.seed, incremental=people == sizes[-1])
        g = res["generic"]
        lines += [
            f"**{people:,} people**: {res['joinedup']['records']:,.0f} records, "
            f"{res['joinedup']['persons_true']:,.0f} true persons.",
            "",
            "| method | precision | recall | F1 | voluntary recall | seconds | time vs generic "
            "| peak MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            _row("joinedup (identifiers + Splink)", res["joinedup"], g),
            _row("plain Splink, tutorial configuration", g, g),
            _row("exact identifiers only", res["exact"], g),
            "",
        ]
        if "incremental" in res:
            inc, full = res["incremental"], res["joinedup"]
            lines += [
                f"Incremental build at {people:,} people: "
                f"{inc['new_records']:,.0f} new records "
                f"({100 * inc['new_records'] / inc['records']:.1f}%) linked "
                f"against the previous release in {inc['wall']:.1f} s against "
                f"{full['wall']:.1f} s for a full relink: **{full['wall'] / inc['wall']:.1f}x "
                f"faster** (F1 {inc['f1']:.4f}, precision {inc['precision']:.4f}; "
                f"mode {inc['mode']}).",
                "",
            ]
        if not first_blocking:
            first_blocking = res["joinedup"]["blocking"]  # type: ignore[assignment]
            first_acc = res["joinedup"]
            first_people = people
    write_section("linkage", "\n".join(lines))
    print("\n".join(lines))
    _write_linkage_doc(first_people, first_blocking, first_acc)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


def _write_linkage_doc(people: int, blocking: dict[str, float], acc: dict[str, float]) -> None:
    import re

    doc = ROOT / "docs" / "linkage.md"
    text = doc.read_text()
    table = [
        f"At {people:,} people (`benchmarks/linkage.py`):",
        "",
        "| rule | pairs scored |",
        "|---|---:|",
        *[f"| {k} | {v:,.0f} |" for k, v in blocking.items()],
        f"| total | {sum(blocking.values()):,.0f} |",
    ]
    acc_lines = [
        f"At {people:,} people (`benchmarks/linkage.py`): pairwise precision "
        f"{acc['precision']:.4f}, recall {acc['recall']:.4f}, F1 {acc['f1']:.4f}; "
        f"voluntary-sector recall {acc['voluntary_recall']:.3f}; persons found whole "
        f"{acc['cluster_recall']:.3f}, persons holding one true person only "
        f"{acc['cluster_precision']:.3f}.",
    ]
    for name, lines in (("linkage-blocking", table), ("linkage-accuracy", acc_lines)):
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        block = f"{start}\n" + "\n".join(lines) + f"\n{end}"
        text = re.sub(
            re.escape(start) + r".*?" + re.escape(end), lambda _, b=block: b, text, flags=re.S
        )
    doc.write_text(text)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
