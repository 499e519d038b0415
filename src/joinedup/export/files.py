"""``joinedup export``: the current release's overview, protected for a tier, as files.

The figures come from ``joinedup.views`` (:func:`~joinedup.views.current_overview`); the
tables and file formats are ``joinedup.present``'s, shared with the web app's downloads
and the reports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from joinedup.config import CONFIG_FILE
from joinedup.present.files import area_boundaries, write_tables
from joinedup.present.tables import overview_tables
from joinedup.views import ReleaseLike, Tier, current_overview

__all__ = ["export_overview"]


def export_overview(
    partnership_dir: Path,
    fmt: str,
    out: Path,
    *,
    tier: Tier = Tier.STRATEGIC,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> list[Path]:
    """Write the current release's overview, protected for ``tier``, as ``fmt``."""
    protected = current_overview(Path(partnership_dir), Tier(tier), open_release=open_release)
    tables = overview_tables(protected)
    boundaries = None
    if fmt == "geojson" and (Path(partnership_dir) / CONFIG_FILE).is_file():
        boundaries = area_boundaries(Path(partnership_dir))
    return write_tables(tables, fmt, out, boundaries=boundaries)
