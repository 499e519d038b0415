"""Crosswalks ready for SQL: the partnership's own, the built-in ones, and code lists.

:func:`resolve_crosswalks` compiles every crosswalk a mapping may name into
:class:`Crosswalks`, a table of normalised local code -> ';'-joined taxonomy codes:

- those declared under ``crosswalks`` in partnership.yaml (inline or CSV), validated
  against the taxonomy with the partnership's ``taxonomy_extensions``;
- the built-in ones (``cin_factor``, ``nrm_type``, ``home_office_offence``,
  ``cin_referral_source``, ``dfe_exclusion_reason``), matching a code or its label; a
  declared crosswalk of the same name replaces the built-in one;
- ``list:exploitation_type`` and ``list:context``: the codes of those lists themselves,
  for indicator and context fields given without a crosswalk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from joinedup.config import PartnershipConfig
from joinedup.config.eventcheck import partnership_taxonomy
from joinedup.sources.derive import ValueLookups, value_lookups
from joinedup.taxonomy import (
    Taxonomy,
    compile_crosswalk,
    load_crosswalk_csv,
    normalise_local_code,
)

__all__ = ["LIST_PREFIX", "Crosswalks", "builtin_table", "list_crosswalk", "resolve_crosswalks"]

#: Names of the crosswalks that accept a list's own codes: ``list:`` + the list name.
LIST_PREFIX = "list:"


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@dataclass(frozen=True)
class Crosswalks:
    """Resolved crosswalks: name -> (normalised local code -> ';'-joined taxonomy codes).

    Local codes are matched as :func:`joinedup.taxonomy.normalise_local_code` does: trimmed,
    inner whitespace collapsed, case-folded. A code mapped to nothing on purpose gives ''.
    ``ethnicity_codes`` are the taxonomy's ethnicity codes (a value outside them is invalid).
    """

    tables: dict[str, dict[str, str]]
    ethnicity_codes: frozenset[str] = field(default_factory=frozenset)
    # issue 13 (values and records): term dates, place keywords, identifier kinds
    values: ValueLookups = field(default_factory=ValueLookups)

    def case_sql(self, name: str, expr: str) -> str:
        """The taxonomy codes for ``expr``; NULL where the crosswalk does not know it.

        Clean codes match on ``lower(expr)`` alone; only values that miss are normalised
        fully (whitespace collapsed) and tried again.
        """
        codes = self.tables[name]
        if not codes:
            return "CAST(NULL AS VARCHAR)"
        arms = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in sorted(codes.items()))
        slow = f"lower(regexp_replace(trim({expr}), '\\s+', ' ', 'g'))"
        return (
            f"coalesce((CASE lower({expr}) {arms} END), "
            f"CASE WHEN {expr} IS NOT NULL THEN (CASE {slow} {arms} END) END)"
        )


def list_crosswalk(list_name: str) -> str:
    """The name of the crosswalk that accepts ``list_name``'s own codes."""
    return LIST_PREFIX + list_name


def builtin_table(taxonomy: Taxonomy, name: str) -> dict[str, str]:
    """A built-in crosswalk as a lookup table: each code, and each label no other entry
    shares, normalised -> its ';'-joined targets ('' for a known code mapping to none)."""
    mapping = taxonomy.crosswalk(name)
    table = {normalise_local_code(code): ";".join(t) for code, t in mapping.items()}
    labels: dict[str, set[str]] = {}
    for code, entry in taxonomy.lists[name].items():
        labels.setdefault(normalise_local_code(entry.label), set()).add(";".join(mapping[code]))
    for label, targets in labels.items():
        if len(targets) == 1 and label not in table:
            table[label] = next(iter(targets))
    return table


def resolve_crosswalks(cfg: PartnershipConfig, base: Path) -> Crosswalks:
    """Load and compile every crosswalk (declared, built-in, list codes) for use in SQL."""
    taxonomy = partnership_taxonomy(cfg)
    tables: dict[str, dict[str, str]] = {}
    for name in taxonomy.builtin_crosswalks():
        tables[name] = builtin_table(taxonomy, name)
    for list_name in ("exploitation_type", "context"):
        tables[list_crosswalk(list_name)] = {
            normalise_local_code(c): c for c in taxonomy.lists[list_name]
        }
    for name, c in cfg.crosswalks.items():
        codes = c.codes if c.codes is not None else load_crosswalk_csv(base / str(c.file))
        compiled = compile_crosswalk(
            taxonomy, c.list, codes, where=f"partnership.yaml crosswalks.{name}"
        )
        tables[name] = {k: ";".join(v) for k, v in compiled.mapping.items()}
    return Crosswalks(tables, frozenset(taxonomy.codes("ethnicity")), value_lookups(cfg))
