"""Clerical review: the queue of uncertain pairs, and the decisions people made on them.

Pairs scored between ``linkage.review_threshold`` and ``linkage.match_threshold`` whose
records ended in different persons are written to ``link_pair`` with status ``review``.
Decisions are kept in the app state (``joinedup.state``: ``link_decisions``) and applied
in every build: ``match`` joins the two records' persons, ``non_match`` removes the link
between the two records (and a cluster that still holds both is flagged).

``review_queue`` reads a release: both records side by side, with their identifying
fields only for the operational tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

__all__ = ["ReviewPair", "load_decisions", "review_queue"]

_FIELDS = ("forename", "surname", "preferred_name", "dob", "sex", "postcode", "postcode_district")


def load_decisions(partnership_dir: Path) -> list[tuple[str, str, str, str, str]]:
    """Every latest decision ``(left_source, left_id, right_source, right_id, decision)``.

    Reads the app state when there is one (a configured database, or the SQLite file); a
    build never creates the app state.
    """
    from joinedup.state import STATE_DIR, STATE_FILE, open_state, state_url

    base = Path(partnership_dir)
    url = state_url(base)
    if url.startswith("sqlite") and not (base / STATE_DIR / STATE_FILE).exists():
        return []
    state = open_state(base)
    try:
        return [
            (d.left[0], d.left[1], d.right[0], d.right[1], d.decision)
            for d in state.link_decisions.all()
        ]
    finally:
        state.close()


def decisions_table(
    con: duckdb.DuckDBPyConnection,
    decisions: list[tuple[str, str, str, str, str]],
    *,
    inp: str,
    out: str,
) -> int:
    """``out(unique_id_l, unique_id_r, decision)`` for decisions whose records are present."""
    cols: list[tuple[str, ...]] = (
        list(zip(*decisions, strict=True)) if decisions else [(), (), (), (), ()]
    )
    con.register(
        "_ju_lk_dec_arrow",
        pa.table(
            {
                name: pa.array(list(values), pa.string())
                for name, values in zip(("ls", "lr", "rs", "rr", "decision"), cols, strict=True)
            }
        ),
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {out} AS "
        "SELECT least(a.unique_id, b.unique_id) AS unique_id_l, "
        "greatest(a.unique_id, b.unique_id) AS unique_id_r, d.decision "
        f"FROM _ju_lk_dec_arrow d JOIN {inp} a ON a.source = d.ls AND a.source_record_id = d.lr "
        f"JOIN {inp} b ON b.source = d.rs AND b.source_record_id = d.rr"
    )
    con.unregister("_ju_lk_dec_arrow")
    return int(con.execute(f"SELECT count(*) FROM {out}").fetchall()[0][0])


@dataclass(frozen=True)
class ReviewPair:
    """One pair waiting for a decision: keys, scores and (operational tier) both records."""

    left: tuple[str, str]
    right: tuple[str, str]
    match_probability: float
    match_weight: float
    blocking_rule: str | None
    left_person: str | None
    right_person: str | None
    left_fields: dict[str, Any] | None
    right_fields: dict[str, Any] | None


def review_queue(
    con: duckdb.DuckDBPyConnection, *, identifying: bool, limit: int = 100, offset: int = 0
) -> list[ReviewPair]:
    """Pairs waiting for review in a release, most likely matches first.

    ``identifying`` adds both records' names, dates of birth, sex and postcodes: pass it
    only for a user at the operational tier (the caller audits the view).
    """
    rows = con.execute(
        "SELECT p.source_l, p.source_record_id_l, p.source_r, p.source_record_id_r, "
        "p.match_probability, p.match_weight, p.blocking_rule, a.person_id, b.person_id "
        "FROM link_pair p "
        "LEFT JOIN record_person a ON a.source = p.source_l "
        "AND a.source_record_id = p.source_record_id_l "
        "LEFT JOIN record_person b ON b.source = p.source_r "
        "AND b.source_record_id = p.source_record_id_r "
        "WHERE p.status = 'review' ORDER BY p.match_probability DESC, 1, 2, 3, 4 "
        "LIMIT ? OFFSET ?",
        [limit, offset],
    ).fetchall()
    out = []
    for ls, lr, rs, rr, prob, weight, rule, lp, rp in rows:
        lf = rf = None
        if identifying:
            lf, rf = _fields(con, ls, lr), _fields(con, rs, rr)
        out.append(ReviewPair((ls, lr), (rs, rr), prob, weight, rule, lp, rp, lf, rf))
    return out


def _fields(con: duckdb.DuckDBPyConnection, source: str, rid: str) -> dict[str, Any] | None:
    got = con.execute(
        f"SELECT {', '.join(_FIELDS)} FROM identity WHERE source = ? AND source_record_id = ?",
        [source, rid],
    ).fetchall()
    return dict(zip(_FIELDS, got[0], strict=True)) if got else None
