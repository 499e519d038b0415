"""Shared words beside the figures (issue 20): what to look for, the glossary and the
language guide, as versioned taxonomy data.

- ``guidance.yaml``: signs and indicators of each kind of exploitation, for children and
  for adults, written by the project from public guidance (:func:`load_guidance`);
- ``glossary.yaml``: the terms pages and questions use, each defined once
  (:func:`load_glossary`; :meth:`Glossary.terms_in` finds a text's terms to link them);
- ``language.yaml``: words that blame a child for their own exploitation, with what to say
  instead (:func:`load_language_guide`; :meth:`LanguageGuide.find` checks a text).

Each file sits in the taxonomy version's folder beside the code lists and is checked
when loaded: ids unique, every exploitation type covered by one section, every ``see``
a known term, every pattern a valid regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from joinedup.errors import ConfigError
from joinedup.taxonomy.loader import current_version, load_taxonomy

__all__ = [
    "Glossary",
    "GlossaryTerm",
    "Guidance",
    "GuidanceSection",
    "LanguageGuide",
    "LanguageMatch",
    "LanguageTerm",
    "load_glossary",
    "load_guidance",
    "load_language_guide",
]

_M = TypeVar("_M", bound=BaseModel)

#: Exploitation types no section describes: they say only that there is a concern.
UNCOVERED = frozenset({"other", "type_not_stated"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signs(_Strict):
    children: tuple[str, ...] = ()
    adults: tuple[str, ...] = ()


class GuidanceSection(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    types: tuple[str, ...]
    what_it_is: str
    children: tuple[str, ...]
    adults: tuple[str, ...] = ()
    places: tuple[str, ...] = ()


class Guidance(_Strict):
    version: str
    title: str
    introduction: str
    general: Signs
    sections: tuple[GuidanceSection, ...]

    def section(self, section_id: str) -> GuidanceSection | None:
        return next((s for s in self.sections if s.id == section_id), None)


class GlossaryTerm(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    term: str
    definition: str
    aliases: tuple[str, ...] = ()
    see: tuple[str, ...] = ()


class Glossary(_Strict):
    version: str
    terms: tuple[GlossaryTerm, ...]

    @cached_property
    def _pattern(self) -> tuple[re.Pattern[str], dict[str, str]]:
        words: dict[str, str] = {}
        for t in self.terms:
            for w in (t.term, *t.aliases):
                words.setdefault(w.lower(), t.id)
        ordered = sorted(words, key=len, reverse=True)  # longest first: "young adults"
        alternation = "|".join(re.escape(w) for w in ordered)
        return re.compile(rf"(?<![\w-])({alternation})(?![\w-])", re.IGNORECASE), words

    def terms_in(self, *texts: str) -> list[GlossaryTerm]:
        """The glossary terms used in ``texts`` (by term or alias, whole words), in the
        glossary's order: what a figure's "terms used" links to."""
        pattern, words = self._pattern
        found = {words[m.group(1).lower()] for text in texts for m in pattern.finditer(text)}
        return [t for t in self.terms if t.id in found]


class LanguageTerm(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    label: str  # the words as a reader would recognise them
    pattern: str
    say_instead: str
    why: str


@dataclass(frozen=True)
class LanguageMatch:
    """One use of words the language guide advises against: where, which, and the
    words used (the matched words only, never the text around them)."""

    term: LanguageTerm
    start: int
    words: str


class LanguageGuide(_Strict):
    version: str
    terms: tuple[LanguageTerm, ...]

    @cached_property
    def _compiled(self) -> tuple[tuple[LanguageTerm, re.Pattern[str]], ...]:
        return tuple(
            (t, re.compile(rf"(?<![\w-])(?:{t.pattern})(?![\w-])", re.IGNORECASE))
            for t in self.terms
        )

    def find(self, text: str) -> list[LanguageMatch]:
        """Every use in ``text`` of words the guide advises against, in text order."""
        out = [
            LanguageMatch(term, m.start(), m.group(0))
            for term, pattern in self._compiled
            for m in pattern.finditer(text)
        ]
        return sorted(out, key=lambda m: (m.start, m.term.id))

    def counts(self, texts: list[str]) -> dict[str, int]:
        """How many of ``texts`` use each term at least once (term id -> texts)."""
        out = dict.fromkeys((t.id for t in self.terms), 0)
        for text in texts:
            for term, pattern in self._compiled:
                if pattern.search(text):
                    out[term.id] += 1
        return out


def _read(version: str, name: str) -> object:
    path = resources.files("joinedup.taxonomy").joinpath("data", version, name)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"taxonomy data {version}/{name} is missing") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"taxonomy data {version}/{name} is not valid YAML: {exc}") from None


def _model(kind: type[_M], version: str, name: str) -> _M:
    try:
        return kind.model_validate(_read(version, name))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"taxonomy data {version}/{name}: {where}: {first['msg']}") from None


def _unique(ids: list[str], where: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ConfigError(f"{where}: id {i!r} is used twice")
        seen.add(i)


@lru_cache(maxsize=4)
def load_guidance(version: str | None = None) -> Guidance:
    """What to look for, for a taxonomy version (default: the current one)."""
    version = version or current_version()
    guidance = _model(Guidance, version, "guidance.yaml")
    where = f"taxonomy data {version}/guidance.yaml"
    _unique([s.id for s in guidance.sections], where)
    codes = set(load_taxonomy(version).lists["exploitation_type"])
    covered = [t for s in guidance.sections for t in s.types]
    _unique(covered, where + " (types)")
    unknown = sorted(set(covered) - codes)
    if unknown:
        raise ConfigError(f"{where}: unknown exploitation types {', '.join(unknown)}")
    missing = sorted(codes - set(covered) - UNCOVERED)
    if missing:
        raise ConfigError(f"{where}: no section covers {', '.join(missing)}")
    return guidance


@lru_cache(maxsize=4)
def load_glossary(version: str | None = None) -> Glossary:
    """The glossary of a taxonomy version (default: the current one)."""
    version = version or current_version()
    glossary = _model(Glossary, version, "glossary.yaml")
    where = f"taxonomy data {version}/glossary.yaml"
    _unique([t.id for t in glossary.terms], where)
    ids = {t.id for t in glossary.terms}
    for t in glossary.terms:
        bad = sorted(set(t.see) - ids)
        if bad:
            raise ConfigError(f"{where}: term {t.id!r} refers to unknown {', '.join(bad)}")
    return glossary


@lru_cache(maxsize=4)
def load_language_guide(version: str | None = None) -> LanguageGuide:
    """The language guide of a taxonomy version (default: the current one)."""
    version = version or current_version()
    guide = _model(LanguageGuide, version, "language.yaml")
    where = f"taxonomy data {version}/language.yaml"
    _unique([t.id for t in guide.terms], where)
    for t in guide.terms:
        try:
            re.compile(t.pattern)
        except re.error as exc:
            raise ConfigError(f"{where}: term {t.id!r} pattern is not valid: {exc}") from None
    return guide
