"""Person linkage: nicknames, accuracy against truth, stable ids, incremental builds, review."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from joinedup.linkage import (
    link_persons,
    load_nicknames,
    normalise_name,
    review_queue,
    truth_metrics,
)
from joinedup.linkage.clusters import cluster_flags_sql, connected_components
from joinedup.linkage.ids import assign_person_ids
from joinedup.pipeline import build as build_release
from joinedup.release import open_current

SECRET = b"k" * 64


def _report(con: duckdb.DuckDBPyConnection, section: str) -> dict[str, float | str | None]:
    return {
        item: (value if value is not None else detail)
        for item, value, detail in con.execute(
            "SELECT item, value, detail FROM linkage_report WHERE section = ?", [section]
        ).fetchall()
    }


# --- names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("James", "Jamie"),
        ("JAMES", "jim"),
        ("Elizabeth", "Liz"),
        ("Beth", "Elizabeth"),
        ("Mohammed", "Muhammad"),
        ("Alex", "Alexandra"),
        ("Alex", "Alexander"),
        ("Kasia", "Katarzyna"),
    ],
)
def test_nicknames_are_equivalent(a: str, b: str) -> None:
    assert load_nicknames().equivalent(a, b)


@pytest.mark.parametrize(("a", "b"), [("James", "Elizabeth"), ("Liz", "Jim"), ("Tom", "Sam")])
def test_different_names_are_not_nicknames(a: str, b: str) -> None:
    assert not load_nicknames().equivalent(a, b)


def test_names_compare_without_accents_apostrophes_or_hyphens() -> None:
    assert normalise_name("O’Neill") == normalise_name("O'NEILL") == "ONEILL"
    assert normalise_name("Amélie") == "AMELIE"
    assert normalise_name("Smith-Jones") == "SMITHJONES"
    assert normalise_name("Łukasz") == "LUKASZ"


def test_the_shipped_table_has_one_group_a_line() -> None:
    table = load_nicknames()
    assert len(table.groups) > 150
    assert all(len(g) >= 2 for g in table.groups)


# --- clusters and ids on hand-made tables --------------------------------------------


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    yield c
    c.close()


def test_connected_components_chain_links(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE n AS SELECT range + 1 AS unique_id FROM range(7)")
    con.execute(
        "CREATE TABLE e (unique_id_l BIGINT, unique_id_r BIGINT); "
        "INSERT INTO e VALUES (5, 3), (3, 1), (6, 7)"
    )
    assert connected_components(con, "n", "e", "out") == 4
    labels = dict(con.execute("SELECT unique_id, label FROM out").fetchall())
    assert labels == {1: 1, 2: 2, 3: 1, 4: 4, 5: 1, 6: 6, 7: 6}


def test_cluster_flags_name_counts_not_values(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE inp AS SELECT * FROM (VALUES "
        "(1, DATE '2010-01-01', '9434765919', NULL, NULL), "
        "(2, DATE '2012-05-05', '4010232137', NULL, NULL), "
        "(3, DATE '2010-01-01', NULL, NULL, NULL), "
        "(4, DATE '2010-01-01', NULL, NULL, NULL)) "
        "t(unique_id, dob, nhs_number, upn, pnc_id)"
    )
    con.execute(
        "CREATE TABLE cl AS SELECT * FROM (VALUES (1, 1), (2, 1), (3, 3), (4, 3)) "
        "t(unique_id, label)"
    )
    flags = con.execute(cluster_flags_sql("cl", "inp", max_records=1) + " ORDER BY 1, 2").fetchall()
    assert [(label, flag) for label, flag, _ in flags] == [
        (1, "several_dates_of_birth"),
        (1, "too_large"),
        (1, "two_nhs_numbers"),
        (3, "too_large"),
    ]
    assert all("9434765919" not in detail and "2010" not in detail for _, _, detail in flags)


def _ids_fixture(con: duckdb.DuckDBPyConnection, clusters: list[tuple[int, int]]) -> None:
    con.execute(
        "CREATE OR REPLACE TABLE inp (unique_id BIGINT, source VARCHAR, source_record_id VARCHAR)"
    )
    con.executemany("INSERT INTO inp VALUES (?, 's', ?)", [(u, f"r{u}") for u, _ in clusters])
    con.execute("CREATE OR REPLACE TABLE cl (unique_id BIGINT, label BIGINT)")
    con.executemany("INSERT INTO cl VALUES (?, ?)", clusters)


def test_person_ids_persist_merge_and_split(con: duckdb.DuckDBPyConnection) -> None:
    # release 1: persons {1,2,3}, {4,5}, {6}
    _ids_fixture(con, [(1, 1), (2, 1), (3, 1), (4, 4), (5, 4), (6, 6)])
    first = assign_person_ids(con, SECRET, clusters="cl", inp="inp", previous=None, out="ids")
    assert {c.change for c in first} == {"new"}
    con.execute(
        "CREATE TABLE prev AS SELECT i.source, i.source_record_id, p.person_id "
        "FROM inp i JOIN cl USING (unique_id) JOIN ids p USING (label)"
    )
    before = dict(con.execute("SELECT source_record_id, person_id FROM prev").fetchall())
    # release 2: record 7 joins the first person; {4,5} merges with {6}; 3 splits off
    _ids_fixture(con, [(1, 1), (2, 1), (7, 1), (3, 3), (4, 4), (5, 4), (6, 4)])
    changes = assign_person_ids(con, SECRET, clusters="cl", inp="inp", previous="prev", out="ids")
    after = dict(
        con.execute(
            "SELECT i.source_record_id, p.person_id FROM inp i JOIN cl USING (unique_id) "
            "JOIN ids p USING (label)"
        ).fetchall()
    )
    assert after["r1"] == after["r7"] == before["r1"]  # kept their id; a new record joined
    assert after["r4"] == after["r6"] == before["r4"]  # the larger person keeps its id
    assert after["r3"] not in set(before.values())  # split off: a new id, never reused
    kinds = {(c.change, c.person_id, c.other_person_id) for c in changes}
    assert ("merged", before["r6"], before["r4"]) in kinds
    assert ("split", after["r3"], before["r1"]) in kinds


def _cluster_fixture(con: duckdb.DuckDBPyConnection) -> None:
    """Seven records: A={1,2} and B={4,5} are two persons; 3 is a voluntary-sector record
    (no surname) that scores above the threshold with both; 6 has no date of birth; 7 is
    new and links to 6 only."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_input AS SELECT * FROM (VALUES "
        "(1, 's', '1', 'TAYLOR', DATE '2012-03-04'), (2, 's', '2', 'TAYLOR', DATE '2012-03-04'), "
        "(3, 'v', '3', NULL, DATE '2012-03-04'), (4, 's', '4', 'JONES', DATE '2012-03-04'), "
        "(5, 's', '5', 'JONES', DATE '2012-03-04'), (6, 's', '6', 'JONES', NULL), "
        "(7, 's', '7', 'JONES', DATE '2012-03-04')) "
        "t(unique_id, source, source_record_id, surname, dob)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_scored AS SELECT * FROM (VALUES "
        "(1, 2, 20.0), (1, 3, 9.0), (3, 4, 8.0), (4, 5, 20.0), (5, 6, 10.0), (6, 7, 9.0)) "
        "t(unique_id_l, unique_id_r, match_weight)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_exact (unique_id_l BIGINT, unique_id_r BIGINT)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_dec "
        "(unique_id_l BIGINT, unique_id_r BIGINT, decision VARCHAR)"
    )


def _persons(con: duckdb.DuckDBPyConnection) -> set[frozenset[int]]:
    rows = con.execute(
        "SELECT list(unique_id ORDER BY unique_id) FROM _ju_lk_cluster GROUP BY label"
    ).fetchall()
    return {frozenset(r[0]) for r in rows}


def test_a_thin_record_cannot_join_two_persons(con: duckdb.DuckDBPyConnection) -> None:
    from joinedup.config.model import LinkageConfig
    from joinedup.linkage.resolve import cluster_records, nodes_full

    _cluster_fixture(con)
    nodes_full(con)
    cluster_records(con, LinkageConfig())
    # 3 (no surname) joins its best match only; 6 (no date of birth) likewise, and 7 links
    # to 6 alone, so 7 does not reach B through it
    assert _persons(con) == {frozenset({1, 2, 3}), frozenset({4, 5, 6}), frozenset({7})}


def test_a_thin_record_has_its_own_threshold(con: duckdb.DuckDBPyConnection) -> None:
    from joinedup.config.model import LinkageConfig
    from joinedup.linkage.resolve import cluster_records, nodes_full

    _cluster_fixture(con)
    # record 8: no surname, probability 0.92 with record 1 (below the match threshold)
    con.execute("INSERT INTO _ju_lk_input VALUES (8, 'v', '8', NULL, DATE '2012-03-04')")
    con.execute("INSERT INTO _ju_lk_scored VALUES (1, 8, 3.5)")
    nodes_full(con)
    cluster_records(con, LinkageConfig(thin_match_threshold=None))  # the match threshold
    assert frozenset({8}) in _persons(con)
    cluster_records(con, LinkageConfig(thin_match_threshold=0.9))
    assert frozenset({1, 2, 3, 8}) in _persons(con)
    # the lower bar is for thin records only: a pair of full records at 3.5 stays apart
    con.execute("UPDATE _ju_lk_input SET surname = 'TAYLOR' WHERE unique_id = 8")
    cluster_records(con, LinkageConfig(thin_match_threshold=0.9))
    assert frozenset({8}) in _persons(con)


def test_incremental_clustering_keeps_untouched_persons_whole(
    con: duckdb.DuckDBPyConnection,
) -> None:
    from joinedup.config.model import LinkageConfig
    from joinedup.linkage.resolve import cluster_records, nodes_incremental

    _cluster_fixture(con)
    # last release: records 1-6 as persons PA={1,2,3}, PB={4,5}, PC={6}; 7 is new and now
    # scores with 5 as well, so it joins PB; record 9 of PC was removed, so PC is reopened
    con.execute("INSERT INTO _ju_lk_scored VALUES (5, 7, 15.0)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_old AS SELECT * FROM _ju_lk_input WHERE unique_id <= 6"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_prev_rp AS SELECT * FROM (VALUES "
        "('s', '1', 'PA'), ('s', '2', 'PA'), ('v', '3', 'PA'), ('s', '4', 'PB'), "
        "('s', '5', 'PB'), ('s', '6', 'PC'), ('s', '9', 'PC')) "
        "t(source, source_record_id, person_id)"
    )
    opened = nodes_incremental(con)
    assert opened == 2  # record 7 (new) and record 6 (its person lost record 9)
    cluster_records(con, LinkageConfig())
    assert _persons(con) == {frozenset({1, 2, 3}), frozenset({4, 5, 6, 7})}


# --- the synthetic partnership ---------------------------------------------------------


def test_linkage_meets_targets_against_truth(synth_built: Path) -> None:
    """Pairwise F1 >= 0.98 with precision >= 0.99, voluntary-sector recall >= 0.9."""
    with open_current(synth_built).connect() as c:
        pairs = _report(c, "truth_pairs")
        run = _report(c, "run")
        rules = _report(c, "links_by_rule")
        # the stored report is what an independent count of record_person says
        again = truth_metrics(
            c,
            synth_built / "truth" / "record_person.csv",
            voluntary_sources=["brightpath_support"],
        )
    assert run["mode"] == "full"
    assert pairs["precision"] >= 0.99
    assert pairs["f1"] >= 0.98
    assert pairs["voluntary_recall"] >= 0.9
    assert again["f1"] == pytest.approx(pairs["f1"])
    assert rules["probabilistic"] > 0 and rules["nhs_number"] > 0


def test_release_holds_model_chart_and_report(synth_built: Path) -> None:
    import json

    with open_current(synth_built).connect() as c:
        model = dict(c.execute("SELECT key, value FROM linkage_model").fetchall())
        sections = {
            r[0] for r in c.execute("SELECT DISTINCT section FROM linkage_report").fetchall()
        }
        blocking = _report(c, "blocking")
        leftovers = c.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%splink%' "
            "OR table_name LIKE '_ju_%'"
        ).fetchall()
    settings = json.loads(model["model"])
    names = {cmp["output_column_name"] for cmp in settings["comparisons"]}
    assert names == {"forename", "surname", "dob", "sex", "postcode", "identifiers"} | {
        "declared_ids",  # issue 15: identifiers of declared kinds, addresses, twins
        "address",
        "twins",
    }
    chart = json.loads(model["match_weights_chart"])
    assert "vega-lite" in chart["$schema"] and chart["data"]["values"]
    assert {
        "run",
        "blocking",
        "match_weight",
        "links_by_rule",
        "cluster_size",
        "agencies",
        "review",
        "truth_pairs",
        "truth_clusters",
    } <= sections
    assert sum(blocking.values()) > 0
    assert leftovers == [(0,)]


def test_review_queue_shows_fields_only_when_identifying(con: duckdb.DuckDBPyConnection) -> None:
    from joinedup.release.schema import create_schema_sql

    for sql in create_schema_sql():
        con.execute(sql)
    con.execute(
        "INSERT INTO identity (source, source_record_id, forename, surname, dob, sex) VALUES "
        "('police', '1', 'JAMIE', 'ONEILL', DATE '2010-04-03', 'M'), "
        "('health', 'A', 'JAMES', 'ONEILL', DATE '2010-04-03', 'M'), "
        "('health', 'B', 'JAMES', 'ONEILL', DATE '2010-04-03', 'M')"
    )
    con.execute(
        "INSERT INTO record_person (source, source_record_id, person_id) VALUES "
        "('police', '1', 'P1'), ('health', 'A', 'P2'), ('health', 'B', 'P2')"
    )
    con.execute(
        "INSERT INTO link_pair VALUES "
        "('police', '1', 'health', 'A', 2.0, 0.8, 'forename and date of birth', 'review', NULL), "
        "('health', 'A', 'health', 'B', 9.0, 0.99, 'forename and date of birth', 'linked', NULL)"
    )
    plain = review_queue(con, identifying=False)
    full = review_queue(con, identifying=True)
    assert [(p.left, p.right, p.left_person, p.right_person) for p in plain] == [
        (("police", "1"), ("health", "A"), "P1", "P2")
    ]
    assert plain[0].left_fields is None and plain[0].right_fields is None
    assert full[0].left_fields is not None and full[0].right_fields is not None
    assert full[0].left_fields["forename"] == "JAMIE"
    assert full[0].right_fields["forename"] == "JAMES"


# --- incremental builds and stable ids across releases ----------------------------------


_LINKAGE_TABLES = (
    "record_person",
    "link_pair",
    "person_flag",
    "person_change",
    "linkage_model",
    "linkage_report",
)


def _fresh_copy(src: Path, dst: Path, *, drop_every: int = 0) -> duckdb.DuckDBPyConnection:
    """A copy of a release with its linkage emptied (and every n-th A&E record removed)."""
    shutil.copy(src, dst)
    c = duckdb.connect(str(dst))
    for t in _LINKAGE_TABLES:
        c.execute(f"DELETE FROM {t}")
    if drop_every:
        for t in ("identity", "record"):
            c.execute(
                f"DELETE FROM {t} WHERE source = 'health_ae' AND hash(source_record_id) "
                f"% {drop_every} = 0"
            )
    return c


def test_incremental_linkage_keeps_ids_and_links_new_records(
    synth_built: Path, tmp_path: Path
) -> None:
    from joinedup.config.model import LinkageConfig

    src = open_current(synth_built).db_path
    truth = synth_built / "truth" / "record_person.csv"
    cfg = LinkageConfig()
    # last month: some A&E attendances had not arrived yet
    with _fresh_copy(src, tmp_path / "prev.duckdb", drop_every=40) as prev:
        first = link_persons(prev, SECRET, config=cfg, truth=truth)
        before = dict(
            prev.execute(
                "SELECT source || '/' || source_record_id, person_id FROM record_person"
            ).fetchall()
        )
    with _fresh_copy(src, tmp_path / "now.duckdb") as now:
        second = link_persons(
            now, SECRET, config=cfg, previous=tmp_path / "prev.duckdb", truth=truth
        )
        after = dict(
            now.execute(
                "SELECT source || '/' || source_record_id, person_id FROM record_person"
            ).fetchall()
        )
        changes = dict(
            now.execute("SELECT change, count(*) FROM person_change GROUP BY 1").fetchall()
        )
        statuses = {r[0] for r in now.execute("SELECT status FROM link_pair").fetchall()}
    assert first.mode == "full" and second.mode == "incremental"
    assert second.new_records == len(after) - len(before) > 0
    assert second.new_records < 0.05 * second.records
    # only new records and the persons they touch are clustered afresh
    assert second.new_records <= second.reclustered < 0.2 * second.records
    # a person keeps their id when new records join them
    kept = sum(after[k] == v for k, v in before.items())
    assert kept >= 0.99 * len(before)
    assert second.truth["precision"] >= 0.99 and second.truth["f1"] >= 0.98
    assert abs(second.truth["f1"] - first.truth["f1"]) < 0.01
    assert set(changes) <= {"new", "merged", "split", "removed"}
    assert "linked" in statuses
    # a full relink of the same records finds the same persons
    with _fresh_copy(src, tmp_path / "full.duckdb") as full:
        relinked = link_persons(full, SECRET, config=cfg, truth=truth)
    assert abs(relinked.persons - second.persons) <= 0.01 * second.persons


def test_review_decisions_apply_in_every_build(mini: Path) -> None:
    from joinedup.state import open_state

    first = build_release(mini)
    with first.release.connect() as c:
        rp = dict(
            c.execute(
                "SELECT source || '/' || source_record_id, person_id FROM record_person"
            ).fetchall()
        )
        assert _report(c, "run")["mode"] == "identifiers"  # too few records to train on
    assert rp["police_crimes/3"] != rp["health_ae/A2"]
    with open_state(mini) as state:
        state.link_decisions.record(
            left=("police_crimes", "3"),
            right=("health_ae", "A2"),
            decision="match",
            decided_by="analyst",
        )
        state.link_decisions.record(
            left=("police_crimes", "1"),
            right=("health_ae", "A1"),
            decision="non_match",
            decided_by="analyst",
        )
    for _ in range(1):  # the next build reads the decisions from the app state
        result = build_release(mini)
        with result.release.connect() as c:
            got = {
                k: (pid, rule)
                for k, pid, rule in c.execute(
                    "SELECT source || '/' || source_record_id, person_id, rule FROM record_person"
                ).fetchall()
            }
            applied = _report(c, "review")["decisions_applied"]
        assert got["police_crimes/3"][0] == got["health_ae/A2"][0]
        assert got["health_ae/A2"][1] == "review_decision"
        assert got["police_crimes/1"][0] != got["health_ae/A1"][0]
        assert applied == 2
        # the person who kept the most records keeps the id
        assert got["police_crimes/3"][0] in {rp["police_crimes/3"], rp["health_ae/A2"]}


def test_truth_metrics_count_pairs(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    truth = tmp_path / "truth.csv"
    with truth.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source", "source_record_id", "person_id"])
        w.writerows([["a", "1", "X"], ["a", "2", "X"], ["v", "3", "X"], ["a", "4", "Y"]])
    con.execute(
        "CREATE TABLE record_person AS SELECT * FROM (VALUES ('a', '1', 'p'), ('a', '2', 'p'), "
        "('v', '3', 'q'), ('a', '4', 'p')) t(source, source_record_id, person_id)"
    )
    m = truth_metrics(con, truth, voluntary_sources=["v"])
    # predicted pairs: (1,2), (1,4), (2,4); true pairs: (1,2), (1,3), (2,3)
    assert m["precision"] == pytest.approx(1 / 3)
    assert m["recall"] == pytest.approx(1 / 3)
    assert m["voluntary_recall"] == 0.0
    assert m["cluster_recall"] == 0.5  # Y is whole; X is split
