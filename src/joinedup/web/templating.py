"""The Jinja2 environment: templates, navigation, and the filters that show protected
counts (``joinedup.present.format``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from joinedup.access import Permission, User
from joinedup.present.format import (
    field_label,
    format_count,
    format_date,
    format_datetime,
    format_number,
    format_percent,
    release_name,
)

__all__ = ["NAVIGATION", "navigation", "templates"]

#: The service navigation: (path, label, permissions any one of which shows the item; an
#: empty tuple shows it to everyone signed in). Pages still check permissions themselves.
NAVIGATION: tuple[tuple[str, str, tuple[Permission, ...]], ...] = (
    ("/", "Overview", ()),
    ("/indicators", "Indicators", ()),
    ("/questions", "Questions", ()),
    ("/places", "Places", ()),
    ("/networks", "Networks", ()),
    ("/cohorts", "Cohorts", (Permission.PERSON_LEVEL,)),
    ("/panels", "Panels", (Permission.PANELS,)),  # issue 18
    ("/quality", "Data quality", ()),
    ("/maturity", "Data maturity", ()),  # issue 21
    ("/what-to-look-for", "What to look for", ()),  # issue 20
    ("/community", "Community briefing", ()),  # issue 20
    ("/linkage", "Linkage", (Permission.REVIEW_LINKS,)),
    ("/releases", "Releases", (Permission.MANAGE_RELEASES,)),
    ("/audit", "Audit", (Permission.AUDIT_ALL, Permission.AUDIT_OWN_AGENCY)),
    ("/admin/users", "Users", (Permission.MANAGE_USERS,)),  # issue 16
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

# People's words (issue 16): dates, releases by month, numbers for reading.
templates.env.filters["date"] = format_date
templates.env.filters["datetime"] = format_datetime
templates.env.filters["number"] = format_number
templates.env.filters["percent"] = format_percent
templates.env.filters["release_name"] = release_name
templates.env.filters["field"] = field_label


def release_label(release_id: object) -> Markup:
    """A release named by its month, with its id on hover: "December 2026 release"."""
    if not release_id:
        return Markup("")
    return Markup('<span class="app-release" title="Release {0}">{1}</span>').format(
        str(release_id), release_name(release_id)
    )


templates.env.globals["release_label"] = release_label
