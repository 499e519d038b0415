"""Builds started from the web app: one background thread per build, progress in memory.

``BuildRunner.start`` runs :func:`joinedup.pipeline.build` (every stage, as ``joinedup
build`` does) in a thread and returns an opaque build id at once; the build's page reads
its :class:`BuildStatus` (stage, done, total) as the build's progress callback moves it.

One build at a time: a second start is refused while this app's build runs, and the
release store's build lock refuses one while any other build of the partnership (the
command line, another server) holds it; the message is the store's.

A build started as a **draft** (issue 16) ends with a release that is not current: the
data lead previews it against the current one and publishes or discards it
(``joinedup.release.drafts``). Without ``draft`` the partnership's ``build.drafts``
decides, as for ``joinedup build``.

The statuses live in this process only: a restart forgets them (the releases and the
audit log keep what matters). Errors shown are joinedup's own messages, which never hold
a value from a record; anything else is shown as its type only.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joinedup.errors import BuildError, JoinedupError
from joinedup.pipeline import STAGES as PIPELINE_STAGES
from joinedup.pipeline import SourcesShrank
from joinedup.pipeline.publish import drafting
from joinedup.release.store import build_lock, lock_context

__all__ = ["STAGES", "BuildRunner", "BuildStatus"]

log = logging.getLogger(__name__)

#: The build's stages in the order they run, with what the page calls them.
STAGES: tuple[tuple[str, str], ...] = tuple((s.name, s.label) for s in PIPELINE_STAGES)
_LABELS = dict(STAGES)

#: How many finished builds are remembered (the oldest are forgotten first).
KEEP = 20

#: Called when a build ends: (status, result or None); used to write the audit log.
OnFinish = Callable[["BuildStatus", Any], None]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class BuildStatus:
    """One build's progress; read under the runner's lock (use :meth:`as_dict`)."""

    build_id: str
    started_by: str
    started_at: dt.datetime
    state: str = "running"  # running, succeeded or failed
    stage: str | None = None
    done: int = 0
    total: int = 0
    seen: list[str] = field(default_factory=list)  # stages reached, in order
    finished_at: dt.datetime | None = None
    release_id: str | None = None
    error: str | None = None
    summary: str | None = None
    _clock: float = field(default_factory=time.monotonic)
    seconds: float | None = None
    # no silent loss (issue 11): the sources this build was told to let through, and
    # those that stopped it (each SourceDrop.as_dict(): source, file, rows, message ...)
    accept_drop: list[str] = field(default_factory=list)
    drops: list[dict[str, Any]] = field(default_factory=list)
    # issue 16: asked for a draft; and whether the release it made is one
    draft_asked: bool = False
    draft: bool = False

    @property
    def running(self) -> bool:
        return self.state == "running"

    def as_dict(self) -> dict[str, Any]:
        order = [s for s, _ in STAGES] + [s for s in self.seen if s not in _LABELS]
        stages = []
        for s in order:
            if self.state == "succeeded" and s in self.seen:
                status = "done"
            elif s == self.stage and self.running:
                status = "running"
            elif s in self.seen and s != self.stage:
                status = "done"
            elif s == self.stage:
                status = "stopped"
            else:
                status = "waiting"
            stages.append({"stage": s, "label": _LABELS.get(s, s), "status": status})
        elapsed = self.seconds if self.seconds is not None else time.monotonic() - self._clock
        return {
            "build_id": self.build_id,
            "state": self.state,
            "started_by": self.started_by,
            "started_at": self.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "finished_at": (
                None
                if self.finished_at is None
                else self.finished_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            ),
            "elapsed_seconds": round(float(elapsed), 1),
            "stage": self.stage,
            "stage_label": None if self.stage is None else _LABELS.get(self.stage, self.stage),
            "done": self.done,
            "total": self.total,
            "stages": stages,
            "release_id": self.release_id,
            "summary": self.summary,
            "error": self.error,
            "accept_drop": list(self.accept_drop),
            "drops": [dict(d) for d in self.drops],
            "draft": self.draft,
            "draft_asked": self.draft_asked,
        }


class BuildRunner:
    """Starts builds of one partnership in background threads and keeps their progress."""

    def __init__(
        self,
        partnership_dir: Path,
        *,
        build: Callable[..., Any] | None = None,
    ) -> None:
        self.partnership_dir = Path(partnership_dir)
        self._build = build
        self._lock = threading.Lock()
        self._builds: dict[str, BuildStatus] = {}
        self._threads: dict[str, threading.Thread] = {}

    def _run_build(self, progress: Callable[[str, int, int], None], accept_drop: list[str]) -> Any:
        if self._build is not None:
            extra = {"accept_drop": accept_drop} if accept_drop else {}
            return self._build(self.partnership_dir, progress=progress, **extra)
        from joinedup.pipeline import build

        return build(self.partnership_dir, progress=progress, accept_drop=accept_drop)

    def get(self, build_id: str) -> dict[str, Any] | None:
        with self._lock:
            status = self._builds.get(build_id)
            return None if status is None else status.as_dict()

    def latest(self) -> dict[str, Any] | None:
        with self._lock:
            if not self._builds:
                return None
            return next(reversed(self._builds.values())).as_dict()

    def recent(self) -> list[dict[str, Any]]:
        """The builds this app remembers, newest first."""
        with self._lock:
            return [s.as_dict() for s in reversed(self._builds.values())]

    def running(self) -> dict[str, Any] | None:
        with self._lock:
            for s in self._builds.values():
                if s.running:
                    return s.as_dict()
        return None

    def wait(self, build_id: str, timeout: float | None = None) -> None:
        """Wait for a build's thread to end (for tests and scripts)."""
        thread = self._threads.get(build_id)
        if thread is not None:
            thread.join(timeout)

    def start(
        self,
        *,
        started_by: str,
        on_finish: OnFinish | None = None,
        accept_drop: Iterable[str] = (),
        draft: bool = False,
    ) -> str:
        """Start a build; its id. BuildError when a build of the partnership is running.
        ``accept_drop`` names sources a data lead confirmed though they shrank sharply
        (``joinedup.pipeline.guard``). ``draft`` makes a draft release (else
        ``build.drafts`` decides)."""
        with self._lock:
            if any(s.running for s in self._builds.values()):
                raise BuildError(
                    f"Another build of {self.partnership_dir.name} is running. "
                    "Wait for it to finish."
                )
            # the store's lock: refused while a build from the command line holds it
            with build_lock(self.partnership_dir):
                pass
            build_id = secrets.token_urlsafe(12)
            status = BuildStatus(
                build_id=build_id,
                started_by=started_by,
                started_at=_now(),
                accept_drop=sorted(set(accept_drop)),
                draft_asked=draft,
            )
            self._builds[build_id] = status
            finished = [k for k, s in self._builds.items() if not s.running]
            for old in finished[: max(0, len(self._builds) - KEEP)]:
                del self._builds[old]
                self._threads.pop(old, None)
            thread = threading.Thread(
                target=self._work,
                args=(status, on_finish),
                name=f"joinedup-build-{build_id[:6]}",
                daemon=True,
            )
            self._threads[build_id] = thread
        thread.start()
        return build_id

    def _progress(self, status: BuildStatus) -> Callable[[str, int, int], None]:
        def update(stage: str, done: int, total: int) -> None:
            with self._lock:
                status.stage, status.done, status.total = stage, int(done), int(total)
                if stage not in status.seen:
                    status.seen.append(stage)

        return update

    def _work(self, status: BuildStatus, on_finish: OnFinish | None) -> None:
        result: Any = None
        try:
            # named in the lock, so a server killed mid-build is audited with this id
            with (
                lock_context(web_build_id=status.build_id, started_by=status.started_by),
                drafting(True if status.draft_asked else None, built_by=status.started_by),
            ):
                result = self._run_build(self._progress(status), status.accept_drop)
        except SourcesShrank as exc:  # the page offers to confirm each source
            self._finish(status, error=str(exc), drops=[d.as_dict() for d in exc.drops])
        except JoinedupError as exc:
            self._finish(status, error=str(exc))
        except Exception as exc:  # never a message: it could quote a value from a file
            log.error("A web build failed: %s", type(exc).__name__)
            self._finish(
                status,
                error=(
                    f"The build stopped on an unexpected error ({type(exc).__name__}); the "
                    "previous release is still current. Run `joinedup build DIR` on the "
                    "server to see more."
                ),
            )
        else:
            release = result.release
            manifest = getattr(release, "manifest", None)
            status.draft = bool(isinstance(manifest, dict) and manifest.get("draft"))
            self._finish(
                status,
                release_id=str(release.release_id),
                summary=(
                    f"{int(result.sources)} sources, {int(result.records):,} records, "
                    f"{int(result.quarantined):,} rows in quarantine."
                ),
            )
        if on_finish is not None:
            try:
                on_finish(status, result)
            except Exception as exc:
                log.error("Recording a web build failed: %s", type(exc).__name__)

    def _finish(
        self,
        status: BuildStatus,
        *,
        release_id: str | None = None,
        summary: str | None = None,
        error: str | None = None,
        drops: list[dict[str, Any]] | None = None,
    ) -> None:
        with self._lock:
            status.drops = list(drops or [])
            status.finished_at = _now()
            status.seconds = time.monotonic() - status._clock
            status.release_id = release_id
            status.summary = summary
            status.error = error
            status.state = "failed" if error is not None else "succeeded"
