"""Pair keys and the SQL pieces the review queue and the pair page share.

A pair is named by an opaque **pair key**: a keyed hash of the release id and the two
record keys, with a key derived from the partnership's secret, never by the agencies'
record ids, so no record id appears in an address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

import duckdb

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


#: The pair's records are in canonical order (as the app state keeps decisions).
_CANON = (
    "(p.source_l < p.source_r OR (p.source_l = p.source_r "
    "AND p.source_record_id_l <= p.source_record_id_r))"
)


def _scope_sql(scope: SourceScope) -> str:
    if not scope.excluded:
        return "true"
    banned = ", ".join("'" + s.replace("'", "''") + "'" for s in sorted(scope.excluded_ids))
    return f"p.source_l NOT IN ({banned}) AND p.source_r NOT IN ({banned})"


def _pair_rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


#: The ten weakest links not yet decided (chosen before any key is computed; ties broken
#: by record keys so the choice is repeatable), for spot checks.
_WEAKEST_SQL = (
    "SELECT * FROM link_pair p WHERE p.status = 'linked' AND p.decision IS NULL AND {scope} "
    "ORDER BY p.match_probability, p.match_weight, p.source_l, p.source_record_id_l, "
    "p.source_r, p.source_record_id_r LIMIT 10"
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
