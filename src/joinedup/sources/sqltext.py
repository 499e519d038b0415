"""Text helpers shared by the value parsers: the whitespace set, SQL quoting, helper macros.

Python and DuckDB must agree on what "whitespace" is and how a value is trimmed and
tokenised; both sides take it from here. The ``ju__`` helper macros are installed first.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

__all__ = [
    "HELPER_MACROS",
    "WHITESPACE",
    "WS",
    "WS_CLASS",
    "all_sql",
    "q",
    "re2_class",
    "sql_literal",
    "token",
    "trim",
]

WHITESPACE = (
    "\t\n\v\f\r \x1c\x1d\x1e\x1f\x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200C))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_WS = frozenset(WHITESPACE)


def _re2_class(chars: Iterable[str], negate: bool = False) -> str:
    """An RE2 character class listing ``chars`` as ``\\x{..}`` escapes, runs as ranges."""
    points = sorted({ord(c) for c in chars})
    parts: list[str] = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        lo, hi = points[i], points[j]
        parts.append(f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def _sql_literal(s: str) -> str:
    """A SQL expression for ``s``: quoted runs, with control characters as ``chr(n)``."""
    pieces: list[str] = []
    run = ""
    for c in s:
        if c.isprintable() and not unicodedata.category(c).startswith("Z") or c == " ":
            run += c
        else:
            if run:
                pieces.append("'" + run.replace("'", "''") + "'")
                run = ""
            pieces.append(f"chr({ord(c)})")
    if run or not pieces:
        pieces.append("'" + run.replace("'", "''") + "'")
    return "(" + " || ".join(pieces) + ")" if len(pieces) > 1 else pieces[0]


def _q(s: str) -> str:
    """Quote a plain string (e.g. a regex) as a SQL literal."""
    return "'" + s.replace("'", "''") + "'"


_WS_CLASS = _re2_class(WHITESPACE)


def _trim(s: str | None) -> str | None:
    """Strip WHITESPACE at both ends; ``None`` if nothing is left."""
    if s is None:
        return None
    t = s.strip(WHITESPACE)
    return t or None


def _token(s: str | None) -> str | None:
    """Trimmed, inner whitespace runs collapsed to one space, ASCII letters upper-cased."""
    t = _trim(s)
    if t is None:
        return None
    out: list[str] = []
    for c in t:
        if c in _WS:
            if out[-1] != " ":
                out.append(" ")
        else:
            out.append(c.upper() if "a" <= c <= "z" else c)
    return "".join(out)


_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ASCII_UPPER = _ASCII_LOWER.upper()

_HELPER_MACROS = [
    # trim(x, chars) with these 31 characters costs ~2 s per million rows; this, ~0.2 s
    "CREATE OR REPLACE MACRO ju__trim(x) AS "
    f"nullif(regexp_replace(x, '^{_WS_CLASS}+|{_WS_CLASS}+$', '', 'g'), '')",
    # translate() is slow (~0.4 s per million); most tokens take the upper() fast path
    "CREATE OR REPLACE MACRO ju__token(x) AS CASE WHEN regexp_full_match(x, '[0-9A-Za-z]+') "
    "THEN upper(x) ELSE translate(regexp_replace(ju__trim(x), "
    f"'{_WS_CLASS}+', ' ', 'g'), '{_ASCII_LOWER}', '{_ASCII_UPPER}') END",
    "CREATE OR REPLACE MACRO ju__compact(x) AS "
    f"nullif(regexp_replace(x, '{_WS_CLASS}', '', 'g'), '')",
]


def _all_sql(*conditions: str) -> str:
    """True when every condition is true, NULL if any is NULL; visible to the optimiser."""
    return "(" + " + ".join(f"CAST({c} AS INTEGER)" for c in conditions) + f") = {len(conditions)}"


# public names for the sibling modules (the underscored ones are kept for old imports)
WS = _WS
WS_CLASS = _WS_CLASS
HELPER_MACROS = _HELPER_MACROS
re2_class = _re2_class
sql_literal = _sql_literal
q = _q
trim = _trim
token = _token
all_sql = _all_sql
