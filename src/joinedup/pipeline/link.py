"""The ``link`` stage: resolve every record into a person (see ``joinedup.linkage``).

Review decisions come from the app state; the previous release lends its person ids
(and, for an incremental build, its model and scores).
"""

from __future__ import annotations

from joinedup.linkage import link_stage
from joinedup.pipeline.context import BuildContext, previous_release

__all__ = ["link_records"]


def link_records(ctx: BuildContext) -> None:
    """Fill ``record_person`` and the linkage tables; count the persons."""
    previous = previous_release(ctx.partnership_dir)
    ctx.persons = link_stage(
        ctx.con,
        ctx.secret,
        partnership_dir=ctx.partnership_dir,
        config=ctx.config,
        previous=None if previous is None else previous[1],
    )
