"""Names for comparison: normalised spellings, double metaphone codes and nickname groups.

The UK nickname table (``data/nicknames.txt``) is written and shipped by joinedup: one
group a line, a formal name and the short forms and variants records use for it. Two
forenames are *nickname equivalent* when they share a group (James, Jamie and Jim; Liz,
Beth and Elizabeth). Names are compared without accents, apostrophes, hyphens or spaces,
so ``O'NEILL``, ``O’NEILL`` and ``ONEILL`` are one spelling.

Everything here works on distinct name values in Python (there are thousands, not
millions) and hands DuckDB a lookup table, so the engines see plain columns.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pyarrow as pa
from metaphone import doublemetaphone

__all__ = [
    "TITLE_NAMES",
    "NicknameTable",
    "load_nicknames",
    "name_features",
    "normalise_name",
    "surname_core",
]

_STRIP = re.compile(r"[^A-Z]")

#: Names that say a person's religion or sex rather than their family (issue 15): a Sikh
#: child is SINGH or KAUR to one agency and GILL to another; a Bangladeshi girl BEGUM or
#: KHATUN or her family's name. Compared as missing, not as a different surname.
TITLE_NAMES = frozenset({"SINGH", "KAUR", "BEGUM", "KHATUN", "BIBI"})
# gendered surname endings (Polish, Czech, Slovak): Kowalska is Kowalski's daughter
_GENDERED = (("SKA", "SKI"), ("CKA", "CKI"), ("DZKA", "DZKI"), ("OVA", ""))


def surname_core(parts: list[str]) -> str | None:
    """A surname's family part: title names left out, gendered endings made masculine."""
    kept = [p for p in parts if p not in TITLE_NAMES]
    if not kept:
        return None
    out = []
    for part in kept:
        for fem, masc in _GENDERED:
            if part.endswith(fem) and len(part) > len(fem) + 2:
                part = part[: -len(fem)] + masc
                break
        out.append(part)
    return "".join(out)


def normalise_name(name: str) -> str:
    """Upper case, accents removed, only letters A-Z kept."""
    decomposed = unicodedata.normalize("NFKD", name.upper())
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_only = ascii_only.replace("Ł", "L").replace("Ø", "O").replace("ß", "SS")
    return _STRIP.sub("", ascii_only)


@dataclass(frozen=True)
class NicknameTable:
    """Nickname groups: each normalised name maps to the groups it belongs to."""

    groups: tuple[tuple[str, ...], ...]
    index: dict[str, tuple[int, ...]]

    def groups_of(self, name: str) -> tuple[int, ...]:
        return self.index.get(normalise_name(name), ())

    def equivalent(self, a: str, b: str) -> bool:
        na, nb = normalise_name(a), normalise_name(b)
        return na == nb or bool(set(self.groups_of(na)) & set(self.groups_of(nb)))


@cache
def load_nicknames() -> NicknameTable:
    """The shipped table of UK forename equivalents."""
    text = resources.files("joinedup.linkage").joinpath("data", "nicknames.txt").read_text("utf-8")
    groups: list[tuple[str, ...]] = []
    index: dict[str, list[int]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        formal, _, rest = line.partition(":")
        names = [formal, *rest.split(",")]
        members = tuple(dict.fromkeys(n for n in (normalise_name(x) for x in names) if n))
        gid = len(groups)
        groups.append(members)
        for n in members:
            index.setdefault(n, [])
            if gid not in index[n]:
                index[n].append(gid)
    return NicknameTable(tuple(groups), {k: tuple(v) for k, v in index.items()})


def name_features(names: list[str]) -> pa.Table:
    """One row per distinct raw name: its normalised form, metaphone codes and groups.

    ``groups`` holds the nickname group ids as strings (``g12``) plus the normalised name
    itself, so that two names "share a group" exactly when they are equal or nickname
    equivalent. ``canonical`` is the first group's formal name (or the name itself), for
    blocking on nickname-normalised forenames. ``parts`` are the pieces of a
    double-barrelled or multi-part name; ``core`` the family part of a surname
    (:func:`surname_core`); ``title`` whether the name is only a title name
    (:data:`TITLE_NAMES`).
    """
    table = load_nicknames()
    norm, dm1, dm2, groups, canonical, parts = [], [], [], [], [], []
    core: list[str | None] = []
    title: list[bool] = []
    for name in names:
        n = normalise_name(name)
        pieces = [q for q in (normalise_name(x) for x in re.split(r"[-\s]+", name)) if q]
        parts.append(pieces or None)
        core.append(surname_core(pieces))
        title.append(bool(pieces) and all(q in TITLE_NAMES for q in pieces))
        codes = doublemetaphone(n) if n else ("", "")
        gids = table.index.get(n, ())
        norm.append(n or None)
        dm1.append(codes[0] or None)
        dm2.append(codes[1] or codes[0] or None)
        groups.append([n, *(f"g{g}" for g in gids)] if n else None)
        canonical.append(table.groups[gids[0]][0] if gids else (n or None))
    return pa.table(
        {
            "name": pa.array(names, pa.string()),
            "norm": pa.array(norm, pa.string()),
            "dm1": pa.array(dm1, pa.string()),
            "dm2": pa.array(dm2, pa.string()),
            "groups": pa.array(groups, pa.list_(pa.string())),
            "canonical": pa.array(canonical, pa.string()),
            "parts": pa.array(parts, pa.list_(pa.string())),
            "core": pa.array(core, pa.string()),
            "title": pa.array(title, pa.bool_()),
        }
    )
