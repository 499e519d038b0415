"""What each agency holds, and the partnership's own performance framework (issue 21).

Two keys of ``partnership.yaml``, documented in ``docs/configuration.md`` and
``docs/maturity.md``:

- ``catalogue``: per agency id, the datasets it holds that matter to exploitation (name,
  system, fields, whether supplied to joinedup). A dataset held but not supplied is named
  beside every figure that rests on the agency's type ("figures exclude school exclusions
  held by academies not yet sharing").
- ``framework``: the partnership's performance framework, as outcomes each answered by
  questions, with an optional target per question: shown as a reference beside the
  figure, never as a rating of a child.

:func:`check_catalogue` finds agency, source and question ids that do not exist, all at
once (``partnership.yaml`` itself is validated before anything runs; these cross-checks
need the whole file).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from joinedup.errors import Problem

__all__ = [
    "Catalogue",
    "Framework",
    "FrameworkOutcome",
    "FrameworkTarget",
    "HeldDataset",
    "check_catalogue",
]

_ID = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HeldDataset(_Strict):
    """One dataset an agency holds that matters to exploitation."""

    name: str = Field(min_length=3, max_length=200)
    system: str | None = Field(default=None, max_length=200)
    fields: list[str] = []
    supplied: bool = False
    # the source (partnership.yaml sources[].id) that supplies it, when supplied
    source: str | None = Field(default=None, pattern=_ID)
    note: str | None = Field(default=None, max_length=500)


#: ``catalogue``: agency id -> the datasets it holds.
Catalogue = dict[Annotated[str, Field(pattern=_ID, max_length=64)], list[HeldDataset]]


class FrameworkTarget(_Strict):
    """A partnership's target for one question's headline: a reference, not a rating."""

    question: str = Field(pattern=_ID)
    target: float | None = None
    direction: str = Field(default="reference", pattern=r"^(reference|at_least|at_most)$")
    note: str | None = Field(default=None, max_length=300)


class FrameworkOutcome(_Strict):
    """An outcome the partnership works towards, and the questions that show progress."""

    outcome: str = Field(min_length=3, max_length=200)
    questions: list[FrameworkTarget] = Field(min_length=1)


class Framework(_Strict):
    """``framework``: the partnership's performance framework."""

    title: str = "Performance framework"
    outcomes: list[FrameworkOutcome] = []


def check_catalogue(
    *,
    catalogue: Catalogue,
    framework: Framework,
    agencies: Iterable[str],
    sources: Iterable[str],
    questions: Iterable[str] | None = None,
) -> list[Problem]:
    """Ids in ``catalogue`` and ``framework`` that name nothing in the partnership."""
    agency_ids, source_ids = set(agencies), set(sources)
    problems = []
    for agency, held in catalogue.items():
        if agency not in agency_ids:
            problems.append(
                Problem(
                    f"partnership.yaml: catalogue.{agency}",
                    "is not an agency id; use one of: " + ", ".join(sorted(agency_ids)),
                )
            )
        for i, d in enumerate(held):
            if d.source is not None and d.source not in source_ids:
                problems.append(
                    Problem(
                        f"partnership.yaml: catalogue.{agency}[{i}].source",
                        f"'{d.source}' is not a source id; give the id of the source that "
                        "supplies it, or leave source out",
                    )
                )
            if d.source is not None and not d.supplied:
                problems.append(
                    Problem(
                        f"partnership.yaml: catalogue.{agency}[{i}]",
                        "names a source but says supplied: false; set supplied: true",
                    )
                )
    if questions is not None:
        known = set(questions)
        for i, o in enumerate(framework.outcomes):
            for j, t in enumerate(o.questions):
                if t.question not in known:
                    problems.append(
                        Problem(
                            f"partnership.yaml: framework.outcomes[{i}].questions[{j}]",
                            f"'{t.question}' is not a question id; `joinedup questions DIR` "
                            "lists them",
                        )
                    )
    return problems
