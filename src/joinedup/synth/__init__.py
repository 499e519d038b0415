"""Synthetic partnership data with ground truth, for demos, tests and benchmarks.

``generate(out_dir, people=..., seed=...)`` writes a fictional two-authority partnership:
extracts from nine agencies in their own native shapes (with the mess of real extracts),
the partnership.yaml that maps them, the geography, and truth files that say which person
each record is about and which scenarios were planted. It plays the agencies, so it
imports nothing from the rest of joinedup except errors.
"""

from __future__ import annotations

from joinedup.synth.generator import MIN_PEOPLE, SynthSummary, generate

__all__ = ["MIN_PEOPLE", "SynthSummary", "generate"]
