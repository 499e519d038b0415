"""Numbers, dates and names as pages, reports and exports show them (issue 16: people's
words): "4 December 2026", "November 2026 release", "1,234", "12.5%", never an ISO
timestamp, a release id as a heading, or 1.134e-14."""

from __future__ import annotations

import datetime as dt
import math
import re

__all__ = [
    "field_label",
    "format_count",
    "format_date",
    "format_datetime",
    "format_number",
    "format_percent",
    "release_name",
]


def format_count(value: object) -> str:
    """A published count for display: thousands separated, "c" as it is, blank for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_number(value: object, places: int = 1) -> str:
    """A measure for reading: thousands separated, at most ``places`` decimal places,
    trailing zeros dropped ("12.5", "1,234", "0" for 1.134e-14); text ("c") as it is,
    blank for None."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    rounded = round(float(value), places)
    if rounded == 0:
        rounded = 0.0  # no "-0"
    text = f"{rounded:,.{places}f}" if places > 0 else f"{rounded:,.0f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_percent(value: object, places: int = 1) -> str:
    """A percentage already on the 0-100 scale: "12.5%"; text as it is."""
    text = format_number(value, places)
    return f"{text}%" if text and isinstance(value, int | float) else text


def _as_datetime(value: object) -> dt.datetime | dt.date | None:
    if isinstance(value, dt.datetime | dt.date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    found = re.match(r"^(\d{8})T(\d{6})Z", text)  # a release id's stamp
    if found:
        return dt.datetime.strptime(found.group(1) + found.group(2), "%Y%m%d%H%M%S")
    return None


def format_date(value: object) -> str:
    """A date as people write it: "4 December 2026" (text that is not a date as it is)."""
    when = _as_datetime(value)
    if when is None:
        return "" if value is None else str(value)
    return f"{when.day} {when.strftime('%B %Y')}"


def format_datetime(value: object) -> str:
    """A moment as people write it: "4 December 2026 at 1:28pm" (UTC as stored)."""
    when = _as_datetime(value)
    if when is None:
        return "" if value is None else str(value)
    if not isinstance(when, dt.datetime):
        return format_date(when)
    hour = when.hour % 12 or 12
    return f"{format_date(when)} at {hour}:{when.minute:02d}{'am' if when.hour < 12 else 'pm'}"


def release_name(release_id: object) -> str:
    """A release by the month it was built in: "December 2026 release" (its id is for
    hovering and for scripts); the id as it is when it holds no date."""
    when = _as_datetime(release_id)
    if when is None:
        return "" if release_id is None else str(release_id)
    return f"{when.strftime('%B %Y')} release"


#: Record fields in words (never "Dob" or "nhs_number" on a page).
FIELD_LABELS = {
    "dob": "Date of birth",
    "nhs_number": "NHS number",
    "upn": "UPN (unique pupil number)",
    "pnc_id": "PNC id (Police National Computer)",
    "forename": "First name",
    "surname": "Last name",
    "preferred_name": "Preferred name",
    "postcode": "Postcode",
    "postcode_district": "Postcode district",
    "sex": "Sex",
    "ethnicity": "Ethnic group",
    "event_date": "Event date",
    "source_record_id": "Record id in the source",
}


def field_label(name: object) -> str:
    """A record field as people say it: "dob" -> "Date of birth"; an unknown field
    "home_ward" -> "Home ward"."""
    text = "" if name is None else str(name)
    if text in FIELD_LABELS:
        return FIELD_LABELS[text]
    words = text.replace("_", " ").strip()
    return words[:1].upper() + words[1:]
