"""The build: every stage in flow order over one :class:`BuildContext`, then published.

A build reads the configuration, takes the partnership's build lock, writes a new
release into a staging folder and runs each stage of :data:`STAGES` on it, timing each
one into ``lineage``. The last stage publishes atomically; if any stage fails, the
staging folder is removed and the previous release stays current.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from joinedup.config import PartnershipConfig, load_config, resolve_source_file
from joinedup.config.encoding import hub_config
from joinedup.pipeline.context import (
    TEMP_DIR,
    BuildContext,
    Progress,
    load_secret,
    prepare_database,
    temp_directory,
)
from joinedup.pipeline.derive import derive_tables
from joinedup.pipeline.drops import SourceDrop, check_accept_drop
from joinedup.pipeline.encoded import read_encoded
from joinedup.pipeline.failures import SETUP, build_failure
from joinedup.pipeline.geography import load_geography
from joinedup.pipeline.governance_docs import write_governance_docs
from joinedup.pipeline.guard import guard_sources
from joinedup.pipeline.insight import answer_questions
from joinedup.pipeline.link import link_records
from joinedup.pipeline.mapping import map_sources
from joinedup.pipeline.objections import apply_objections
from joinedup.pipeline.panel_events import add_panel_events
from joinedup.pipeline.participation import load_participation
from joinedup.pipeline.publish import publish_release
from joinedup.pipeline.quality import measure_quality
from joinedup.pipeline.read import read_sources
from joinedup.pipeline.retention import enforce_retention
from joinedup.release.store import (
    DB_FILE,
    ReleaseHandle,
    build_lock,
    new_release_id,
    releases_dir,
    staging_dir,
)
from joinedup.sources import resolve_crosswalks
from joinedup.taxonomy import load_taxonomy

__all__ = ["STAGES", "BuildResult", "Stage", "build"]


@dataclass(frozen=True)
class Stage:
    """One step of the build: its name (in lineage and progress), what it is called, its run."""

    name: str
    label: str
    run: Callable[[BuildContext], None]


#: Every stage of a build, in the order data flows through them.
STAGES: tuple[Stage, ...] = (
    # first (issue 13): a reference file's problem is found before any extract is read
    Stage("geography", "Loading geography", load_geography),
    Stage("read", "Reading extracts", read_sources),
    # issue 19: encodings of encoded sources, kept for linkage only (pipeline/encoded.py)
    Stage("encoded", "Reading encoded identifiers", read_encoded),
    Stage("map", "Mapping to the canonical model", map_sources),
    Stage("guard", "Checking no source shrank sharply", guard_sources),
    # issue 19: records past retention, and of people who objected, left out (counted)
    Stage("retention", "Leaving out records past retention", enforce_retention),
    Stage("objections", "Honouring objections", apply_objections),
    Stage("quality", "Measuring data quality", measure_quality),
    Stage("link", "Linking persons", link_records),
    Stage("derive", "Deriving persons and places", derive_tables),
    # issue 20: what children and young people say, placed in areas (pipeline/participation.py)
    Stage("participation", "Reading what children and young people say", load_participation),
    # issue 18: panels' decisions and actions, from app state, as events of the release
    Stage("panels", "Adding panel decisions and actions", add_panel_events),
    Stage("insight", "Answering the questions", answer_questions),
    # issue 19: the ISA schedule, DPIA annex and ROPA of this configuration (DIR/governance/)
    Stage("governance", "Writing the governance documents", write_governance_docs),
    Stage("publish", "Publishing the release", publish_release),
)


@dataclass
class BuildResult:
    release: ReleaseHandle
    sources: int
    records: int
    persons: int
    quarantined: int
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # sources that shrank sharply and were published because `accept_drop` named them:
    # the caller audits each (joinedup.access.audit_accepted_drops)
    accepted_drops: list[SourceDrop] = field(default_factory=list)


def build(
    partnership_dir: Path,
    *,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
    stages: Sequence[Stage] = STAGES,
    accept_drop: Iterable[str] = (),
) -> BuildResult:
    """Build a new release of the partnership and make it current; see the module docstring.

    ``stages`` must end with ``publish``; a benchmark may leave out stages it does not
    measure.

    The ``guard`` stage stops the build (``joinedup.pipeline.drops.SourcesShrank``) when a
    source shrank sharply or looks cut short, unless ``accept_drop`` names it.
    """
    base = Path(partnership_dir)
    cfg = hub_config(load_config(base))  # issue 19: encoded sources as the hub reads them
    accepted = check_accept_drop(cfg, accept_drop)
    taxonomy = load_taxonomy(cfg.taxonomy_version)
    files = _source_files(base, cfg)
    secret = load_secret(base, cfg)
    now = now or dt.datetime.now(dt.UTC)
    report = _Reporter(progress)
    with build_lock(base):
        release_id = new_release_id(now)
        staging = staging_dir(base, release_id)
        temp = temp_directory(cfg, staging)
        step = SETUP
        con: duckdb.DuckDBPyConnection | None = None
        try:
            staging.mkdir(parents=True, mode=0o700)  # only the owner reads a release
            con = duckdb.connect(str(staging / DB_FILE))
            prepare_database(con, cfg, taxonomy, temp)
            cw = resolve_crosswalks(cfg, base)
            ref = _reference_date(cfg, now)
            ctx = BuildContext(
                con, base, cfg, taxonomy, cw, secret, release_id, now, ref, report, files
            )
            ctx.accept_drop = accepted
            for stage in stages:
                step = stage.name
                _run(stage, ctx, report)
        except BaseException as exc:
            if con is not None:
                con.close()
            shutil.rmtree(staging, ignore_errors=True)
            failure = build_failure(exc, stage=step, releases=releases_dir(base), temp=temp)
            if failure is None:
                raise
            raise failure from exc
        finally:
            if con is not None:
                con.close()
            shutil.rmtree(staging / TEMP_DIR, ignore_errors=True)
    assert ctx.release is not None, "the last stage publishes the release"
    return BuildResult(
        release=ctx.release,
        sources=ctx.totals["sources"],
        records=ctx.totals["records"],
        persons=ctx.totals["persons"],
        quarantined=ctx.totals["quarantined"],
        stage_seconds=dict(ctx.stage_seconds),
        accepted_drops=list(ctx.accepted_drops),
    )


def _run(stage: Stage, ctx: BuildContext, report: _Reporter) -> None:
    """Run one stage, timed (the times of stages before ``publish`` go into lineage)."""
    report(stage.name, 0, 1)
    started = time.perf_counter()
    stage.run(ctx)
    ctx.stage_seconds[stage.name] = time.perf_counter() - started
    report.finish(stage.name)


def _source_files(base: Path, cfg: PartnershipConfig) -> dict[str, Path]:
    files = {}
    for src in cfg.sources:
        path = resolve_source_file(base, src)
        assert path is not None  # load_config checked every pattern matches a file
        files[src.id] = path
    return files


def _reference_date(cfg: PartnershipConfig, now: dt.datetime) -> dt.date:
    """The date ages are taken on: partnership.yaml's, else the latest extract's."""
    return cfg.partnership.reference_date or max(
        (s.extracted_at for s in cfg.sources if s.extracted_at), default=now.date()
    )


class _Reporter:
    """Passes progress on; ends each stage's bar at the count the stage last gave."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._totals: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        self._totals[stage] = total
        if self._progress is not None:
            self._progress(stage, done, total)

    def finish(self, stage: str) -> None:
        total = self._totals.get(stage, 1)
        self(stage, total, total)
