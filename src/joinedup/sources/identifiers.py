"""Identifiers: NHS number (modulus 11), UPN (check letter) and UK postcodes, in Python and SQL.

Validated on ASCII only, before upper-casing (see :mod:`joinedup.sources.parsers`)."""

from __future__ import annotations

import re

from joinedup.sources.sqltext import WS as _WS
from joinedup.sources.sqltext import all_sql as _all_sql
from joinedup.sources.sqltext import q as _q
from joinedup.sources.sqltext import re2_class as _re2_class
from joinedup.sources.sqltext import trim as _trim

__all__ = [
    "NHS_MACROS",
    "POSTCODE_MACROS",
    "UPN_LETTERS",
    "UPN_MACROS",
    "nhs_number_valid",
    "postcode_district",
    "postcode_normalise",
    "postcode_sector",
    "upn_valid",
]

# --------------------------------------------------------------------------- NHS number

_NHS_STRIP = _WS | {"-"}


def nhs_number_valid(s: str | None) -> str | None:
    """The 10-digit NHS number if ``s`` is one (spaces/hyphens ignored), else ``None``.

    Modulus 11: weights 10..2 over the first nine digits, check = 11 - (sum mod 11), 11
    means 0 and 10 means invalid. Numbers of one repeated digit are rejected.
    """
    if s is None:
        return None
    d = "".join(c for c in s if c not in _NHS_STRIP)
    if len(d) != 10 or any(c not in "0123456789" for c in d) or d == d[0] * 10:
        return None
    total = sum(int(d[i]) * (10 - i) for i in range(9))
    return d if (11 - total % 11) % 11 == int(d[9]) else None


# Performance notes for the SQL below. DuckDB expands a macro's body where it is used, so
# a parameter used N times is computed N times -- unless the common-subexpression optimiser
# lifts it into one projection column. It does so only for expressions it sees outside
# conditional evaluation: a CASE WHEN condition counts, but THEN/ELSE branches, later
# COALESCE arguments and the operands of AND/OR do not. So each macro names its expensive
# input in a CASE WHEN condition, conditions are combined with _all_sql (integer sums) rather
# than AND, and check digits use arithmetic on one BIGINT cast, not per-character substr().


def _nhs_sum_sql(n: str) -> str:
    return " + ".join(f"({n} // {10 ** (9 - i)} % 10) * {10 - i}" for i in range(9))


_NHS_MACROS = [
    "CREATE OR REPLACE MACRO ju__nhs_digits(x) AS CASE WHEN regexp_full_match(x, '[0-9]{10}') "
    f"THEN x ELSE regexp_replace(x, '{_re2_class(_NHS_STRIP)}', '', 'g') END",
    "CREATE OR REPLACE MACRO ju__nhs_ok(d, n) AS "
    + _all_sql(
        "regexp_full_match(d, '[0-9]{10}')",
        "n % 1111111111 <> 0",  # one digit repeated ten times
        f"(11 - ({_nhs_sum_sql('n')}) % 11) % 11 = n % 10",
    ),
    "CREATE OR REPLACE MACRO ju__nhs_check(d) AS CASE WHEN "
    "ju__nhs_ok(d, TRY_CAST(substr(d, 1, 10) AS BIGINT)) THEN d END",
    "CREATE OR REPLACE MACRO ju_nhs_number(x) AS ju__nhs_check(ju__nhs_digits(x))",
]

# --------------------------------------------------------------------------- UPN

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_UPN_RE = re.compile("[A-Za-z][0-9]{11}[0-9A-Za-z]")


def upn_valid(s: str | None) -> str | None:
    """The upper-cased UPN if ``s`` (trimmed) is a valid permanent or temporary UPN.

    13 characters: check letter, 11 digits, then a digit (permanent) or a letter
    (temporary). Check letter = ``UPN_LETTERS[sum(value(c_i) * i for i in 2..13) % 23]``
    where a letter in position 13 is valued by its index in ``UPN_LETTERS``.
    """
    t = _trim(s)
    if t is None or not _UPN_RE.fullmatch(t):
        return None
    u = t.upper()
    last = u[12]
    if last in "0123456789":
        last_value = int(last)
    elif last in UPN_LETTERS:
        last_value = UPN_LETTERS.index(last)
    else:
        return None
    total = sum(int(u[i - 1]) * i for i in range(2, 13)) + last_value * 13
    return u if UPN_LETTERS[total % 23] == u[0] else None


_UPN_SUM = " + ".join(f"(n // {10 ** (12 - i)} % 10) * {i}" for i in range(2, 13))
_UPN_MACROS = [
    # u: the trimmed value (any case); n: its characters 2..12 as a number; v: the value of
    # character 13 (-1 if a letter outside UPN_LETTERS)
    "CREATE OR REPLACE MACRO ju__upn_ok(u, n, v) AS "
    + _all_sql(
        f"regexp_full_match(u, {_q(_UPN_RE.pattern)})",
        "v >= 0",
        f"substr('{UPN_LETTERS}', (({_UPN_SUM}) + v * 13) % 23 + 1, 1) = upper(substr(u, 1, 1))",
    ),
    "CREATE OR REPLACE MACRO ju__upn_last(c) AS CASE WHEN c BETWEEN '0' AND '9' "
    f"THEN ascii(c) - 48 ELSE strpos('{UPN_LETTERS}', upper(c)) - 1 END",
    "CREATE OR REPLACE MACRO ju__upn_check(u) AS CASE WHEN ju__upn_ok(u, "
    "TRY_CAST(substr(u, 2, 11) AS BIGINT), ju__upn_last(substr(u, 13, 1))) THEN upper(u) END",
    "CREATE OR REPLACE MACRO ju_upn(x) AS ju__upn_check(ju__trim(x))",
]

# --------------------------------------------------------------------------- postcodes

_OUTWARD = "[A-Za-z]{1,2}[0-9][0-9A-Za-z]?"
_INWARD = "[0-9][ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2}"
_OUTWARD_RE = re.compile(_OUTWARD)
_POSTCODE_RE = re.compile(_OUTWARD + _INWARD)


def postcode_normalise(s: str | None) -> str | None:
    """``"OUTWARD INWARD"`` (upper case, one space) if ``s`` is a UK-format postcode.

    All whitespace is removed first, so ``" wx1  2ab"`` and ``"WX12AB"`` both give
    ``"WX1 2AB"``. Outward: A9, A99, AA9, AA99, A9A, AA9A; inward: 9AA where the letters
    are not C, I, K, M, O or V. Area letters are not checked (fictional areas pass).
    """
    if s is None:
        return None
    c = "".join(ch for ch in s if ch not in _WS)
    if not _POSTCODE_RE.fullmatch(c):
        return None
    c = c.upper()
    return c[:-3] + " " + c[-3:]


def postcode_district(s: str | None) -> str | None:
    """The outward code (district) of a full postcode, or of a lone outward code.

    A lone outward code may have whitespace around it but not inside it (``"WX1 2"`` is a
    sector, not the district ``"WX12"``, so it gives ``None``).
    """
    full = postcode_normalise(s)
    if full is not None:
        return full.split(" ")[0]
    t = _trim(s)
    if t is None or not _OUTWARD_RE.fullmatch(t):
        return None
    return t.upper()


def postcode_sector(s: str | None) -> str | None:
    """The sector (``"WX1 2"``) of a full postcode; ``None`` for anything else."""
    full = postcode_normalise(s)
    return None if full is None else full[:-2]


_POSTCODE_MACROS = [
    "CREATE OR REPLACE MACRO ju__postcode_c(c) AS CASE WHEN "
    f"regexp_full_match(c, {_q(_POSTCODE_RE.pattern)}) "
    "THEN upper(substr(c, 1, length(c) - 3) || ' ' || substr(c, length(c) - 2)) END",
    # the canonical form ("WX1 2AB") is its own answer: skip the whitespace removal
    "CREATE OR REPLACE MACRO ju_postcode(x) AS CASE WHEN regexp_full_match(x, "
    f"{_q(_OUTWARD.replace('a-z', '') + ' ' + _INWARD.replace('abd-hjlnp-uw-z', ''))}) "
    "THEN x ELSE ju__postcode_c(ju__compact(x)) END",
    "CREATE OR REPLACE MACRO ju__outward(t) AS CASE WHEN "
    f"regexp_full_match(t, {_q(_OUTWARD)}) THEN upper(t) END",
    "CREATE OR REPLACE MACRO ju_postcode_district(x) AS "
    "coalesce(split_part(ju_postcode(x), ' ', 1), ju__outward(ju__trim(x)))",
    "CREATE OR REPLACE MACRO ju_postcode_sector(x) AS "
    "substr(ju_postcode(x), 1, length(ju_postcode(x)) - 2)",
]

NHS_MACROS = _NHS_MACROS
UPN_MACROS = _UPN_MACROS
POSTCODE_MACROS = _POSTCODE_MACROS
