"""Numbers as pages, reports and exports show them."""

from __future__ import annotations

__all__ = ["format_count"]


def format_count(value: object) -> str:
    """A published count for display: thousands separated, "c" as it is, blank for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
