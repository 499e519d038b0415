"""National returns that need no mapping: their tables and built-in mappings.

A source may declare the format of a return local authorities already produce for the
Department for Education, and leave out the mapping:

- ``cin_census_xml``: the children in need census, as XML (one table, ``cin``);
- ``ssda903``: the SSDA903 looked-after children return, one CSV a table (``header``,
  ``episodes``, ``missing``, ``uasc``, ``oc3``);
- ``ssd``: Data to Insight's Standard Safeguarding Dataset, one CSV a table (``person``,
  ``cin_episodes``, ``cp_plans``, ...).

Each return's tables (their columns, the ones a file must have, and the mapping onto
the canonical model, written in the mapping language of ``partnership.yaml``) are data:
``config/data/returns/<format>.yaml``. :func:`with_builtin_mapping` puts a table's
mapping into a source before the source is validated, so a return's source is checked,
read and mapped exactly as a source mapped by hand. The readers
(:mod:`joinedup.sources.returns`) stage a return's file in the columns listed here.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "MAPPING_KEYS",
    "RETURN_FORMATS",
    "ReturnSpec",
    "ReturnTable",
    "return_spec",
    "table_from_file",
    "with_builtin_mapping",
]

#: The formats of national returns, each with a built-in mapping.
RETURN_FORMATS = ("cin_census_xml", "ssda903", "ssd")

#: The keys of a source that make up its mapping.
MAPPING_KEYS = (
    "record",
    "identity",
    "event",
    "role",
    "place",
    "group",
    "note",
    "linked_events",
)

_DATA = Path(__file__).parent / "data" / "returns"


@dataclass(frozen=True)
class ReturnTable:
    """One table of a return: its columns, those a file must have, its mapping."""

    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    mapping: dict[str, Any]


@dataclass(frozen=True)
class ReturnSpec:
    """A national return: its format, its name in words, and its tables."""

    format: str
    title: str
    tables: dict[str, ReturnTable]


@cache
def return_spec(fmt: str) -> ReturnSpec:
    """The tables and built-in mappings of the return with format ``fmt``."""
    if fmt not in RETURN_FORMATS:
        raise KeyError(fmt)
    raw = yaml.safe_load((_DATA / f"{fmt}.yaml").read_text(encoding="utf-8"))
    tables = {
        name: ReturnTable(
            name,
            tuple(t["columns"]),
            tuple(t.get("required", ())),
            t["mapping"],
        )
        for name, t in raw["tables"].items()
    }
    return ReturnSpec(raw["format"], raw["title"], tables)


def table_from_file(fmt: str, file: str) -> str | None:
    """The table a file's name gives (``903_episodes_2026.csv`` is ``episodes``), or None
    when it names none, or two that neither contains."""
    spec = return_spec(fmt)
    if len(spec.tables) == 1:
        return next(iter(spec.tables))
    stem = Path(file).name.lower()
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    found = [t for t in spec.tables if re.search(rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])", stem)]
    # "cin_episodes" names the table cin_episodes, not another that is part of it
    found = [t for t in found if not any(t != o and t in o for o in found)]
    return found[0] if len(found) == 1 else None


def with_builtin_mapping(data: Any) -> Any:
    """A source's raw configuration with its return's built-in mapping put in: for a
    source of a return's format that gives no ``record``. Raises ValueError (a
    configuration problem at the source) when the table is not known or a part of a
    mapping is given."""
    if not isinstance(data, dict):
        return data
    fmt = data.get("format")
    if fmt not in RETURN_FORMATS:
        if data.get("table") is not None:
            raise ValueError(
                f"'table' applies only to national returns (format: {', '.join(RETURN_FORMATS)})"
            )
        return data
    spec = return_spec(str(fmt))
    names = ", ".join(spec.tables)
    table = data.get("table")
    if table is not None and table not in spec.tables:
        raise ValueError(
            f"'{table}' is not a table of the {spec.title} that joinedup reads; use one of {names}"
        )
    if "record" in data:  # a mapping of the partnership's own, over the staged columns
        return data
    given = [k for k in MAPPING_KEYS if k in data]
    if given:
        raise ValueError(
            f"the {spec.title} has its mapping built in: leave out "
            f"{', '.join(repr(k) for k in given)} (or give a whole mapping of your own, "
            "starting with 'record')"
        )
    if table is None:
        table = table_from_file(str(fmt), str(data.get("file", "")))
        if table is None:
            raise ValueError(
                f"say which table of the {spec.title} this file is, with 'table:' (one "
                f"of {names}); its file name does not say"
            )
    return {**data, "table": table, **copy.deepcopy(spec.tables[table].mapping)}
