"""``joinedup check``: validate the configuration and try every mapping on a sample.

Nothing is written to the partnership folder: every source is read into an in-memory
database and a sample of its rows is mapped, so a data lead can fix a mapping in seconds.
Problems that would stop a build (a missing column, an unreadable file) are all listed
together; problems a build would only count (quarantined rows, codes a crosswalk does not
know, values that fail validation) are summarised per source. A source that would stop a
build because it shrank sharply against the current release, has no data rows or ends
part-way through a row (:mod:`joinedup.pipeline.guard`) gets a ``warning:`` line in the
build's own words; like the summaries, a warning does not make ``check`` fail.

:func:`check_source_file` makes the same checks of one source against a file that is not
(yet) the source's file: the web app validates an uploaded extract with it before the
extract replaces the configured one.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from dataclasses import field as _field
from pathlib import Path

import duckdb

from joinedup.config import PartnershipConfig, SourceConfig, load_config, resolve_source_file
from joinedup.config.encoding import hub_config
from joinedup.errors import ConfigError, Problem, SourceError
from joinedup.pipeline.context import add_mapping_lookups, limit_memory
from joinedup.pipeline.drops import assess_source
from joinedup.pipeline.geography import read_geography
from joinedup.pipeline.guard import previous_rows
from joinedup.pipeline.mapping import map_source
from joinedup.pipeline.read import check_columns, extracted_on
from joinedup.release.schema import create_schema_sql
from joinedup.sources import Crosswalks, record_read_quarantine, resolve_crosswalks, stage
from joinedup.sources.parsers import install_macros
from joinedup.taxonomy import load_taxonomy

__all__ = ["SAMPLE_ROWS", "QuarantinedRow", "SourceCheck", "check_partnership", "check_source_file"]

SAMPLE_ROWS = 2000


@dataclass(frozen=True)
class QuarantinedRow:
    """A row a build would put in quarantine: where it is and why (never the value)."""

    row: int
    column: str
    problem: str  # blank_id, duplicate_id or bad_date
    reason: str


@dataclass
class SourceCheck:
    """What checking one source's file found."""

    source: str
    file: str  # the file's name as shown in messages
    rows: int = 0
    mapped: int = 0
    filtered: int = 0
    quarantined: int = 0
    encoding: str | None = None
    truncated_last_row: bool = False  # the reader found the file's last row cut short
    problems: list[Problem] = _field(default_factory=list)  # these would stop a build
    quarantine: list[QuarantinedRow] = _field(default_factory=list)  # the first rows only
    emptied: int = 0  # values a build would leave empty, their rows kept (field_problem)
    field_problems: list[QuarantinedRow] = _field(default_factory=list)  # the first only
    notes: list[str] = _field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        enc = f" (read as {self.encoding})" if self.encoding else ""
        return (
            f"{self.source}: {self.file}, {self.rows:,} rows{enc}; sample of "
            f"{self.mapped + self.filtered + self.quarantined:,}: {self.mapped:,} mapped, "
            f"{self.filtered:,} filtered, {self.quarantined:,} to quarantine"
            + (f", {self.emptied:,} value(s) to be left empty" if self.emptied else "")
        )


def _check_connection(cfg: PartnershipConfig) -> duckdb.DuckDBPyConnection:
    """An in-memory database with the release schema and what mapping needs."""
    taxonomy = load_taxonomy(cfg.taxonomy_version)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    limit_memory(con, cfg)  # under the build's memory cap, refused as the build refuses it
    for sql in create_schema_sql():
        con.execute(sql)
    install_macros(con)
    add_mapping_lookups(con, taxonomy)
    return con


def _check_one(
    con: duckdb.DuckDBPyConnection,
    cfg: PartnershipConfig,
    cw: Crosswalks,
    src: SourceConfig,
    path: Path,
    rel: str,
    *,
    sample: int | None,
    as_of: dt.date | None = None,
    keep_rows: int = 0,
) -> SourceCheck:
    """Stage ``path`` as ``src``, check its columns and map (a sample of) its rows."""
    out = SourceCheck(source=src.id, file=rel)
    raw = f"_ju_raw_{src.id}"
    try:
        st = stage(con, path, src, raw)
    except SourceError as exc:
        out.problems.append(Problem(f"sources ({src.id}).file", str(exc)))
        return out
    out.rows, out.encoding = st.report.rows_read, st.encoding
    out.truncated_last_row = st.report.truncated_last_row
    record_read_quarantine(con, st.report, src.id, rel)  # the same rows a build sets aside
    out.problems.extend(check_columns(con, src, raw, rel, st))
    if out.problems:
        return out
    limit = f" LIMIT {int(sample)}" if sample is not None else ""
    con.execute(f'CREATE OR REPLACE TEMP VIEW "{raw}_sample" AS SELECT * FROM "{raw}"{limit}')
    if as_of is None:
        as_of = extracted_on(src, path)
    c = map_source(
        con, src, cfg, f"{raw}_sample", rel, cw, as_of=as_of, native_dates=st.native_dates
    )
    out.mapped, out.filtered, out.quarantined = c["loaded"], c["filtered"], c["quarantined"]
    out.quarantined += st.report.rows_quarantined
    out.notes = _sample_notes(con, src.id) + st.report.notes()
    if keep_rows:
        out.quarantine = [
            QuarantinedRow(int(r), str(col or ""), str(problem), str(reason))
            for r, col, problem, reason in con.execute(
                "SELECT DISTINCT row_number, column_name, problem, reason FROM quarantine "
                "WHERE source = ? ORDER BY row_number, column_name LIMIT ?",
                [src.id, keep_rows],
            ).fetchall()
        ]
    # issue 13: a value that fails validation is left empty and its row kept
    row = con.execute(  # one value can feed two fields (a date and the record's date)
        "SELECT count(DISTINCT (row_number, column_name)) FROM field_problem WHERE source = ?",
        [src.id],
    ).fetchone()
    out.emptied = int(row[0]) if row else 0
    if keep_rows and out.emptied:
        out.field_problems = [
            QuarantinedRow(int(r), str(col or ""), str(problem), str(reason))
            for r, col, problem, reason in con.execute(
                "SELECT DISTINCT row_number, column_name, problem, reason FROM field_problem "
                "WHERE source = ? ORDER BY row_number, column_name LIMIT ?",
                [src.id, keep_rows],
            ).fetchall()
        ]
    return out


def check_partnership(
    partnership_dir: Path, *, sample: int = SAMPLE_ROWS, full: bool = False
) -> list[str]:
    """Lines describing each source's sample; raises with every problem found.

    ``full`` maps every row (``joinedup check --full``), as a build does, so what the
    build's guard measures on loaded rows is checked too. The geography files are always
    read whole, by the build's own code (issue 13)."""
    base = Path(partnership_dir)
    cfg = hub_config(load_config(base))  # issue 19: encoded sources as the hub reads them
    cw = resolve_crosswalks(cfg, base)
    con = _check_connection(cfg)
    problems: list[Problem] = []
    lines = [
        f"partnership.yaml is valid: {len(cfg.sources)} sources, {len(cfg.agencies)} agencies."
    ]
    geo = read_geography(con, cfg, base, groups=_ethnic_groups(cfg))  # as the build reads it
    problems.extend(geo.problems)
    lines.extend(geo.lines())
    previous = previous_rows(con, base)  # a source that shrank sharply: warned, as build stops
    for src in cfg.sources:
        path = resolve_source_file(base, src)
        assert path is not None  # load_config checked every pattern matches a file
        rel = os.path.relpath(path, base)
        found = _check_one(con, cfg, cw, src, path, rel, sample=None if full else sample)
        if found.problems:
            problems.extend(found.problems)
            continue
        lines.append(found.summary())
        lines.extend(found.notes)
        drop = assess_source(
            src.id,
            rel,
            rows=found.rows,
            truncated=found.truncated_last_row,
            previous=previous,
            share=cfg.build.max_drop_share,
            directory=str(partnership_dir),
            loaded=found.mapped if full else None,  # the build's guard measures it too
        )
        if drop is not None:
            lines.append(f"  warning: {drop.problem()}")
    if problems:
        raise SourceError(f"{len(problems)} problem(s) with the sources:", problems)
    return lines


def _ethnic_groups(cfg: PartnershipConfig) -> frozenset[str]:
    taxonomy = load_taxonomy(cfg.taxonomy_version)
    return frozenset(taxonomy.ethnicity_group(c) for c in taxonomy.codes("ethnicity"))


def check_source_file(
    partnership_dir: Path,
    source_id: str,
    path: Path,
    *,
    file_name: str | None = None,
    sample: int | None = None,
    keep_rows: int = 50,
    config: PartnershipConfig | None = None,
) -> SourceCheck:
    """Check ``path`` as the file of source ``source_id``, as ``joinedup check`` would.

    Every row is mapped unless ``sample`` is given; ``keep_rows`` rows bound for
    quarantine are kept, in file order, to show. ``file_name`` is the name messages use
    (default: the file's name). Nothing in the partnership folder is written.
    """
    base = Path(partnership_dir)
    cfg = hub_config(config or load_config(base, check_files=False))  # issue 19
    src = next((s for s in cfg.sources if s.id == source_id), None)
    if src is None:
        raise ConfigError(
            f"There is no source '{source_id}' in {base / 'partnership.yaml'}; the sources "
            "are: " + ", ".join(s.id for s in cfg.sources) + "."
        )
    cw = resolve_crosswalks(cfg, base)
    con = _check_connection(cfg)
    try:
        con.execute(
            f"SET temp_directory = '{str(Path(path).parent).replace(chr(39), chr(39) * 2)}'"
        )
        as_of = src.extracted_at or dt.date.today()
        return _check_one(
            con,
            cfg,
            cw,
            src,
            Path(path),
            file_name or Path(path).name,
            sample=sample,
            as_of=as_of,
            keep_rows=keep_rows,
        )
    finally:
        con.close()


def _sample_notes(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    """Indented notes on a source's sample: unmapped codes, invalid and formula-like values."""
    out = []
    for field, col, codes, rows in con.execute(
        "SELECT field, column_name, list(local_code ORDER BY rows DESC, local_code), sum(rows) "
        "FROM unmapped_code WHERE source = ? GROUP BY ALL ORDER BY field",
        [source],
    ).fetchall():
        shown = ", ".join(repr(c) for c in codes[:10]) + (" ..." if len(codes) > 10 else "")
        out.append(
            f"  {field} ({col}): {int(rows):,} rows with {len(codes)} code(s) the crosswalk "
            f"does not know: {shown}; add them to the crosswalk"
        )
    for field, col, filled, valid, formula in con.execute(
        "SELECT field, column_name, filled, valid, formula_like FROM field_quality "
        "WHERE source = ? AND (valid < filled - unmapped OR formula_like > 0) ORDER BY field",
        [source],
    ).fetchall():
        bits = []
        if valid < filled:
            bits.append(f"{filled - valid:,} of {filled:,} filled values not valid")
        if formula:
            bits.append(f"{formula:,} starting with = + - or @")
        out.append(f"  {field} ({col}): {'; '.join(bits)}")
    for problem, col, n in con.execute(
        "SELECT problem, column_name, count(*) FROM quarantine WHERE source = ? GROUP BY ALL "
        "ORDER BY 1, 2",
        [source],
    ).fetchall():
        where = f" in {col}" if col else ""  # the reader's problems are with whole rows
        out.append(f"  quarantine: {n:,} row(s), {problem.replace('_', ' ')}{where}")
    # issue 13: values left empty, their rows kept (pipeline/rows.py)
    for field, col, problem, n in con.execute(
        "SELECT field, column_name, problem, count(*) FROM field_problem WHERE source = ? "
        "GROUP BY ALL ORDER BY 1, 3",
        [source],
    ).fetchall():
        out.append(
            f"  field problems: {n:,} value(s) of {field} ({col}) left empty, "
            f"{problem.replace('_', ' ')}; the rows are kept"
        )
    return out
