"""The build: stages registered in flow order over one build context.

:func:`build` runs :data:`STAGES` (geography, read, map, guard, quality, link, derive,
insight, publish) on a new release and publishes it atomically; ``joinedup build``, the demo and
the web app's builds all run it. :mod:`joinedup.pipeline.check` makes the same checks on
a sample, writing nothing. Each stage is a module here with one entry point taking the
:class:`BuildContext`.
"""

from __future__ import annotations

from joinedup.pipeline.context import BuildContext, Progress
from joinedup.pipeline.drops import SourceDrop, SourcesShrank
from joinedup.pipeline.runner import STAGES, BuildResult, Stage, build

__all__ = [
    "STAGES",
    "BuildContext",
    "BuildResult",
    "Progress",
    "SourceDrop",
    "SourcesShrank",
    "Stage",
    "build",
]
