"""Opening the current release for a view, and the facts every view shows beside its
figures (the release's id and dates, the tier's disclosure policy).

Views open a release only through these functions; ``ReleaseLike`` is what they need of
a handle (``joinedup.release.ReleaseHandle``, or a test's stand-in).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import duckdb

from joinedup.config import CONFIG_FILE, PartnershipConfig, load_config
from joinedup.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    SourceScope,
    Tier,
    scope_release,
    source_scope,
    suppression_footnote,
)
from joinedup.errors import ReleaseError
from joinedup.release import open_current

__all__ = [
    "ReleaseLike",
    "agency_names",
    "connect_release",
    "open_current_release",
    "open_release_connection",
    "operational_release",
    "partnership_config",
    "policy_dict",
    "release_facts",
]


class ReleaseLike(Protocol):
    """What views need of a release handle (``joinedup.release.ReleaseHandle``)."""

    @property
    def release_id(self) -> str: ...

    def connect(self) -> duckdb.DuckDBPyConnection: ...


def policy_dict(policy: DisclosurePolicy) -> dict[str, Any]:
    """The policy as pages and JSON show it (threshold, rounding, the footnote)."""
    return {
        "threshold": policy.threshold,
        "rounding_base": policy.rounding_base,
        "suppressed": SUPPRESSED,
        "footnote": suppression_footnote(policy),
    }


def open_current_release(partnership_dir: Path) -> ReleaseLike:
    """The current release of a partnership (``joinedup.release.open_current``)."""
    return open_current(partnership_dir)


def connect_release(handle: ReleaseLike) -> duckdb.DuckDBPyConnection:
    """A connection to ``handle``'s release, or a ReleaseError saying how to rebuild."""
    try:
        return handle.connect()
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be opened ({type(exc).__name__}). "
            "Run `joinedup build DIR` to build a new one."
        ) from exc


def open_release_connection(
    partnership_dir: Path, open_release: Callable[[Path], ReleaseLike] | None
) -> tuple[ReleaseLike, duckdb.DuckDBPyConnection]:
    """The current release (or ``open_release``'s) and a connection to it."""
    handle = (open_release or open_current_release)(partnership_dir)
    return handle, connect_release(handle)


@contextmanager
def operational_release(
    partnership_dir: Path,
    *,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> Iterator[tuple[ReleaseLike, duckdb.DuckDBPyConnection, SourceScope]]:
    """The current release opened and narrowed to the sources the operational tier may
    draw on: (handle, connection, scope). Closed on leaving."""
    scope = source_scope(config, Tier.OPERATIONAL)
    handle = (open_release or open_current_release)(partnership_dir)
    con = connect_release(handle)
    try:
        scope_release(con, scope)
        yield handle, con, scope
    finally:
        con.close()


def release_facts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The release's id, build time, partnership and reference date, from release_info."""
    facts = dict(con.execute("SELECT key, value FROM release_info").fetchall())
    return {
        "release_id": facts.get("release_id"),
        "built_at": facts.get("built_at"),
        "partnership": facts.get("partnership"),
        "reference_date": facts.get("reference_date"),
        # issue 13: what the geography holds, and why no one is placed in an area if so
        "geography": facts.get("geography"),
        "geography_unplaced": facts.get("geography_unplaced"),
    }


def partnership_config(partnership_dir: Path) -> PartnershipConfig | None:
    """The partnership's configuration for disclosure, or None without a partnership.yaml.

    Extract files are not checked: the web app and reports read a built release.
    """
    path = Path(partnership_dir) / CONFIG_FILE
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    with _CONFIG_LOCK:
        cached = _CONFIG_CACHE.get(key[0])
        if cached is not None and cached[0] == key:
            return cached[1]
    cfg = load_config(partnership_dir, check_files=False)
    with _CONFIG_LOCK:
        _CONFIG_CACHE[key[0]] = (key, cfg)
    return cfg


#: partnership_config's last answer per folder, kept while partnership.yaml is unchanged
#: (same modification time and size): pages ask for it on every request.
_CONFIG_CACHE: dict[str, tuple[tuple[str, int, int], PartnershipConfig]] = {}
_CONFIG_LOCK = threading.Lock()


def agency_names(partnership_dir: Path) -> dict[str, str]:
    """Agencies by name (people's words, issue 16): id -> name from partnership.yaml."""
    cfg = partnership_config(partnership_dir)
    return {a.id: a.name for a in cfg.agencies} if cfg is not None else {}
