"""joinedup: joined-up intelligence on child exploitation and extra-familial harm.

The package is laid out as the pipeline the data flows through::

    sources -> quality -> linkage -> release -> insight -> pipeline
      -> disclosure -> views -> access -> present -> web | report | export -> cli

A later stage may import an earlier one, never the reverse; docs/architecture.md is the
map, and tests/test_layout.py keeps the code to it.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
