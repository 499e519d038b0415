"""Reading and validating ``partnership.yaml``: every problem reported at once, by key path."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from joinedup.config.model import PartnershipConfig, SourceConfig
from joinedup.errors import ConfigError, Problem

__all__ = ["CONFIG_FILE", "config_sha256", "load_config", "resolve_source_file"]

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


def resolve_source_file(base: Path, source: SourceConfig) -> Path | None:
    """The file a source reads: the last match of its pattern by name, or None."""
    pattern = source.file
    if Path(pattern).is_absolute():
        candidates = sorted(Path(pattern).parent.glob(Path(pattern).name))
    else:
        candidates = sorted(base.glob(pattern))
    files = [c for c in candidates if c.is_file()]
    return files[-1] if files else None


def _cross_checks(cfg: PartnershipConfig, base: Path) -> list[Problem]:
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

    for key, path in (
        ("geography.areas", cfg.geography.areas),
        ("geography.postcodes", cfg.geography.postcodes),
        ("geography.population", cfg.geography.population),
    ):
        if path is not None and not (base / path).is_file():
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
        for path, spec in src.field_specs().items():
            if spec.crosswalk is not None and spec.crosswalk not in cfg.crosswalks:
                problems.append(
                    Problem(
                        f"{where}.{path}.crosswalk",
                        f"no crosswalk named '{spec.crosswalk}'; declare it under 'crosswalks'",
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
    return problems


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
    problems = _cross_checks(cfg, base) if check_files else []
    if problems:
        raise ConfigError(
            f"{path} has {len(problems)} problem(s); fix them and run again:", problems
        )
    return cfg


def config_sha256(partnership_dir: Path) -> str:
    return hashlib.sha256((Path(partnership_dir) / CONFIG_FILE).read_bytes()).hexdigest()
