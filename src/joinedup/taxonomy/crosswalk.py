"""Crosswalks: an agency's local codes -> taxonomy codes.

A crosswalk is written inline in partnership.yaml (``{list: exploitation_type, codes:
{CSE: cse, CL: "county_lines;cce"}}``) or as a CSV file with the columns ``local_code`` and
``code``. The rules, documented in docs/taxonomy.md:

- Local codes match case-insensitively, with leading and trailing whitespace removed and
  runs of inner whitespace read as one space: ``" Child  SEXUAL exploitation"`` matches
  ``"child sexual exploitation"``.
- A target is one taxonomy code, or for lists that take several codes (exploitation_type,
  context, ...) several codes separated by ``;``. Targets match the taxonomy's codes
  case-insensitively and are stored as the taxonomy spells them.
- An empty target means the local code is known and deliberately maps to no code (so rows
  carrying it are not quarantined as unknown).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from joinedup.errors import ConfigError
from joinedup.taxonomy.model import LOCAL_PREFIX, Taxonomy

__all__ = [
    "CROSSWALK_COLUMNS",
    "Crosswalk",
    "compile_crosswalk",
    "load_crosswalk_csv",
    "normalise_local_code",
    "split_targets",
    "validate_crosswalk",
    "write_crosswalk_csv",
]

CROSSWALK_COLUMNS = ("local_code", "code")
TARGET_SEPARATOR = ";"

Target = str | Sequence[str]


def normalise_local_code(value: str) -> str:
    """The form local codes are matched in: trimmed, inner whitespace single, case-folded."""
    return " ".join(value.split()).casefold()


def split_targets(target: Target) -> tuple[str, ...]:
    """The codes of a crosswalk target: ``"county_lines; cce"`` -> ("county_lines", "cce")."""
    parts: Iterable[str] = target.split(TARGET_SEPARATOR) if isinstance(target, str) else target
    return tuple(p.strip() for p in parts if p.strip())


def validate_crosswalk(
    taxonomy: Taxonomy, list_name: str, codes: Mapping[str, Target]
) -> list[str]:
    """Problems with a crosswalk, each saying how to fix it. Empty when it is sound."""
    if list_name not in taxonomy.lists:
        return [
            f"unknown taxonomy list {list_name!r}: set list to one of "
            f"{', '.join(taxonomy.list_names())}"
        ]
    info = taxonomy.info[list_name]
    valid = ", ".join(taxonomy.lists[list_name])
    problems: list[str] = []
    seen: dict[str, tuple[str, tuple[str, ...]]] = {}
    for local, target in codes.items():
        if not isinstance(local, str) or not normalise_local_code(local):
            problems.append("a local code is empty: remove it or give the agency's code")
            continue
        if not isinstance(target, str | list | tuple):
            problems.append(f"local code {local!r}: the target must be a code or a list of codes")
            continue
        targets = split_targets(target)
        canonical: list[str] = []
        for code in targets:
            found = taxonomy.canonical(list_name, code)
            if found is not None:
                canonical.append(found)
            elif code.startswith(LOCAL_PREFIX) and info.extensible:
                problems.append(
                    f"local code {local!r} maps to {code!r}, a local {list_name} code that is "
                    f"not defined: declare it under taxonomy_extensions.{list_name} in "
                    "partnership.yaml, or map to one of: " + valid
                )
            else:
                problems.append(
                    f"local code {local!r} maps to {code!r}, which is not a {list_name} code: "
                    f"use one of: {valid}"
                )
        if len(targets) > 1 and not info.multi:
            problems.append(
                f"local code {local!r} maps to {len(targets)} codes, but {list_name} takes one "
                "code per value: keep one"
            )
        key = normalise_local_code(local)
        mapped = tuple(canonical)
        if key in seen and seen[key][1] != mapped:
            problems.append(
                f"local codes {seen[key][0]!r} and {local!r} are the same code (matching "
                "ignores case and spacing) but map differently: keep one"
            )
        seen.setdefault(key, (local, mapped))
    return problems


@dataclass(frozen=True)
class Crosswalk:
    """A validated crosswalk, ready to look local values up in."""

    list_name: str
    mapping: Mapping[str, tuple[str, ...]]  # normalised local code -> taxonomy codes

    def lookup(self, value: str) -> tuple[str, ...] | None:
        """The taxonomy codes for a local value; None when the local code is not known."""
        return self.mapping.get(normalise_local_code(value))

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and normalise_local_code(value) in self.mapping

    def __len__(self) -> int:
        return len(self.mapping)


def compile_crosswalk(
    taxonomy: Taxonomy, list_name: str, codes: Mapping[str, Target], *, where: str = "crosswalk"
) -> Crosswalk:
    """Validate a crosswalk and return it ready for lookups; :class:`ConfigError` if unsound.

    ``where`` names the crosswalk in messages (e.g. "partnership.yaml crosswalks.police_flags").
    """
    problems = validate_crosswalk(taxonomy, list_name, codes)
    if problems:
        raise ConfigError(f"{where} is not valid:\n  - " + "\n  - ".join(problems))
    mapping: dict[str, tuple[str, ...]] = {}
    for local, target in codes.items():
        resolved = (taxonomy.canonical(list_name, c) for c in split_targets(target))
        mapping[normalise_local_code(local)] = tuple(c for c in resolved if c is not None)
    return Crosswalk(list_name=list_name, mapping=MappingProxyType(mapping))


def load_crosswalk_csv(path: str | Path) -> dict[str, str]:
    """Read a crosswalk CSV (columns ``local_code``, ``code``; others are ignored).

    Returns local code (trimmed, as written) -> target as written (trimmed). A local code
    given twice, in any case or spacing, with different targets is an error naming both
    rows. Encoding: UTF-8, with or without a byte-order mark.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: crosswalk file not found; check the file: path in partnership.yaml "
            "(relative to the partnership folder)"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text; save the crosswalk as CSV UTF-8") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(h or "").strip().casefold() for h in (reader.fieldnames or [])]
    missing = [c for c in CROSSWALK_COLUMNS if c not in header]
    if missing:
        raise ConfigError(
            f"{path}: row 1 (header) lacks column {', '.join(missing)}; the first row must "
            f"name the columns {', '.join(CROSSWALK_COLUMNS)}"
        )
    if reader.fieldnames is not None:
        reader.fieldnames = header
    codes: dict[str, str] = {}
    rows: dict[str, tuple[int, str]] = {}
    for row in reader:
        row_number = reader.line_num
        local = (row.get("local_code") or "").strip()
        target = (row.get("code") or "").strip()
        if not local:
            if target:
                raise ConfigError(
                    f"{path}: row {row_number}, column local_code is empty; give the "
                    "agency's code or delete the row"
                )
            continue  # a blank line
        key = normalise_local_code(local)
        if key in rows:
            first_row, first_target = rows[key]
            if split_targets(first_target) != split_targets(target):
                raise ConfigError(
                    f"{path}: rows {first_row} and {row_number}, column local_code: the same "
                    "local code (matching ignores case and spacing) maps to different codes; "
                    "keep one row"
                )
            continue
        rows[key] = (row_number, target)
        codes[local] = target
    return codes


def write_crosswalk_csv(path: str | Path, codes: Mapping[str, Target]) -> None:
    """Write a crosswalk as CSV (``local_code,code``), multi-code targets joined by ';'."""
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CROSSWALK_COLUMNS)
        for local, target in codes.items():
            writer.writerow([local, TARGET_SEPARATOR.join(split_targets(target))])
