"""Building a release: every source through its mapping, persons resolved, published atomically.

Stages, each timed into ``lineage``: read (stage every file), check (every mapping against
its file's columns, all problems reported together), map (canonical rows and quarantine),
geography, link (persons), derive (person attributes, places), quality, publish.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import duckdb

from joinedup import __version__
from joinedup.config import (
    PartnershipConfig,
    SourceConfig,
    config_sha256,
    load_config,
    resolve_source_file,
)
from joinedup.errors import BuildError, JoinedupError, Problem, SourceError
from joinedup.linkage import link_stage
from joinedup.quality import run_quality
from joinedup.release import derive
from joinedup.release.schema import create_schema_sql
from joinedup.release.store import (
    DB_FILE,
    ReleaseHandle,
    build_lock,
    current_release_id,
    new_release_id,
    open_release,
    publish,
    staging_dir,
)
from joinedup.sources import (
    Crosswalks,
    Staged,
    exploitation_rows_sql,
    field_quality_sql,
    plan_mapping,
    plan_sql,
    resolve_crosswalks,
    unmapped_codes_sql,
)
from joinedup.sources import stage as stage_file
from joinedup.sources.parsers import install_macros
from joinedup.taxonomy import load_taxonomy

__all__ = [
    "BuildContext",
    "BuildResult",
    "ExtraStage",
    "Progress",
    "build_release",
    "file_sha256",
    "load_secret",
]

Progress = Callable[[str, int, int], None]
T = TypeVar("T")


@dataclass(frozen=True)
class BuildContext:
    """What a later stage sees when it adds to a release before it is published."""

    con: duckdb.DuckDBPyConnection
    partnership_dir: Path
    config: PartnershipConfig
    release_id: str
    reference_date: dt.date
    progress: Progress


# A named stage run inside the build, after persons and places are derived and before
# publishing (e.g. insight computing the question pack). Stages later in the flow than
# `release` hand theirs in through `build_release(extra_stages=...)`, so this module never
# imports them.
ExtraStage = tuple[str, Callable[[BuildContext], None]]


@dataclass
class BuildResult:
    release: ReleaseHandle
    sources: int
    records: int
    persons: int
    quarantined: int
    stage_seconds: dict[str, float] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def load_secret(partnership_dir: Path, cfg: PartnershipConfig) -> bytes:
    """The partnership's pseudonymisation key; created on first use, never put in a release."""
    path = Path(partnership_dir) / cfg.secret_file
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    key = path.read_text().strip()
    if len(key) < 32:
        raise BuildError(
            f"{path} is too short to be a pseudonymisation key; delete it to make a new one "
            "(person ids will change) or restore the partnership's key."
        )
    return key.encode()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, stage: str, fn: Callable[[], T]) -> T:
        t = time.perf_counter()
        out = fn()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t
        return out


def _check_columns(
    con: duckdb.DuckDBPyConnection,
    src: SourceConfig,
    table: str,
    file_name: str,
    staged: Staged | None = None,
) -> list[Problem]:
    """Every column the mapping names must be in the file, once; all problems at once."""
    have = {r[0] for r in con.execute(f"DESCRIBE {_q(table)}").fetchall()}
    problems = []
    needed: dict[str, str] = {}
    for path, spec in src.field_specs().items():
        for col in spec.source_columns():
            needed.setdefault(col, path)
    for f in src.filters:
        needed.setdefault(f.column, "filters")
    dups = staged.duplicates if staged is not None else {}
    for col, path in sorted(needed.items()):
        if col in dups:
            where = ", ".join(str(c) for c in dups[col])
            problems.append(
                Problem(
                    f"sources ({src.id}).{path}",
                    f"column '{col}' appears more than once in {file_name} (columns {where}), "
                    "so it is not clear which to read; rename the repeats in the extract",
                )
            )
        elif col not in have:
            close = sorted(
                h for h in have if h.lower().replace(" ", "") == col.lower().replace(" ", "")
            )
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(
                Problem(
                    f"sources ({src.id}).{path}",
                    f"column '{col}' is not in {file_name}{hint}; columns in the file: "
                    + ", ".join(sorted(h for h in have if h != "_row")),
                )
            )
    return problems


def _map_source(
    con: duckdb.DuckDBPyConnection,
    src: SourceConfig,
    cfg: PartnershipConfig,
    raw: str,
    file_name: str,
    cw: Crosswalks,
    *,
    as_of: dt.date | None = None,
    native_dates: frozenset[str] = frozenset(),
) -> dict[str, int]:
    """Map one staged source into the canonical tables, quarantine and field quality."""
    _map_validate(con, src, raw, file_name, cw, as_of=as_of, native_dates=native_dates)
    return _load_canonical(con, src, raw, cw)


def _map_validate(
    con: duckdb.DuckDBPyConnection,
    src: SourceConfig,
    raw: str,
    file_name: str,
    cw: Crosswalks,
    *,
    as_of: dt.date | None = None,
    native_dates: frozenset[str] = frozenset(),
) -> None:
    """Parse and validate a staged source: the mapped table, quarantine, field quality.

    One pass parses every value (``_ju_map_*`` keeps texts and parsed values side by
    side); field quality and unmapped codes are counted from it without parsing again.
    Leaves the view ``_ju_good_*`` of the rows to load for :func:`_load_canonical`.
    """
    mapped = f"_ju_map_{src.id}"
    good = f"_ju_good_{src.id}"
    dup = f"_ju_dup_{src.id}"
    sid = _lit(src.id)
    plan = plan_mapping(src, cw, as_of=as_of, native_dates=native_dates)
    ev = f"{sid} || ':' || coalesce(event_ref, 'r:' || record_id)"
    place_id = (
        "CASE WHEN place_name IS NOT NULL OR place_postcode IS NOT NULL THEN 'PL' || "
        "substr(md5(upper(coalesce(place_name, '')) || '|' || coalesce(place_postcode, '')), "
        "1, 14) END"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {mapped} AS SELECT *, {ev} AS event_id, "
        f"{place_id} AS place_id FROM ({plan_sql(plan, raw)})"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {dup} AS SELECT record_id, min(_row) AS _first_row "
        f"FROM {mapped} WHERE record_id IS NOT NULL GROUP BY record_id HAVING count(*) > 1"
    )
    id_cols = ", ".join(src.record.id.source_columns()) or "record.id"
    fname = _lit(file_name)
    con.execute(
        f"INSERT INTO quarantine SELECT {sid}, {fname}, _row, {_lit(id_cols)}, "
        "'the record id is blank: every row needs one so it can be traced to the source; "
        "fill it in the extract', 'blank_id' "
        f"FROM {mapped} WHERE record_id IS NULL"
    )
    con.execute(
        f"INSERT INTO quarantine SELECT {sid}, {fname}, m._row, {_lit(id_cols)}, "
        "'the record id repeats the one on row ' || d._first_row || "
        "': ids must be unique within a source; the first row was kept', 'duplicate_id' "
        f"FROM {mapped} m JOIN {dup} d USING (record_id) WHERE m._row > d._first_row"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {good} AS SELECT m.* FROM {mapped} m "
        f"LEFT JOIN {dup} d USING (record_id) WHERE m.record_id IS NOT NULL "
        "AND (d._first_row IS NULL OR m._row = d._first_row)"
    )
    con.execute(
        f"INSERT INTO quarantine SELECT {sid}, {fname}, _row, col, "
        "'not a date in any accepted format: correct it in the extract, or list its format "
        "under formats: for this field in partnership.yaml', 'bad_date' "
        f"FROM (SELECT _row, unnest(_bad_dates) AS col FROM {good} WHERE len(_bad_dates) > 0)"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {good} AS SELECT m.* FROM {mapped} m "
        f"LEFT JOIN {dup} d USING (record_id) WHERE m.record_id IS NOT NULL "
        "AND (d._first_row IS NULL OR m._row = d._first_row) AND len(m._bad_dates) = 0"
    )
    con.execute(
        f"INSERT INTO unmapped_code SELECT {sid}, field, column_name, local_code, rows "
        f"FROM ({unmapped_codes_sql(plan, raw, cw)})"
    )
    con.execute(
        f"INSERT INTO field_quality SELECT {sid}, f.field, f.column_name, f.rows, f.filled, "
        "f.valid, f.formula_like, coalesce(u.n, 0), "
        "CASE WHEN f.rows > 0 THEN f.filled / f.rows END, "
        "CASE WHEN f.filled > 0 THEN f.valid / f.filled END "
        f"FROM ({field_quality_sql(plan, raw, mapped, cw)}) f LEFT JOIN ("
        f"SELECT field, sum(rows)::BIGINT AS n FROM unmapped_code WHERE source = {sid} "
        "GROUP BY field) u USING (field)"
    )


def _load_canonical(
    con: duckdb.DuckDBPyConnection, src: SourceConfig, raw: str, cw: Crosswalks
) -> dict[str, int]:
    """Write a validated source's good rows into the canonical tables; return counts."""
    mapped = f"_ju_map_{src.id}"
    good = f"_ju_good_{src.id}"
    dup = f"_ju_dup_{src.id}"
    sid = _lit(src.id)
    agency = _lit(src.agency)
    con.execute(
        f"INSERT INTO record SELECT {sid}, record_id, {agency}, _row, record_date FROM {good}"
    )
    con.execute(
        f"INSERT INTO identity SELECT {sid}, record_id, forename, surname, preferred_name, dob, "
        "coalesce(dob_estimated, false), coalesce(sex, 'U'), postcode, postcode_district, "
        "nhs_number, upn, pnc_id, local_id, ethnicity "
        f"FROM {good}"
    )
    if src.event is not None:
        con.execute(
            f"INSERT INTO event SELECT event_id, {sid}, {agency}, arg_min(event_type, _row), "
            "arg_min(event_date, _row), arg_min(end_date, _row), arg_min(place_id, _row), "
            "arg_min(outcome, _row), false, arg_min(detail, _row) "
            f"FROM {good} GROUP BY event_id"
        )
        con.execute(
            # one row per good record, and record ids are unique: no DISTINCT needed
            f"INSERT INTO event_person SELECT event_id, {sid}, record_id, role FROM {good}"
        )
        con.execute(
            "INSERT INTO event_exploitation "
            f"{exploitation_rows_sql(src, good, cw, event_id='event_id')}"
        )
        con.execute(
            "INSERT INTO _ju_places SELECT place_id, any_value(place_name), "
            "arg_min(place_type, _row), any_value(place_postcode) "
            f"FROM {good} WHERE place_id IS NOT NULL GROUP BY place_id"
        )
    if src.group is not None:
        gid = f"{sid} || ':' || group_ref"
        con.execute(
            f"INSERT INTO groups SELECT {gid}, {sid}, arg_min(group_type, _row), "
            f"arg_min(group_name, _row) FROM {good} WHERE group_ref IS NOT NULL GROUP BY group_ref"
        )
        con.execute(
            f"INSERT INTO group_member SELECT {gid}, {sid}, record_id, group_role "
            f"FROM {good} WHERE group_ref IS NOT NULL"
        )
    if src.note is not None:
        ev_col = "event_id" if src.event is not None else "NULL"
        con.execute(
            f"INSERT INTO note SELECT {sid} || ':' || record_id, {sid}, record_id, {ev_col}, "
            f"coalesce(note_date, record_date), note_theme, note_text, {_lit(src.note.tier)} "
            f"FROM {good} WHERE note_text IS NOT NULL"
        )
    counts = con.execute(
        f"SELECT (SELECT count(*) FROM {raw}), (SELECT count(*) FROM {mapped}), "
        f"(SELECT count(*) FROM record WHERE source = {sid})"
    ).fetchone()
    assert counts is not None
    con.execute(f"DROP VIEW IF EXISTS {good}")
    for t in (mapped, dup):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    read, kept, loaded = (int(x) for x in counts)
    return {"read": read, "filtered": read - kept, "loaded": loaded, "quarantined": kept - loaded}


def _previous_db(base: Path) -> Path | None:
    """The current release's DuckDB file, before this build publishes (for linkage)."""
    prev_id = current_release_id(base)
    if prev_id is None:
        return None
    try:
        return open_release(base, prev_id).db_path
    except JoinedupError:
        return None


def _quality_stage(
    con: duckdb.DuckDBPyConnection, base: Path, cfg: PartnershipConfig, release_id: str
) -> None:
    previous: tuple[str, Path] | None = None
    prev_id = current_release_id(base)
    if prev_id is not None:
        try:
            handle = open_release(base, prev_id)
            previous = (prev_id, handle.db_path)
        except JoinedupError:
            previous = None
    run_quality(
        con, cfg, release_id=release_id, previous=previous, out_dir=staging_dir(base, release_id)
    )


def _limit_resources(con: duckdb.DuckDBPyConnection, cfg: PartnershipConfig, stage: Path) -> None:
    """Cap the build database's memory (it spills to disk beyond the cap) and threads."""
    res = cfg.build
    limit = os.environ.get("JOINEDUP_MEMORY_LIMIT") or res.memory_limit
    try:
        con.execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
    except duckdb.Error as exc:
        raise BuildError(
            f"JOINEDUP_MEMORY_LIMIT={limit!r} is not a memory size DuckDB understands: "
            "use a number and a unit, e.g. 6GB."
        ) from exc
    temp = Path(res.temp_directory) if res.temp_directory else stage / ".tmp"
    con.execute(f"SET temp_directory = '{str(temp).replace(chr(39), chr(39) * 2)}'")
    if res.threads:
        con.execute(f"SET threads = {int(res.threads)}")


def build_release(
    partnership_dir: Path,
    *,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
    extra_stages: Sequence[ExtraStage] = (),
) -> BuildResult:
    """Build a new release of the partnership and make it current; see the module docstring."""
    base = Path(partnership_dir)
    report = progress or (lambda stage, done, total: None)
    cfg = load_config(base)
    taxonomy = load_taxonomy(cfg.taxonomy_version)
    files = {s.id: resolve_source_file(base, s) for s in cfg.sources}
    secret = load_secret(base, cfg)
    now = now or dt.datetime.now(dt.UTC)
    timer = _Timer()
    with build_lock(base):
        release_id = new_release_id(now)
        stage = staging_dir(base, release_id)
        stage.mkdir(parents=True)
        con = duckdb.connect(str(stage / DB_FILE))
        try:
            _limit_resources(con, cfg, stage)
            result = _build_into(
                con,
                base,
                cfg,
                taxonomy,
                files,
                secret,
                now,
                release_id,
                timer,
                report,
                extra_stages,
            )
            con.execute("CHECKPOINT")
        except BaseException as exc:
            con.close()
            shutil.rmtree(stage, ignore_errors=True)
            if isinstance(exc, JoinedupError) or not isinstance(exc, duckdb.Error):
                raise
            raise BuildError(
                f"The build stopped on a database error ({type(exc).__name__}); the previous "
                "release is still current. Run `joinedup check` to look for a mapping problem."
            ) from exc
        finally:
            con.close()
            shutil.rmtree(stage / ".tmp", ignore_errors=True)
        report("publish", 0, 1)
        manifest = {
            "release_id": release_id,
            "built_at": now.isoformat(timespec="seconds"),
            "partnership": cfg.partnership.name,
            "code_version": __version__,
            "config_sha256": config_sha256(base),
            **result,
        }
        handle = publish(base, release_id, manifest)
        report("publish", 1, 1)
    return BuildResult(
        release=handle,
        sources=int(result["sources"]),
        records=int(result["records"]),
        persons=int(result["persons"]),
        quarantined=int(result["quarantined"]),
        stage_seconds=dict(timer.seconds),
    )


def _build_into(
    con: duckdb.DuckDBPyConnection,
    base: Path,
    cfg: PartnershipConfig,
    taxonomy: object,
    files: dict[str, Path | None],
    secret: bytes,
    now: dt.datetime,
    release_id: str,
    timer: _Timer,
    report: Progress,
    extra_stages: Sequence[ExtraStage],
) -> dict[str, int]:
    from joinedup.taxonomy import Taxonomy

    assert isinstance(taxonomy, Taxonomy)
    for sql in create_schema_sql():
        con.execute(sql)
    install_macros(con)
    con.execute("CREATE TEMP TABLE _ju_ethnicity (code VARCHAR, grp VARCHAR)")
    con.executemany(
        "INSERT INTO _ju_ethnicity VALUES (?, ?)",
        [(c, taxonomy.ethnicity_group(c)) for c in sorted(taxonomy.codes("ethnicity"))],
    )
    con.execute(
        "CREATE TEMP TABLE _ju_places (place_id VARCHAR, name VARCHAR, place_type VARCHAR, "
        "postcode VARCHAR)"
    )
    cw = resolve_crosswalks(cfg, base)
    total = len(cfg.sources)

    # read: stage every file, then check every mapping, so all problems come at once
    problems: list[Problem] = []
    staged: dict[str, tuple[str, Path, int]] = {}
    found: dict[str, Staged] = {}
    for i, src in enumerate(cfg.sources):
        report("read", i, total)
        path = files[src.id]
        assert path is not None
        raw = f"_ju_raw_{src.id}"
        try:
            st = timer.run("read", partial(stage_file, con, path, src, raw))
        except SourceError as exc:
            problems.append(Problem(f"sources ({src.id}).file", str(exc)))
            continue
        rel = os.path.relpath(path, base)
        staged[src.id] = (raw, path, st.rows)
        found[src.id] = st
        problems.extend(_check_columns(con, src, raw, rel, st))
    report("read", total, total)
    if problems:
        raise SourceError(
            f"{len(problems)} problem(s) with the sources; nothing was published:", problems
        )

    counts: dict[str, dict[str, int]] = {}
    for i, src in enumerate(cfg.sources):
        report("map", i, total)
        raw, path, _ = staged[src.id]
        rel = os.path.relpath(path, base)
        as_of = src.extracted_at or dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()
        counts[src.id] = timer.run(
            "map",
            partial(
                _map_source,
                con,
                src,
                cfg,
                raw,
                rel,
                cw,
                as_of=as_of,
                native_dates=found[src.id].native_dates,
            ),
        )
        con.execute(f"DROP VIEW IF EXISTS {_q(raw)}")
        con.execute(f"DROP TABLE IF EXISTS {_q(raw + '_data')}")
    report("map", total, total)

    report("geography", 0, 1)
    timer.run("geography", lambda: derive.load_geography(con, base, cfg))
    report("link", 0, 1)
    persons = timer.run(
        "link",
        partial(
            link_stage, con, secret, partnership_dir=base, config=cfg, previous=_previous_db(base)
        ),
    )
    reference = cfg.partnership.reference_date or max(
        (s.extracted_at for s in cfg.sources if s.extracted_at), default=now.date()
    )
    report("derive", 0, 1)
    timer.run("derive", lambda: derive.derive_tables(con, reference))
    ctx = BuildContext(con, base, cfg, release_id, reference, report)
    for name, stage_fn in extra_stages:
        report(name, 0, 1)
        timer.run(name, partial(stage_fn, ctx))
        report(name, 1, 1)

    # source, release_info and lineage
    for src in cfg.sources:
        raw, path, n = staged[src.id]
        c = counts[src.id]
        extracted = (
            src.extracted_at or dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()
        )
        sha = file_sha256(path)
        rel = os.path.relpath(path, base)
        con.execute(
            "INSERT INTO source VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                src.id,
                src.agency,
                cfg.agency(src.agency).type,
                src.dataset,
                rel,
                src.format,
                sha,
                extracted,
                c["read"],
                c["loaded"],
                c["filtered"],
                c["quarantined"],
                src.sharing_agreement,
            ],
        )
        con.execute("INSERT INTO lineage VALUES ('input', ?, ?, ?, NULL, ?)", [rel, sha, n, src.id])
    # quality: measures, advice, comparison with the current release, report files
    report("quality", 0, 1)
    timer.run("quality", partial(_quality_stage, con, base, cfg, release_id))
    report("quality", 1, 1)
    info = {
        "release_id": release_id,
        "built_at": now.isoformat(timespec="seconds"),
        "partnership": cfg.partnership.name,
        "reference_date": reference.isoformat(),
        "taxonomy_version": cfg.taxonomy_version,
        "code_version": __version__,
        "config_sha256": config_sha256(base),
        "linkage": "identifiers, then Splink (see linkage_report)",
    }
    con.executemany("INSERT INTO release_info VALUES (?, ?)", sorted(info.items()))
    con.execute(
        "INSERT INTO lineage VALUES ('config', 'partnership.yaml', ?, NULL, NULL, ?)",
        [info["config_sha256"], json.dumps({"authorities": [a.code for a in cfg.authorities]})],
    )
    con.execute(
        "INSERT INTO lineage VALUES ('code', 'joinedup', NULL, NULL, NULL, ?)",
        [f"joinedup {__version__}; duckdb {duckdb.__version__}"],
    )
    con.execute(
        "INSERT INTO lineage VALUES ('taxonomy', 'taxonomy', NULL, NULL, NULL, ?)",
        [cfg.taxonomy_version],
    )
    for name, secs in timer.seconds.items():
        con.execute(
            "INSERT INTO lineage VALUES ('stage', ?, NULL, NULL, ?, NULL)", [name, round(secs, 3)]
        )
    totals = con.execute(
        "SELECT (SELECT count(*) FROM record), (SELECT count(*) FROM quarantine)"
    ).fetchone()
    assert totals is not None
    return {
        "sources": len(cfg.sources),
        "records": int(totals[0]),
        "persons": persons,
        "quarantined": int(totals[1]),
    }
