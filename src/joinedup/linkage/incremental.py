"""Monthly builds: what a build keeps from the previous release (the reuse store).

Beside each release's database a build leaves a **reuse store**, a folder
``release.linkage-store/`` of Parquet parts:

- ``input-*.parquet``: the linkage input (``_ju_lk_input``) of every record, with its
  ``unique_id`` and a ``change_key`` (a hash of every field the input is made from);
- ``scores-*.parquet``: every scored pair at or above the review threshold, by
  ``unique_id``;
- ``gone-*.parquet``: the ``unique_id`` of records that changed or left;
- ``meta.json``: the parts, the largest ``unique_id`` issued, and a signature of the code
  and data the input is derived with (nickname table, name rules, input SQL).

The next build reads it: a record whose ``change_key`` is unchanged keeps its input row
and ``unique_id`` (ids are never reused: a changed record gets a new one), so only new and
changed records have their input derived, and the earlier scores between unchanged
records come back by number, not by name. A build writes only its own parts (the new
records' input, the pairs it scored, the ids that went) and hard-links the earlier parts
into its store, so the store costs what changed, not what is kept. A full build (or one
after ``MAX_PARTS`` incremental builds) writes everything afresh.

All of it works on the link stage's temporary tables on the build's connection.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from joinedup.linkage.features import FINGERPRINT_COLUMNS, INPUT_TABLE, prepare_input

__all__ = [
    "MAX_PARTS",
    "STORE_SUFFIX",
    "Store",
    "add_change_keys",
    "blocking_partners_sql",
    "database_path",
    "input_signature",
    "open_store",
    "reuse_input",
    "store_dir",
    "stored_scores_sql",
    "write_store",
]

STORE_SUFFIX = ".linkage-store"
#: Parts a store may hold before a build writes it afresh in one part of each kind.
MAX_PARTS = 24
_META = "meta.json"
_SCORE_COLUMNS = "unique_id_l, unique_id_r, match_weight, match_probability, match_key"
_VERSION = 2


@dataclass
class Store:
    """A reuse store read from beside the previous release (or none)."""

    folder: Path
    max_uid: int
    inputs: list[str] = field(default_factory=list)
    scores: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)

    def paths(self, kind: str) -> str:
        """A DuckDB list literal of the parts of one kind (``input``, ``scores``, ``gone``)."""
        names: list[str] = getattr(self, {"input": "inputs"}.get(kind, kind))
        return "[" + ", ".join(_quote(str(self.folder / n)) for n in names) + "]"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def store_dir(db: Path) -> Path:
    """The reuse store beside a release's database file."""
    return db.with_name(db.stem + STORE_SUFFIX)


def database_path(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file the build's connection writes to (None for an in-memory database)."""
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    path = rows[0][0] if rows else None
    return Path(path) if path else None


@functools.cache
def input_signature() -> str:
    """What a stored input row was derived with: when it changes, nothing is reused.

    Taken once a process, from the code as it was first used (a build never mixes two)."""
    from joinedup.linkage import features, names

    h = hashlib.sha256()
    h.update(duckdb.__version__.encode())  # the change keys are DuckDB's own hash
    h.update(inspect.getsource(features).encode())
    h.update(inspect.getsource(names).encode())
    data = Path(names.__file__).parent / "data"
    for p in sorted(data.glob("*")):
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def open_store(previous_db: Path | None) -> Store | None:
    """The previous release's reuse store, when it exists and fits this code."""
    if previous_db is None:
        return None
    folder = store_dir(Path(previous_db))
    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("version") != _VERSION or meta.get("signature") != input_signature():
        return None
    store = Store(
        folder,
        int(meta["max_uid"]),
        list(meta.get("input", [])),
        list(meta.get("scores", [])),
        list(meta.get("gone", [])),
    )
    parts = store.inputs + store.scores + store.gone
    if not store.inputs or not all((folder / n).is_file() for n in parts):
        return None
    return store


def _change_key_sql(con: duckdb.DuckDBPyConnection) -> str:
    """``(source, source_record_id, agency, change_key)`` of every record this build.

    The key is DuckDB's ``hash`` of every field the linkage input is made from
    (the DuckDB version is part of :func:`input_signature`, so a store is never read with
    keys hashed another way)."""
    have = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
            "AND database_name = current_database() "
            "AND table_name IN ('identity_address', 'identity_id')"
        ).fetchall()
    }
    extra, joins = [], []
    if "identity_address" in have:
        joins.append(
            "LEFT JOIN (SELECT source, source_record_id, "
            "list_sort(list(hash(address, postcode))) AS a "
            "FROM identity_address GROUP BY ALL) ad USING (source, source_record_id)"
        )
        extra.append("ad.a")
    if "identity_id" in have:
        joins.append(
            "LEFT JOIN (SELECT source, source_record_id, "
            "list_sort(list(hash(kind, scope, value))) AS x "
            "FROM identity_id GROUP BY ALL) ix USING (source, source_record_id)"
        )
        extra.append("ix.x")
    fields = ", ".join(f"i.{c}" for c in FINGERPRINT_COLUMNS)
    # 63 bits of it, as a signed BIGINT that every engine's tables can carry
    key = f"(hash({', '.join([fields, 'r.agency', *extra])}) >> 1)::BIGINT"
    return (
        f"SELECT i.source, i.source_record_id, r.agency, {key} AS change_key "
        f"FROM identity i JOIN record r USING (source, source_record_id) {' '.join(joins)}"
    )


def reuse_input(con: duckdb.DuckDBPyConnection, store: Store) -> tuple[int, int]:
    """``_ju_lk_input`` from the store and the new or changed records; ``_ju_lk_old``.

    Unchanged records keep their stored row and ``unique_id``; new and changed records
    are derived afresh (``prepare_input(only=...)``) and numbered after the store's
    largest id. ``_ju_lk_old`` holds the unchanged records' ``(unique_id, source,
    source_record_id)``. Returns (records, new or changed records).
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ju_lk_keys AS {_change_key_sql(con)}")
    gone = (
        f"ANTI JOIN read_parquet({store.paths('gone')}) g USING (unique_id)" if store.gone else ""
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {INPUT_TABLE} AS SELECT p.* FROM "
        f"read_parquet({store.paths('input')}, union_by_name = true) p {gone} "
        "SEMI JOIN _ju_lk_keys k USING (source, source_record_id, agency, change_key)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_old AS "
        f"SELECT unique_id, source, source_record_id FROM {INPUT_TABLE}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_fresh_keys AS SELECT * FROM _ju_lk_keys "
        "ANTI JOIN _ju_lk_old USING (source, source_record_id)"
    )
    fresh = prepare_input(con, only="_ju_lk_fresh_keys", out="_ju_lk_fresh")
    con.execute(
        f"INSERT INTO {INPUT_TABLE} BY NAME "
        f"SELECT f.* REPLACE (f.unique_id + {int(store.max_uid)} AS unique_id), "
        "k.change_key FROM _ju_lk_fresh f "
        "JOIN _ju_lk_fresh_keys k USING (source, source_record_id)"
    )
    for t in ("_ju_lk_fresh", "_ju_lk_fresh_keys", "_ju_lk_keys"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    total = int(con.execute(f"SELECT count(*) FROM {INPUT_TABLE}").fetchall()[0][0])
    return total, fresh


def add_change_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Give a freshly derived ``_ju_lk_input`` its ``change_key`` column (a full build)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ju_lk_keys AS {_change_key_sql(con)}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {INPUT_TABLE} AS SELECT i.*, k.change_key "
        f"FROM {INPUT_TABLE} i JOIN _ju_lk_keys k USING (source, source_record_id)"
    )
    con.execute("DROP TABLE IF EXISTS _ju_lk_keys")


def blocking_partners_sql(existing: str, new: str, *, components: str) -> str:
    """Records of ``existing`` that some blocking rule pairs with a record of ``new``.

    Scoring new records against these alone finds the same pairs, under the same rules,
    as scoring them against everyone: a pair is a candidate only when a rule joins it.
    ``new`` has an ``id_component`` column; ``components`` names a table
    ``(unique_id, label)`` of identifier components for the records of ``existing`` (one
    not listed is a component of its own: ``features.COMPONENT_SQL``). Pairs that
    identifiers already join (``settings.SAME_PERSON_BY_IDENTIFIER``) are left out after
    the rules' joins, on each record and component once.
    """
    from joinedup.linkage.settings import BLOCKING_RULES

    parts = " UNION ALL ".join(
        f"SELECT l.unique_id, r.id_component AS rc FROM {existing} l JOIN {new} r ON {sql}"
        for _, sql in BLOCKING_RULES
    )
    return (
        f"SELECT DISTINCT x.unique_id FROM (SELECT DISTINCT unique_id, rc FROM ({parts})) x "
        f"LEFT JOIN {components} c USING (unique_id) "
        "WHERE coalesce(c.label, x.unique_id) <> x.rc"
    )


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_store(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    previous: Store | None,
    incremental: bool,
    tag: str,
    kept_links_sql: str | None = None,
) -> None:
    """Write this build's reuse store into ``folder`` (replacing what is there).

    ``incremental``: the build kept ``previous``'s rows and scored only pairs touching a
    new id; write only the new records' input, those pairs and the ids that went, and
    hard-link the earlier parts (or, past ``MAX_PARTS``, write everything live in one
    part of each kind). Otherwise ``_ju_lk_scored`` holds every pair (and
    ``kept_links_sql`` the kept persons' own links, for an incremental build whose previous
    release had no store): write it all.
    """
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, mode=0o700)
    max_uid = int(
        con.execute(f"SELECT coalesce(max(unique_id), 0) FROM {INPUT_TABLE}").fetchall()[0][0]
    )
    if previous is not None:
        max_uid = max(max_uid, previous.max_uid)
    inputs: list[str] = []
    scores: list[str] = []
    gone: list[str] = []
    input_sql = f"SELECT * FROM {INPUT_TABLE}"
    scores_sql = f"SELECT {_SCORE_COLUMNS} FROM _ju_lk_scored"
    if kept_links_sql is not None and not (incremental and previous is not None):
        scores_sql += f" UNION ALL {kept_links_sql}"
    if incremental and previous is not None:
        since = int(previous.max_uid)
        scores_sql += f" WHERE unique_id_l > {since} OR unique_id_r > {since}"
        if len(previous.inputs) + 1 < MAX_PARTS:
            for name in previous.inputs + previous.scores + previous.gone:
                _link_or_copy(previous.folder / name, folder / name)
            inputs, scores, gone = list(previous.inputs), list(previous.scores), list(previous.gone)
            input_sql += f" WHERE unique_id > {since}"
            drop = (
                f" ANTI JOIN read_parquet({previous.paths('gone')}) g USING (unique_id)"
                if previous.gone
                else ""
            )
            con.execute(
                f"COPY (SELECT unique_id FROM read_parquet({previous.paths('input')}) p "
                f"ANTI JOIN _ju_lk_old USING (unique_id){drop}) "
                f"TO {_quote(str(folder / f'gone-{tag}.parquet'))} (FORMAT parquet)"
            )
            gone.append(f"gone-{tag}.parquet")
        else:
            # compaction: the earlier pairs between records still here, and the new ones
            scores_sql += (
                f" UNION ALL SELECT {_SCORE_COLUMNS} FROM read_parquet({previous.paths('scores')}) "
                "WHERE unique_id_l IN (SELECT unique_id FROM _ju_lk_old) "
                "AND unique_id_r IN (SELECT unique_id FROM _ju_lk_old)"
            )
    con.execute(
        f"COPY ({input_sql}) TO {_quote(str(folder / f'input-{tag}.parquet'))} (FORMAT parquet)"
    )
    inputs.append(f"input-{tag}.parquet")
    con.execute(
        f"COPY ({scores_sql}) TO {_quote(str(folder / f'scores-{tag}.parquet'))} (FORMAT parquet)"
    )
    scores.append(f"scores-{tag}.parquet")
    meta = {
        "version": _VERSION,
        "signature": input_signature(),
        "max_uid": max_uid,
        "input": inputs,
        "scores": scores,
        "gone": gone,
    }
    (folder / _META).write_text(json.dumps(meta, indent=1), encoding="utf-8")


def stored_scores_sql(store: Store, *, checked: bool = True) -> str:
    """The store's scored pairs between records unchanged since (in ``_ju_lk_old``).

    ``checked=False`` leaves that check to the caller: a join on this build's records
    makes it (an unchanged record keeps its number; a changed one gets a new number,
    larger than any stored, so its stored pairs name no record of this build)."""
    where = (
        " WHERE unique_id_l IN (SELECT unique_id FROM _ju_lk_old) "
        "AND unique_id_r IN (SELECT unique_id FROM _ju_lk_old)"
        if checked
        else ""
    )
    return f"SELECT {_SCORE_COLUMNS} FROM read_parquet({store.paths('scores')}){where}"


def stable_id_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[str, float, str]]:
    """Whether persons whose records did not change kept their id: ``stable_ids`` rows.

    A previous person's records "did not change" when every one of them is still here,
    unchanged (``_ju_lk_old``); new records may have joined them. Such a person keeps
    their id, or loses it because their records were merged with another person's (who
    kept theirs: the larger one), or were split between persons (a review decision, or a
    record that changed in between). Counts only, never ids.
    """
    row = con.execute(
        """
        WITH pr AS (SELECT p.person_id, o.unique_id FROM _ju_lk_prev_rp p
                    LEFT JOIN _ju_lk_old o USING (source, source_record_id)),
        whole AS (SELECT person_id FROM pr GROUP BY 1 HAVING count(*) = count(unique_id)),
        now AS (SELECT pr.person_id, n.person_id AS now_id FROM pr SEMI JOIN whole
                USING (person_id) JOIN _ju_lk_cluster c USING (unique_id)
                JOIN _ju_lk_pid n USING (label)),
        per AS (SELECT person_id, count(DISTINCT now_id) AS parts,
                       bool_and(now_id = person_id) AS kept FROM now GROUP BY 1)
        SELECT count(*), count(*) FILTER (WHERE kept),
               count(*) FILTER (WHERE NOT kept AND parts = 1),
               count(*) FILTER (WHERE parts > 1) FROM per
        """
    ).fetchall()[0]
    total, kept, merged, split = (int(x or 0) for x in row)
    share = kept / total if total else 1.0
    return [
        ("unchanged_persons", float(total), "earlier persons whose records are all unchanged"),
        ("kept_id", float(kept), "of those, persons who kept their id"),
        ("kept_share", share, "share of those who kept their id"),
        ("merged", float(merged), "lost it: their records joined a larger earlier person"),
        ("split", float(split), "lost it: their records are now in more than one person"),
    ]
