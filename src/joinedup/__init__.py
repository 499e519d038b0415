"""joinedup: joined-up intelligence on child exploitation and extra-familial harm.

The package is laid out as the pipeline the data flows through::

    sources -> quality -> linkage -> release -> insight -> disclosure -> web | report

A later stage may import an earlier one, never the reverse.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
