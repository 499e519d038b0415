"""The pairs a reviewer can open, read once per release file (issue 16).

``link_pair`` holds every scored pair: millions in a large partnership (7 million at
100,000 people), nearly all of them ``linked``. The review pages only ever show or open a
few of them: the pairs in the review band (``review``), those scored there but kept apart
(``not_linked``) and the ten weakest links. Reading those from ``link_pair`` on every
request made the queue and the pair page take seconds (they were 5 s at 100,000
people). Here they are read once per release file (which never changes once published)
into a small in-memory DuckDB database (88,000 pairs, some 40 MB, read in about 2 s at
100,000 people), already joined to what the pages need:

- the opaque pair key (:func:`joinedup.views.review_keys._key_sql`);
- the sources' agencies and datasets;
- the persons both records are in, and the flags on those persons (``person_flag``);
- the pair's record keys in canonical order (``c_ls, c_lr, c_rs, c_rr``; ``ckey`` joins
  them), as the app state keeps decisions, so undecided pairs are found by one column.

:func:`review_pairs` gives a connection to that database on which the queue and the pair
page query :data:`BAND_VIEW` (review and not_linked pairs), :data:`WEAKEST_VIEW` (the
ten weakest links at the tier's scope) and :data:`DECIDED_VIEW` (the pairs decided in the
app state) as they queried ``link_pair``. A handle without a database file (a test's
stand-in) is read afresh each time. Decisions are never remembered here: they are read
from the app state on every request.
"""

from __future__ import annotations

import atexit
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import duckdb
import pyarrow as pa

from joinedup.disclosure import SourceScope
from joinedup.views.release import ReleaseLike
from joinedup.views.review_keys import _CANON, _WEAKEST_SQL, RecordKey, _key_sql, _scope_sql

__all__ = [
    "BAND_VIEW",
    "DECIDED_VIEW",
    "WEAKEST_VIEW",
    "clear_review_pairs",
    "decided_key",
    "review_pairs",
]

#: What :func:`review_pairs` gives to query.
BAND_VIEW = "_ju_band"
WEAKEST_VIEW = "_ju_weakest"
DECIDED_VIEW = "_ju_decided"

#: Most tables kept (a few releases and scopes at most).
CAPACITY = 8

_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
T = TypeVar("T")
_LOCK = threading.Lock()  # held while a table is read: one reader per table, others wait


def _pairs_sql(candidates: str, secret: str) -> str:
    """Candidate ``link_pair`` rows (SQL selecting ``p.*``) with what the pages need.
    Parameter: the release id (for the pair key)."""
    canon = {
        "c_ls": f"CASE WHEN {_CANON} THEN p.source_l ELSE p.source_r END",
        "c_lr": f"CASE WHEN {_CANON} THEN p.source_record_id_l ELSE p.source_record_id_r END",
        "c_rs": f"CASE WHEN {_CANON} THEN p.source_r ELSE p.source_l END",
        "c_rr": f"CASE WHEN {_CANON} THEN p.source_record_id_r ELSE p.source_record_id_l END",
    }
    return (
        f"WITH cand AS ({candidates}), "
        "keys AS (SELECT source_l AS source, source_record_id_l AS source_record_id FROM cand "
        "UNION SELECT source_r, source_record_id_r FROM cand), "
        # the person each record is in and the flags on that person (sorted)
        "rp AS (SELECT rp.source, rp.source_record_id, min(rp.person_id) AS person_id, "
        "list_sort(list_distinct(list(f.flag) FILTER (WHERE f.flag IS NOT NULL))) AS flags "
        "FROM record_person rp JOIN keys USING (source, source_record_id) "
        "LEFT JOIN person_flag f ON f.person_id = rp.person_id GROUP BY 1, 2) "
        f"SELECT {_key_sql(secret)} AS pair_key, p.source_l, p.source_record_id_l, "
        "p.source_r, p.source_record_id_r, p.match_weight, p.match_probability, "
        "p.blocking_rule, p.status, p.decision, "
        "sl.agency AS agency_l, sl.dataset AS dataset_l, "
        "sr.agency AS agency_r, sr.dataset AS dataset_r, "
        "rl.person_id AS person_l, rr.person_id AS person_r, "
        "list_sort(list_distinct(list_concat(coalesce(rl.flags, []), coalesce(rr.flags, [])))) "
        "AS flags, " + ", ".join(f"{sql} AS {name}" for name, sql in canon.items()) + " "
        "FROM cand p LEFT JOIN source sl ON sl.source = p.source_l "
        "LEFT JOIN source sr ON sr.source = p.source_r "
        "LEFT JOIN rp rl ON rl.source = p.source_l AND rl.source_record_id = p.source_record_id_l "
        "LEFT JOIN rp rr ON rr.source = p.source_r AND rr.source_record_id = p.source_record_id_r"
    )


def _read(con: duckdb.DuckDBPyConnection, candidates: str, secret: str, rid: str) -> pa.Table:
    return con.sql(_pairs_sql(candidates, secret), params=[rid]).to_arrow_table()


def _band_db(con: duckdb.DuckDBPyConnection, secret: str, rid: str) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding :data:`BAND_VIEW` (queried natively: faster than
    scanning an Arrow table on each request), with ``ckey``, the canonical record keys
    joined by U+001F, to find decided pairs by one column."""
    band = _read(
        con, "SELECT * FROM link_pair p WHERE p.status IN ('review', 'not_linked')", secret, rid
    )
    db = duckdb.connect(":memory:")
    db.register("_ju_read", band)
    db.execute(
        f"CREATE TABLE {BAND_VIEW} AS SELECT *, "
        "concat_ws(chr(31), c_ls, c_lr, c_rs, c_rr) AS ckey FROM _ju_read"
    )
    db.unregister("_ju_read")
    return db


def _release_key(handle: ReleaseLike) -> tuple[Any, ...] | None:
    db = getattr(handle, "db_path", None)
    if db is None:
        return None
    try:
        st = Path(db).stat()
    except OSError:
        return None
    return (str(Path(db).resolve()), st.st_mtime_ns, st.st_size)


def _remembered(key: tuple[Any, ...] | None, read: Callable[[], T]) -> T:
    if key is None:
        return read()
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return cast(T, _CACHE[key])
        got = read()
        _CACHE[key] = got
        while len(_CACHE) > CAPACITY:
            _CACHE.popitem(last=False)  # a database still in use lives until it is not
        return got


def clear_review_pairs() -> None:
    """Forget every table read (tests that change a release in place need not: the key
    holds the file's modification time and size). Run at exit too, so no in-memory
    database outlives the interpreter's teardown."""
    with _LOCK:
        for got in _CACHE.values():
            if isinstance(got, duckdb.DuckDBPyConnection):
                got.close()
        _CACHE.clear()


atexit.register(clear_review_pairs)


def decided_key(left: RecordKey, right: RecordKey) -> str:
    """A decided pair (canonical record keys, as the app state keeps them) as the band's
    ``ckey``."""
    return "\x1f".join((*left, *right))


@contextmanager
def review_pairs(
    con: duckdb.DuckDBPyConnection,
    handle: ReleaseLike,
    *,
    secret: str,
    rid: str,
    scope: SourceScope,
    decided: Iterable[tuple[RecordKey, RecordKey]] = (),
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to query the pairs of ``handle``'s release (``con``, read once per
    release file): :data:`BAND_VIEW` (review and not_linked pairs, every source: filter
    with ``_scope_sql``), :data:`WEAKEST_VIEW` (the ten weakest links within ``scope``)
    and :data:`DECIDED_VIEW` (``ckey`` of each ``decided`` pair)."""
    release = _release_key(handle)
    db = _remembered(
        None if release is None else ("band", *release, secret, rid),
        lambda: _band_db(con, secret, rid),
    )
    weakest = _remembered(
        None if release is None else ("weakest", *release, secret, rid, scope.excluded_ids),
        lambda: _read(con, _WEAKEST_SQL.format(scope=_scope_sql(scope)), secret, rid),
    )
    keys = [decided_key(a, b) for a, b in decided]
    cur = db.cursor()
    try:
        cur.register(WEAKEST_VIEW, weakest)
        cur.register(DECIDED_VIEW, pa.table({"ckey": pa.array(keys, pa.string())}))
        yield cur
    finally:
        cur.close()
        if release is None:
            db.close()
