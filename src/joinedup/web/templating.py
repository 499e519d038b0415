"""The Jinja2 environment: templates, navigation, and the filters that show protected
counts (``joinedup.present.format``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

from joinedup.access import Permission, User
from joinedup.present.format import format_count

__all__ = ["NAVIGATION", "navigation", "templates"]

#: The service navigation: (path, label, permissions any one of which shows the item; an
#: empty tuple shows it to everyone signed in). Pages still check permissions themselves.
NAVIGATION: tuple[tuple[str, str, tuple[Permission, ...]], ...] = (
    ("/", "Overview", ()),
    ("/questions", "Questions", ()),
    ("/places", "Places", ()),
    ("/networks", "Networks", ()),
    ("/cohorts", "Cohorts", (Permission.PERSON_LEVEL,)),
    ("/quality", "Data quality", ()),
    ("/linkage", "Linkage", (Permission.REVIEW_LINKS,)),
    ("/releases", "Releases", (Permission.MANAGE_RELEASES,)),
    ("/audit", "Audit", (Permission.AUDIT_ALL, Permission.AUDIT_OWN_AGENCY)),
)

_HERE = Path(__file__).parent


def navigation(user: Any, here: str) -> list[dict[str, Any]]:
    """The navigation items ``user`` may use, the one for ``here`` marked current (a
    page's sub-pages, such as ``/questions/q01``, mark their section)."""
    if not isinstance(user, User):
        return [{"href": "/", "label": "Overview", "current": here == "/"}]
    items = []
    for href, label, needs in NAVIGATION:
        if needs and not any(user.can(p) for p in needs):
            continue
        current = here == href or (href != "/" and here.startswith(href + "/"))
        items.append({"href": href, "label": label, "current": current})
    return items


templates = Jinja2Templates(directory=_HERE / "templates")
templates.env.filters["count"] = format_count
templates.env.globals["navigation"] = navigation
