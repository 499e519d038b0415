"""The ``quality`` stage: measures per source and field, advice, change since last release.

Runs as soon as the sources are mapped: it needs only the canonical rows, ``source``,
``field_quality`` and ``quarantine``. The report files go beside the release's database.
"""

from __future__ import annotations

from joinedup.pipeline.context import BuildContext, previous_release
from joinedup.quality import run_quality

__all__ = ["measure_quality"]


def measure_quality(ctx: BuildContext) -> None:
    """Fill the quality tables and write ``quality.json`` and ``quality.html``."""
    run_quality(
        ctx.con,
        ctx.config,
        release_id=ctx.release_id,
        previous=previous_release(ctx.partnership_dir),
        out_dir=ctx.staging,
    )
