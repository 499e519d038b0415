"""Monthly builds (issue 15): an incremental build equals a full relink, unchanged persons
keep their ids, the reuse store holds only what changed, and `joinedup build` says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from joinedup.config.model import LinkageConfig
from joinedup.linkage import link_persons
from joinedup.linkage.incremental import open_store, store_dir
from joinedup.pipeline.link import linkage_summary
from joinedup.release import open_current

SECRET = b"incremental-test-secret-" * 2
TABLES = (
    "record_person",
    "link_pair",
    "person_flag",
    "person_change",
    "linkage_model",
    "linkage_report",
)


def _copy(src: Path, dst: Path, *, drop_every: int = 0) -> duckdb.DuckDBPyConnection:
    """A copy of a release with its linkage emptied (and every n-th police and A&E record
    left out: they arrive next month)."""
    shutil.copy(src, dst)
    c = duckdb.connect(str(dst))
    for t in TABLES:
        c.execute(f"DELETE FROM {t}")
    if drop_every:
        for t in ("identity", "record"):
            c.execute(
                f"DELETE FROM {t} WHERE source IN ('health_ae', 'police_crimes') "
                f"AND hash(source_record_id) % {drop_every} = 0"
            )
    return c


def _persons(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(
        con.execute(
            "SELECT source || '/' || source_record_id, person_id FROM record_person"
        ).fetchall()
    )


def _groups(rp: dict[str, str]) -> set[frozenset[str]]:
    by: dict[str, set[str]] = {}
    for rec, pid in rp.items():
        by.setdefault(pid, set()).add(rec)
    return {frozenset(v) for v in by.values()}


def _section(con: duckdb.DuckDBPyConnection, section: str) -> dict[str, tuple[float, str]]:
    rows = con.execute(
        "SELECT item, value, detail FROM linkage_report WHERE section = ?", [section]
    ).fetchall()
    return {item: (value, detail) for item, value, detail in rows}


@pytest.fixture(scope="module")
def months(synth_built: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Last month's release (some records not yet arrived), then this month's built
    incrementally on top of it and as a full relink of the same records."""
    src = open_current(synth_built).db_path
    work = tmp_path_factory.mktemp("months")
    # flag every person of more than 3 records, so that many kept persons carry a flag
    cfg = LinkageConfig(flag_cluster_records=3)
    with _copy(src, work / "prev.duckdb", drop_every=30) as prev:
        first = link_persons(prev, SECRET, config=cfg)
        before = _persons(prev)
    with _copy(src, work / "incr.duckdb") as now:
        # one record that was there last month changed its surname
        changed = now.execute(
            "SELECT source, source_record_id FROM identity WHERE surname IS NOT NULL "
            "AND source NOT IN ('health_ae', 'police_crimes') ORDER BY ALL LIMIT 1"
        ).fetchall()[0]
        now.execute(
            "UPDATE identity SET surname = surname || 'X' WHERE source = ? "
            "AND source_record_id = ?",
            list(changed),
        )
        incr = link_persons(now, SECRET, config=cfg, previous=work / "prev.duckdb")
        after = _persons(now)
        stable = _section(now, "stable_ids")
        run = _section(now, "run")
    with _copy(src, work / "full.duckdb") as full:
        full.execute(
            "UPDATE identity SET surname = surname || 'X' WHERE source = ? "
            "AND source_record_id = ?",
            list(changed),
        )
        relink = link_persons(full, SECRET, config=cfg, previous=work / "prev.duckdb", relink=True)
        relinked = _persons(full)
        full_run = _section(full, "run")
    return {
        "work": work,
        "first": first,
        "incr": incr,
        "relink": relink,
        "before": before,
        "after": after,
        "relinked": relinked,
        "stable": stable,
        "run": run,
        "full_run": full_run,
        "changed": "/".join(changed),
    }


def test_incremental_build_equals_a_full_relink(months: dict) -> None:
    incr, relink = months["incr"], months["relink"]
    assert months["first"].mode == "full"
    assert incr.mode == "incremental" and relink.mode == "full"
    # the held-back records and the changed one are new or changed; nothing else is
    assert incr.new_records == len(months["after"]) - len(months["before"]) + 1
    assert 0 < incr.new_records < 0.1 * incr.records
    assert incr.reclustered < 0.2 * incr.records
    # the same persons, record for record, and the same ids
    assert _groups(months["after"]) == _groups(months["relinked"])
    assert months["after"] == months["relinked"]
    # the incremental build scored only pairs touching a new or changed record
    assert months["run"]["pairs_scored"][0] < 0.2 * months["full_run"]["pairs_scored"][0]
    assert months["run"]["reuse_store"][1] == "used"
    # a relink reuses the stored model: the data has hardly moved since it was trained
    assert months["full_run"]["model"][1].startswith("reused")


def test_unchanged_persons_keep_their_ids(months: dict) -> None:
    before, after, changed = months["before"], months["after"], months["changed"]
    # every person of last month none of whose records changed
    by_person: dict[str, list[str]] = {}
    for rec, pid in before.items():
        by_person.setdefault(pid, []).append(rec)
    unchanged = {p: recs for p, recs in by_person.items() if changed not in recs}
    kept = sum(all(after[r] == p for r in recs) for p, recs in unchanged.items())
    assert kept >= 0.995 * len(unchanged)
    stable = months["stable"]
    assert stable["unchanged_persons"][0] == len(unchanged)
    assert stable["kept_id"][0] == kept
    assert stable["kept_share"][0] >= 0.995
    # those that did not keep theirs are counted, with why
    assert stable["merged"][0] + stable["split"][0] == len(unchanged) - kept
    assert "larger earlier person" in stable["merged"][1]


def test_reuse_store_holds_only_what_changed(months: dict) -> None:
    work = months["work"]
    prev, incr = open_store(work / "prev.duckdb"), open_store(work / "incr.duckdb")
    assert prev is not None and incr is not None
    # the earlier parts are carried (hard-linked), the new ones hold the new records only
    assert set(prev.inputs) < set(incr.inputs) and set(prev.scores) < set(incr.scores)
    new_part = store_dir(work / "incr.duckdb") / incr.inputs[-1]
    gone_part = store_dir(work / "incr.duckdb") / incr.gone[-1]
    with duckdb.connect() as c:
        n = c.execute(f"SELECT count(*) FROM read_parquet('{new_part}')").fetchall()[0][0]
        gone = c.execute(f"SELECT count(*) FROM read_parquet('{gone_part}')").fetchall()[0][0]
    assert n == months["incr"].new_records
    assert gone == 1  # the changed record's earlier row
    assert incr.max_uid > prev.max_uid


def test_a_month_with_nothing_new_scores_nothing(months: dict) -> None:
    work = months["work"]
    shutil.copy(work / "incr.duckdb", work / "again.duckdb")
    with duckdb.connect(str(work / "again.duckdb")) as c:
        for t in TABLES:
            c.execute(f"DELETE FROM {t}")
        out = link_persons(c, SECRET, config=LinkageConfig(), previous=work / "incr.duckdb")
        again = _persons(c)
        run = _section(c, "run")
    assert out.mode == "incremental" and out.new_records == 0
    assert run["pairs_scored"][0] == 0
    assert again == months["after"]
    summary = linkage_summary(work / "again.duckdb")
    assert summary is not None and summary.startswith("Linkage: incremental")
    assert "0 new or changed records (0.0%)" in summary


def test_build_relink_flag_says_what_it_did(synth_built: Path, tmp_path: Path) -> None:
    from joinedup.cli import cli

    part = tmp_path / "partnership"
    shutil.copytree(synth_built, part)
    result = CliRunner().invoke(cli, ["build", str(part), "--relink"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    linkage = next(line for line in lines if line.startswith("Linkage:"))
    assert "full relink (asked for with --relink)" in linkage
    assert "record pairs scored" in linkage and "model reused" in linkage
    # the release's path is still the last line (CONTRACTS.md)
    assert lines[-1] == str(open_current(part).db_path)
    meta = json.loads((store_dir(open_current(part).db_path) / "meta.json").read_text())
    assert meta["input"] and meta["scores"]


def _live_pairs(db: Path) -> int:
    """Scored pairs in a release's reuse store between records still there."""
    store = open_store(db)
    assert store is not None
    gone = ""
    if store.gone:
        gone = f"ANTI JOIN read_parquet({store.paths('gone')}) g USING (unique_id)"
    with duckdb.connect() as c:
        c.execute(
            "CREATE TABLE live AS SELECT unique_id FROM "
            f"read_parquet({store.paths('input')}) i {gone}"
        )
        return int(
            c.execute(
                f"SELECT count(*) FROM read_parquet({store.paths('scores')}) "
                "WHERE unique_id_l IN (SELECT unique_id FROM live) "
                "AND unique_id_r IN (SELECT unique_id FROM live)"
            ).fetchall()[0][0]
        )


def test_previous_release_without_a_store(months: dict) -> None:
    """A release built before the reuse store: the build is still incremental, and the
    store it leaves holds every pair, the kept persons' own links included."""
    work = months["work"]
    shutil.copy(work / "prev.duckdb", work / "old.duckdb")  # no store beside it
    with _copy(work / "incr.duckdb", work / "after_old.duckdb") as c:
        out = link_persons(c, SECRET, config=LinkageConfig(), previous=work / "old.duckdb")
        run = _section(c, "run")
        got = _persons(c)
    assert out.mode == "incremental" and run["reuse_store"][1] == "none"
    assert got == months["after"]
    assert _live_pairs(work / "after_old.duckdb") == _live_pairs(work / "incr.duckdb")


def test_component_labels_match_networkx() -> None:
    """The in-memory connected components (clusters.component_labels) on random graphs."""
    import random

    import networkx as nx
    import numpy as np

    from joinedup.linkage.clusters import component_labels

    rng = random.Random(42)
    for n, m in ((1, 0), (30, 10), (200, 150), (500, 900)):
        a = [rng.randrange(n) for _ in range(m)]
        b = [rng.randrange(n) for _ in range(m)]
        got = component_labels(n, np.array(a, dtype=np.int64), np.array(b, dtype=np.int64))
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_edges_from(zip(a, b, strict=True))
        want = {x: min(c) for c in nx.connected_components(g) for x in c}
        assert got.tolist() == [want[x] for x in range(n)]


def test_sorted_unique_matches_numpy() -> None:
    """clusters.sorted_unique (used in place of np.unique, which is slow on numpy 2.4)."""
    import numpy as np

    from joinedup.linkage.clusters import sorted_unique

    rng = np.random.default_rng(7)
    for size, high in ((0, 1), (1, 5), (50, 10), (10_000, 3_000), (10_000, 2**62)):
        x = rng.integers(-high, high, size=size, dtype=np.int64)
        got = sorted_unique(x)
        assert got.dtype == np.int64
        assert got.tolist() == np.unique(x).tolist()


def test_incremental_release_tables_equal_a_full_relink(months: dict) -> None:
    """Not only the same persons: every record's rule and every flag, whether copied from
    last month (a person nothing touched) or written afresh. A kept person's probability
    is last month's score (term frequencies counted then), so it may differ a little."""
    work = months["work"]

    def rows(name: str) -> tuple[dict[tuple, float], set[tuple]]:
        with duckdb.connect(str(work / name), read_only=True) as c:
            rp = {
                (src, rid, pid, rule): prob
                for src, rid, pid, rule, prob in c.execute(
                    "SELECT source, source_record_id, person_id, rule, match_probability "
                    "FROM record_person"
                ).fetchall()
            }
            flags = set(c.execute("SELECT person_id, flag, detail FROM person_flag").fetchall())
        return rp, flags

    incr_rp, incr_flags = rows("incr.duckdb")
    full_rp, full_flags = rows("full.duckdb")
    assert len(incr_rp) == len(months["after"])
    assert incr_rp.keys() == full_rp.keys()
    assert max(abs(incr_rp[k] - full_rp[k]) for k in incr_rp) < 0.01
    assert len(incr_flags) > 100
    assert incr_flags == full_flags
