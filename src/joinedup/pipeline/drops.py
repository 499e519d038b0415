"""No silent loss: when a source stops a build, and the words that say so.

:func:`assess_source` is the rule (an extract with no data rows, a last row cut short, or
a fall of more than ``build.max_drop_share`` against the current release) and
:class:`SourceDrop` its message; the build's ``guard`` stage
(:mod:`joinedup.pipeline.guard`) and ``joinedup check`` both use them, so they say the
same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from joinedup.config import PartnershipConfig
from joinedup.errors import BuildError, ConfigError, Problem

__all__ = [
    "EMPTY",
    "FALL",
    "TRUNCATED",
    "PreviousRows",
    "SourceDrop",
    "SourcesShrank",
    "assess_source",
    "check_accept_drop",
]

#: The kinds of stop, in the order a source is assessed.
EMPTY, TRUNCATED, FALL = "empty", "truncated", "fall"


@dataclass(frozen=True)
class PreviousRows:
    """The current release's rows per source: ``rows[source] = (rows_read, rows_loaded)``."""

    release_id: str
    rows: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class SourceDrop:
    """A source that stops the build until a data lead confirms its extract."""

    source: str
    file: str  # as messages show it: relative to the partnership folder
    kind: str  # EMPTY, TRUNCATED or FALL
    rows: int  # the count compared: rows read (or loaded, when ``measure`` says so)
    previous_rows: int | None  # the same count in the current release; None: not in it
    previous_release: str | None
    share: float  # build.max_drop_share
    directory: str  # the partnership folder, as the command to confirm names it
    measure: str = "read"  # "read" or "loaded"

    @property
    def fall(self) -> float | None:
        """The fall as a share of the previous count (None without one)."""
        if not self.previous_rows:
            return None
        return max(0.0, (self.previous_rows - self.rows) / self.previous_rows)

    def _against(self) -> str:
        """``, down from N in release R, a fall of P%`` (or up from, or as in), or nothing
        without a previous count."""
        if self.previous_rows is None or self.previous_release is None:
            return ""
        before = f"{self.previous_rows:,} in release {self.previous_release}"
        if self.rows > self.previous_rows:
            return f", up from {before}"
        if self.rows == self.previous_rows:
            return f", as in release {self.previous_release}"
        fall = self.fall
        return f", down from {before}" + ("" if fall is None else f", a fall of {fall:.0%}")

    @property
    def message(self) -> str:
        """What stopped the source and how to go on; names the source, file and counts."""
        return (
            f"{self.finding}. Check the extract (export it again if it is incomplete); to "
            f"publish it as it is, run `joinedup build {self.directory} --accept-drop "
            f"{self.source}` or tick it on the web app's build page."
        )

    @property
    def finding(self) -> str:
        """What stopped the source: its file and row counts, the fall."""
        if self.kind == EMPTY:
            found = f"{self.file} has no data rows: 0 rows{self._against()}"
        elif self.kind == TRUNCATED:
            found = (
                f"{self.file} ends part-way through its last row (cut short, or a quote "
                f"never closed), so the extract looks cut short: {self.rows:,} rows"
                f"{self._against()}"
            )
        else:
            what = "rows" if self.measure == "read" else "rows loaded"
            found = (
                f"{self.file} has {self.rows:,} {what}{self._against()}, more than the "
                f"{self.share:.0%} fall build.max_drop_share allows"
            )
        return found

    def problem(self) -> Problem:
        return Problem(self.source, self.message)

    def as_dict(self) -> dict[str, Any]:
        fall = self.fall
        return {
            "source": self.source,
            "file": self.file,
            "kind": self.kind,
            "measure": self.measure,
            "rows": self.rows,
            "previous_rows": self.previous_rows,
            "previous_release": self.previous_release,
            "fall_percent": None if fall is None else round(100 * fall),
            "finding": self.finding,
            "message": self.message,
        }


class SourcesShrank(BuildError):
    """The build stopped before publishing: ``drops`` need a data lead's confirmation."""

    def __init__(self, drops: list[SourceDrop], current: str | None) -> None:
        self.drops = list(drops)
        still = f"release {current} is still current" if current else "there is still no release"
        super().__init__(
            f"The build stopped before publishing: {len(drops)} source(s) shrank sharply or "
            f"look cut short. Nothing was published; {still}.",
            [d.problem() for d in drops],
        )


def assess_source(
    source: str,
    file: str,
    *,
    rows: int,
    truncated: bool,
    previous: PreviousRows | None,
    share: float,
    directory: str,
    loaded: int | None = None,
) -> SourceDrop | None:
    """Whether one source stops the build, and why; None when it does not.

    ``rows`` are the rows its extract supplied (read), ``loaded`` those loaded (None when
    not known, as in ``joinedup check``, which maps a sample only).
    """
    prev = None if previous is None else previous.rows.get(source)
    prev_id = None if previous is None else previous.release_id

    def drop(kind: str, n: int, before: int | None, measure: str = "read") -> SourceDrop:
        return SourceDrop(
            source,
            file,
            kind,
            n,
            before,
            prev_id if before is not None else None,
            share,
            directory,
            measure,
        )

    if rows == 0:
        return drop(EMPTY, 0, None if prev is None else prev[0])
    if truncated:
        return drop(TRUNCATED, rows, None if prev is None else prev[0])
    if prev is None:
        return None
    if prev[0] and (prev[0] - rows) / prev[0] > share:
        return drop(FALL, rows, prev[0])
    if loaded is not None and prev[1] and (prev[1] - loaded) / prev[1] > share:
        return drop(FALL, loaded, prev[1], "loaded")
    return None


def check_accept_drop(cfg: PartnershipConfig, accept: Iterable[str]) -> frozenset[str]:
    """The sources named by ``--accept-drop``; ConfigError naming any that is not one."""
    wanted = frozenset(accept)
    known = [s.id for s in cfg.sources]
    unknown = sorted(wanted - set(known))
    if unknown:
        raise ConfigError(
            f"--accept-drop names {', '.join(repr(u) for u in unknown)}, which is not a source "
            "in partnership.yaml; the sources are: " + ", ".join(known) + "."
        )
    return wanted
