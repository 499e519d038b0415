"""Linking encoded records at the hub: candidate pairs, Dice scores, match weights.

The hub holds no key, so it can compare encodings only with encodings. It links

- the records of an *encoded* source (``encoded: true``: its extract was written by
  ``joinedup encode``) with each other, and
- with the records of any clear source whose agency also encoded that extract
  (``encoded_file:``, the same records' encodings, written by the same command).

Two clear records are linked by the Splink model on their clear fields, as before; only
pairs with at least one encoded-only record are scored here. The build's ``read`` stage
leaves every encoding in the temporary table :data:`ENCODED_TABLE` (never in the
release); :func:`encoded_pairs` adds the scored pairs to the link stage's
``_ju_lk_scored`` with ``match_key`` ``encoded``, where the clustering treats them like
the model's: encoded records carry no clear date of birth or surname, so each joins only
the person it matches best (``linkage.thin_match_threshold``).

Candidate pairs share a blocking key (a keyed hash, :func:`~joinedup.linkage.encoded.
blocking_keys`) or an identifier's keyed hash. Each pair's match weight is a prior (one
match per record among the encoded records) plus, for each field both records hold, the
Fellegi-Sunter weight of the level its Dice coefficient reaches, with m and u estimated
from this build's encodings (:mod:`joinedup.linkage.encoded_weights`: u from random
pairs, m by EM over the candidate pairs, names weighed by their frequency), plus fixed
weights for identifier hashes (:data:`ID_WEIGHTS`). The prior is one match among as many
candidates as there are distinct dates of birth (about the number of people) among the
encoded records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import numpy.typing as npt

from joinedup.config.model import LinkageConfig
from joinedup.linkage.encoded import (
    BLOCK_COLUMN,
    CLK_FIELDS,
    clk_column,
    decode_clks,
    hash_column,
)
from joinedup.linkage.encoded_weights import (
    EncodedWeights,
    default_weights,
    estimate_weights,
    field_levels,
    level_weights,
)

__all__ = [
    "CROWDED_ENCODED_BLOCK",
    "ENCODED_TABLE",
    "ID_WEIGHTS",
    "EncodedRecords",
    "encoded_pairs",
    "greedy_one_to_one",
    "identifier_weights",
    "match_weights",
]

#: The build's temporary table of encodings (pipeline/encoded.py fills it).
ENCODED_TABLE = "_ju_enc_identity"
#: A blocking key shared by more records than this is a placeholder: it pairs nothing.
CROWDED_ENCODED_BLOCK = 300

#: For each hashed identifier: (weight when equal, weight when both held and different).
ID_WEIGHTS: dict[str, tuple[float, float]] = {
    "nhs_number": (20.0, -8.0),
    "upn": (15.0, -4.0),
    "pnc_id": (15.0, -4.0),
    "local_id": (15.0, 0.0),
}

#: A declared identifier kind (identifier_kinds): shared across agencies.
_OTHER_ID = (15.0, -4.0)


def _str(value: object) -> str | None:
    """A value as text; None for a missing one (None, NaN or a masked value)."""
    return value if isinstance(value, str) and value else None


@dataclass
class EncodedRecords:
    """Decoded encodings of a set of records, row-aligned."""

    clks: dict[str, npt.NDArray[np.uint8]]
    hashes: dict[str, npt.NDArray[np.object_]]

    @classmethod
    def from_columns(
        cls, columns: dict[str, Sequence[str | None]], n: int | None = None
    ) -> EncodedRecords:
        size = n if n is not None else len(next(iter(columns.values()), []))
        clks = {
            f.name: decode_clks(
                [_str(v) for v in columns.get(clk_column(f.name), [None] * size)], f
            )
            for f in CLK_FIELDS
        }
        prefix = hash_column("")
        kinds = [c[len(prefix) :] for c in columns if c.startswith(prefix)]
        hashes = {
            k: np.array([_str(v) for v in columns[hash_column(k)]], dtype=object)
            for k in sorted(kinds)
        }
        return cls(clks, hashes)


def identifier_weights(
    left: EncodedRecords,
    right: EncodedRecords,
    li: npt.NDArray[np.int64],
    ri: npt.NDArray[np.int64],
    *,
    same_agency: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.float64]:
    """The log2 Bayes factor of each pair's identifier hashes (:data:`ID_WEIGHTS`): a
    local id counts only within one agency."""
    w = np.zeros(len(li), dtype=np.float64)
    for kind in sorted(set(left.hashes) & set(right.hashes)):
        agree, disagree = ID_WEIGHTS.get(kind, _OTHER_ID)
        a, b = left.hashes[kind][li], right.hashes[kind][ri]
        held = np.array([x is not None and y is not None for x, y in zip(a, b, strict=True)], bool)
        if not held.any():
            continue
        equal = held & (a == b)
        if kind == "local_id" and same_agency is not None:
            equal &= same_agency
        w[equal] += agree
        w[held & ~equal] += disagree
    return w


def match_weights(
    left: EncodedRecords,
    right: EncodedRecords,
    li: npt.NDArray[np.int64],
    ri: npt.NDArray[np.int64],
    *,
    prior: float,
    same_agency: npt.NDArray[np.bool_] | None = None,
    weights: EncodedWeights | None = None,
) -> npt.NDArray[np.float64]:
    """The match weight (log2 odds) of each pair ``(left[li[j]], right[ri[j]])``: the
    prior, each field's level weight (``weights``, estimated by
    :func:`~joinedup.linkage.encoded_weights.estimate_weights`; the defaults without),
    and the identifiers'."""
    fitted = weights if weights is not None else default_weights()
    levels = field_levels(left, right, li, ri)
    w = prior + level_weights(fitted, levels, li)
    return w + identifier_weights(left, right, li, ri, same_agency=same_agency)


def greedy_one_to_one(
    li: npt.NDArray[np.int64],
    ri: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    least: float,
) -> list[tuple[int, int]]:
    """Pairs at or above ``least``, best first, each record used once (a one-to-one link
    of two files, as anonlink's greedy solver)."""
    order = np.argsort(-weights, kind="stable")
    used_l: set[int] = set()
    used_r: set[int] = set()
    out = []
    for j in order:
        if weights[j] < least:
            break
        a, b = int(li[j]), int(ri[j])
        if a in used_l or b in used_r:
            continue
        used_l.add(a)
        used_r.add(b)
        out.append((a, b))
    return out


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]
    ).fetchall()[0]
    return bool(row[0])


def _candidates_sql(rec: str, kinds: Sequence[str]) -> str:
    """Pairs of ``rec`` rows (``i``, its row number) sharing a blocking key or an
    identifier's keyed hash, with at least one record of an encoded source."""
    keys = (
        f"SELECT i, unnest(string_split({BLOCK_COLUMN}, ' ')) AS k FROM {rec} "
        f"WHERE {BLOCK_COLUMN} IS NOT NULL"
    )
    for kind in kinds:
        scope = "agency || ':' || " if kind == "local_id" else ""
        col = hash_column(kind)
        keys += f" UNION ALL SELECT i, '{kind}:' || {scope}{col} FROM {rec} WHERE {col} IS NOT NULL"
    return (
        f"WITH k AS ({keys}), big AS (SELECT k FROM k GROUP BY k "
        f"HAVING count(*) > {CROWDED_ENCODED_BLOCK}), "
        "kk AS (SELECT * FROM k ANTI JOIN big USING (k)) "
        "SELECT DISTINCT a.i AS l, b.i AS r FROM kk a JOIN kk b ON a.k = b.k AND a.i < b.i "
        f"JOIN {rec} x ON x.i = a.i JOIN {rec} y ON y.i = b.i WHERE x.encoded OR y.encoded"
    )


def encoded_pairs(
    con: duckdb.DuckDBPyConnection,
    config: LinkageConfig,
    *,
    inp: str,
    out: str = "_ju_lk_scored",
) -> int:
    """Score the pairs that involve an encoded record and add those at or above the
    review threshold to ``out``; return how many were added (0 with no encodings)."""
    if not _exists(con, ENCODED_TABLE):
        return 0
    rec = "_ju_lk_enc"
    have = {str(r[0]) for r in con.execute(f"DESCRIBE {ENCODED_TABLE}").fetchall()}
    kinds = sorted(c.removeprefix(hash_column("")) for c in have if c.startswith(hash_column("")))
    cols = [clk_column(f.name) for f in CLK_FIELDS] + [hash_column(k) for k in kinds]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {rec} AS SELECT (row_number() OVER (ORDER BY "
        "i.unique_id) - 1)::BIGINT AS i, i.unique_id, i.agency, e.encoded, "
        f"e.{BLOCK_COLUMN}, " + ", ".join(f"e.{c}" for c in cols) + f" FROM {inp} i "
        f"JOIN {ENCODED_TABLE} e USING (source, source_record_id)"
    )
    try:
        n = int(con.execute(f"SELECT count(*) FROM {rec}").fetchall()[0][0])
        if n < 2:
            return 0
        table = con.sql(f"SELECT * FROM {rec} ORDER BY i").fetchnumpy()
        records = EncodedRecords.from_columns({c: list(table[c]) for c in cols}, n)
        pairs = con.sql(_candidates_sql(rec, kinds)).fetchnumpy()
        li = np.asarray(pairs["l"], dtype=np.int64)
        ri = np.asarray(pairs["r"], dtype=np.int64)
        if len(li) == 0:
            return 0
        agency = np.asarray(table["agency"], dtype=object)
        same_agency = agency[li] == agency[ri]
        # the prior: one match per record among the records of a person, whose number
        # the distinct dates of birth estimate
        people = int(
            con.execute(f"SELECT count(DISTINCT {clk_column('dob')}) FROM {rec}").fetchall()[0][0]
        )
        fitted = estimate_weights(
            records,
            records,
            li,
            ri,
            same=True,
            fixed=identifier_weights(records, records, li, ri, same_agency=same_agency),
        )
        weights = match_weights(
            records,
            records,
            li,
            ri,
            prior=-math.log2(max(people, 2)),
            same_agency=same_agency,
            weights=fitted,
        )
        least = math.log2(config.review_threshold / (1 - config.review_threshold))
        keep = weights >= least
        uid = np.asarray(table["unique_id"], dtype=np.int64)
        a, b = uid[li[keep]], uid[ri[keep]]
        w = weights[keep]
        import pyarrow as pa

        scored = pa.table(
            {
                "unique_id_l": np.minimum(a, b),
                "unique_id_r": np.maximum(a, b),
                "match_weight": w,
                "match_probability": 1.0 / (1.0 + np.exp2(-w)),
            }
        )
        con.register("_ju_lk_enc_scored", scored)
        con.execute(f"DELETE FROM {out} WHERE match_key = 'encoded'")
        con.execute(
            f"INSERT INTO {out} SELECT unique_id_l, unique_id_r, match_weight, "
            "match_probability, 'encoded' FROM _ju_lk_enc_scored"
        )
        con.unregister("_ju_lk_enc_scored")
        return int(keep.sum())
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rec}")
