"""Names: normalised for matching (upper case, Latin letters, one space) and full names split."""

from __future__ import annotations

import unicodedata

from joinedup.errors import ConfigError
from joinedup.sources.sqltext import WHITESPACE
from joinedup.sources.sqltext import q as _q
from joinedup.sources.sqltext import re2_class as _re2_class

__all__ = [
    "NAME_ORDERS",
    "full_name_forename_sql",
    "full_name_surname_sql",
    "name_macros",
    "name_normalise",
    "split_full_name",
]

_NAME_LETTERS = frozenset(
    chr(c)
    for c in [*range(0x41, 0x5B), *range(0x61, 0x7B), *range(0xC0, 0x250), *range(0x1E00, 0x1F00)]
    if unicodedata.category(chr(c)).startswith("L")
)
# Simple (one-to-one) upper-case mapping, as DuckDB's upper() does; 'ß' -> 'ẞ' there too.
_NAME_UPPER = {
    c: ("\u1e9e" if c == "ß" else c.upper() if len(c.upper()) == 1 else c)
    for c in sorted(_NAME_LETTERS)
}
_NAME_LETTERS_OUT = frozenset(_NAME_UPPER.values())
_NAME_SEPARATORS = WHITESPACE + ",./_()"
_NAME_APOSTROPHES = "\u2019\u2018`\u00b4\u2032\u02bc"
_NAME_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2212"
_NAME_KEEP = _NAME_LETTERS | {" ", "'", "-"}
_NAME_MAP = {
    **{ord(c): " " for c in _NAME_SEPARATORS},
    **{ord(c): "'" for c in _NAME_APOSTROPHES},
    **{ord(c): "-" for c in _NAME_DASHES},
}
NAME_ORDERS = ("surname_forename", "forename_surname")


def _has_letter(s: str | None) -> str | None:
    return s if s is not None and any(c in _NAME_LETTERS_OUT for c in s) else None


def name_normalise(s: str | None) -> str | None:
    """A name in upper case with single spaces, for matching; ``None`` if no letters.

    NFC-normalised; whitespace and ``, . / _ ( )`` become spaces, curly and other
    apostrophes become ``'``, dashes ``-``; then anything but Latin letters (ASCII and
    accented, U+00C0..U+024F, U+1E00..U+1EFF), space, ``'`` and ``-`` is removed.
    """
    if s is None:
        return None
    # NUL is dropped first: DuckDB's nfc_normalize stops at it
    t = unicodedata.normalize("NFC", s.replace("\x00", "")).translate(_NAME_MAP)
    t = "".join(_NAME_UPPER.get(c, c) for c in t if c in _NAME_KEEP)
    return _has_letter(" ".join(w for w in t.split(" ") if w))


def split_full_name(s: str | None, order: str) -> tuple[str | None, str | None]:
    """``(forename, surname)`` from a full name, each normalised by :func:`name_normalise`.

    A comma always means ``"SURNAME, Forename"`` (split at the first comma). Otherwise,
    ``order="surname_forename"``: the first word is the surname, the rest the forename;
    ``order="forename_surname"``: the last word is the surname, the rest the forename.
    """
    _check_order(order)
    if s is None:
        return None, None
    if "," in s:
        surname, forename = s.split(",", 1)
        return name_normalise(forename), name_normalise(surname)
    n = name_normalise(s)
    if n is None:
        return None, None
    words = n.split(" ")
    if order == "surname_forename":
        return _has_letter(" ".join(words[1:])), _has_letter(words[0])
    return _has_letter(" ".join(words[:-1])), _has_letter(words[-1])


def _check_order(order: str) -> None:
    if order not in NAME_ORDERS:
        raise ConfigError(f"full_name order {order!r} is not one of {', '.join(NAME_ORDERS)}")


def full_name_forename_sql(expr: str, order: str) -> str:
    """A DuckDB expression for the forename part of :func:`split_full_name`."""
    _check_order(order)
    return f"ju__forename_{'sf' if order == 'surname_forename' else 'fs'}({expr})"


def full_name_surname_sql(expr: str, order: str) -> str:
    """A DuckDB expression for the surname part of :func:`split_full_name`."""
    _check_order(order)
    return f"ju__surname_{'sf' if order == 'surname_forename' else 'fs'}({expr})"


def _name_sql_macros() -> list[str]:
    sep = _re2_class(set(_NAME_SEPARATORS) - {" "})  # ' ' -> ' ' is a (costly) no-op
    apos = _re2_class(_NAME_APOSTROPHES)
    dash = _re2_class(_NAME_DASHES)
    drop = _re2_class(_NAME_KEEP, negate=True)
    # normalised text holds only _NAME_LETTERS_OUT letters, so adding _NAME_LETTERS changes
    # nothing but turns ~300 single characters into a few ranges (cheaper to compile)
    has = _re2_class(_NAME_LETTERS_OUT | _NAME_LETTERS)
    fast = " *[A-Za-z]+(?:[ '-][A-Za-z]+)* *"  # the usual case: upper(trim(x)) is the answer
    cleaned = (
        "regexp_replace(regexp_replace(regexp_replace(regexp_replace("
        "nfc_normalize(replace(x, chr(0), '')), "
        f"'{sep}', ' ', 'g'), '{apos}', '''', 'g'), '{dash}', '-', 'g'), '{drop}', '', 'g')"
    )
    comma = "strpos(x, ',') > 0"
    # the normalised part before the first comma (the whole name if there is none), and
    # the part after it (again the whole name if there is none)
    before = "ju_name(split_part(x, ',', 1))"
    after = f"ju_name(CASE WHEN {comma} THEN substr(x, strpos(x, ',') + 1) ELSE x END)"
    words = {
        "forename_sf": "ju__letters(nullif(substr(n, strpos(n, ' ') + 1), n))",
        "forename_fs": "ju__letters(nullif(regexp_extract(n, '^(.*) [^ ]*$', 1), ''))",
        "surname_sf": "ju__letters(split_part(n, ' ', 1))",
        "surname_fs": "ju__letters(split_part(n, ' ', -1))",
    }
    macros = [
        f"CREATE OR REPLACE MACRO ju__letters(s) AS CASE WHEN regexp_matches(s, '{has}') "
        "THEN s END",
        "CREATE OR REPLACE MACRO ju__name_slow(x) AS ju__letters(trim(regexp_replace("
        f"upper({cleaned}), '  +', ' ', 'g')))",
        f"CREATE OR REPLACE MACRO ju_name(x) AS CASE WHEN regexp_full_match(x, {_q(fast)}) "
        "THEN upper(trim(x)) ELSE ju__name_slow(x) END",
    ]
    for name, pick in words.items():
        # n (the normalised part) comes first in the condition, so it is computed once
        macros.append(
            f"CREATE OR REPLACE MACRO ju__{name}_n(x, n) AS "
            f"CASE WHEN n IS NULL OR {comma} THEN n ELSE {pick} END"
        )
        part = after if name.startswith("forename") else before
        macros.append(f"CREATE OR REPLACE MACRO ju__{name}(x) AS ju__{name}_n(x, {part})")
    return macros


name_macros = _name_sql_macros
