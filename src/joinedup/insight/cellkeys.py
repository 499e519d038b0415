"""Record keys and cell keys, counted beside every answer (issue 19, item 7).

Cell key perturbation (the rule: :mod:`joinedup.disclosure.cellkey`) needs, for every
published count, the *cell key* of the units it counts: the sum of their *record keys*
modulo 256. A unit's record key is a keyed hash (HMAC-SHA256 under the partnership's
secret, which never reaches a release) of its pseudonymous id, so the same person, event,
place or group has the same key in every question, table, period and release.

At build, :func:`register_record_keys` gives each distinct unit of a question its record
key and a *key value* ``k = rank * 256 + record_key`` (``rank`` numbers the units), so
that ``sum(DISTINCT k) % 256`` over a cell's rows is exactly the sum of its distinct
units' record keys modulo 256, counted in the same ``GROUPING SETS`` query as the count
itself (:func:`joinedup.insight.tally.tally_keyed`). The record keys are stored with the
question's rows (``question_row.record_key``), so a period counted on request gets its
cell keys the same way (:func:`key_value_sql`), without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import duckdb
import pyarrow as pa

__all__ = [
    "KEY_RANGE",
    "RecordKeys",
    "cell_key_sql",
    "key_value_sql",
    "record_key",
    "register_record_keys",
]

#: Record and cell keys are 0 to KEY_RANGE - 1.
KEY_RANGE = 256


def record_key(secret: bytes, unit_id: str) -> int:
    """A unit's record key (0-255): a keyed hash of its id."""
    digest = hmac.new(secret, f"cell-key:{unit_id}".encode(), hashlib.sha256).digest()
    return digest[0]


class RecordKeys:
    """Record keys under one secret, remembered across the questions of a build (most
    questions count the same people)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._known: dict[str, int] = {}

    def __call__(self, unit_id: str) -> int:
        key = self._known.get(unit_id)
        if key is None:
            key = self._known[unit_id] = record_key(self._secret, unit_id)
        return key

    def table(self, unit_ids: Iterable[str]) -> pa.Table:
        """(unit_id, record_key, k) for the distinct ``unit_ids``."""
        ids = sorted(set(unit_ids))
        keys = [self(u) for u in ids]
        return pa.table(
            {
                "unit_id": pa.array(ids, pa.string()),
                "record_key": pa.array(keys, pa.int16()),
                "k": pa.array([i * KEY_RANGE + rk for i, rk in enumerate(keys)], pa.int64()),
            }
        )


def register_record_keys(
    con: duckdb.DuckDBPyConnection, name: str, units_sql: str, keys: RecordKeys
) -> None:
    """Register the view ``name`` of (unit_id, record_key, k) for the units ``units_sql``
    selects (one VARCHAR column)."""
    ids = [str(r[0]) for r in con.execute(units_sql).fetchall() if r[0] is not None]
    con.register(name, keys.table(ids))


def key_value_sql(record_key_column: str = "record_key", unit_column: str = "unit_id") -> str:
    """The key value ``k`` of stored rows that carry their unit's record key: unique to
    the unit and equal to its record key modulo 256 (NULL where the key is NULL)."""
    return f"{record_key_column} + {KEY_RANGE} * dense_rank() OVER (ORDER BY {unit_column})"


def cell_key_sql(key_value_column: str = "k") -> str:
    """The aggregate that gives a cell's key from its rows' key values (NULL when the
    rows carry none)."""
    return f"CAST(sum(DISTINCT {key_value_column}) % {KEY_RANGE} AS INTEGER)"
