"""Training and scoring with Splink: the probabilistic part of person linkage.

Training (a full build): the prior from pairs that agree on forename, surname and date of
birth (taken to be found with recall 0.7, or the lower share the pairs trusted identifiers
link show); u by random sampling of record pairs; m by
expectation maximisation in one session per rule of ``settings.EM_RULES``. The trained
model is Splink's JSON, stored in the release and reused by incremental builds.

Scoring: every pair the blocking rules produce is scored; the pairs at or above the
review threshold come back to the build connection as ``_ju_lk_scored``. Pair counts per
blocking rule and a histogram of match weights are taken from all scored pairs first.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from joinedup.linkage.engine import LinkageEngine
from joinedup.linkage.features import EXACT_TABLE, INPUT_TABLE, PROBABILISTIC_TABLE
from joinedup.linkage.settings import (
    BLOCKING_RULES,
    DOB_APART_M,
    EM_RULES,
    PRIOR_RECALL,
    PRIOR_RULES,
    person_settings,
)

__all__ = [
    "ScoreSummary",
    "load_linker",
    "match_weights_chart",
    "model_json",
    "rule_names",
    "score_all",
    "score_new",
    "train_linker",
]

SCORED_TABLE = "_ju_lk_scored"
_SCORED_COLUMNS = "unique_id_l, unique_id_r, match_weight, match_probability, match_key"
TF_COLUMNS = ("forename", "surname", "postcode")

for _name in ("splink", "py4j"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@dataclass
class ScoreSummary:
    """What scoring found, for the linkage report."""

    pairs_by_rule: dict[str, int] = field(default_factory=dict)
    weight_histogram: list[tuple[float, int]] = field(default_factory=list)
    pairs_scored: int = 0


def train_linker(
    engine: LinkageEngine,
    *,
    records: int,
    max_pairs: int,
    seed: int,
    em_pairs: int = 1_000_000,
    table: str = PROBABILISTIC_TABLE,
) -> tuple[Any, dict[str, Any]]:
    """A linker on the records open to probabilistic linkage, trained from scratch."""
    from splink import Linker

    inp = engine.put(table, "records")
    linker = Linker(inp, person_settings(), log_level=logging.ERROR)
    notes: dict[str, Any] = prior_recall_from_identifiers(engine)
    recall = float(notes.get("prior_recall", PRIOR_RECALL))
    try:
        linker.training.estimate_probability_two_random_records_match(
            list(PRIOR_RULES), recall=recall
        )
    except ValueError:  # the rules already find more pairs than that recall allows
        linker.training.estimate_probability_two_random_records_match(list(PRIOR_RULES), recall=1.0)
        notes["prior_recall"] = 1.0
    # small partnerships need fewer sampled pairs: 50 a record, at least 200,000
    possible = records * (records - 1) // 2
    pairs = max(1, min(max_pairs, max(200_000, 50 * records), possible))
    # Spark pays a job per chunk: sample in one go there
    chunks = 1 if engine.name == "spark" else 10
    linker.training.estimate_u_using_random_sampling(max_pairs=pairs, seed=seed, num_chunks=chunks)
    notes["u_sample_pairs"] = pairs
    sessions = 0
    for rule in EM_RULES:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True, max_pairs=em_pairs
            )
            sessions += 1
        except Exception as exc:  # too few pairs to learn from: keep the other sessions
            notes.setdefault("em_skipped", []).append(f"{rule}: {type(exc).__name__}")
    notes["em_sessions"] = sessions
    notes.update(dob_apart_from_identifiers(engine, linker))
    notes.update(twins_from_identifiers(engine, linker))
    return linker, notes


def _has_exact(engine: LinkageEngine) -> bool:
    found = engine.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [EXACT_TABLE]
    ).fetchall()[0][0]
    return bool(found)


# The prior rule (``settings.PRIOR_RULES``: forename, surname and date of birth agree) on
# the pairs trusted identifiers link: the share it finds is its recall among pairs known
# to be one person.
_PRIOR_RECALL_SQL = f"""
SELECT count(*), count(*) FILTER (WHERE a.forename = b.forename AND a.surname = b.surname
  AND a.dob_str = b.dob_str)
FROM {EXACT_TABLE} e JOIN {INPUT_TABLE} a ON a.unique_id = e.unique_id_l
JOIN {INPUT_TABLE} b ON b.unique_id = e.unique_id_r
"""
#: The least recall the prior may be estimated with: below it the rule finds too few
#: pairs of one person to say anything.
PRIOR_RECALL_MIN = 0.2


def prior_recall_from_identifiers(engine: LinkageEngine) -> dict[str, Any]:
    """The recall of the prior's rule, measured on the pairs trusted identifiers link.

    The prior (how likely two random records are one person) is the number of pairs that
    agree on forename, surname and date of birth divided by the share of all pairs of one
    person that rule finds: ``settings.PRIOR_RECALL`` (0.7) when nothing better is known.
    Pairs linked by an NHS number, a UPN, a PNC id, a local id or an identifier of a
    declared kind are pairs of one person: where at least ``LABELLED_PAIRS_MIN`` of them
    show the rule finding a smaller share (names and dates of birth often mistyped or
    replaced, as in FEBRL, where it finds about four in ten), that share is the recall,
    and the prior rises to match. A larger share leaves 0.7: records that carry
    identifiers are the better-recorded ones (the voluntary sector's records, with no
    surname, cannot agree on all three at all), so it would overstate the recall among all
    pairs and set the prior too low.
    """
    if not _has_exact(engine):
        return {}
    n, found = (int(v or 0) for v in engine.con.execute(_PRIOR_RECALL_SQL).fetchall()[0])
    out: dict[str, Any] = {"prior_labelled_pairs": n}
    if n < LABELLED_PAIRS_MIN:
        return out
    measured = found / n
    out["prior_recall_measured"] = round(measured, 4)
    if measured < PRIOR_RECALL:
        out["prior_recall"] = max(PRIOR_RECALL_MIN, measured)
    return out


# Pairs that trusted identifiers link (``_ju_lk_exact``) are pairs known to be one person:
# how often their dates of birth lie a year or more apart, or within a year with two
# parts differing, is measured on them. At least this many such pairs are needed.
LABELLED_PAIRS_MIN = 1000
_DOB_APART_SQL = f"""
SELECT count(*),
  count(*) FILTER (WHERE far AND abs(days_l - days_r) <= 365),
  count(*) FILTER (WHERE far AND abs(days_l - days_r) > 365)
FROM (SELECT a.dob_days AS days_l, b.dob_days AS days_r,
        a.dob_str <> b.dob_str
        AND NOT (a.dob_year = b.dob_year AND a.dob_day = b.dob_month AND a.dob_month = b.dob_day)
        AND (CASE WHEN a.dob_year = b.dob_year THEN 1 ELSE 0 END
             + CASE WHEN a.dob_month = b.dob_month THEN 1 ELSE 0 END
             + CASE WHEN a.dob_day = b.dob_day THEN 1 ELSE 0 END) < 2 AS far
      FROM {EXACT_TABLE} e JOIN {INPUT_TABLE} a ON a.unique_id = e.unique_id_l
      JOIN {INPUT_TABLE} b ON b.unique_id = e.unique_id_r
      WHERE a.dob_str IS NOT NULL AND b.dob_str IS NOT NULL)
"""
# the levels it measures, by their labels in ``settings._dob``
_WITHIN_YEAR, _APART = "Within a year", "All other comparisons"


def dob_apart_from_identifiers(engine: LinkageEngine, linker: Any) -> dict[str, Any]:
    """The m probabilities of the two date-of-birth levels EM is not trusted with, from
    the pairs trusted identifiers link; ``settings.DOB_APART_M`` stays the least.

    EM cannot learn them safely (namesakes sharing an address look like one person to
    it), but pairs linked by an NHS number, a UPN, a PNC id or an identifier of a
    declared kind are one person whatever their names: the share whose dates of birth
    lie apart is what m means. In a partnership whose agencies record dates of birth
    well that share is below the fixed value, which then stands; where a date of birth is
    often replaced outright (FEBRL's corruption), the measured share counts instead.
    """
    found = engine.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [EXACT_TABLE]
    ).fetchall()[0][0]
    if not found:
        return {}
    n, within, apart = engine.con.execute(_DOB_APART_SQL).fetchall()[0]
    if not n or n < LABELLED_PAIRS_MIN:
        return {"dob_apart_labelled_pairs": int(n or 0)}
    measured = {_WITHIN_YEAR: within / n, _APART: apart / n}
    used: dict[str, float] = {}
    dob = next(c for c in linker._settings_obj.comparisons if c.output_column_name == "dob")
    for level in dob.comparison_levels:
        if not level.is_null_level and level.label_for_charts in measured:
            level.m_probability = max(DOB_APART_M, measured[level.label_for_charts])
            used[level.label_for_charts] = float(level.m_probability)
    return {"dob_apart_labelled_pairs": int(n), "dob_apart_m": used}


# Twins or one person? Pairs of records with one surname and birth date but first names
# that are not one name (the twin level's pattern), counted two ways: linked by a trusted
# identifier (``_ju_lk_exact``: one person whose first name was replaced), and held by one
# source without a shared identifier (two people: in a partnership, mostly twins).
_UNRELATED_FORENAMES = """NOT (coalesce(list_has_any(a.forename_groups, b.forename_groups), false)
    OR coalesce(list_has_any(a.forename_parts, b.forename_parts), false)
    OR jaro_winkler_similarity(a.forename, b.forename) >= 0.88
    OR coalesce(a.forename_dm1 = b.forename_dm1, false)
    OR coalesce(a.forename_dm2 = b.forename_dm2, false))"""
_TWIN_PATTERN_SQL = f"""
WITH p AS (
  SELECT a.unique_id AS l, b.unique_id AS r, a.source = b.source AS same_source,
    coalesce(list_has_any(a.id_keys, b.id_keys), false) AS shared_id
  FROM {INPUT_TABLE} a JOIN {INPUT_TABLE} b
    ON a.surname = b.surname AND a.dob_str = b.dob_str AND a.unique_id < b.unique_id
  WHERE a.forename <> b.forename AND {_UNRELATED_FORENAMES}),
x AS (SELECT p.*, e.unique_id_l IS NOT NULL AS linked FROM p
  LEFT JOIN {EXACT_TABLE} e ON e.unique_id_l = p.l AND e.unique_id_r = p.r)
SELECT count(*) FILTER (WHERE linked),
  count(*) FILTER (WHERE same_source AND NOT shared_id AND NOT linked)
FROM x
"""
_TWIN_LEVEL = "Twins: one family, another first name"
#: Identifier-linked pairs showing the pattern needed before the data may overrule the
#: twin level.
TWIN_EVIDENCE_MIN = 30


def twins_from_identifiers(engine: LinkageEngine, linker: Any) -> dict[str, Any]:
    """Whether the data hold twins, from pairs whose identity is known.

    The twin level (``settings._twins``) counts against two records with one surname and
    birth date whose first names are not one name, at ``settings.TWIN_WEIGHT`` bits: in a
    partnership they are far more often twins than one child. The data can say otherwise.
    Pairs with that pattern that a trusted identifier links are one person whose first
    name was recorded as another; pairs with that pattern held by one source, with no
    identifier in common, are two people. Where the first outnumber the second (a
    population with no twins told apart by identifiers, but first names often replaced in
    error, as in FEBRL), the pattern is more often one person than two: the level is then
    neutral (0 bits) and the note says so. Otherwise, and with fewer than
    ``TWIN_EVIDENCE_MIN`` linked pairs to go on, the fixed weight stands.
    """
    found = engine.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [EXACT_TABLE]
    ).fetchall()[0][0]
    if not found:
        return {}
    linked, apart = (int(v or 0) for v in engine.con.execute(_TWIN_PATTERN_SQL).fetchall()[0])
    out: dict[str, Any] = {"twin_pattern_linked": linked, "twin_pattern_two_people": apart}
    if linked < TWIN_EVIDENCE_MIN or linked <= apart:
        return out
    twins = next(c for c in linker._settings_obj.comparisons if c.output_column_name == "twins")
    for level in twins.comparison_levels:
        if level.label_for_charts == _TWIN_LEVEL:
            level.m_probability = level.u_probability
            out["twin_weight"] = 0.0
    return out


def load_linker(
    engine: LinkageEngine, model: dict[str, Any], *, table: str = PROBABILISTIC_TABLE
) -> Any:
    """A linker on the records open to probabilistic linkage, with an earlier model."""
    from splink import Linker

    inp = engine.put(table, "records")
    return Linker(inp, model, log_level=logging.ERROR)


def _summarise(engine: LinkageEngine, physical: str) -> ScoreSummary:
    summary = ScoreSummary()
    names = [name for name, _ in BLOCKING_RULES]
    for key, n in engine.scalar_rows(
        f"SELECT match_key, count(*) AS n FROM {physical} GROUP BY match_key"
    ):
        idx = int(key)
        label = names[idx] if 0 <= idx < len(names) else f"rule {idx}"
        summary.pairs_by_rule[label] = int(n)
    summary.pairs_scored = sum(summary.pairs_by_rule.values())
    rows = engine.scalar_rows(
        f"SELECT floor(match_weight) AS w, count(*) AS n FROM {physical} GROUP BY 1 ORDER BY 1"
    )
    summary.weight_histogram = [(float(w), int(n)) for w, n in rows if w is not None]
    return summary


def _keep(engine: LinkageEngine, pred: Any, threshold: float) -> None:
    weight = math.log2(threshold / (1 - threshold))
    filtered = engine.db_api.query_sql(
        f"SELECT {_SCORED_COLUMNS} FROM {pred.physical_name} WHERE match_weight >= {weight!r}",
        output_type="splink_df",
    )
    engine.take(filtered, SCORED_TABLE)
    filtered.drop_table_from_database_and_remove_from_cache()


def score_all(engine: LinkageEngine, linker: Any, review_threshold: float) -> ScoreSummary:
    """Score every blocked pair; keep those at or above the review threshold."""
    pred = linker.inference.predict(warning_mode="never")
    summary = _summarise(engine, pred.physical_name)
    _keep(engine, pred, review_threshold)
    pred.drop_table_from_database_and_remove_from_cache()
    return summary


def score_new(
    engine: LinkageEngine,
    linker: Any,
    *,
    existing_table: str,
    new_table: str,
    review_threshold: float,
) -> ScoreSummary:
    """Score new records against existing ones and against each other (incremental)."""
    for col in TF_COLUMNS:
        linker.table_management.compute_tf_table(col)
    existing = engine.put(existing_table, "existing")
    new = engine.put(new_table, "new")
    between = linker.inference.predict_between(existing, new, warning_mode="never")
    within = linker.inference.predict_within(new, warning_mode="never")
    union = engine.db_api.query_sql(
        f"SELECT * FROM {between.physical_name} UNION ALL SELECT * FROM {within.physical_name}",
        output_type="splink_df",
    )
    summary = _summarise(engine, union.physical_name)
    _keep(engine, union, review_threshold)
    for df in (between, within, union):
        df.drop_table_from_database_and_remove_from_cache()
    return summary


def rule_names() -> list[str]:
    """Blocking rule names in order: a scored pair's ``match_key`` indexes this list."""
    return [name for name, _ in BLOCKING_RULES]


def model_json(linker: Any) -> dict[str, Any]:
    """The trained model as Splink's JSON-ready dictionary."""
    out: dict[str, Any] = linker.misc.save_model_to_json()
    return out


def match_weights_chart(linker: Any) -> dict[str, Any]:
    """The model's match weights as a Vega-Lite specification."""
    chart: dict[str, Any] = linker.visualisations.match_weights_chart().chart_dict
    return chart
