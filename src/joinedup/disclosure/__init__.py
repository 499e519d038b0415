"""Disclosure control: the rules that protect every figure before it leaves the store.

Tiers (:mod:`~joinedup.disclosure.tiers`), each tier's policy and the "c" symbol
(:mod:`~joinedup.disclosure.policy`), primary and secondary suppression
(:mod:`~joinedup.disclosure.suppression`), the sources' sharing agreements
(:mod:`~joinedup.disclosure.sharing`) and cell key perturbation, a partnership's
choice beside suppression (:mod:`~joinedup.disclosure.cellkey`). Nothing here builds a
page: ``joinedup.views`` builds the model of every page and output, only through these
rules. The rules are explained
for information governance leads in ``docs/disclosure.md``.
"""

from __future__ import annotations

from joinedup.disclosure.policy import (
    SUPPRESSED,
    Cell,
    DisclosurePolicy,
    policy_for,
    suppression_footnote,
)
from joinedup.disclosure.sharing import (
    ExcludedSource,
    SourceScope,
    scope_release,
    scope_views_sql,
    source_scope,
)
from joinedup.disclosure.suppression import (
    Relation,
    TwoWayTable,
    determined_cells,
    protect_cells,
    protect_one_way,
    protect_two_way,
)
from joinedup.disclosure.tiers import PersonLevelError, Tier, require_operational

__all__ = [
    "SUPPRESSED",
    "Cell",
    "DisclosurePolicy",
    "ExcludedSource",
    "PersonLevelError",
    "Relation",
    "SourceScope",
    "Tier",
    "TwoWayTable",
    "determined_cells",
    "policy_for",
    "protect_cells",
    "protect_one_way",
    "protect_two_way",
    "require_operational",
    "scope_release",
    "scope_views_sql",
    "source_scope",
    "suppression_footnote",
]
