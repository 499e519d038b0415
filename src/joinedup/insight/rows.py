"""Writing Python rows into a release table quickly (through Arrow, not row by row)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

__all__ = ["insert_rows"]


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]]) -> None:
    """Append ``rows`` (tuples in the table's column order) to ``table``."""
    if not rows:
        return
    cols = [str(r[0]) for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
    data = pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})
    name = f"_ju_rows_{table}"
    con.register(name, data)
    try:
        con.execute(f'INSERT INTO "{table}" SELECT * FROM {name}')
    finally:
        con.unregister(name)
