"""The linkage report stored in each release (``linkage_report``), and metrics against truth.

Rows are ``(section, item, value, detail)``:

- ``run``: mode (full, incremental or identifiers only), engine, records, new records,
  persons, seconds per step;
- ``links_by_rule``: records by what linked them (nhs_number, ..., probabilistic, singleton);
- ``blocking``: candidate pairs each blocking rule produced;
- ``match_weight``: scored pairs by match weight (whole bits);
- ``cluster_size``: persons by number of records;
- ``agencies``: persons by the combination of agencies that hold a record;
- ``flags``: clusters flagged as looking wrong, by flag;
- ``review``: pairs waiting for review and decisions applied;
- ``changes``: person ids new, merged, split, removed since the previous release;
- ``truth_pairs`` / ``truth_clusters``: precision, recall and F1 when truth is available,
  with ``cross_*`` over pairs of records from two agencies (the links that join agencies up);
- ``fairness_truth``: precision and recall by ethnic group, sex and age band against truth
  (item ``dimension|group|metric``, detail the group's persons); ``fairness_indicators``:
  the truth-free indicators by the same groups, in every release; ``fairness_gap``: the
  largest gap between groups for each figure, named in the detail (``linkage.fairness``);
- ``labels``: the model against reviewers' decisions, and the comparisons it leaned on for
  the pairs it got wrong (``linkage.labels``).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from joinedup.config.model import LinkageConfig
from joinedup.linkage.fairness import (
    FairnessFigure,
    gap_rows,
    indicator_figures,
    truth_fairness,
)
from joinedup.linkage.labels import label_figures, leaned_on
from joinedup.linkage.tables import insert_rows

__all__ = [
    "LinkOutcome",
    "ReportRow",
    "fairness_rows",
    "label_rows",
    "report_rows",
    "truth_metrics",
    "truth_metrics_from_tables",
    "write_report",
]


@dataclass(frozen=True)
class ReportRow:
    section: str
    item: str
    value: float | None
    detail: str | None = None


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def truth_metrics_from_tables(
    con: duckdb.DuckDBPyConnection,
    *,
    predicted: str,
    truth: str,
    voluntary_sources: Sequence[str] = (),
) -> dict[str, float]:
    """Pairwise and cluster metrics of ``predicted`` against ``truth``.

    Both tables have ``(source, source_record_id, person_id)``; records missing from
    either are left out. ``voluntary_recall`` is the recall over true pairs that involve
    a record from ``voluntary_sources``.
    """
    vol = ", ".join("'" + s.replace("'", "''") + "'" for s in voluntary_sources) or "NULL"
    # across agencies, and by group, need the release's record and identity tables
    cross = (
        _cross_source(con, predicted=predicted, truth=truth) if _has_tables(con, "record") else {}
    )
    # one pass over the records into (predicted, true) cells; every figure comes from those
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_cells AS "
        "SELECT p.person_id AS pp, t.person_id AS tp, count(*)::DOUBLE AS n, "
        f"count(*) FILTER (WHERE p.source IN ({vol}))::DOUBLE AS v "
        f"FROM {predicted} p JOIN {truth} t USING (source, source_record_id) GROUP BY 1, 2"
    )
    try:
        row = con.execute(
            """
            WITH pc AS (SELECT pp, sum(n) AS n, count(*) AS people FROM _ju_lk_cells GROUP BY 1),
            tc AS (SELECT tp, sum(n) AS n, sum(v) AS v, count(*) AS parts FROM _ju_lk_cells
                   GROUP BY 1),
            c AS (SELECT sum(n * (n - 1) / 2) AS pairs,
                         sum(n * (n - 1) / 2 - (n - v) * (n - v - 1) / 2) AS vpairs
                  FROM _ju_lk_cells),
            p AS (SELECT sum(n * (n - 1) / 2) AS pairs, count(*) AS persons,
                         count(*) FILTER (WHERE people = 1) AS pure FROM pc),
            t AS (SELECT sum(n * (n - 1) / 2) AS pairs,
                         sum(n * (n - 1) / 2 - (n - v) * (n - v - 1) / 2) AS vpairs,
                         count(*) AS persons, count(*) FILTER (WHERE parts = 1) AS whole FROM tc),
            e AS (SELECT count(*) AS n FROM _ju_lk_cells x JOIN pc ON pc.pp = x.pp
                  JOIN tc ON tc.tp = x.tp WHERE x.n = pc.n AND x.n = tc.n)
            SELECT c.pairs, p.pairs, t.pairs, c.vpairs, t.vpairs, p.persons, p.pure,
                   t.persons, t.whole, e.n FROM c, p, t, e
            """
        ).fetchall()[0]
    finally:
        con.execute("DROP TABLE IF EXISTS _ju_lk_cells")
    tp, pred, true, tp_v, true_v, n_pred, pure, n_true, whole, exact = (float(x or 0) for x in row)
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    c_precision = pure / n_pred if n_pred else 1.0
    c_recall = whole / n_true if n_true else 1.0
    return {
        "pairs_true": true,
        "pairs_predicted": pred,
        "pairs_correct": tp,
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "voluntary_pairs_true": true_v,
        "voluntary_recall": tp_v / true_v if true_v else 1.0,
        "persons_predicted": n_pred,
        "persons_true": n_true,
        "cluster_precision": c_precision,
        "cluster_recall": c_recall,
        "cluster_f1": _f1(c_precision, c_recall),
        "cluster_exact": exact / n_true if n_true else 1.0,
        **cross,
    }


def _has_tables(con: duckdb.DuckDBPyConnection, *names: str) -> bool:
    got = con.execute(
        "SELECT count(DISTINCT table_name) FROM duckdb_tables() "
        "WHERE database_name = current_database() AND table_name IN "
        f"({', '.join('?' for _ in names)})",
        list(names),
    ).fetchall()[0][0]
    return int(got) == len(names)


def _cross_source(
    con: duckdb.DuckDBPyConnection, *, predicted: str, truth: str
) -> dict[str, float]:
    """Precision, recall and F1 over pairs of records held by two different agencies."""
    row = con.execute(
        f"""
        WITH r AS (SELECT p.person_id AS pp, t.person_id AS tp, rc.agency
                   FROM {predicted} p JOIN {truth} t USING (source, source_record_id)
                   JOIN record rc USING (source, source_record_id)),
        cross_pairs AS (
          SELECT k, sum(n * (n - 1) / 2) - sum(same) AS pairs FROM (
            SELECT k, sum(na) AS n, sum(na * (na - 1) / 2) AS same FROM (
              SELECT k, agency, count(*)::DOUBLE AS na FROM (
                SELECT 'c:' || pp || chr(31) || tp AS k, agency FROM r
                UNION ALL SELECT 'p:' || pp, agency FROM r
                UNION ALL SELECT 't:' || tp, agency FROM r) GROUP BY ALL)
            GROUP BY k) GROUP BY k)
        SELECT sum(pairs) FILTER (WHERE k LIKE 'c:%'), sum(pairs) FILTER (WHERE k LIKE 'p:%'),
               sum(pairs) FILTER (WHERE k LIKE 't:%') FROM cross_pairs
        """
    ).fetchall()[0]
    tp, pred, true = (float(x or 0) for x in row)
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    return {
        "cross_pairs_true": true,
        "cross_precision": precision,
        "cross_recall": recall,
        "cross_f1": _f1(precision, recall),
    }


def truth_metrics(
    con: duckdb.DuckDBPyConnection,
    truth_csv: Path,
    *,
    predicted: str = "record_person",
    voluntary_sources: Sequence[str] = (),
) -> dict[str, float]:
    """Metrics of ``predicted`` against a truth file (source, source_record_id, person_id)."""
    with Path(truth_csv).open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh), [])
    if not {"source", "source_record_id", "person_id"} <= set(header):
        raise ValueError(f"{truth_csv} needs the columns source, source_record_id and person_id")
    path = str(truth_csv).replace("'", "''")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_truth AS SELECT source, source_record_id, "
        f"person_id FROM read_csv('{path}', header = true, all_varchar = true)"
    )
    try:
        out = truth_metrics_from_tables(
            con, predicted=predicted, truth="_ju_lk_truth", voluntary_sources=voluntary_sources
        )
        # by group (ethnic group, sex, age band): keys "fairness|dimension|group|metric",
        # with the group's persons under "fairness_persons|dimension|group"
        fairness = (
            truth_fairness(con, predicted=predicted, truth="_ju_lk_truth")
            if _has_tables(con, "record", "identity")
            else []
        )
        for f in fairness:
            out[f"fairness|{f.key}"] = f.value
            out[f"fairness_persons|{f.dimension}|{f.group}"] = float(f.persons)
        return out
    finally:
        con.execute("DROP TABLE IF EXISTS _ju_lk_truth")


@dataclass
class LinkOutcome:
    """What the link stage did."""

    persons: int
    records: int
    mode: str  # full | incremental | identifiers
    new_records: int
    seconds: dict[str, float] = field(default_factory=dict)
    truth: dict[str, float] = field(default_factory=dict)
    changes: Counter[str] = field(default_factory=Counter)
    crowded: int = 0  # records left to identifier links: too many share name and birth date
    reclustered: int = 0  # records clustered afresh (all of them unless incremental)


def report_rows(
    con: duckdb.DuckDBPyConnection, config: LinkageConfig, outcome: LinkOutcome, n_dec: int
) -> list[ReportRow]:
    rows = [
        ReportRow("run", "mode", None, outcome.mode),
        ReportRow("run", "engine", None, config.engine if outcome.mode != "identifiers" else None),
        ReportRow("run", "records", float(outcome.records)),
        ReportRow("run", "new_or_changed_records", float(outcome.new_records)),
        ReportRow("run", "crowded_records", float(outcome.crowded)),
        ReportRow("run", "reclustered_records", float(outcome.reclustered)),
        ReportRow("run", "persons", float(outcome.persons)),
        ReportRow("run", "match_threshold", config.match_threshold),
        ReportRow("run", "review_threshold", config.review_threshold),
    ]
    rows += [ReportRow("seconds", k, v) for k, v in outcome.seconds.items()]
    q: list[tuple[str, str]] = [
        ("links_by_rule", "SELECT rule, count(*) FROM record_person GROUP BY 1 ORDER BY 1"),
        (
            "cluster_size",
            "SELECT CASE WHEN n >= 20 THEN '20+' ELSE n::VARCHAR END, count(*) FROM "
            "(SELECT person_id, count(*) AS n FROM record_person GROUP BY 1) "
            "GROUP BY 1 ORDER BY min(n)",
        ),
        (
            "agencies",
            "SELECT agencies, count(*) FROM (SELECT rp.person_id, "
            "string_agg(DISTINCT r.agency, ';' ORDER BY r.agency) AS agencies "
            "FROM record_person rp JOIN record r USING (source, source_record_id) GROUP BY 1) "
            "GROUP BY 1 ORDER BY 2 DESC, 1",
        ),
        ("flags", "SELECT flag, count(*) FROM person_flag GROUP BY 1 ORDER BY 1"),
        ("review", "SELECT status, count(*) FROM link_pair GROUP BY 1 ORDER BY 1"),
    ]
    for section, sql in q:
        rows += [ReportRow(section, str(k), float(v)) for k, v in con.execute(sql).fetchall()]
    rows.append(ReportRow("review", "decisions_applied", float(n_dec)))
    rows += [ReportRow("changes", k, float(v)) for k, v in sorted(outcome.changes.items())]
    truth_figures: list[FairnessFigure] = []
    for k, v in outcome.truth.items():
        if k.startswith("fairness_persons|"):
            continue
        if k.startswith("fairness|"):
            dim, group, metric = k.split("|")[1:]
            persons = int(outcome.truth.get(f"fairness_persons|{dim}|{group}", 0))
            truth_figures.append(FairnessFigure(dim, group, metric, v, persons))
            continue
        section = "truth_clusters" if k.startswith(("cluster", "persons")) else "truth_pairs"
        rows.append(ReportRow(section, k, v))
    rows += fairness_rows(truth_figures, indicator_figures(con))
    return rows


def fairness_rows(truth: list[FairnessFigure], indicators: list[FairnessFigure]) -> list[ReportRow]:
    """Report rows of the fairness tables and their largest gaps (see ``fairness``)."""
    rows: list[ReportRow] = []
    for section, figures in (("fairness_truth", truth), ("fairness_indicators", indicators)):
        rows += [ReportRow(section, f.key, f.value, str(f.persons)) for f in figures]
        kind = "truth" if section == "fairness_truth" else "indicators"
        rows += [
            ReportRow("fairness_gap", f"{kind}|{dim}|{metric}", gap, detail)
            for dim, metric, gap, detail in gap_rows(figures)
        ]
    return rows


def label_rows(
    con: duckdb.DuckDBPyConnection, config: LinkageConfig, model: str | None
) -> list[ReportRow]:
    """Sections ``labels`` and ``labels_leaned_on`` (see ``linkage.labels``)."""
    figures, wrong = label_figures(con, config)
    rows = [ReportRow("labels", k, v) for k, v in figures.items()]
    if model and wrong:
        for name, bits, pushed in leaned_on(con, json.loads(model), wrong):
            rows.append(
                ReportRow(
                    "labels_leaned_on",
                    name,
                    bits,
                    f"towards the wrong answer in {pushed} of {len(wrong)} pairs",
                )
            )
    return rows


def write_report(
    con: duckdb.DuckDBPyConnection,
    rows: list[ReportRow],
    model_rows: dict[str, str],
    config: LinkageConfig,
    mode: str,
) -> None:
    rows = rows + label_rows(con, config, model_rows.get("model"))
    insert_rows(
        con,
        "linkage_report",
        {
            "section": pa.array([r.section for r in rows], pa.string()),
            "item": pa.array([r.item for r in rows], pa.string()),
            "value": pa.array([r.value for r in rows], pa.float64()),
            "detail": pa.array([r.detail for r in rows], pa.string()),
        },
    )
    model_rows["config"] = config.model_dump_json()
    model_rows["mode"] = mode
    keys = sorted(model_rows)
    insert_rows(
        con,
        "linkage_model",
        {
            "key": pa.array(keys, pa.string()),
            "value": pa.array([model_rows[k] for k in keys], pa.string()),
        },
    )
