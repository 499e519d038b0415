"""What every stage of a build shares: one :class:`BuildContext`.

The context holds the build's DuckDB connection (the release being written, in its
staging folder), the partnership's configuration, and what earlier stages hand to later
ones: the sources read, the persons linked, the time each stage took.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from joinedup.config import PartnershipConfig
from joinedup.errors import BuildError, JoinedupError
from joinedup.release.schema import create_schema_sql
from joinedup.release.store import ReleaseHandle, current_release_id, open_release, staging_dir
from joinedup.sources import Crosswalks, Staged
from joinedup.sources.parsers import install_macros
from joinedup.state.keys import read_or_make_secret
from joinedup.taxonomy import Taxonomy

if TYPE_CHECKING:
    from joinedup.pipeline.drops import SourceDrop

__all__ = [
    "TEMP_DIR",
    "BuildContext",
    "Progress",
    "SourceFile",
    "add_mapping_lookups",
    "limit_memory",
    "load_secret",
    "prepare_database",
    "previous_release",
    "temp_directory",
]

#: The default spill folder, inside the staging folder (removed before publishing).
TEMP_DIR = ".tmp"

#: Called with (stage, done, total) as a build goes; the CLI draws bars, the web app a page.
Progress = Callable[[str, int, int], None]


@dataclass
class SourceFile:
    """One source's extract as the read stage staged it, and what mapping it gave."""

    table: str  # the staged view of the file's rows
    path: Path
    name: str  # the path relative to the partnership folder, as messages show it
    staged: Staged
    sha256: str
    extracted_at: dt.date
    counts: dict[str, int] = field(default_factory=dict)  # read, filtered, loaded, quarantined


@dataclass
class BuildContext:
    """One build: its connection, configuration and what each stage leaves for the next."""

    con: duckdb.DuckDBPyConnection
    partnership_dir: Path
    config: PartnershipConfig
    taxonomy: Taxonomy
    crosswalks: Crosswalks
    secret: bytes
    release_id: str
    now: dt.datetime
    reference_date: dt.date
    progress: Progress
    files: dict[str, Path]  # source id -> its extract, as partnership.yaml resolves it
    sources: dict[str, SourceFile] = field(default_factory=dict)  # filled by `read`
    persons: int = 0  # filled by `link`
    stage_seconds: dict[str, float] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)  # sources, records, ...: `publish`
    release: ReleaseHandle | None = None  # filled by `publish`
    # no silent loss (issue 11): sources a data lead confirmed (`--accept-drop`), and
    # those `guard` let through because of it (joinedup.pipeline.drops.SourceDrop)
    accept_drop: frozenset[str] = frozenset()
    accepted_drops: list[SourceDrop] = field(default_factory=list)

    @property
    def staging(self) -> Path:
        """The folder the release is written in until it is published."""
        return staging_dir(self.partnership_dir, self.release_id)


def temp_directory(cfg: PartnershipConfig, staging: Path) -> Path:
    """Where the build's database spills working data beyond its memory cap."""
    configured = cfg.build.temp_directory
    return Path(configured) if configured else staging / TEMP_DIR


def load_secret(partnership_dir: Path, cfg: PartnershipConfig) -> bytes:
    """The partnership's pseudonymisation key; created on first use, never put in a release
    (made and read as :func:`joinedup.state.keys.read_or_make_secret` does: every process
    that builds or opens the state at once reads the same, complete secret)."""
    return read_or_make_secret(
        Path(partnership_dir) / cfg.secret_file,
        error=BuildError,
        what="the partnership's pseudonymisation key",
    )


def previous_release(partnership_dir: Path) -> tuple[str, Path] | None:
    """(id, DuckDB file) of the current release, before this build publishes, if usable."""
    prev_id = current_release_id(partnership_dir)
    if prev_id is None:
        return None
    try:
        return prev_id, open_release(partnership_dir, prev_id).db_path
    except JoinedupError:
        return None


def prepare_database(
    con: duckdb.DuckDBPyConnection, cfg: PartnershipConfig, taxonomy: Taxonomy, temp: Path
) -> None:
    """Ready a new release's database for the first stage.

    Caps its memory (it spills to ``temp`` beyond the cap) and threads, and adds the
    release schema, the parsing macros and the lookups mapping needs.
    """
    _limit_resources(con, cfg, temp)
    for sql in create_schema_sql():
        con.execute(sql)
    install_macros(con)
    add_mapping_lookups(con, taxonomy)


def add_mapping_lookups(con: duckdb.DuckDBPyConnection, taxonomy: Taxonomy) -> None:
    """The temporary tables mapping writes to or reads: ethnicity groups, places seen."""
    con.execute("CREATE TEMP TABLE _ju_ethnicity (code VARCHAR, grp VARCHAR)")
    con.executemany(
        "INSERT INTO _ju_ethnicity VALUES (?, ?)",
        [(c, taxonomy.ethnicity_group(c)) for c in sorted(taxonomy.codes("ethnicity"))],
    )
    con.execute(
        "CREATE TEMP TABLE _ju_places (place_id VARCHAR, name VARCHAR, place_type VARCHAR, "
        "postcode VARCHAR)"
    )


def limit_memory(con: duckdb.DuckDBPyConnection, cfg: PartnershipConfig) -> None:
    """Cap ``con``'s memory as a build's (``JOINEDUP_MEMORY_LIMIT`` over
    ``build.memory_limit``); ``joinedup check`` runs under the same cap, so a limit the
    build would refuse is refused by ``check`` first (issue 13)."""
    limit = os.environ.get("JOINEDUP_MEMORY_LIMIT") or cfg.build.memory_limit
    try:
        con.execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
    except duckdb.Error as exc:
        raise BuildError(
            f"JOINEDUP_MEMORY_LIMIT={limit!r} is not a memory size DuckDB understands: "
            "use a number and a unit, e.g. 6GB."
        ) from exc


def _limit_resources(con: duckdb.DuckDBPyConnection, cfg: PartnershipConfig, temp: Path) -> None:
    limit_memory(con, cfg)
    con.execute(f"SET temp_directory = '{str(temp).replace(chr(39), chr(39) * 2)}'")
    if cfg.build.threads:
        con.execute(f"SET threads = {int(cfg.build.threads)}")
