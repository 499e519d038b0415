"""Regions (issue 17): a partnership's regional pack, and the regional release a region
builds from the packs of its partnerships, with no child's record leaving any of them.

- :func:`write_pack` (``joinedup pack DIR``): protected figures of a partnership's current
  release, as Parquet with a signed manifest.
- :func:`read_pack`: a pack checked against its manifest and the key the region knows;
  a pack altered after it was signed is refused (:class:`PackRefused`).
- :func:`build_region` (``joinedup region build``): the regional release.
- :func:`create_region_app` (``joinedup region serve``): regional pages and the board report.
"""

from __future__ import annotations

from joinedup.region.app import PAGES, create_region_app
from joinedup.region.combine import build_region, combine_packs, current_region_release
from joinedup.region.notes import Note, comparability_notes
from joinedup.region.pack import FORMAT, PackResult, write_pack
from joinedup.region.packs import Pack, PackRefused, read_pack
from joinedup.region.users import ROLES, add_region_user, init_region

__all__ = [
    "FORMAT",
    "PAGES",
    "ROLES",
    "Note",
    "Pack",
    "PackRefused",
    "PackResult",
    "add_region_user",
    "build_region",
    "combine_packs",
    "comparability_notes",
    "create_region_app",
    "current_region_release",
    "init_region",
    "read_pack",
    "write_pack",
]
