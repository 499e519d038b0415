"""The free-text scrubber: names, dates and identifiers out of notes before any tier but
operational sees them.

What is replaced, in this order:

- e-mail addresses -> ``[email]``; UK phone numbers -> ``[phone]``;
- NHS numbers (10 digits, spaced 3-3-4 or not), UPNs (a letter and 12 digits), PNC ids
  (``YY/NNNNNNA``) -> ``[id]``; any other run of 6 or more digits -> ``[number]``;
- UK postcodes -> ``[postcode]``;
- addresses: a house or flat number before capitalised words ending in a street word
  ("12 Orchard Rise", "Flat 4, Linden Court") -> ``[address]``;
- dates: 05/03/2025, 5-3-25, 2025-03-05, 5th March 2025, March 5, 5 Mar -> ``[date]``;
  weekday names are left, since they say nothing on their own;
- names: every word that is a known name (``names``: the forenames, surnames and
  preferred names in the release's identity table) when it is written with a capital
  letter, and any capitalised word after a title (Mr, Mrs, Ms, Miss, Dr) or after
  "called" / "named" / "known as" -> ``[name]``.

A name that is also an everyday word is only caught when capitalised, so "will" stays but
"Will" at the start of a sentence is replaced: the scrubber errs towards removing too
much. It cannot know a name that appears nowhere in the data (a friend's name, a
nickname no agency recorded) unless a title or "called" precedes it, so scrubbed text is
still only shown to tiers the note's source allows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["COMMON_WORDS", "Scrubbed", "Scrubber", "scrub"]

_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_ORD = r"\d{1,2}(?:st|nd|rd|th)?"
#: Capitalised words ending in a street word: the part of an address after its number.
_STREET = (
    r"(?:[A-Z][\w'’-]*\s+){1,3}(?:Road|Rd|Street|St|Close|Court|Ct|Avenue|Ave|Lane|Ln|"
    r"Drive|Dr|Way|Rise|Tower|House|Crescent|Place|Gardens|Grove|Terrace|Parade|Walk|"
    r"Mews|Square|Hill|View|Row|Green|Park|Estate|Heights|Lodge)\b"
)

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("[email]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    (
        "[phone]",
        re.compile(r"(?<!\w)(?:\+44\s?\d{2,4}|0\d{2,4})[\s-]?\d{3,4}[\s-]?\d{3,4}\b"),
    ),
    ("[id]", re.compile(r"\b\d{3}[\s-]?\d{3}[\s-]?\d{4}\b")),  # NHS number
    ("[id]", re.compile(r"\b[A-Z]\d{11}[0-9A-Z]\b")),  # UPN
    ("[id]", re.compile(r"\b\d{2}/\d{1,7}[A-Z]\b")),  # PNC id
    (
        "[date]",
        re.compile(r"\b(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2}))\b"),
    ),
    (
        "[date]",
        re.compile(
            rf"\b{_ORD}(?:\s+of)?\s+(?:{_MONTHS})\.?(?:,?\s+\d{{4}})?\b|"
            rf"\b(?:{_MONTHS})\.?\s+{_ORD}(?:,?\s+\d{{4}})?\b|"
            rf"\b(?:{_MONTHS})\s+\d{{4}}\b",
            re.IGNORECASE,
        ),
    ),
    (
        "[postcode]",
        re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE),
    ),
    # addresses: a flat or house number before capitalised words and a street word
    # ("Flat 4, Linden Court", "12 Orchard Rise", "flat 3 Beech Tower")
    ("[address]", re.compile(rf"\b(?:[Ff]lat|[Aa]partment|[Uu]nit)\s+\d+[A-Za-z]?,?\s+{_STREET}")),
    ("[address]", re.compile(rf"\b\d{{1,4}}[A-Za-z]?,?\s+{_STREET}")),
    ("[address]", re.compile(r"\b(?:[Ff]lat|[Aa]partment)\s+\d+[A-Za-z]?\b")),
    ("[number]", re.compile(r"\b\d{6,}\b")),
)

_TITLED = re.compile(r"\b(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?|called|named|known as)\s+([A-Z][\w'’-]+)")
#: Words that are surnames or forenames in most registers but almost always everyday words
#: in a practitioner's note ("Young person says ..."); never treated as names.
COMMON_WORDS = frozenset(
    {"young", "mum", "dad", "nan", "gran", "police", "school", "college", "park", "home"}
)
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w'’-]*")


@dataclass(frozen=True)
class Scrubbed:
    text: str
    redactions: int


class Scrubber:
    """Scrubs text against a fixed set of known names (built once, used for many notes)."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        known: set[str] = set()
        for name in names:
            whole = (name or "").strip().replace("’", "'").casefold()
            if len(whole) >= 2 and re.fullmatch(r"[^\W\d_]+(?:['-][^\W\d_]+)*", whole):
                known.add(whole)
            for part in re.split(r"[\s\-’']+", name or ""):
                part = part.strip(".,").casefold()
                if len(part) >= 2 and part.isalpha() and part not in COMMON_WORDS:
                    known.add(part)
        self.names = frozenset(known)

    def __call__(self, text: str) -> Scrubbed:
        count = 0
        for token, pattern in _PATTERNS:
            text, n = pattern.subn(token, text)
            count += n

        def titled(m: re.Match[str]) -> str:
            nonlocal count
            count += 1
            return m.group(0)[: m.start(1) - m.start(0)] + "[name]"

        text = _TITLED.sub(titled, text)

        def word(m: re.Match[str]) -> str:
            nonlocal count
            w = m.group(0)
            stem = re.sub(r"(?:'s|’s)$", "", w)
            if w[0].isupper() and stem.replace("’", "'").casefold() in self.names:
                count += 1
                return "[name]" + w[len(stem) :]
            return w

        text = _WORD.sub(word, text)
        return Scrubbed(text, count)


def scrub(text: str, names: Iterable[str] = ()) -> Scrubbed:
    """Scrub one text (see the module docstring); ``names`` are the known names."""
    return Scrubber(names)(text)
