"""Person linkage for a build: identifiers first, then Splink, clusters, stable ids, report.

``link_persons`` runs inside a release build on the build's DuckDB connection, reading
``identity`` and ``record`` and writing ``record_person``, ``link_pair``,
``person_flag``, ``person_change``, ``linkage_model`` and ``linkage_report``.

1. Deterministic links on trusted identifiers (``exact``): NHS number, UPN, PNC id, a
   local id within one agency, all validated by the source mappings.
2. Probabilistic links (``model``): Splink scores the pairs the blocking rules produce.
   A full build trains the model; an incremental build reuses the previous release's
   model and scores only new and changed records, against everyone and each other,
   keeping the previous release's scores between unchanged records.
3. Clusters (``clusters``): identifier links, review decisions of ``match`` and scored
   links at or above ``linkage.match_threshold`` are joined into persons. A record with
   no date of birth cannot bridge two persons: it joins only the person it matches best.
4. Person ids (``ids``), cluster flags, the review queue and the report.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from joinedup.config.model import LinkageConfig, PartnershipConfig
from joinedup.linkage.clusters import cluster_flags_sql, connected_components
from joinedup.linkage.exact import IDENTIFIER_RULES, exact_edges_sql
from joinedup.linkage.features import (
    INPUT_TABLE,
    PROBABILISTIC_TABLE,
    fingerprint_sql,
    prepare_input,
    probabilistic_input,
)
from joinedup.linkage.ids import PersonChange, assign_person_ids
from joinedup.linkage.report import ReportRow, truth_metrics
from joinedup.linkage.review import decisions_table

__all__ = ["LinkOutcome", "link_persons", "link_stage", "model_signature"]

_TEMP = (
    INPUT_TABLE,
    PROBABILISTIC_TABLE,
    "_ju_lk_exact",
    "_ju_lk_scored",
    "_ju_lk_new",
    "_ju_lk_old",
    "_ju_lk_oldp",
    "_ju_lk_dec",
    "_ju_lk_strong",
    "_ju_lk_core",
    "_ju_lk_edges",
    "_ju_lk_cluster",
    "_ju_lk_pid",
    "_ju_lk_prev_rp",
    "_ju_lk_node",
    "_ju_lk_touch",
)


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


def model_signature(cfg: LinkageConfig) -> str:
    """What an earlier build's model and scores must share with this one to be reused."""
    from joinedup.linkage.settings import BLOCKING_RULES, person_settings

    settings = person_settings().get_settings("duckdb").as_dict()  # type: ignore[no-untyped-call]
    for c in settings.get("comparisons", []):
        for lvl in c.get("comparison_levels", []):
            lvl.pop("m_probability", None)
            lvl.pop("u_probability", None)
    payload = json.dumps(
        {
            "settings": settings,
            "blocking": BLOCKING_RULES,
            "review_threshold": cfg.review_threshold,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._t, 3)
        self._t = now


def _has_table(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?",
        [catalog, name],
    ).fetchall()
    return bool(rows[0][0])


def _previous_model(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if not _has_table(con, "_ju_prev", "linkage_model"):
        return {}
    return dict(con.execute("SELECT key, value FROM _ju_prev.linkage_model").fetchall())


def _same_thresholds(prev_model: dict[str, str], config: LinkageConfig) -> bool:
    """Whether the previous release clustered with this build's thresholds."""
    try:
        prev = json.loads(prev_model.get("config", "{}"))
    except ValueError:
        return False
    return bool(
        prev.get("match_threshold") == config.match_threshold
        and "thin_match_threshold" in prev
        and prev["thin_match_threshold"] == config.thin_match_threshold
    )


def link_persons(
    con: duckdb.DuckDBPyConnection,
    secret: bytes,
    *,
    config: LinkageConfig,
    previous: Path | None = None,
    decisions: Sequence[tuple[str, str, str, str, str]] = (),
    truth: Path | None = None,
    voluntary_sources: Sequence[str] = (),
) -> LinkOutcome:
    """Resolve every record into a person; see the module docstring.

    ``previous`` is the previous release's DuckDB file (ids persist from it and an
    incremental build reuses its model and scores); ``decisions`` are review decisions
    ``(left_source, left_id, right_source, right_id, match|non_match)``; ``truth`` is a
    ``record_person.csv`` to measure the result against (synthetic data).
    """
    clock = _Clock()
    n = prepare_input(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ju_lk_exact AS {exact_edges_sql(INPUT_TABLE)}")
    clock.lap("identifiers")
    attached = False
    if previous is not None and Path(previous).is_file():
        path = str(previous).replace("'", "''")
        con.execute(f"ATTACH '{path}' AS _ju_prev (READ_ONLY)")
        attached = True
    try:
        return _link(
            con,
            secret,
            config=config,
            records=n,
            has_previous=attached,
            decisions=decisions,
            truth=truth,
            voluntary_sources=voluntary_sources,
            clock=clock,
        )
    finally:
        for t in _TEMP:
            con.execute(f"DROP TABLE IF EXISTS {t}")
        if attached:
            con.execute("DETACH _ju_prev")


def _link(
    con: duckdb.DuckDBPyConnection,
    secret: bytes,
    *,
    config: LinkageConfig,
    records: int,
    has_previous: bool,
    decisions: Sequence[tuple[str, str, str, str, str]],
    truth: Path | None,
    voluntary_sources: Sequence[str],
    clock: _Clock,
) -> LinkOutcome:
    report: list[ReportRow] = []
    model_rows: dict[str, str] = {}
    prev_model = _previous_model(con) if has_previous else {}
    signature = model_signature(config)
    new_records = records
    if has_previous and _has_table(con, "_ju_prev", "identity"):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_lk_old AS SELECT i.* FROM "
            f"{INPUT_TABLE} i JOIN (SELECT source, source_record_id, "
            f"{fingerprint_sql('p')} AS fingerprint FROM _ju_prev.identity p) q "
            "USING (source, source_record_id, fingerprint)"
        )
        new_records = records - int(con.execute("SELECT count(*) FROM _ju_lk_old").fetchall()[0][0])
    crowded = probabilistic_input(con) if config.probabilistic else 0
    probabilistic = config.probabilistic and records - crowded >= config.min_records
    mode = "identifiers"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_scored (unique_id_l BIGINT, unique_id_r BIGINT, "
        "match_weight DOUBLE, match_probability DOUBLE, match_key VARCHAR)"
    )
    if probabilistic:
        incremental = (
            config.incremental
            and prev_model.get("signature") == signature
            and "model" in prev_model
            and _has_table(con, "_ju_prev", "link_pair")
            and new_records <= config.relink_share * records
        )
        mode = "incremental" if incremental else "full"
        model_rows, score_rows = _score(con, config, records, crowded, mode, prev_model, clock)
        report.extend(score_rows)
        model_rows["signature"] = signature
    # review decisions
    n_dec = decisions_table(con, list(decisions), inp=INPUT_TABLE, out="_ju_lk_dec")
    prev_rp = None
    if has_previous and _has_table(con, "_ju_prev", "record_person"):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_lk_prev_rp AS "
            "SELECT source, source_record_id, person_id FROM _ju_prev.record_person"
        )
        prev_rp = "_ju_lk_prev_rp"
    open_records = records
    kept = mode == "incremental" and prev_rp is not None and _same_thresholds(prev_model, config)
    if kept:
        open_records = _nodes_incremental(con)
    else:
        _nodes_full(con)
    if mode == "incremental":
        _carry_over(con, kept=kept)
    _cluster(con, config)
    clock.lap("cluster")
    changes = assign_person_ids(
        con, secret, clusters="_ju_lk_cluster", inp=INPUT_TABLE, previous=prev_rp, out="_ju_lk_pid"
    )
    persons = _write(con, config, changes, kept=kept)
    clock.lap("ids")
    outcome = LinkOutcome(
        persons=persons,
        records=records,
        mode=mode,
        new_records=new_records,
        changes=Counter(c.change for c in changes),
        crowded=crowded,
        reclustered=open_records,
    )
    # the working tables are done with: free their memory for what follows
    for t in _TEMP:
        con.execute(f"DROP TABLE IF EXISTS {t}")
    if truth is not None and truth.is_file():
        outcome.truth = truth_metrics(con, truth, voluntary_sources=voluntary_sources)
        clock.lap("truth")
    outcome.seconds = dict(clock.seconds)
    report.extend(_report_rows(con, config, outcome, n_dec))
    _write_report(con, report, model_rows, config, mode)
    return outcome


def _score(
    con: duckdb.DuckDBPyConnection,
    config: LinkageConfig,
    records: int,
    crowded: int,
    mode: str,
    prev_model: dict[str, str],
    clock: _Clock,
) -> tuple[dict[str, str], list[ReportRow]]:
    from joinedup.linkage import model as lm
    from joinedup.linkage.engine import make_engine

    engine = make_engine(con, config)
    rows: list[ReportRow] = []
    out: dict[str, str] = {}
    try:
        if mode == "full":
            linker, notes = lm.train_linker(
                engine,
                records=records - crowded,
                max_pairs=config.training_pairs,
                seed=config.seed,
                em_pairs=config.em_pairs,
            )
            clock.lap("train")
            summary = lm.score_all(engine, linker, config.review_threshold)
            out["training"] = json.dumps(notes, sort_keys=True)
        else:
            linker = lm.load_linker(engine, json.loads(prev_model["model"]))
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _ju_lk_new AS SELECT * FROM "
                f"{PROBABILISTIC_TABLE} WHERE unique_id NOT IN (SELECT unique_id FROM _ju_lk_old)"
            )
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _ju_lk_oldp AS SELECT * FROM _ju_lk_old "
                f"WHERE unique_id IN (SELECT unique_id FROM {PROBABILISTIC_TABLE})"
            )
            summary = lm.score_new(
                engine,
                linker,
                existing_table="_ju_lk_oldp",
                new_table="_ju_lk_new",
                review_threshold=config.review_threshold,
            )
            out["training"] = prev_model.get("training", "{}")
        out["model"] = json.dumps(lm.model_json(linker), sort_keys=True, default=str)
        out["match_weights_chart"] = json.dumps(lm.match_weights_chart(linker), default=str)
        clock.lap("score")
    finally:
        engine.close()
    names = lm.rule_names()
    con.execute(
        "UPDATE _ju_lk_scored SET match_key = "
        + _case_sql("match_key", {str(i): n for i, n in enumerate(names)})
    )
    for rule, count in summary.pairs_by_rule.items():
        rows.append(ReportRow("blocking", rule, float(count), "candidate pairs scored"))
    for w, count in summary.weight_histogram:
        rows.append(ReportRow("match_weight", f"{w:+.0f}", float(count), "scored pairs"))
    return out, rows


def _case_sql(col: str, mapping: dict[str, str]) -> str:
    whens = " ".join(
        f"WHEN {col} = '{k}' THEN '{v.replace(chr(39), chr(39) * 2)}'" for k, v in mapping.items()
    )
    return f"CASE {whens} ELSE NULL END"


def _nodes_full(con: duckdb.DuckDBPyConnection) -> None:
    """Every record is a node of its own: clustering starts from scratch."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_node AS SELECT unique_id, unique_id AS node, "
        f"true AS open FROM {INPUT_TABLE}"
    )


def _nodes_incremental(con: duckdb.DuckDBPyConnection) -> int:
    """Previous persons untouched by this build stay whole: each is one node.

    A previous person is *reopened* (its records become nodes of their own again) when one
    of its records was removed or changed, or a review decision names one of its records.
    New and changed records are nodes of their own. Returns the number of open records.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_prevp AS SELECT o.unique_id, p.person_id "
        "FROM _ju_lk_old o JOIN _ju_lk_prev_rp p USING (source, source_record_id)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_dirty AS "
        "SELECT DISTINCT p.person_id FROM _ju_lk_prev_rp p ANTI JOIN _ju_lk_old o "
        "USING (source, source_record_id) "
        "UNION SELECT q.person_id FROM _ju_lk_prevp q WHERE q.unique_id IN "
        "(SELECT unique_id_l FROM _ju_lk_dec UNION ALL SELECT unique_id_r FROM _ju_lk_dec)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_node AS "
        "WITH closed AS (SELECT q.unique_id, q.person_id FROM _ju_lk_prevp q "
        "ANTI JOIN _ju_lk_dirty d USING (person_id)), "
        "anchor AS (SELECT person_id, min(unique_id) AS node FROM closed GROUP BY 1) "
        "SELECT c.unique_id, a.node, false AS open FROM closed c JOIN anchor a USING (person_id) "
        f"UNION ALL SELECT i.unique_id, i.unique_id, true FROM {INPUT_TABLE} i "
        "ANTI JOIN closed c USING (unique_id)"
    )
    for t in ("_ju_lk_prevp", "_ju_lk_dirty"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    row = con.execute("SELECT count(*) FROM _ju_lk_node WHERE open").fetchall()[0]
    return int(row[0])


def _carry_over(con: duckdb.DuckDBPyConnection, *, kept: bool) -> None:
    """Bring the previous release's scores between unchanged records into this build.

    When untouched persons are kept whole (``kept``), their own links (status ``linked``,
    neither record touched) are not needed to cluster: ``_write`` copies them straight
    into ``link_pair``. Every other score between unchanged records joins
    ``_ju_lk_scored``.
    """
    if kept:
        # records whose links are looked at again: open ones, and those gone or changed
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_lk_touch AS "
            f"SELECT i.source, i.source_record_id FROM {INPUT_TABLE} i "
            "JOIN _ju_lk_node n USING (unique_id) WHERE n.open "
            "UNION SELECT p.source, p.source_record_id FROM _ju_lk_prev_rp p "
            "ANTI JOIN _ju_lk_old o USING (source, source_record_id)"
        )
    keep = (
        "AND (p.status <> 'linked' OR EXISTS (SELECT 1 FROM _ju_lk_touch t "
        "WHERE t.source = p.source_l AND t.source_record_id = p.source_record_id_l) "
        "OR EXISTS (SELECT 1 FROM _ju_lk_touch t WHERE t.source = p.source_r "
        "AND t.source_record_id = p.source_record_id_r))"
        if kept
        else ""
    )
    con.execute(
        "INSERT INTO _ju_lk_scored SELECT least(a.unique_id, b.unique_id), "
        "greatest(a.unique_id, b.unique_id), p.match_weight, p.match_probability, "
        "p.blocking_rule FROM (SELECT * FROM _ju_prev.link_pair p "
        f"WHERE p.match_weight IS NOT NULL {keep}) p "
        "JOIN _ju_lk_old a ON a.source = p.source_l "
        "AND a.source_record_id = p.source_record_id_l "
        "JOIN _ju_lk_old b ON b.source = p.source_r "
        "AND b.source_record_id = p.source_record_id_r"
    )


def _thin(alias: str) -> str:
    """A record too thin to join two persons together: no date of birth or no surname."""
    return f"{alias}.dob IS NULL OR {alias}.surname IS NULL"


def _cluster(con: duckdb.DuckDBPyConnection, config: LinkageConfig) -> None:
    """Persons from the links, on the nodes of ``_ju_lk_node(unique_id, node, open)``.

    A full build makes every record a node; an incremental one keeps each untouched
    previous person as one node, so only links that touch an open record matter.
    """
    weight = math.log2(config.match_threshold / (1 - config.match_threshold))
    thin = config.thin_match_threshold or config.match_threshold
    thin_weight = math.log2(thin / (1 - thin))
    # accepted model links that touch an open record: at or above the threshold (a thin
    # record's own threshold for links of thin records) and not refused by a reviewer
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_edges AS "
        "SELECT s.unique_id_l, s.unique_id_r, s.match_weight FROM _ju_lk_scored s "
        "JOIN _ju_lk_node na ON na.unique_id = s.unique_id_l "
        "JOIN _ju_lk_node nb ON nb.unique_id = s.unique_id_r "
        f"WHERE s.match_weight >= {min(weight, thin_weight)!r} AND (na.open OR nb.open) "
        "AND NOT EXISTS (SELECT 1 FROM _ju_lk_dec d "
        "WHERE d.decision = 'non_match' AND d.unique_id_l = least(s.unique_id_l, s.unique_id_r) "
        "AND d.unique_id_r = greatest(s.unique_id_l, s.unique_id_r))"
    )
    # strong links: identifiers, reviewers' matches, and model links between records that
    # both have a date of birth and a surname; a thin record (without one of them, like
    # the voluntary sector's) joins only its best-matching person
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_strong AS "
        "WITH s AS (SELECT e.unique_id_l, e.unique_id_r FROM _ju_lk_exact e WHERE NOT EXISTS "
        "(SELECT 1 FROM _ju_lk_dec d WHERE d.decision = 'non_match' "
        "AND d.unique_id_l = least(e.unique_id_l, e.unique_id_r) "
        "AND d.unique_id_r = greatest(e.unique_id_l, e.unique_id_r)) "
        "UNION ALL SELECT unique_id_l, unique_id_r FROM _ju_lk_dec WHERE decision = 'match' "
        "UNION ALL SELECT e.unique_id_l, e.unique_id_r FROM _ju_lk_edges e "
        f"JOIN {INPUT_TABLE} a ON a.unique_id = e.unique_id_l "
        f"JOIN {INPUT_TABLE} b ON b.unique_id = e.unique_id_r "
        f"WHERE e.match_weight >= {weight!r} AND NOT ({_thin('a')}) AND NOT ({_thin('b')})) "
        "SELECT DISTINCT na.node AS unique_id_l, nb.node AS unique_id_r FROM s "
        "JOIN _ju_lk_node na ON na.unique_id = s.unique_id_l "
        "JOIN _ju_lk_node nb ON nb.unique_id = s.unique_id_r WHERE na.node <> nb.node"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_nodes AS SELECT DISTINCT node AS unique_id "
        "FROM _ju_lk_node"
    )
    connected_components(con, "_ju_lk_nodes", "_ju_lk_strong", "_ju_lk_core")
    # open thin records that no strong link holds
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_weak AS SELECT c.unique_id FROM _ju_lk_core c "
        f"JOIN {INPUT_TABLE} i USING (unique_id) JOIN _ju_lk_node n USING (unique_id) "
        "JOIN (SELECT label, count(*) AS n FROM _ju_lk_core GROUP BY label) s USING (label) "
        f"WHERE {_thin('i')} AND s.n = 1 AND n.open AND n.node = n.unique_id"
    )
    # each joins the person of its best-scoring link to a record that is not weak
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_attach AS "
        "WITH cand AS (SELECT unique_id_l AS weak, unique_id_r AS other, match_weight "
        f"FROM _ju_lk_edges WHERE match_weight >= {thin_weight!r} "
        "UNION ALL SELECT unique_id_r, unique_id_l, match_weight "
        f"FROM _ju_lk_edges WHERE match_weight >= {thin_weight!r}), "
        "ranked AS (SELECT cand.weak, c.label, row_number() OVER (PARTITION BY cand.weak "
        "ORDER BY cand.match_weight DESC, c.label) AS k FROM cand "
        "JOIN _ju_lk_weak w ON w.unique_id = cand.weak "
        "JOIN _ju_lk_node n ON n.unique_id = cand.other "
        "JOIN _ju_lk_core c ON c.unique_id = n.node "
        "WHERE cand.other NOT IN (SELECT unique_id FROM _ju_lk_weak)) "
        "SELECT weak, label FROM ranked WHERE k = 1"
    )
    # second pass on the small graph of core persons and weak records only
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_all AS SELECT weak AS unique_id_l, "
        "label AS unique_id_r FROM _ju_lk_attach "
        # weak records that matched only other weak records are joined among themselves
        "UNION ALL SELECT e.unique_id_l, e.unique_id_r FROM _ju_lk_edges e "
        "JOIN _ju_lk_weak a ON a.unique_id = e.unique_id_l "
        "JOIN _ju_lk_weak b ON b.unique_id = e.unique_id_r "
        f"WHERE e.match_weight >= {weight!r} "
        "AND e.unique_id_l NOT IN (SELECT weak FROM _ju_lk_attach) "
        "AND e.unique_id_r NOT IN (SELECT weak FROM _ju_lk_attach)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_nodes AS SELECT DISTINCT label AS unique_id "
        "FROM _ju_lk_core"
    )
    connected_components(con, "_ju_lk_nodes", "_ju_lk_all", "_ju_lk_top")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_cluster AS SELECT n.unique_id, t.label "
        "FROM _ju_lk_node n JOIN _ju_lk_core c ON c.unique_id = n.node "
        "JOIN _ju_lk_top t ON t.unique_id = c.label"
    )
    for t in ("_ju_lk_weak", "_ju_lk_attach", "_ju_lk_all", "_ju_lk_nodes", "_ju_lk_top"):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def _write(
    con: duckdb.DuckDBPyConnection,
    config: LinkageConfig,
    changes: list[PersonChange],
    *,
    kept: bool = False,
) -> int:
    rule_case = " ".join(
        f"WHEN list_contains(x.rules, '{name}') THEN '{name}'" for name, _ in IDENTIFIER_RULES
    )
    # a kept person's own links were copied, not scored again: their best probability is
    # the one the previous release recorded
    kept_pr = (
        " UNION ALL SELECT n.unique_id, p.match_probability FROM _ju_lk_node n "
        f"JOIN {INPUT_TABLE} i USING (unique_id) JOIN _ju_prev.record_person p "
        "USING (source, source_record_id) WHERE NOT n.open AND p.rule = 'probabilistic'"
        if kept
        else ""
    )
    con.execute(
        "INSERT INTO record_person "
        "WITH x AS (SELECT u, list(DISTINCT rule) AS rules FROM ("
        "SELECT unique_id_l AS u, rule FROM _ju_lk_exact "
        "UNION ALL SELECT unique_id_r, rule FROM _ju_lk_exact) GROUP BY u), "
        "dec AS (SELECT u FROM (SELECT unique_id_l AS u FROM _ju_lk_dec WHERE decision = 'match' "
        "UNION ALL SELECT unique_id_r FROM _ju_lk_dec WHERE decision = 'match')), "
        "pr AS (SELECT u, max(p) AS p FROM (SELECT unnest([e.unique_id_l, e.unique_id_r]) AS u, "
        "e.match_probability AS p FROM _ju_lk_scored e "
        "JOIN _ju_lk_cluster a ON a.unique_id = e.unique_id_l "
        "JOIN _ju_lk_cluster b ON b.unique_id = e.unique_id_r WHERE a.label = b.label"
        f"{kept_pr}) GROUP BY u), "
        "size AS (SELECT label, count(*) AS n FROM _ju_lk_cluster GROUP BY label) "
        "SELECT i.source, i.source_record_id, p.person_id, "
        "CASE WHEN x.rules IS NOT NULL THEN 1.0 WHEN size.n = 1 THEN 1.0 "
        "ELSE coalesce(pr.p, 1.0) END, "
        f"CASE {rule_case} WHEN i.unique_id IN (SELECT u FROM dec) THEN 'review_decision' "
        "WHEN size.n > 1 THEN 'probabilistic' ELSE 'singleton' END "
        f"FROM {INPUT_TABLE} i JOIN _ju_lk_cluster c USING (unique_id) "
        "JOIN size USING (label) JOIN _ju_lk_pid p USING (label) "
        "LEFT JOIN x ON x.u = i.unique_id LEFT JOIN pr ON pr.u = i.unique_id"
    )
    # every scored pair at or above the review threshold, with what became of it
    weight = math.log2(config.match_threshold / (1 - config.match_threshold))
    con.execute(
        "INSERT INTO link_pair "
        "SELECT a.source, a.source_record_id, b.source, b.source_record_id, "
        "s.match_weight, s.match_probability, s.match_key, "
        "CASE WHEN ca.label = cb.label THEN 'linked' "
        f"WHEN d.decision IS NULL AND s.match_weight < {weight!r} THEN 'review' "
        "ELSE 'not_linked' END, d.decision "
        "FROM _ju_lk_scored s "
        f"JOIN {INPUT_TABLE} a ON a.unique_id = s.unique_id_l "
        f"JOIN {INPUT_TABLE} b ON b.unique_id = s.unique_id_r "
        "JOIN _ju_lk_cluster ca ON ca.unique_id = s.unique_id_l "
        "JOIN _ju_lk_cluster cb ON cb.unique_id = s.unique_id_r "
        "LEFT JOIN _ju_lk_dec d ON d.unique_id_l = least(s.unique_id_l, s.unique_id_r) "
        "AND d.unique_id_r = greatest(s.unique_id_l, s.unique_id_r)"
    )
    if kept:
        # the kept persons' own links, as the previous release had them
        con.execute(
            "INSERT INTO link_pair SELECT p.source_l, p.source_record_id_l, p.source_r, "
            "p.source_record_id_r, p.match_weight, p.match_probability, p.blocking_rule, "
            "'linked', NULL FROM _ju_prev.link_pair p WHERE p.status = 'linked' "
            "AND p.match_weight IS NOT NULL AND NOT EXISTS (SELECT 1 FROM _ju_lk_touch t "
            "WHERE t.source = p.source_l AND t.source_record_id = p.source_record_id_l) "
            "AND NOT EXISTS (SELECT 1 FROM _ju_lk_touch t WHERE t.source = p.source_r "
            "AND t.source_record_id = p.source_record_id_r)"
        )
    flags = cluster_flags_sql(
        "_ju_lk_cluster", INPUT_TABLE, max_records=config.flag_cluster_records
    )
    con.execute(
        f"INSERT INTO person_flag SELECT p.person_id, f.flag, f.detail FROM ({flags}) f "
        "JOIN _ju_lk_pid p USING (label)"
    )
    # a reviewer said two records are different people, yet other links join them
    con.execute(
        "INSERT INTO person_flag SELECT DISTINCT p.person_id, 'reviewed_non_match_joined', "
        "'a pair decided not a match is in this person through other links' "
        "FROM _ju_lk_dec d JOIN _ju_lk_cluster a ON a.unique_id = d.unique_id_l "
        "JOIN _ju_lk_cluster b ON b.unique_id = d.unique_id_r JOIN _ju_lk_pid p "
        "ON p.label = a.label WHERE d.decision = 'non_match' AND a.label = b.label"
    )
    _insert(
        con,
        "person_change",
        {
            "person_id": pa.array([c.person_id for c in changes], pa.string()),
            "change": pa.array([c.change for c in changes], pa.string()),
            "other_person_id": pa.array([c.other_person_id for c in changes], pa.string()),
            "records": pa.array([c.records for c in changes], pa.int64()),
        },
    )
    return int(con.execute("SELECT count(*) FROM _ju_lk_pid").fetchall()[0][0])


def _report_rows(
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
    for k, v in outcome.truth.items():
        section = "truth_clusters" if k.startswith(("cluster", "persons")) else "truth_pairs"
        rows.append(ReportRow(section, k, v))
    return rows


def _write_report(
    con: duckdb.DuckDBPyConnection,
    rows: list[ReportRow],
    model_rows: dict[str, str],
    config: LinkageConfig,
    mode: str,
) -> None:
    _insert(
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
    _insert(
        con,
        "linkage_model",
        {
            "key": pa.array(keys, pa.string()),
            "value": pa.array([model_rows[k] for k in keys], pa.string()),
        },
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, pa.Array]) -> None:
    con.register("_ju_lk_rows", pa.table(columns))
    con.execute(f"INSERT INTO {table} SELECT * FROM _ju_lk_rows")
    con.unregister("_ju_lk_rows")


def link_stage(
    con: duckdb.DuckDBPyConnection,
    secret: bytes,
    *,
    partnership_dir: Path,
    config: PartnershipConfig,
    previous: Path | None,
) -> int:
    """The build's ``link`` stage: decisions from the app state, truth when the partnership
    folder has ``truth/record_person.csv`` (synthetic data); returns the number of persons."""
    from joinedup.linkage.review import load_decisions

    base = Path(partnership_dir)
    voluntary = {a.id for a in config.agencies if a.type == "voluntary"}
    outcome = link_persons(
        con,
        secret,
        config=config.linkage,
        previous=previous,
        decisions=load_decisions(base),
        truth=base / "truth" / "record_person.csv",
        voluntary_sources=[s.id for s in config.sources if s.agency in voluntary],
    )
    return outcome.persons
