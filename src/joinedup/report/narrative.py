"""The partnership's narrative: moved to :mod:`joinedup.present.narrative`. The names
stay importable from here."""

from __future__ import annotations

from joinedup.present.narrative import (
    NARRATIVE_DIR,
    Narrative,
    read_narrative,
    render_markdown,
)

__all__ = ["NARRATIVE_DIR", "Narrative", "read_narrative", "render_markdown"]
