"""Cell key perturbation (the ONS method for Census 2021), a partnership's choice beside
suppression (``disclosure.method: cell_key``).

- Each unit counted (a person, an event) has a *record key*: a number from 0 to 255,
  a keyed hash of its pseudonymous id under the partnership's secret (never in a
  release), so the same person always has the same key, in every table and release.
- A cell's *cell key* is the sum of the record keys of the units it counts, modulo 256.
- The published count is the count plus the value the *perturbation table* gives for
  (count, cell key): here, unbiased random rounding to a multiple of ``base`` (5 unless
  the tier rounds more), up or down with probabilities that keep the expected value the
  count, the direction fixed by the cell key. Counts above 750 reuse rows 501 to 750, as
  the ONS table does. A zero stays zero.
- Then the tier's threshold: a published count from 1 to the threshold is shown as "c".

The same people always give the same published count, so asking again, or in another
table or release, teaches nothing new; and the difference of two published counts
leaves many possible true differences (every published count is one of at least
``base`` true values each side), so differencing overlapping tables cannot pin down a
small count (``tests/test_cell_key.py`` attacks it). No secondary suppression is needed.

We implement the method rather than use the ONS package ``cell-key-perturbation``
(3.1.0): it tabulates pandas microdata with one row per unit and one cell per unit and
variable, while our figures are distinct counts of units that may fall in several
categories, counted in DuckDB; its sample perturbation table ignores the cell key.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

from joinedup.disclosure.policy import SUPPRESSED, Cell, DisclosurePolicy
from joinedup.insight.cellkeys import KEY_RANGE, record_key  # counted at build (insight)

__all__ = [
    "CELL_KEY_BASE",
    "KEY_RANGE",
    "cell_key",
    "perturb",
    "perturb_cells",
    "perturbation",
    "record_key",
]

K = TypeVar("K", bound=Hashable)

#: The rounding base of the perturbation table unless the tier's policy rounds more.
CELL_KEY_BASE = 5
_MAX_PCV = 750


def cell_key(keys: Iterable[int]) -> int:
    """A cell's key: the sum of its units' record keys, modulo 256."""
    return sum(keys) % KEY_RANGE


def _pcv(count: int) -> int:
    """The row of the perturbation table for a count (rows 501-750 reused above 750)."""
    return count if count <= _MAX_PCV else (count - 1) % 250 + 501


def perturbation(count: int, ckey: int, base: int = CELL_KEY_BASE) -> int:
    """The perturbation table: the value added to ``count`` for cell key ``ckey``."""
    if count <= 0 or base <= 1:
        return 0
    rest = _pcv(count) % base
    if rest == 0:
        return 0
    # round up with probability rest / base: unbiased over uniformly spread cell keys
    up = ckey * base < rest * KEY_RANGE
    return base - rest if up else -rest


def perturb(count: int, ckey: int, policy: DisclosurePolicy) -> Cell:
    """A count as published under cell key perturbation, then the tier's threshold."""
    base = max(CELL_KEY_BASE, policy.rounding_base or 1)
    value = count + perturbation(count, ckey, base)
    return SUPPRESSED if policy.is_small(value) else value


def perturb_cells(cells: Mapping[K, tuple[int, int]], policy: DisclosurePolicy) -> dict[K, Cell]:
    """Every cell ``(count, cell key)`` of a table, published; totals are cells like any
    other (their own units, their own key), so no relation needs protecting."""
    return {k: perturb(n, ck, policy) for k, (n, ck) in cells.items()}
