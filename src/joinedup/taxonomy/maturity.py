"""The data maturity self-assessment (issue 21): six dimensions, each with five statements.

The questionnaire is written by the project and versioned with the taxonomy
(``taxonomy/data/<version>/maturity.yaml``); an agency's data lead picks, for each
dimension, the level whose statement best describes their agency. ``measured_by`` names
the measured quality dimensions (``joinedup.views.quality.DIMENSIONS``) that say something
about a dimension, so the answers can be set beside what the extracts show
(``joinedup.views.maturity``); ``analysis`` and ``decision_making`` have none.

    >>> q = load_maturity()
    >>> [d.code for d in q.dimensions][:2]
    ['collection', 'systems']
    >>> q.level_label(3)
    'Developing'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from joinedup.errors import ConfigError
from joinedup.taxonomy.loader import current_version

__all__ = [
    "MATURITY_DIMENSIONS",
    "MEASURED_DIMENSIONS",
    "MaturityDimension",
    "MaturityQuestionnaire",
    "load_maturity",
]

#: The six dimensions, in the order the questionnaire asks them (fixed: issue 21).
MATURITY_DIMENSIONS = (
    "collection",
    "systems",
    "recording",
    "analysis",
    "sharing",
    "decision_making",
)
#: The measured quality dimensions ``measured_by`` may name.
MEASURED_DIMENSIONS = (
    "completeness",
    "validity",
    "timeliness",
    "uniqueness",
    "consistency",
    "linkability",
)


@dataclass(frozen=True)
class MaturityDimension:
    """One dimension: its question and one statement per level (1 to 5)."""

    code: str
    label: str
    question: str
    measured_by: tuple[str, ...]
    statements: dict[int, str]


@dataclass(frozen=True)
class MaturityQuestionnaire:
    """A version of the questionnaire."""

    version: str
    title: str
    levels: dict[int, str]
    dimensions: tuple[MaturityDimension, ...]

    def dimension(self, code: str) -> MaturityDimension:
        for d in self.dimensions:
            if d.code == code:
                return d
        raise ConfigError(
            f"Unknown maturity dimension {code!r}; use one of: {', '.join(MATURITY_DIMENSIONS)}."
        )

    def level_label(self, level: int) -> str:
        return self.levels[level]


def load_maturity(version: str | None = None) -> MaturityQuestionnaire:
    """The questionnaire of a taxonomy version (default: the current one). Cached."""
    return _load(version or current_version())


@lru_cache(maxsize=4)
def _load(version: str) -> MaturityQuestionnaire:
    where = f"taxonomy data {version}/maturity.yaml"
    item = resources.files("joinedup.taxonomy").joinpath("data", version, "maturity.yaml")
    try:
        raw = yaml.safe_load(item.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{where} is missing: taxonomy version {version} has no maturity questionnaire"
        ) from exc
    if not isinstance(raw, dict) or str(raw.get("version")) != version:
        raise ConfigError(f"{where}: expected a mapping with version {version!r}")
    return _parse(raw, where)


def _parse(raw: dict[str, Any], where: str) -> MaturityQuestionnaire:
    levels = {int(x["level"]): " ".join(str(x["label"]).split()) for x in raw.get("levels", [])}
    if sorted(levels) != [1, 2, 3, 4, 5]:
        raise ConfigError(f"{where}: levels must be 1 to 5, each with a label")
    dims = []
    for d in raw.get("dimensions", []):
        statements = {int(k): " ".join(str(v).split()) for k, v in d["statements"].items()}
        if sorted(statements) != sorted(levels):
            raise ConfigError(f"{where}: {d.get('code')}: one statement per level, 1 to 5")
        measured = tuple(str(m) for m in d.get("measured_by") or [])
        unknown = [m for m in measured if m not in MEASURED_DIMENSIONS]
        if unknown:
            raise ConfigError(f"{where}: {d.get('code')}: unknown measured_by {unknown}")
        dims.append(
            MaturityDimension(
                code=str(d["code"]),
                label=str(d["label"]),
                question=" ".join(str(d["question"]).split()),
                measured_by=measured,
                statements=statements,
            )
        )
    if tuple(d.code for d in dims) != MATURITY_DIMENSIONS:
        raise ConfigError(f"{where}: the dimensions must be {', '.join(MATURITY_DIMENSIONS)}")
    return MaturityQuestionnaire(
        version=str(raw["version"]),
        title=str(raw.get("title", "")),
        levels=levels,
        dimensions=tuple(dims),
    )
