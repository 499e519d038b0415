"""The Jinja2 environment: templates, and filters that show protected counts."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

__all__ = ["format_count", "templates"]

_HERE = Path(__file__).parent


def format_count(value: object) -> str:
    """A published count for display: thousands separated, "c" as it is, blank for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


templates = Jinja2Templates(directory=_HERE / "templates")
templates.env.filters["count"] = format_count
