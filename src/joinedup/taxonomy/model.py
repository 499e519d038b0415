"""The taxonomy's shape: entries, code lists and the :class:`Taxonomy` that holds them.

A :class:`Taxonomy` is immutable and shared (``load_taxonomy`` caches it): its mappings are
read-only views. A partnership's local codes are added with :meth:`Taxonomy.with_local_codes`,
which returns a new taxonomy and leaves the shared one alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict

from joinedup.errors import ConfigError

__all__ = ["CodeList", "Entry", "LOCAL_PREFIX", "Taxonomy"]

LOCAL_PREFIX = "local_"
_LOCAL_CODE = re.compile(r"^local_[a-z0-9_]+$")


class Entry(BaseModel):
    """One code in a list, with its label and, where one exists, its definition."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    label: str
    definition: str | None = None
    source: str | None = None
    parent: str | None = None  # exploitation_type: the broader type it belongs to
    report_group: str | None = None  # exploitation_type: the group reports count it in
    group: str | None = None  # ethnicity: the census grouping
    maps_to: tuple[str, ...] = ()  # cin_factor, nrm_type: our exploitation types
    flags: tuple[str, ...] = ()  # e.g. cin_factor 10A: ("missing",)
    verified: bool = True  # False: meaning not confirmed against the source document
    note: str | None = None
    local: bool = False  # a partnership's local extension, not part of the shared core


@dataclass(frozen=True)
class CodeList:
    """A list's description and rules, without its entries."""

    name: str
    title: str
    description: str
    fixed: bool  # its core codes are fixed by docs/internal/conventions.md
    multi: bool  # a value may carry several codes (crosswalk targets may use ';')
    extensible: bool  # a partnership may add local_ codes
    maps_to_list: str | None = None  # a source list whose entries map onto another list


def _ro(mapping: Mapping[str, Entry]) -> Mapping[str, Entry]:
    return MappingProxyType(dict(mapping))


def _valid_list(lists: Mapping[str, object], list_name: str) -> None:
    if list_name not in lists:
        raise ConfigError(
            f"Unknown taxonomy list {list_name!r}. Use one of: {', '.join(sorted(lists))}."
        )


@dataclass(frozen=True)
class Taxonomy:
    """Every code list of one taxonomy version.

    ``lists`` maps list name -> code -> :class:`Entry`, in the order of the data files.
    """

    version: str
    title: str
    lists: Mapping[str, Mapping[str, Entry]]
    info: Mapping[str, CodeList]
    report_groups: tuple[str, ...]
    ethnicity_groups: tuple[str, ...]
    _folded: Mapping[str, Mapping[str, str]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        lists = MappingProxyType({name: _ro(entries) for name, entries in self.lists.items()})
        object.__setattr__(self, "lists", lists)
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))
        folded = {
            name: MappingProxyType({code.casefold(): code for code in entries})
            for name, entries in lists.items()
        }
        object.__setattr__(self, "_folded", MappingProxyType(folded))

    # --- looking things up -------------------------------------------------------------

    def list_names(self) -> tuple[str, ...]:
        """The names of the lists, in documentation order."""
        return tuple(self.lists)

    def codes(self, list_name: str) -> frozenset[str]:
        """Every code in a list (local extensions included)."""
        _valid_list(self.lists, list_name)
        return frozenset(self.lists[list_name])

    def core_codes(self, list_name: str) -> frozenset[str]:
        """The shared codes of a list, without a partnership's local extensions."""
        _valid_list(self.lists, list_name)
        return frozenset(c for c, e in self.lists[list_name].items() if not e.local)

    def entry(self, list_name: str, code: str) -> Entry:
        """The entry for a code; :class:`ConfigError` naming the valid codes if unknown."""
        _valid_list(self.lists, list_name)
        entries = self.lists[list_name]
        if code not in entries:
            raise ConfigError(
                f"Unknown {list_name} code {code!r}. Use one of: {', '.join(entries)}."
            )
        return entries[code]

    def canonical(self, list_name: str, code: str) -> str | None:
        """The code as the taxonomy spells it, matching case-insensitively; None if unknown."""
        _valid_list(self.lists, list_name)
        return self._folded[list_name].get(code.strip().casefold())

    def label(self, list_name: str, code: str) -> str:
        return self.entry(list_name, code).label

    def parent(self, code: str) -> str | None:
        """The parent of an exploitation type (county_lines -> cce), or None."""
        return self.entry("exploitation_type", code).parent

    def ancestors(self, code: str) -> tuple[str, ...]:
        """An exploitation type and every type above it, nearest first."""
        chain = [code]
        parent = self.parent(code)
        while parent is not None and parent not in chain:
            chain.append(parent)
            parent = self.parent(parent)
        return tuple(chain)

    def core_code(self, code: str) -> str:
        """The nearest shared (non-local) exploitation type: what regional reports count."""
        for ancestor in self.ancestors(code):
            if not self.entry("exploitation_type", ancestor).local:
                return ancestor
        raise ConfigError(f"Local exploitation type {code!r} has no shared parent.")

    def report_group(self, code: str) -> str:
        """The report group an exploitation type is counted in (e.g. "CSE")."""
        for ancestor in self.ancestors(code):
            group = self.entry("exploitation_type", ancestor).report_group
            if group is not None:
                return group
        raise ConfigError(f"Exploitation type {code!r} has no report group.")

    def ethnicity_group(self, code: str) -> str:
        """The census grouping of a DfE ethnicity code (e.g. MWBC -> "Mixed")."""
        group = self.entry("ethnicity", code).group
        if group is None:  # the loader checks every ethnicity code has a group
            raise ConfigError(f"Ethnicity code {code!r} has no group.")
        return group

    def crosswalk(self, name: str) -> dict[str, tuple[str, ...]]:
        """A built-in crosswalk: source code -> our codes (e.g. CIN factor 11A -> ("cse",)).

        ``name`` is a list with ``maps_to_list`` set (:meth:`builtin_crosswalks`). Codes
        that map to nothing (CIN 10A, say) are included with an empty tuple.
        """
        names = self.builtin_crosswalks()
        if name not in names:
            raise ConfigError(
                f"Unknown built-in crosswalk {name!r}. Use one of: {', '.join(names)}."
            )
        if self.info[name].maps_to_list == name:  # a code list that checks codes only
            return {code: (code,) for code in self.lists[name]}
        return {code: entry.maps_to for code, entry in self.lists[name].items()}

    def builtin_crosswalks(self) -> tuple[str, ...]:
        """The names of the built-in crosswalks (lists with ``maps_to_list``), sorted.

        A list whose ``maps_to_list`` is itself (``cin_referral_source``) is a code list:
        its crosswalk checks a code and gives it as the list spells it.
        """
        return tuple(sorted(n for n, i in self.info.items() if i.maps_to_list is not None))

    # --- local extensions --------------------------------------------------------------

    def with_local_codes(self, list_name: str, entries: Mapping[str, Entry]) -> Taxonomy:
        """A copy with a partnership's local codes added to an extensible list.

        Local codes start with ``local_`` (lower case letters, digits, underscores). A local
        exploitation type must name a parent (a shared type or another local one), which
        gives it its report group and the core type regional reports count it as.
        """
        _valid_list(self.lists, list_name)
        info = self.info[list_name]
        if not info.extensible:
            extensible = sorted(n for n, i in self.info.items() if i.extensible)
            raise ConfigError(
                f"Taxonomy list {list_name!r} does not take local codes. "
                f"Lists that do: {', '.join(extensible)}."
            )
        merged = dict(self.lists[list_name])
        problems: list[str] = []
        for code, entry in entries.items():
            if not _LOCAL_CODE.match(code):
                problems.append(
                    f"local {list_name} code {code!r}: start it with 'local_' and use only "
                    "lower case letters, digits and '_' (e.g. 'local_hate_crime')"
                )
            elif code in merged:
                problems.append(f"local {list_name} code {code!r} is defined twice")
            merged[code] = _replace_entry(entry, code=code, local=True)
        if list_name == "exploitation_type":
            for code in entries:
                parent = merged[code].parent
                if parent is None or parent not in merged:
                    problems.append(
                        f"local exploitation type {code!r}: set parent to one of: "
                        f"{', '.join(c for c, e in merged.items() if not e.local)}"
                    )
                elif merged[code].report_group is not None:
                    problems.append(
                        f"local exploitation type {code!r}: remove report_group; it comes "
                        "from the parent"
                    )
        if problems:
            raise ConfigError(
                f"Local extensions to taxonomy list {list_name!r} are not valid:\n  - "
                + "\n  - ".join(problems)
            )
        lists = dict(self.lists)
        lists[list_name] = merged
        extended = replace(self, lists=lists)
        if list_name == "exploitation_type":
            for code in entries:  # a cycle among local parents has no shared ancestor
                extended.core_code(code)
        return extended


def _replace_entry(entry: Entry, **changes: object) -> Entry:
    """A copy of an entry with some fields changed (and validated again)."""
    data = entry.model_dump()
    data.update(changes)
    return Entry.model_validate(data)
