"""The regional pages' templates (Jinja, autoescaped; ``region/templates/``), in the
partnership app's plain GOV.UK style: no JavaScript, tables with captions and headers,
charts with a table beside them."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

__all__ = ["environment"]


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("joinedup.region", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
