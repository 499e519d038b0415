"""Reading and validating ``partnership.yaml``: every problem reported at once, by key path.

Every file the configuration names (sources' ``file``, crosswalks' ``file``, the
geography files) must be inside the partnership folder once symbolic links and ``..``
are followed; one that leads outside is a configuration error naming its key, raised
before any file is read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from joinedup.config.model import PartnershipConfig, SourceConfig
from joinedup.config.participation_check import participation_problems
from joinedup.config.values import value_problems
from joinedup.errors import ConfigError, Problem

if TYPE_CHECKING:
    from joinedup.taxonomy import Taxonomy

__all__ = [
    "CONFIG_FILE",
    "config_sha256",
    "load_config",
    "outside_folder_problems",
    "resolve_source_file",
]

CONFIG_FILE = "partnership.yaml"


def _loc(raw: Any, loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic location into a readable key path, naming list items by their id."""
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and 0 <= item < len(node):
                entry = node[item]
                if isinstance(entry, dict):
                    ident = entry.get("id") or entry.get("key") or entry.get("code")
                    if isinstance(ident, str):
                        label = f"[{item}] ({ident})"
                node = entry
            else:
                node = None
            parts.append(label)
        else:
            # pydantic puts union/validator names into the path; skip the noise
            if item.startswith("function-") or item in {"str", "int"}:
                continue
            parts.append(("." if parts else "") + item)
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    if not path.exists():
        raise ConfigError(
            f"No {CONFIG_FILE} in {path.parent}. Create one (see docs/configuration.md) "
            f"or run `joinedup init {path.parent}` for a commented starting point."
        )
    try:
        # libyaml's loader when PyYAML has it: the same safe subset, many times faster
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text; save it as UTF-8 and try again.") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "is not valid YAML"
        raise ConfigError(
            f"{path}{where}: {problem}. Check the indentation and quoting there."
        ) from exc


def _matches(base: Path, pattern: str) -> list[Path]:
    if Path(pattern).is_absolute():
        return sorted(Path(pattern).parent.glob(Path(pattern).name))
    return sorted(base.glob(pattern))


def _inside(base: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(base.resolve())


def resolve_source_file(base: Path, source: SourceConfig) -> Path | None:
    """The file a source reads: the last match of its pattern by name, or None. A match
    that leads outside the partnership folder is never returned (:func:`load_config`
    reports it)."""
    files = [c for c in _matches(base, source.file) if c.is_file() and _inside(base, c)]
    return files[-1] if files else None


_GLOB_CHARS = frozenset("*?[")


def _outside(base: Path, value: str) -> Path | None:
    """Where ``value`` (a path or pattern from partnership.yaml) leads when that is outside
    ``base``: its fixed leading part, or any file it matches (followed through symbolic
    links and ``..``); None when it stays inside. Only names are looked at, never files."""
    path = Path(value) if Path(value).is_absolute() else base / value
    fixed = Path(path.parts[0])
    for part in path.parts[1:]:
        if _GLOB_CHARS & set(part):
            break
        fixed = fixed / part
    if not _inside(base, fixed):
        return fixed.resolve()
    if fixed != path:
        for match in _matches(base, value):
            if not _inside(base, match):
                return match.resolve()
    return None


def outside_folder_problems(cfg: PartnershipConfig, base: Path) -> list[Problem]:
    """One problem for each file named in the configuration that leads outside the
    partnership folder."""
    named: list[tuple[str, str]] = [
        (f"sources[{i}] ({s.id}).file", s.file) for i, s in enumerate(cfg.sources)
    ]
    named += [
        (f"crosswalks.{name}.file", cw.file)
        for name, cw in cfg.crosswalks.items()
        if cw.file is not None
    ]
    named += list(cfg.geography.files().items())  # geography files (issue 13)
    problems = []
    for where, value in named:
        leads_to = _outside(base, value)
        if leads_to is not None:
            problems.append(
                Problem(
                    where,
                    f"'{value}' is outside the partnership folder (it leads to {leads_to}), so "
                    "nothing was read from it; put the file inside the partnership folder and "
                    "give its path relative to that folder",
                )
            )
    return problems


def _cross_checks(cfg: PartnershipConfig, base: Path) -> list[Problem]:
    from joinedup.config.eventcheck import event_problems
    from joinedup.taxonomy import load_crosswalk_csv, load_taxonomy, validate_crosswalk

    problems: list[Problem] = []

    def dupes(kind: str, values: list[str]) -> None:
        seen: set[str] = set()
        for v in values:
            if v in seen:
                problems.append(Problem(kind, f"'{v}' is used more than once; ids must be unique"))
            seen.add(v)

    dupes("agencies", [a.id for a in cfg.agencies])
    dupes("sources", [s.id for s in cfg.sources])
    dupes("sharing_agreements", [a.key for a in cfg.sharing_agreements])
    dupes("authorities", [a.code for a in cfg.authorities])

    try:
        taxonomy = load_taxonomy(cfg.taxonomy_version)
    except ConfigError as exc:
        problems.append(Problem("taxonomy_version", str(exc)))
        taxonomy = None
    if taxonomy is not None:  # issue 13: the partnership's local codes, checked first
        taxonomy, found = _with_extensions(cfg, taxonomy)
        problems += found

    authorities = {a.code for a in cfg.authorities}
    for i, agency in enumerate(cfg.agencies):
        if agency.authority is not None and agency.authority not in authorities:
            problems.append(
                Problem(
                    f"agencies[{i}] ({agency.id}).authority",
                    f"'{agency.authority}' is not one of the authorities "
                    f"({', '.join(sorted(authorities))})",
                )
            )

    for key, path in cfg.geography.files().items():  # geography files (issue 13)
        if not (base / path).is_file():
            problems.append(Problem(key, f"file '{path}' not found in the partnership folder"))

    for name, cw in cfg.crosswalks.items():
        where = f"crosswalks.{name}"
        codes = cw.codes
        if cw.file is not None:
            cw_path = base / cw.file
            if not cw_path.is_file():
                problems.append(Problem(f"{where}.file", f"file '{cw.file}' not found"))
                continue
            try:
                codes = load_crosswalk_csv(cw_path)
            except ConfigError as exc:
                problems.append(Problem(f"{where}.file", str(exc)))
                continue
        if taxonomy is not None and codes is not None:
            for msg in validate_crosswalk(taxonomy, cw.list, codes):
                problems.append(Problem(where, msg))

    agencies = {a.id for a in cfg.agencies}
    agreements = {a.key for a in cfg.sharing_agreements}
    for i, src in enumerate(cfg.sources):
        where = f"sources[{i}] ({src.id})"
        if src.agency not in agencies:
            problems.append(
                Problem(
                    f"{where}.agency",
                    f"'{src.agency}' is not a declared agency; add it under 'agencies' "
                    f"or use one of: {', '.join(sorted(agencies))}",
                )
            )
        if src.sharing_agreement not in agreements:
            problems.append(
                Problem(
                    f"{where}.sharing_agreement",
                    f"'{src.sharing_agreement}' is not a declared sharing agreement; "
                    f"declared: {', '.join(sorted(agreements))}",
                )
            )
        builtin = taxonomy.builtin_crosswalks() if taxonomy is not None else ()
        for path, spec in src.field_specs().items():
            if (
                spec.crosswalk is not None
                and spec.crosswalk not in cfg.crosswalks
                and spec.crosswalk not in builtin
            ):
                problems.append(
                    Problem(
                        f"{where}.{path}.crosswalk",
                        f"no crosswalk named '{spec.crosswalk}'; declare it under 'crosswalks' "
                        f"or use a built-in one ({', '.join(builtin)})",
                    )
                )
        if src.format != "xlsx" and src.sheet != 0:
            problems.append(Problem(f"{where}.sheet", "'sheet' applies only to xlsx sources"))
        if resolve_source_file(base, src) is None:
            problems.append(
                Problem(
                    f"{where}.file",
                    f"no file matches '{src.file}' in {base}; check the path and pattern "
                    "(paths are relative to the partnership folder)",
                )
            )
    if taxonomy is not None:  # issue 13: indicators, contexts and linked events
        problems += event_problems(cfg, taxonomy, lambda name: _crosswalk_list(cfg, taxonomy, name))
    problems += value_problems(cfg)  # issue 13: term dates, identifier kinds (config/values.py)
    problems += participation_problems(cfg, base, outside=_outside)  # issue 20
    return problems


def _with_extensions(cfg: PartnershipConfig, shared: Taxonomy) -> tuple[Taxonomy, list[Problem]]:
    """The taxonomy with the partnership's local codes, and problems with them (issue 13)."""
    from joinedup.config.eventcheck import extension_problems, partnership_taxonomy

    found = extension_problems(cfg, shared)
    if found:
        return shared, found
    try:
        return partnership_taxonomy(cfg), []
    except ConfigError as exc:  # e.g. a cycle among local parents
        return shared, [Problem("taxonomy_extensions", str(exc))]


def _crosswalk_list(cfg: PartnershipConfig, taxonomy: Taxonomy, name: str) -> str | None:
    """The list a declared or built-in crosswalk maps onto; None if there is none."""
    if name in cfg.crosswalks:
        return cfg.crosswalks[name].list
    if name in taxonomy.builtin_crosswalks():
        return taxonomy.info[name].maps_to_list
    return None


def load_config(partnership_dir: Path, *, check_files: bool = True) -> PartnershipConfig:
    """Load and validate ``DIR/partnership.yaml``; raise ConfigError listing every problem."""
    base = Path(partnership_dir)
    path = base / CONFIG_FILE
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a mapping of keys (partnership:, sources:, ...).")
    try:
        cfg = PartnershipConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key; check its spelling against docs/configuration.md"
            elif err["type"] == "missing":
                msg = "required key is missing"
            problems.append(Problem(_loc(raw, tuple(err["loc"])), msg))
        raise ConfigError(
            f"{path} has {len(problems)} problem(s); fix them and run again:", problems
        ) from None
    problems = outside_folder_problems(cfg, base)
    if problems:  # before any other check, which would read the files
        raise ConfigError(
            f"{path} has {len(problems)} problem(s); fix them and run again:", problems
        )
    problems = _cross_checks(cfg, base) if check_files else []
    if problems:
        raise ConfigError(
            f"{path} has {len(problems)} problem(s); fix them and run again:", problems
        )
    return cfg


def config_sha256(partnership_dir: Path) -> str:
    return hashlib.sha256((Path(partnership_dir) / CONFIG_FILE).read_bytes()).hexdigest()
