"""Recovering a row whose extra fields come from an unquoted delimiter in one free-text column.

``12 High Street, Wexbury, WX1 2AB`` written without quotes in a comma-separated file
splits one address into three fields, so the row has two fields too many. Such a row is
put right by joining fields back into one column, when exactly one column explains it:

* each column's *shapes* are learnt from the file's good rows (letters become ``A``,
  digit runs ``9``: ``WX1 2AB`` is ``A9 9A``, ``01/09/2026`` is ``9/9/9``);
* a column ``c`` explains the row if it is free text (its header says so, such as
  ``Address`` or ``Notes``; or a good row holds the delimiter inside it; or its values
  take many shapes; but never a column whose header names a structured value, such as a
  postcode, date, code, id or type) and, with fields ``c .. c+k`` joined into it, every
  other column's value has a shape that column has in the good rows (blank only if some
  good row leaves it blank);
* exactly one such column: the row is recovered (and reported); none or several: it is
  quarantined, since guessing could put an address into a date of birth.

Extra fields that are all blank (a trailing delimiter) are dropped when the row then fits
the same way; blanks pushed to the end by a split value do not, so they are not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["FREE_TEXT_WORDS", "PROFILE_ROWS", "STRUCTURED_WORDS", "Profile", "shape"]

FREE_TEXT_WORDS = re.compile(
    r"address|addr\b|street|note|comment|descri|detail|narrative|text|remark|summary|"
    r"location|circumstance",
    re.I,
)
"""Header words that mark a free-text column."""

STRUCTURED_WORDS = re.compile(
    r"postcode|post_code|zip|date|dob|time|code|nhs|upn|number|\bno\b|ref|\bid\b|id$|sex|"
    r"gender|type|flag|status|\bage\b",
    re.I,
)
"""Header words that mark a structured column, which is never taken for free text
(``LocationPostcode`` is not a place for the rest of an address)."""

_LETTERS = re.compile(r"[^\W\d_]+")
_DIGITS = re.compile(r"\d+")
_MAX_SHAPES = 200  # a column with more shapes than this takes any shape
PROFILE_ROWS = 5000


def shape(value: str | None) -> str:
    """A value's shape: letters runs as ``A``, digit runs as ``9``, the rest as written."""
    if not value:
        return ""
    return _DIGITS.sub("9", _LETTERS.sub("A", value))


class Profile:
    """Shapes of each column's values in the good rows read so far (the first 5,000)."""

    def __init__(self, header: Sequence[str], delimiter: str) -> None:
        self.header = list(header)
        self.delimiter = delimiter
        n = len(header)
        self.shapes: list[set[str]] = [set() for _ in range(n)]
        self.any_shape = [False] * n
        self.filled = [0] * n
        self.blank = [False] * n  # some good row leaves the column blank
        self.holds_delimiter = [False] * n
        self.rows = 0

    def learn(self, fields: Sequence[str | None]) -> None:
        if self.rows >= PROFILE_ROWS:
            return
        self.rows += 1
        for i, v in enumerate(fields):
            if not v or not v.strip():
                self.blank[i] = True
                continue
            if self.any_shape[i]:
                continue
            self.filled[i] += 1
            if self.delimiter in v:
                self.holds_delimiter[i] = True
            s = self.shapes[i]
            s.add(shape(v))
            if len(s) > _MAX_SHAPES:
                self.any_shape[i] = True
                s.clear()

    def _free_text(self, i: int) -> bool:
        if STRUCTURED_WORDS.search(self.header[i]):
            return False
        if FREE_TEXT_WORDS.search(self.header[i]) or self.holds_delimiter[i]:
            return True
        if self.any_shape[i]:
            return True
        k = len(self.shapes[i])
        return k >= 5 and k >= 0.2 * self.filled[i]

    def _fits(self, i: int, value: str | None) -> bool:
        if not value or not value.strip():
            return self.blank[i]
        return self.any_shape[i] or shape(value) in self.shapes[i]

    def recover(self, fields: Sequence[str]) -> tuple[list[str], int] | None:
        """``fields`` (too many) joined into the one column that explains them, and that
        column's index; ``None`` if no single column does."""
        n = len(self.header)
        extra = len(fields) - n
        if extra <= 0:
            return None
        found: list[tuple[list[str], int]] = []
        if all(not f.strip() for f in fields[n:]):  # a trailing delimiter, if the rest fits
            kept = list(fields[:n])
            if all(self._fits(i, v) for i, v in enumerate(kept)):
                found.append((kept, -1))
        for c in range(n):
            if not self._free_text(c):
                continue
            joined = [*fields[:c], self.delimiter.join(fields[c : c + extra + 1])]
            joined += fields[c + extra + 1 :]
            if all(self._fits(i, v) for i, v in enumerate(joined) if i != c):
                found.append((joined, c))
        if len(found) > 1:  # prefer the one column whose header says it is free text
            named = [f for f in found if f[1] >= 0 and FREE_TEXT_WORDS.search(self.header[f[1]])]
            found = named if len(named) == 1 else found
        return found[0] if len(found) == 1 else None
