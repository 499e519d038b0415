"""Stable pseudonymous person ids across releases.

A person id is a keyed hash (HMAC-SHA256 with the partnership's secret, which never
enters a release) of the person's first record key. Ids persist: each cluster of this
build takes the id of the previous release's person that has most of its records there
(a person keeps their id when new records join them). When two previous persons end in
one cluster, the one with more records keeps its id and the other is recorded as
``merged`` into it; when a previous person's records are split, the largest part keeps
the id and each other part gets a new id recorded as ``split`` from it. A new id never
reuses an id the partnership has issued before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from joinedup.linkage.exact import person_id_for

__all__ = ["PersonChange", "assign_person_ids"]


@dataclass(frozen=True)
class PersonChange:
    person_id: str
    change: str  # new | merged | split | removed
    other_person_id: str | None
    records: int


def _new_id(secret: bytes, anchor: str, taken: set[str]) -> str:
    pid = person_id_for(secret, anchor)
    n = 0
    while pid in taken:
        n += 1
        pid = person_id_for(secret, f"{anchor}#{n}")
    return pid


def assign_person_ids(
    con: duckdb.DuckDBPyConnection,
    secret: bytes,
    *,
    clusters: str,
    inp: str,
    previous: str | None,
    out: str,
    whole: str | None = None,
) -> list[PersonChange]:
    """Write ``out(label, person_id)`` for every cluster; return what changed.

    ``previous`` names a table ``(source, source_record_id, person_id)`` from the previous
    release, or None on a first build. ``whole`` names a table ``(label, person_id)`` of
    clusters that are exactly one previous person (``resolve.whole_persons``): each keeps
    that person's id, as the rules below would give it, without being looked at again.
    """
    other = f"ANTI JOIN {whole} w USING (label)" if whole is not None else ""
    labels = con.execute(
        f"SELECT c.label, min(i.source || chr(31) || i.source_record_id), count(*) "
        f"FROM {clusters} c {other} JOIN {inp} i USING (unique_id) "
        "GROUP BY c.label ORDER BY c.label"
    ).fetchall()
    overlap: list[tuple[int, str, int]] = []
    prev_sizes: dict[str, int] = {}
    taken: set[str] = set()
    if previous is not None:
        overlap = con.execute(
            f"SELECT c.label, p.person_id, count(*) FROM {clusters} c {other} "
            f"JOIN {inp} i USING (unique_id) "
            f"JOIN {previous} p USING (source, source_record_id) GROUP BY 1, 2"
        ).fetchall()
        # every earlier person (their ids are taken) and, outside ``whole``, their size
        kept_whole = (
            f"p.person_id IN (SELECT person_id FROM {whole})" if whole is not None else "false"
        )
        for pid, size, is_whole in con.execute(
            f"SELECT p.person_id, count(*), {kept_whole} FROM {previous} p GROUP BY 1"
        ).fetchall():
            taken.add(pid)
            if not is_whole:
                prev_sizes[pid] = int(size)
    # each previous person claims the cluster holding most of its records
    best: dict[str, tuple[int, int]] = {}
    in_label: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for label, pid, n in overlap:
        in_label[label].append((n, pid))
        cur = best.get(pid)
        if cur is None or (n, -label) > (cur[1], -cur[0]):
            best[pid] = (label, n)
    claims: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for pid, (label, n) in best.items():
        claims[label].append((n, pid))
    ids: dict[int, str] = {}
    changes: list[PersonChange] = []
    for label, cl in claims.items():
        cl.sort(key=lambda x: (-x[0], x[1]))
        keeper = cl[0][1]
        ids[label] = keeper
        for n, pid in cl[1:]:
            changes.append(PersonChange(pid, "merged", keeper, n))
    for label, anchor, n in labels:
        if label in ids:
            continue
        pid = _new_id(secret, anchor, taken)
        taken.add(pid)
        ids[label] = pid
        if label in in_label:
            n_from, origin = sorted(in_label[label], key=lambda x: (-x[0], x[1]))[0]
            changes.append(PersonChange(pid, "split", origin, n_from))
        else:
            changes.append(PersonChange(pid, "new", None, int(n)))
    for pid, size in prev_sizes.items():
        if pid not in best:
            changes.append(PersonChange(pid, "removed", None, int(size)))
    keys = sorted(ids)
    con.register(
        "_ju_lk_ids_arrow",
        pa.table(
            {
                "label": pa.array(keys, pa.int64()),
                "person_id": pa.array([ids[k] for k in keys], pa.string()),
            }
        ),
    )
    kept = f" UNION ALL SELECT label, person_id FROM {whole}" if whole is not None else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT label, person_id FROM _ju_lk_ids_arrow{kept}"
    )
    con.unregister("_ju_lk_ids_arrow")
    return sorted(changes, key=lambda c: (c.change, c.person_id))
