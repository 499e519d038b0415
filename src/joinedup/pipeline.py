"""The whole build, every stage in flow order: what ``joinedup build`` and the demo run.

``release.build_release`` owns reading, mapping, linking and publishing; stages later in
the flow (insight) join through its ``extra_stages`` so that no earlier stage imports a
later one. This module sits above them all.
"""

from __future__ import annotations

from pathlib import Path

from joinedup.release.build import BuildResult, ExtraStage, Progress, build_release

__all__ = ["build", "extra_stages"]


def extra_stages() -> list[ExtraStage]:
    """Stages after `release` that add to a release before it is published."""
    from joinedup.insight import insight_stage

    return [("insight", insight_stage)]


def build(partnership_dir: Path, *, progress: Progress | None = None) -> BuildResult:
    """Build and publish a release with every stage joinedup has."""
    return build_release(partnership_dir, progress=progress, extra_stages=extra_stages())
