"""Reading the governance sections of partnership.yaml on their own.

The web app and the ``users`` commands need ``auth`` and the agency ids even while a
source's mapping is being fixed, so these read their sections alone (a build validates
the whole file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from joinedup.config import CONFIG_FILE
from joinedup.config.model import AuthConfig, WebConfig
from joinedup.errors import ConfigError, Problem

_M = TypeVar("_M", bound=BaseModel)

__all__ = ["auth_config", "partnership_agencies", "source_agencies", "web_config"]


def _raw(partnership_dir: Path) -> dict[str, Any]:
    path = Path(partnership_dir) / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read as YAML; run `joinedup check`.") from exc
    return raw if isinstance(raw, dict) else {}


def _section(partnership_dir: Path, name: str, model: type[_M]) -> _M:
    section = _raw(partnership_dir).get(name) or {}
    try:
        return model.model_validate(section)
    except ValidationError as exc:
        problems = [
            Problem(f"{name}." + ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
        ]
        raise ConfigError(
            f"{Path(partnership_dir) / CONFIG_FILE} has {len(problems)} problem(s) in {name}:",
            problems,
        ) from None


def auth_config(partnership_dir: Path) -> AuthConfig:
    """``auth:`` of partnership.yaml (defaults when absent)."""
    return _section(partnership_dir, "auth", AuthConfig)


def web_config(partnership_dir: Path) -> WebConfig:
    """``web:`` of partnership.yaml (defaults when absent): request limit, proxies."""
    return _section(partnership_dir, "web", WebConfig)


def partnership_agencies(partnership_dir: Path) -> list[str] | None:
    """The agency ids of partnership.yaml, or None without one."""
    raw = _raw(partnership_dir)
    if "agencies" not in raw:
        return None
    return [str(a.get("id")) for a in raw.get("agencies") or [] if isinstance(a, dict)]


def source_agencies(partnership_dir: Path) -> dict[str, str]:
    """Each source id of partnership.yaml with the id of the agency it comes from."""
    sources = _raw(partnership_dir).get("sources") or []
    return {
        str(s["id"]): str(s["agency"])
        for s in sources
        if isinstance(s, dict) and s.get("id") and s.get("agency")
    }
