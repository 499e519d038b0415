"""Review that teaches: reviewers' decisions as labelled pairs, and the model against them.

Every decision made in review (``match`` or ``non_match``, kept in the app state and
applied in every build) is a labelled pair. The link stage writes into the linkage report
(section ``labels``) how often the model's own call agreed with the reviewers' (the
model calls a pair a match when its probability reaches ``linkage.match_threshold``,
before the decisions are applied), the same figure from the previous release, so a data
lead sees whether a retrained model learned from the decisions, and, for the pairs it gets
wrong, which comparisons pushed it towards the wrong answer (section
``labels_leaned_on``: the mean match weight, in bits, each comparison gave towards the
wrong answer, and in how many of the wrong pairs it did).

Explanations score each wrong pair again with the release's model (Splink's
``score_pair``) on the two records' linkage input; term-frequency adjustments are left
out there, so the weights are the model's level weights. Labelled pairs are few (tens or
hundreds): at most :data:`MAX_EXPLAINED` wrong pairs are explained.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import duckdb

from joinedup.config.model import LinkageConfig

__all__ = ["MAX_EXPLAINED", "label_figures", "leaned_on"]

MAX_EXPLAINED = 200
_KEYS = ("source_l", "source_record_id_l", "source_r", "source_record_id_r")


def _has(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?",
            [catalog, name],
        ).fetchall()[0][0]
    )


def _labelled(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(
        f"SELECT {', '.join(_KEYS)}, match_probability, decision FROM link_pair "
        "WHERE decision IN ('match', 'non_match') AND match_probability IS NOT NULL "
        "ORDER BY 1, 2, 3, 4"
    ).fetchall()


def label_figures(
    con: duckdb.DuckDBPyConnection, config: LinkageConfig
) -> tuple[dict[str, float], list[tuple[Any, ...]]]:
    """The model against reviewers' labels: figures, and the pairs it got wrong
    ``(keys..., probability, decision)``. Reads ``link_pair`` (and the previous release's
    report as ``_ju_prev`` when attached)."""
    pairs = _labelled(con)
    wrong = [p for p in pairs if (p[4] >= config.match_threshold) != (p[5] == "match")]
    out: dict[str, float] = {"labelled_pairs": float(len(pairs))}
    if pairs:
        out["accuracy"] = 1 - len(wrong) / len(pairs)
        out["false_match"] = float(sum(1 for p in wrong if p[5] == "non_match"))
        out["false_non_match"] = float(sum(1 for p in wrong if p[5] == "match"))
    attached = bool(
        con.execute(
            "SELECT count(*) FROM duckdb_databases() WHERE database_name = '_ju_prev'"
        ).fetchall()[0][0]
    )
    if attached and _has(con, "_ju_prev", "linkage_report"):
        for item, value in con.execute(
            "SELECT item, value FROM _ju_prev.linkage_report WHERE section = 'labels' "
            "AND item IN ('accuracy', 'labelled_pairs')"
        ).fetchall():
            if value is not None:
                out[f"previous_{item}"] = float(value)
    return out, wrong


def leaned_on(
    con: duckdb.DuckDBPyConnection, model: dict[str, Any], wrong: list[tuple[Any, ...]]
) -> list[tuple[str, float, int]]:
    """For the wrongly called pairs: ``(comparison, mean bits towards the wrong answer,
    pairs it pushed the wrong way)``, largest push first."""
    if not wrong:
        return []
    from splink import DuckDBAPI, Linker

    from joinedup.linkage.features import prepare_input

    wrong = wrong[:MAX_EXPLAINED]
    keys = sorted({(p[0], p[1]) for p in wrong} | {(p[2], p[3]) for p in wrong})
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lb_keys (source VARCHAR, source_record_id VARCHAR)"
    )
    con.executemany("INSERT INTO _ju_lb_keys VALUES (?, ?)", keys)
    try:
        prepare_input(con, only="_ju_lb_keys", out="_ju_lb_input")
        # the blocking rules' column (features.probabilistic_input): scoring one pair
        # blocks nothing, so each record is its own component
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_lb_input AS SELECT *, unique_id AS id_component "
            "FROM _ju_lb_input"
        )
        cur = con.execute("SELECT * FROM _ju_lb_input")
        cols = [d[0] for d in cur.description]
        records = {(r[1], r[2]): dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
        settings = copy.deepcopy(model)
        settings["retain_intermediate_calculation_columns"] = True
        for comparison in settings.get("comparisons", []):
            for level in comparison.get("comparison_levels", []):
                level.pop("tf_adjustment_column", None)
                level.pop("tf_adjustment_weight", None)
        api = DuckDBAPI(connection=con)
        linker = Linker(
            api.register("_ju_lb_input", dataset_display_name="labelled"),
            settings,
            log_level=logging.ERROR,
        )
        push: dict[str, list[float]] = {}
        for p in wrong:
            left, right = records.get((p[0], p[1])), records.get((p[2], p[3]))
            if left is None or right is None:
                continue
            scored = linker.inference.score_pair(left, right)
            row = scored.as_record_list()[0]
            scored.drop_table_from_database_and_remove_from_cache()
            direction = 1.0 if p[5] == "non_match" else -1.0  # towards the model's wrong call
            for col, weight in row.items():  # Splink 5: mw_<comparison>, in bits
                if col.startswith("mw_") and not col.startswith("mw_tf_") and weight:
                    push.setdefault(col[3:], []).append(direction * float(weight))
    finally:
        for t in ("_ju_lb_keys", "_ju_lb_input"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    out = [(name, sum(v) / len(v), sum(1 for x in v if x > 0)) for name, v in push.items() if v]
    return sorted(out, key=lambda x: (-x[1], x[0]))
