"""Pair keys and the SQL pieces the review queue and the pair page share.

A pair is named by an opaque **pair key**: a keyed hash of the release id and the two
record keys, with a key derived from the partnership's secret, never by the agencies'
record ids, so no record id appears in an address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure import SourceScope
from joinedup.errors import JoinedupError

__all__ = ["PairNotFound", "RecordKey"]

RecordKey = tuple[str, str]

_STATUS_LABELS = {
    "review": "In the review band: the records are in different persons",
    "linked": "Linked: the records are one person in this release",
    "not_linked": "Not linked: the records are in different persons",
}


class PairNotFound(JoinedupError):
    """The pair key names no scored pair of the current release."""


# --- pair keys ---------------------------------------------------------------------------

_PROCESS_KEY = secrets.token_hex(32)


def _key_secret(partnership_dir: Path, config: PartnershipConfig | None) -> str:
    """Hex key for pair keys, derived from the partnership's secret (so keys are the same
    in every worker and across restarts); a per-process key without one."""
    if config is not None:
        path = Path(partnership_dir) / config.secret_file
        if path.is_file():
            secret = path.read_text(encoding="utf-8").strip().encode()
            return hmac.new(secret, b"joinedup review pair key", hashlib.sha256).hexdigest()
    return _PROCESS_KEY


def _key_sql(secret: str) -> str:
    """SQL for a ``link_pair`` row's pair key: sha256(k || sha256(k || message)), the
    message being the release id and both record keys (an HMAC-like construction that
    DuckDB can compute over every pair)."""
    k = "'" + secret + "'"
    msg = (
        "concat_ws(chr(31), ?, p.source_l, p.source_record_id_l, p.source_r, p.source_record_id_r)"
    )
    return f"substr(sha256({k} || sha256({k} || {msg})), 1, 32)"


def _decided_table(
    con: duckdb.DuckDBPyConnection, decided: Iterable[tuple[RecordKey, RecordKey]]
) -> None:
    pairs = list(decided)
    con.register(
        "_ju_decided_arrow",
        pa.table(
            {
                "ls": pa.array([a[0] for a, _ in pairs], pa.string()),
                "lr": pa.array([a[1] for a, _ in pairs], pa.string()),
                "rs": pa.array([b[0] for _, b in pairs], pa.string()),
                "rr": pa.array([b[1] for _, b in pairs], pa.string()),
            }
        ),
    )


_CANON = (
    "(p.source_l < p.source_r OR (p.source_l = p.source_r "
    "AND p.source_record_id_l <= p.source_record_id_r))"
)
_NOT_DECIDED = (
    "NOT EXISTS (SELECT 1 FROM _ju_decided_arrow d WHERE "
    f"(CASE WHEN {_CANON} THEN d.ls = p.source_l AND d.lr = p.source_record_id_l "
    "AND d.rs = p.source_r AND d.rr = p.source_record_id_r "
    "ELSE d.ls = p.source_r AND d.lr = p.source_record_id_r "
    "AND d.rs = p.source_l AND d.rr = p.source_record_id_l END))"
)


def _scope_sql(scope: SourceScope) -> str:
    if not scope.excluded:
        return "true"
    banned = ", ".join("'" + s.replace("'", "''") + "'" for s in sorted(scope.excluded_ids))
    return f"p.source_l NOT IN ({banned}) AND p.source_r NOT IN ({banned})"


def _pair_rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


_PAIR_COLUMNS = (
    "p.source_l, p.source_record_id_l, p.source_r, p.source_record_id_r, p.match_weight, "
    "p.match_probability, p.blocking_rule, p.status, p.decision, "
    "sl.agency AS agency_l, sl.dataset AS dataset_l, sr.agency AS agency_r, "
    "sr.dataset AS dataset_r"
)
#: The ten weakest links not yet decided (chosen before any key is computed; ties broken
#: by record keys so the choice is repeatable), for spot checks.
_WEAKEST_SQL = (
    "SELECT * FROM link_pair p WHERE p.status = 'linked' AND p.decision IS NULL AND {scope} "
    "ORDER BY p.match_probability, p.match_weight, p.source_l, p.source_record_id_l, "
    "p.source_r, p.source_record_id_r LIMIT 10"
)
_PAIR_FROM = (
    "FROM link_pair p LEFT JOIN source sl ON sl.source = p.source_l "
    "LEFT JOIN source sr ON sr.source = p.source_r"
)


def _public_pair(row: dict[str, Any], key: str) -> dict[str, Any]:
    return {
        "key": key,
        "status": row["status"],
        "status_label": _STATUS_LABELS.get(str(row["status"]), str(row["status"])),
        "match_weight": row["match_weight"],
        "match_probability": row["match_probability"],
        "blocking_rule": row["blocking_rule"],
        "left": {"source": row["source_l"], "agency": row["agency_l"], "dataset": row["dataset_l"]},
        "right": {
            "source": row["source_r"],
            "agency": row["agency_r"],
            "dataset": row["dataset_r"],
        },
    }
