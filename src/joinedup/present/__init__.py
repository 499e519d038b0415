"""What the outputs (web, report, export) share, so none imports another.

- :mod:`~joinedup.present.charts`: Vega-Lite chart specs rendered to accessible SVG;
- :mod:`~joinedup.present.format`: numbers for display;
- :mod:`~joinedup.present.tables`: protected figures laid out as tables;
- :mod:`~joinedup.present.writers`, :mod:`~joinedup.present.i2` and
  :mod:`~joinedup.present.files`: those tables as CSV, Excel, Parquet, GeoJSON and i2
  link CSV files;
- :mod:`~joinedup.present.assets`: where the shared front-end assets are installed;
- :mod:`~joinedup.present.pdf`: HTML printed to a tagged PDF by headless Chromium.

Everything here takes figures already protected by ``joinedup.views``; nothing opens a
release.
"""

from __future__ import annotations
