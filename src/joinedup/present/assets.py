"""Where the front-end assets shared by the web app and the reports are installed.

``joinedup.web.assets`` installs GOV.UK Frontend into :data:`VENDOR_DIR` (the web app's
static folder, served at ``/static/vendor/``); reports inline its CSS
(:func:`govuk_css`) so a report file needs nothing outside itself.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["VENDOR_DIR", "govuk_css"]

#: Installed front-end packages, one folder each (git-ignored; ``make setup`` fills it).
VENDOR_DIR = Path(__file__).parent.parent / "web" / "static" / "vendor"


def govuk_css() -> Path:
    """GOV.UK Frontend's compiled CSS (it may not be installed)."""
    return VENDOR_DIR / "govuk-frontend" / "govuk-frontend.min.css"
