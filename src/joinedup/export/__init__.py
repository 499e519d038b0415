"""Exports: the current release's protected figures as files for analysts' own tools.

An output like ``web`` and ``report``: every figure it writes comes from
``joinedup.views`` (through disclosure control), and it never opens a release itself.
The tables and writers (CSV, Excel, Parquet, GeoJSON, i2 link CSV) are
``joinedup.present``'s, shared with the web app's downloads and the reports. See
``docs/exports.md``.
"""

from __future__ import annotations

from joinedup.export.files import export_overview

__all__ = ["export_overview"]
