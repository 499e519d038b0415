"""Person linkage: which records are about the same person."""

from __future__ import annotations

from joinedup.linkage.exact import IDENTIFIER_RULES, exact_record_person, person_id_for

__all__ = ["IDENTIFIER_RULES", "exact_record_person", "person_id_for"]
