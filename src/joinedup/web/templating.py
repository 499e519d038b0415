"""The Jinja2 environment: templates, navigation, and the filters that show protected
counts (``joinedup.present.format``)."""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
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

__all__ = ["NAVIGATION", "cached_body", "navigation", "templates"]

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


# --- page bodies remembered (issue 16) ------------------------------------------------
# The overview and question pages are most of what board members and panels ask for;
# their figures are remembered per release (joinedup.views.memo) but drawing them as HTML
# (tables, charts, a macro per cell) was most of each request's time. Their bodies are
# drawn once per distinct set of figures and choices, and only the frame around them
# (navigation, the visitor's name) per request.

#: Page bodies kept (least recently used go first).
BODY_CAPACITY = 256
_BODIES: OrderedDict[tuple[str, ...], Markup] = OrderedDict()
_BODIES_LOCK = threading.Lock()


def _fingerprint(value: Any) -> str | None:
    """A digest of ``value``'s pickle, or None when it cannot be pickled."""
    try:
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    return hashlib.blake2b(blob, digest_size=20).hexdigest()


def cached_body(
    request: Request,
    name: str,
    key: Mapping[str, Any],
    context: Callable[[], dict[str, Any]],
) -> Markup:
    """The template ``name`` (a page body: no ``extends``) drawn with ``context()``.

    Remembered under ``key`` (everything the body shows: the protected figures and the
    choices behind them, including what depends on the visitor, such as the downloads
    their role may have), the address's query string and base URL (links carry
    ``?tier=``): the same figures and choices give the same HTML, so a body is drawn again
    only when they change. ``context`` is called only to draw. A key that cannot be
    pickled is never remembered.
    """
    digest = _fingerprint(dict(key))
    if digest is None:
        return _draw(request, name, context())
    k = (name, str(request.base_url), request.url.query, digest)
    with _BODIES_LOCK:
        found = _BODIES.get(k)
        if found is not None:
            _BODIES.move_to_end(k)
            return found
    body = _draw(request, name, context())
    with _BODIES_LOCK:
        _BODIES[k] = body
        while len(_BODIES) > BODY_CAPACITY:
            _BODIES.popitem(last=False)
    return body


def _draw(request: Request, name: str, context: dict[str, Any]) -> Markup:
    template = templates.get_template(name)
    return Markup(template.render({**context, "request": request}))  # noqa: S704 (autoescaped)
