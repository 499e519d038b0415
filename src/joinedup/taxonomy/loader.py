"""Loading a taxonomy version from the package's data files.

Layout of ``taxonomy/data/``::

    VERSION                 the current version, used when none is asked for
    <version>/taxonomy.yaml the index: version, title, list order, report and ethnicity groups
    <version>/<list>.yaml   one file per list: its description, rules and entries

Every load checks the data: codes unique, parents and crosswalk targets exist, report
groups and ethnicity groups are among those the index names.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from pydantic import ValidationError

from joinedup.errors import ConfigError
from joinedup.taxonomy.model import CodeList, Entry, Taxonomy

__all__ = ["available_versions", "current_version", "load_taxonomy"]

_LIST_KEYS = {"list", "title", "description", "fixed", "multi", "extensible", "maps_to_list"}


def _data_dir() -> Traversable:
    return resources.files("joinedup.taxonomy").joinpath("data")


def available_versions() -> tuple[str, ...]:
    """The taxonomy versions shipped with this package, oldest first."""
    versions = [
        item.name
        for item in _data_dir().iterdir()
        if item.is_dir() and item.joinpath("taxonomy.yaml").is_file()
    ]
    return tuple(sorted(versions, key=_version_key))


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in version.split("."))


def current_version() -> str:
    """The version used when a partnership does not name one (``data/VERSION``)."""
    return _data_dir().joinpath("VERSION").read_text(encoding="utf-8").strip()


def load_taxonomy(version: str | None = None) -> Taxonomy:
    """The taxonomy of a version (default: the current one). Cached; do not mutate.

    An unknown version raises :class:`ConfigError` listing the available ones.
    """
    return _load(version or current_version())


@lru_cache(maxsize=8)
def _load(version: str) -> Taxonomy:
    versions = available_versions()
    if version not in versions:
        raise ConfigError(
            f"Unknown taxonomy version {version!r}. Set taxonomy_version in partnership.yaml "
            f"to one of: {', '.join(versions)}."
        )
    folder = _data_dir().joinpath(version)
    index = _read_yaml(folder.joinpath("taxonomy.yaml"), f"{version}/taxonomy.yaml")
    where = f"taxonomy data {version}/taxonomy.yaml"
    if str(index.get("version")) != version:
        raise ConfigError(f"{where}: version {index.get('version')!r} != folder {version!r}")
    lists: dict[str, dict[str, Entry]] = {}
    info: dict[str, CodeList] = {}
    for name in _str_list(index, "lists", where):
        code_list, entries = _read_list(folder, version, name)
        info[name] = code_list
        lists[name] = entries
    taxonomy = Taxonomy(
        version=version,
        title=str(index.get("title", "")),
        lists=lists,
        info=info,
        report_groups=tuple(_str_list(index, "report_groups", where)),
        ethnicity_groups=tuple(_str_list(index, "ethnicity_groups", where)),
    )
    problems = check_taxonomy(taxonomy)
    if problems:
        raise ConfigError(
            f"Taxonomy data {version} is inconsistent (a packaging fault: report it):\n  - "
            + "\n  - ".join(problems)
        )
    return taxonomy


def _read_yaml(item: Traversable, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(item.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"taxonomy data {where} is missing from the package") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"taxonomy data {where} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"taxonomy data {where}: expected a mapping at the top level")
    return data


def _str_list(data: dict[str, Any], key: str, where: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of names")
    return value


def _read_list(folder: Traversable, version: str, name: str) -> tuple[CodeList, dict[str, Entry]]:
    where = f"taxonomy data {version}/{name}.yaml"
    data = _read_yaml(folder.joinpath(f"{name}.yaml"), f"{version}/{name}.yaml")
    unknown = set(data) - _LIST_KEYS - {"entries"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    if data.get("list") != name:
        raise ConfigError(f"{where}: 'list' must be {name!r}")
    code_list = CodeList(
        name=name,
        title=str(data.get("title", name)),
        description=" ".join(str(data.get("description", "")).split()),
        fixed=bool(data.get("fixed", False)),
        multi=bool(data.get("multi", False)),
        extensible=bool(data.get("extensible", False)),
        maps_to_list=data.get("maps_to_list"),
    )
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list):
        raise ConfigError(f"{where}: 'entries' must be a list")
    entries: dict[str, Entry] = {}
    for number, raw in enumerate(raw_entries, start=1):
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: entry {number} must be a mapping")
        raw = {k: _clean(v) for k, v in raw.items()}
        try:
            entry = Entry.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(f"{where}: entry {number}: {exc}") from exc
        if entry.code in entries:
            raise ConfigError(f"{where}: code {entry.code!r} appears twice")
        entries[entry.code] = entry
    return code_list, entries


def _clean(value: Any) -> Any:
    """YAML folded text keeps single spaces; codes written as numbers become strings."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return tuple(_clean(v) for v in value)
    return value


def check_taxonomy(taxonomy: Taxonomy) -> list[str]:
    """Problems with a taxonomy's internal consistency (empty when it is sound)."""
    problems: list[str] = []
    lists = taxonomy.lists
    for required in ("exploitation_type", "ethnicity"):
        if required not in lists:
            problems.append(f"list {required!r} is missing")
    if problems:
        return problems
    types = lists["exploitation_type"]
    for code, entry in types.items():
        if entry.parent is not None and entry.parent not in types:
            problems.append(f"exploitation_type {code!r}: parent {entry.parent!r} is not a type")
        if entry.parent is None and entry.report_group is None:
            problems.append(f"exploitation_type {code!r}: needs a report_group")
        if entry.report_group is not None and entry.report_group not in taxonomy.report_groups:
            problems.append(f"exploitation_type {code!r}: unknown report_group")
    for code, entry in lists["ethnicity"].items():
        if entry.group not in taxonomy.ethnicity_groups:
            problems.append(f"ethnicity {code!r}: group must be one of the ethnicity_groups")
    for name, code_list in taxonomy.info.items():
        target = code_list.maps_to_list
        if target is None:
            continue
        if target not in lists:
            problems.append(f"{name}: maps_to_list {target!r} is not a list")
            continue
        for code, entry in lists[name].items():
            for mapped in entry.maps_to:
                if mapped not in lists[target]:
                    problems.append(f"{name} {code!r}: maps_to {mapped!r} is not a {target}")
    return problems
