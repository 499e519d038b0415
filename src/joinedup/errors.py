"""The package's exceptions.

    JoinedupError
    ├── ConfigError          partnership.yaml is missing, malformed or inconsistent
    ├── SourceError          an extract cannot be read or mapped (build stops, nothing published)
    ├── BuildError           a build failed; the previous release stays current
    └── ReleaseError         no release, or a release folder is unusable

Messages name the file, row, column and how to fix the problem, never a value from a
record: the data is personal data about children.
"""

from __future__ import annotations

__all__ = ["BuildError", "ConfigError", "JoinedupError", "Problem", "ReleaseError", "SourceError"]

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found while validating, with where it is and how to fix it."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class JoinedupError(Exception):
    """Base class for every error joinedup raises on purpose."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = list(problems or [])
        super().__init__(message)

    def __str__(self) -> str:
        text = super().__str__()
        if self.problems:
            text += "\n" + "\n".join(f"  - {p}" for p in self.problems)
        return text


class ConfigError(JoinedupError):
    """partnership.yaml is missing, malformed or inconsistent."""


class SourceError(JoinedupError):
    """An extract cannot be read or mapped."""


class BuildError(JoinedupError):
    """A build failed; the previous release is still current."""


class ReleaseError(JoinedupError):
    """There is no usable release."""
