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
3. Clusters (``resolve``, with ``clusters``' connected components): identifier links,
   review decisions of ``match`` and scored links at or above
   ``linkage.match_threshold`` are joined into persons. A record with no date of birth
   cannot bridge two persons: it joins only the person it matches best.
4. Person ids (``ids``), the release tables with cluster flags and the review queue
   (``tables``), and the report (``report``).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import duckdb

from joinedup.config.model import LinkageConfig, PartnershipConfig
from joinedup.linkage.encoded_link import encoded_pairs
from joinedup.linkage.exact import exact_edges_sql
from joinedup.linkage.features import (
    COMPONENTS_TABLE,
    INPUT_TABLE,
    OPEN_VIEW,
    PROBABILISTIC_TABLE,
    crowded_input,
    drop_open_input,
    fingerprint_sql,
    identifier_components,
    prepare_input,
    probabilistic_input,
)
from joinedup.linkage.ids import assign_person_ids
from joinedup.linkage.incremental import (
    Store,
    add_change_keys,
    blocking_partners_sql,
    database_path,
    open_store,
    reuse_input,
    stable_id_rows,
    store_dir,
    stored_scores_sql,
    write_store,
)
from joinedup.linkage.report import LinkOutcome, ReportRow, report_rows, truth_metrics, write_report
from joinedup.linkage.resolve import (
    carry_over,
    cluster_records,
    nodes_full,
    nodes_incremental,
    whole_persons,
)
from joinedup.linkage.review import decisions_table
from joinedup.linkage.tables import write_tables

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
    "_ju_lk_fresh",
    "_ju_lk_partner",
    "_ju_lk_closed",
    "_ju_lk_whole",
    "_ju_lk_rest",
)


# the kept persons' own links (copied into ``link_pair`` by ``write_tables``) by number
_KEPT_LINKS_SQL = (
    "SELECT least(a.unique_id, b.unique_id) AS unique_id_l, "
    "greatest(a.unique_id, b.unique_id) AS unique_id_r, p.match_weight, p.match_probability, "
    f"p.blocking_rule AS match_key FROM _ju_prev.link_pair p JOIN {INPUT_TABLE} a "
    "ON a.source = p.source_l AND a.source_record_id = p.source_record_id_l "
    f"JOIN {INPUT_TABLE} b ON b.source = p.source_r AND b.source_record_id = p.source_record_id_r "
    "WHERE p.status = 'linked' AND p.match_weight IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM _ju_lk_touch t WHERE t.source = p.source_l "
    "AND t.source_record_id = p.source_record_id_l) "
    "AND NOT EXISTS (SELECT 1 FROM _ju_lk_touch t WHERE t.source = p.source_r "
    "AND t.source_record_id = p.source_record_id_r)"
)


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
    """Whether the previous release clustered and flagged persons with this build's
    thresholds (an untouched person is then kept as it was)."""
    try:
        prev = json.loads(prev_model.get("config", "{}"))
    except ValueError:
        return False
    return bool(
        prev.get("match_threshold") == config.match_threshold
        and "thin_match_threshold" in prev
        and prev["thin_match_threshold"] == config.thin_match_threshold
        and prev.get("flag_cluster_records") == config.flag_cluster_records
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
    relink: bool = False,
) -> LinkOutcome:
    """Resolve every record into a person; see the module docstring.

    ``previous`` is the previous release's DuckDB file (ids persist from it and an
    incremental build reuses its model, scores and reuse store); ``decisions`` are review
    decisions ``(left_source, left_id, right_source, right_id, match|non_match)``;
    ``truth`` is a ``record_person.csv`` to measure the result against (synthetic data);
    ``relink`` relinks every record (``joinedup build --relink``), reusing the stored
    model unless the data has moved too far since it was trained.
    """
    clock = _Clock()
    prev_path = Path(previous) if previous is not None and Path(previous).is_file() else None
    store = open_store(prev_path)
    own = database_path(con)
    fresh: int | None = None
    if store is not None:
        n, fresh = reuse_input(con, store)
    else:
        n = prepare_input(con)
        if own is not None:
            add_change_keys(con)
    clock.lap("input")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ju_lk_exact AS {exact_edges_sql(INPUT_TABLE)}")
    clock.lap("identifiers")
    attached = False
    if prev_path is not None:
        path = str(prev_path).replace("'", "''")
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
            run=_Run(store=store, fresh=fresh, own=own, relink=relink),
        )
    finally:
        for t in _TEMP:
            con.execute(f"DROP TABLE IF EXISTS {t}")
        drop_open_input(con)
        if attached:
            con.execute("DETACH _ju_prev")


class _Run:
    """What this build brings from the previous one, and where its own store goes."""

    def __init__(
        self, *, store: Store | None, fresh: int | None, own: Path | None, relink: bool
    ) -> None:
        self.store = store
        self.fresh = fresh
        self.own = own
        self.relink = relink


def _trained(prev_model: dict[str, str]) -> dict[str, float]:
    try:
        info = json.loads(prev_model.get("trained", "{}"))
    except ValueError:
        info = {}
    return {"records": float(info.get("records", 0)), "moved": float(info.get("moved", 0))}


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
    run: _Run,
) -> LinkOutcome:
    report: list[ReportRow] = []
    model_rows: dict[str, str] = {}
    prev_model = _previous_model(con) if has_previous else {}
    signature = model_signature(config)
    new_records = records
    if run.fresh is not None:
        new_records = run.fresh  # the reuse store found them (``_ju_lk_old`` is made)
    elif has_previous and _has_table(con, "_ju_prev", "identity"):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_lk_old AS SELECT i.* FROM "
            f"{INPUT_TABLE} i JOIN (SELECT source, source_record_id, "
            f"{fingerprint_sql('p')} AS fingerprint FROM _ju_prev.identity p) q "
            "USING (source, source_record_id, fingerprint)"
        )
        new_records = records - int(con.execute("SELECT count(*) FROM _ju_lk_old").fetchall()[0][0])
    clock.lap("changes")
    crowded = crowded_input(con) if config.probabilistic else 0
    clock.lap("crowded")
    probabilistic = config.probabilistic and records - crowded >= config.min_records
    mode = "identifiers"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_scored (unique_id_l BIGINT, unique_id_r BIGINT, "
        "match_weight DOUBLE, match_probability DOUBLE, match_key VARCHAR)"
    )
    if probabilistic:
        fits = prev_model.get("signature") == signature and "model" in prev_model
        trained = _trained(prev_model)
        moved = trained["moved"] + new_records
        moved_share = moved / records if records else 1.0
        reuse_model = fits and moved_share <= config.retrain_share
        incremental = (
            reuse_model
            and config.incremental
            and not run.relink
            and _has_table(con, "_ju_prev", "link_pair")
            and new_records <= config.relink_share * records
        )
        mode = "incremental" if incremental else "full"
        model_rows, score_rows = _score(
            con,
            config,
            records,
            crowded,
            mode,
            prev_model,
            clock,
            reuse_model=reuse_model,
            store=run.store,
        )
        report.extend(score_rows)
        model_rows["signature"] = signature
        model_rows["trained"] = json.dumps(
            {"records": trained["records"], "moved": moved}
            if reuse_model
            else {"records": records, "moved": 0}
        )
        report.append(
            ReportRow(
                "run",
                "model",
                moved_share if reuse_model else 0.0,
                _model_note(reuse_model, fits, moved_share, config),
            )
        )
    report.append(
        ReportRow("run", "reuse_store", None, "used" if run.store is not None else "none")
    )
    if run.relink:
        report.append(ReportRow("run", "relink", None, "asked for (joinedup build --relink)"))
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
        open_records = nodes_incremental(con)
    else:
        nodes_full(con)
    if mode == "incremental":
        # kept: carry_over joins the stored pairs on this build's records (``_ju_lk_node``)
        carry_over(
            con,
            kept=kept,
            stored=stored_scores_sql(run.store, checked=not kept)
            if run.store is not None
            else None,
        )
    clock.lap("carry")
    # issue 19: pairs that involve an encoded record, scored on their encodings
    encoded_pairs(con, config, inp=INPUT_TABLE)
    cluster_records(con, config)
    # kept persons nothing joined: their id, records and flags are copied, not redone
    whole = "_ju_lk_whole" if kept and whole_persons(con) else None
    clock.lap("cluster")
    changes = assign_person_ids(
        con,
        secret,
        clusters="_ju_lk_cluster",
        inp=INPUT_TABLE,
        previous=prev_rp,
        out="_ju_lk_pid",
        whole=whole,
    )
    clock.lap("ids")
    persons = write_tables(con, config, changes, kept=kept, whole=whole)
    clock.lap("tables")
    if prev_rp is not None and _has_table(con, "temp", "_ju_lk_old"):
        report.extend(ReportRow("stable_ids", k, v, d) for k, v, d in stable_id_rows(con))
    # this build's reuse store, beside its database (an incremental build on a release
    # without one adds the kept persons' own links, read from its ``link_pair``)
    if run.own is not None:
        write_store(
            con,
            store_dir(run.own),
            previous=run.store,
            incremental=mode == "incremental",
            tag=uuid.uuid4().hex[:12],
            kept_links_sql=_KEPT_LINKS_SQL if kept and run.store is None else None,
        )
        clock.lap("store")
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
    drop_open_input(con)
    if truth is not None and truth.is_file():
        outcome.truth = truth_metrics(con, truth, voluntary_sources=voluntary_sources)
        clock.lap("truth")
    outcome.seconds = dict(clock.seconds)
    report.extend(report_rows(con, config, outcome, n_dec))
    write_report(con, report, model_rows, config, mode)
    clock.lap("report")
    outcome.seconds = dict(clock.seconds)
    return outcome


def _model_note(reuse: bool, fits: bool, moved_share: float, config: LinkageConfig) -> str:
    """Why the model was reused or trained, for the report and ``joinedup build``."""
    limit = f"retrain above {config.retrain_share:.0%}"
    if reuse:
        return (
            f"reused: {moved_share:.1%} of records new or changed since it was trained "
            f"({limit}, linkage.retrain_share)"
        )
    if not fits:
        return "trained: no earlier model of this design"
    return (
        f"trained: {moved_share:.1%} of records new or changed since the earlier model was "
        f"trained ({limit}, linkage.retrain_share)"
    )


def _score(
    con: duckdb.DuckDBPyConnection,
    config: LinkageConfig,
    records: int,
    crowded: int,
    mode: str,
    prev_model: dict[str, str],
    clock: _Clock,
    *,
    reuse_model: bool = False,
    store: Store | None = None,
) -> tuple[dict[str, str], list[ReportRow]]:
    from joinedup.linkage import model as lm
    from joinedup.linkage.engine import make_engine

    engine = make_engine(con, config)
    rows: list[ReportRow] = []
    out: dict[str, str] = {}
    try:
        identifier_components(con)
        if mode == "full":
            probabilistic_input(con)
        if mode == "full" and reuse_model:
            linker = lm.load_linker(engine, json.loads(prev_model["model"]))
            summary = lm.score_all(engine, linker, config.review_threshold)
            out["training"] = prev_model.get("training", "{}")
        elif mode == "full":
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
            # only the new records and the unchanged ones a blocking rule pairs with them
            # are copied with their identifier component; the model counts its terms over
            # every record no crowded key holds (a view), as a full build does
            # with a reuse store, new and changed records are numbered after every kept one
            since = store.max_uid if store is not None else None
            if since is not None:
                probabilistic_input(con, out="_ju_lk_new", where=f"o.unique_id > {int(since)}")
            else:
                probabilistic_input(
                    con, out="_ju_lk_new", only="ANTI JOIN _ju_lk_old USING (unique_id)"
                )
            # the unchanged records that some blocking rule pairs with a new one: scoring
            # against these finds every pair that scoring against everyone would
            partners = blocking_partners_sql(INPUT_TABLE, "_ju_lk_new", components=COMPONENTS_TABLE)
            con.execute(f"CREATE OR REPLACE TEMP TABLE _ju_lk_partner AS {partners}")
            probabilistic_input(
                con,
                out="_ju_lk_oldp",
                only="SEMI JOIN _ju_lk_partner USING (unique_id)"
                + (" SEMI JOIN _ju_lk_old USING (unique_id)" if since is None else ""),
                where=f"o.unique_id <= {int(since)}" if since is not None else "",
            )
            linker = lm.load_linker(engine, json.loads(prev_model["model"]), table=OPEN_VIEW)
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
    rows.append(ReportRow("run", "pairs_scored", float(summary.pairs_scored)))
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


def link_stage(
    con: duckdb.DuckDBPyConnection,
    secret: bytes,
    *,
    partnership_dir: Path,
    config: PartnershipConfig,
    previous: Path | None,
    relink: bool = False,
) -> int:
    """The build's ``link`` stage: decisions from the app state, truth when the partnership
    folder has ``truth/record_person.csv`` (synthetic data); returns the number of persons.
    ``relink`` relinks every record (``joinedup build --relink``)."""
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
        relink=relink,
    )
    return outcome.persons
