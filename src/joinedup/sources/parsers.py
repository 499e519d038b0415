"""Value parsers: a pure-Python reference and a DuckDB SQL twin for each.

The mapping engine parses extract columns in DuckDB SQL; the Python functions here define
what the SQL must compute and are used by tests (and for single values). Each pair is kept
in step by property tests (``tests/test_parsers.py``).

Common rules:

* NULL, empty and whitespace-only input give NULL / ``None``. "Whitespace" is the fixed
  set ``WHITESPACE`` (ASCII whitespace, no-break and typographic spaces, the BOM), the same
  in Python and SQL; it does not depend on either side's Unicode tables.
* Identifiers (NHS number, UPN, postcode) are validated on ASCII only, before upper-casing,
  so that Unicode case folding (``'ı'.upper() == 'I'``, the Kelvin sign) cannot make a
  value valid on one side and not the other.
* Dates: every format must match the whole (trimmed) value. Each format is compiled to a
  strict regular expression (ASCII digits, fixed widths, ranges checked) that gates
  ``try_strptime``; DuckDB's ``strptime`` alone accepts trailing spaces, 2-digit ``%Y`` and
  full month names for ``%b``, which Python's does not.

``install_macros`` is the only function that runs SQL; the ``*_sql`` builders return text
that calls the installed ``ju_`` macros. Macros named ``ju__...`` are internal helpers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from functools import lru_cache

import duckdb

from joinedup.errors import ConfigError

__all__ = [
    "DEFAULT_DATE_FORMATS",
    "DEFAULT_SEX_CODES",
    "DEFAULT_TRUE_VALUES",
    "ESTIMATED_RULES",
    "MACROS_SQL",
    "MAX_YEAR",
    "MIN_YEAR",
    "NAME_ORDERS",
    "UPN_LETTERS",
    "WHITESPACE",
    "bool_sql",
    "date_sql",
    "estimated_date_sql",
    "full_name_forename_sql",
    "full_name_surname_sql",
    "install_macros",
    "is_formula_like",
    "name_normalise",
    "nhs_number_valid",
    "parse_bool",
    "parse_date",
    "parse_date_estimated",
    "postcode_district",
    "postcode_normalise",
    "postcode_sector",
    "sex_code",
    "split_full_name",
    "upn_valid",
]

# --------------------------------------------------------------------------- helpers

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


def _all_sql(*conditions: str) -> str:
    """True when every condition is true, NULL if any is NULL; visible to the optimiser."""
    return "(" + " + ".join(f"CAST({c} AS INTEGER)" for c in conditions) + f") = {len(conditions)}"


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

# --------------------------------------------------------------------------- dates

DEFAULT_DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
    "%Y%m%d",
    "%d-%m-%Y",
    "%d.%m.%Y",
)
"""Tried in order; then Excel serial numbers. Each must match the whole value."""

MIN_YEAR, MAX_YEAR = 1900, 2100
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_MIN = (date(MIN_YEAR, 1, 1) - _EXCEL_EPOCH).days  # 2
_EXCEL_END = (date(MAX_YEAR, 12, 31) - _EXCEL_EPOCH).days + 1  # exclusive
_EXCEL_RE = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,20})?")

_MONTHS = (
    "January February March April May June July August September October November December"
).split()


def _ci(word: str) -> str:
    """A case-insensitive pattern for an ASCII word, without the (?i) flag."""
    return "".join(f"[{c.upper()}{c.lower()}]" for c in word)


# directive -> (pattern when followed by a non-digit or the end, pattern when followed by
# another digit directive (fixed width, so "%Y%m%d" is not ambiguous), regex group name)
_DIRECTIVES: dict[str, tuple[str, str, str]] = {
    "Y": ("19[0-9]{2}|20[0-9]{2}|2100", "19[0-9]{2}|20[0-9]{2}|2100", "Y"),
    "y": ("[0-9]{2}", "[0-9]{2}", "y"),
    "m": ("0?[1-9]|1[0-2]", "0[1-9]|1[0-2]", "m"),
    "d": ("0?[1-9]|[12][0-9]|3[01]", "0[1-9]|[12][0-9]|3[01]", "d"),
    "b": ("|".join(_ci(m[:3]) for m in _MONTHS),) * 2 + ("b",),
    "B": ("|".join(_ci(m) for m in _MONTHS),) * 2 + ("B",),
    "H": ("[01]?[0-9]|2[0-3]", "[01][0-9]|2[0-3]", "H"),
    "M": ("[0-5][0-9]", "[0-5][0-9]", "M"),
    "S": ("[0-5][0-9]", "[0-5][0-9]", "S"),
    "f": ("[0-9]{1,6}", "[0-9]{6}", "f"),
}
_DIGIT_DIRECTIVES = frozenset("YymdHMSf")


def _format_error(fmt: str, why: str) -> ConfigError:
    return ConfigError(
        f"date format {fmt!r} {why}; use strptime directives %Y %y %m %d %b %B %H %M %S %f "
        "and literal characters, with one year, one month and one day"
    )


@lru_cache(maxsize=256)
def _compile_format(fmt: str) -> tuple[re.Pattern[str], str]:
    """``fmt`` as (Python regex with named groups, equivalent RE2 regex without groups)."""
    tokens: list[str] = []  # directive letters as "%Y", literals as single characters
    i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            if i + 1 >= len(fmt):
                raise _format_error(fmt, "ends with a lone %")
            nxt = fmt[i + 1]
            if nxt == "%":
                tokens.append("%")
            elif nxt in _DIRECTIVES:
                tokens.append("%" + nxt)
            else:
                raise _format_error(fmt, f"uses the unsupported directive %{nxt}")
            i += 2
        else:
            tokens.append(fmt[i])
            i += 1
    directives = [t[1] for t in tokens if len(t) == 2]
    if len(set(directives)) != len(directives):
        raise _format_error(fmt, "repeats a directive")
    have = set(directives)
    if not (have & {"Y", "y"}) or not (have & {"m", "b", "B"}) or "d" not in have:
        raise _format_error(fmt, "lacks a year, month or day")
    if len(have & {"Y", "y"}) > 1 or len(have & {"m", "b", "B"}) > 1:
        raise _format_error(fmt, "has two years or two months")
    if tokens[0] in _WS or tokens[-1] in _WS:  # values are trimmed before matching
        raise _format_error(fmt, "starts or ends with whitespace")
    py: list[str] = []
    sql: list[str] = []
    for k, tok in enumerate(tokens):
        if len(tok) == 2:
            nxt_tok = tokens[k + 1] if k + 1 < len(tokens) else ""
            tight = len(nxt_tok) == 2 and nxt_tok[1] in _DIGIT_DIRECTIVES
            loose_pat, tight_pat, group = _DIRECTIVES[tok[1]]
            pat = tight_pat if tight else loose_pat
            py.append(f"(?P<{group}>{pat})")
            sql.append(f"(?:{pat})")
        elif tok.isascii() and tok.isalnum():
            py.append(tok)
            sql.append(tok)
        else:
            py.append(re.escape(tok))
            sql.append(f"\\x{{{ord(tok):x}}}")
    return re.compile("".join(py)), "".join(sql)


def _formats(formats: Sequence[str] | None) -> tuple[str, ...]:
    return DEFAULT_DATE_FORMATS if formats is None else tuple(formats)


def parse_date(s: str | None, formats: Sequence[str] | None = None) -> date | None:
    """The date in ``s`` (trimmed), trying ``formats`` in order, then Excel serials.

    Day-first (UK). A format must match the whole value; impossible dates (31/02/2010)
    and years outside 1900..2100 do not match, and the next format is tried. An Excel
    serial (digits, optional decimals) gives 1899-12-30 + its whole days; with the year
    bounds that admits serials 2 (1900-01-01) up to 73415 (2100-12-31).
    """
    t = _trim(s)
    if t is None:
        return None
    for fmt in _formats(formats):
        m = _compile_format(fmt)[0].fullmatch(t)
        if m is None:
            continue
        g = m.groupdict()
        if g.get("Y") is not None:
            year = int(g["Y"])
        else:
            yy = int(g["y"])
            year = 2000 + yy if yy < 69 else 1900 + yy
        if g.get("m") is not None:
            month = int(g["m"])
        else:
            name = (g.get("b") or g["B"]).lower()
            month = next(i for i, n in enumerate(_MONTHS, 1) if n.lower().startswith(name))
        try:
            return date(year, month, int(g["d"]))
        except ValueError:
            continue
    if _EXCEL_RE.fullmatch(t):
        serial = float(t)
        if _EXCEL_MIN <= serial < _EXCEL_END:
            return _EXCEL_EPOCH + timedelta(days=int(serial))
    return None


def date_sql(expr: str, formats: Sequence[str] | None = None) -> str:
    """A DuckDB expression (type DATE) computing :func:`parse_date` of ``expr``.

    Raises ConfigError for a format it cannot translate faithfully. Needs
    :func:`install_macros` on the connection (it calls ``ju__trim``).

    The formats are first tried on the value as it is (no format's pattern admits
    whitespace at either end, so a match there is the answer); only values that match
    none are trimmed of every kind of whitespace and tried again. Clean extracts take the
    first path: about four times faster on a million rows.
    """
    fast = _date_branches_sql(expr, formats)
    slow = _date_branches_sql(f"ju__trim({expr})", formats)
    # trimming can only change the answer for a value with whitespace at an end; testing
    # for that first keeps values that match no format (free text) from paying 14 trims
    padded = f"regexp_matches({expr}, '^{_WS_CLASS}|{_WS_CLASS}$')"
    return f"coalesce({fast}, CASE WHEN {padded} THEN {slow} END)"


def _date_branches_sql(t: str, formats: Sequence[str] | None) -> str:
    branches = []
    for fmt in _formats(formats):
        gate = _compile_format(fmt)[1]
        branches.append(
            f"CASE WHEN regexp_full_match({t}, {_q(gate)}) "
            f"THEN CAST(try_strptime({t}, {_q(fmt)}) AS DATE) END"
        )
    branches.append(
        f"CASE WHEN regexp_full_match({t}, {_q(_EXCEL_RE.pattern)}) "
        f"AND TRY_CAST({t} AS DOUBLE) >= {_EXCEL_MIN} AND TRY_CAST({t} AS DOUBLE) < {_EXCEL_END} "
        f"THEN DATE '{_EXCEL_EPOCH.isoformat()}' "
        f"+ CAST(floor(TRY_CAST({t} AS DOUBLE)) AS INTEGER) END"
    )
    return "coalesce(" + ", ".join(branches) + ")"


_DATE_MACROS = [f"CREATE OR REPLACE MACRO ju_date(x) AS {date_sql('x')}"]

# --------------------------------------------------------------------------- estimated dates

ESTIMATED_RULES = ("jan_1", "first_of_month", "year_only", "month_year")
"""How agencies write a date they do not know: ``jan_1`` (01/01/YYYY), ``first_of_month``
(01/MM/YYYY), ``year_only`` (a bare YYYY, read as 1 January) and ``month_year``
(MM/YYYY, MM-YYYY or YYYY-MM, read as the 1st of the month)."""

_YEAR = "19[0-9]{2}|20[0-9]{2}|2100"
_YEAR_ONLY_RE = re.compile(f"({_YEAR})")
_MONTH_YEAR_RE = re.compile(f"(0?[1-9]|1[0-2])[/-]({_YEAR})")
_YEAR_MONTH_RE = re.compile(f"({_YEAR})-(0[1-9]|1[0-2])")


def _check_rules(rules: Sequence[str]) -> None:
    bad = [r for r in rules if r not in ESTIMATED_RULES]
    if bad:
        raise ConfigError(f"estimated: {', '.join(bad)} is not one of {', '.join(ESTIMATED_RULES)}")


def parse_date_estimated(
    s: str | None, formats: Sequence[str] | None = None, rules: Sequence[str] = ()
) -> tuple[date | None, bool]:
    """``(date, estimated)``: :func:`parse_date`, after the partial forms ``rules`` allow.

    With ``year_only`` a bare year gives 1 January of it; with ``month_year`` a month and
    year give the 1st of that month; both are estimated. ``jan_1`` marks any date on
    1 January as estimated, ``first_of_month`` any date on the 1st.
    """
    _check_rules(rules)
    t = _trim(s)
    if t is None:
        return None, False
    if "year_only" in rules and (m := _YEAR_ONLY_RE.fullmatch(t)):
        return date(int(m.group(1)), 1, 1), True
    if "month_year" in rules:
        if m := _MONTH_YEAR_RE.fullmatch(t):
            return date(int(m.group(2)), int(m.group(1)), 1), True
        if m := _YEAR_MONTH_RE.fullmatch(t):
            return date(int(m.group(1)), int(m.group(2)), 1), True
    d = parse_date(t, formats)
    if d is None:
        return None, False
    est = ("jan_1" in rules and d.month == 1 and d.day == 1) or (
        "first_of_month" in rules and d.day == 1
    )
    return d, est


def _partial_date_sql(expr: str, rules: Sequence[str]) -> str | None:
    t = f"ju__trim({expr})"
    arms = []
    if "year_only" in rules:
        arms.append(
            f"WHEN regexp_full_match({t}, {_q(_YEAR_ONLY_RE.pattern)}) "
            f"THEN make_date(CAST({t} AS INTEGER), 1, 1)"
        )
    if "month_year" in rules:
        arms.append(
            f"WHEN regexp_full_match({t}, {_q(_MONTH_YEAR_RE.pattern)}) THEN make_date("
            f"CAST(regexp_extract({t}, {_q(_MONTH_YEAR_RE.pattern)}, 2) AS INTEGER), "
            f"CAST(regexp_extract({t}, {_q(_MONTH_YEAR_RE.pattern)}, 1) AS INTEGER), 1)"
        )
        arms.append(
            f"WHEN regexp_full_match({t}, {_q(_YEAR_MONTH_RE.pattern)}) THEN make_date("
            f"CAST(substr({t}, 1, 4) AS INTEGER), CAST(substr({t}, 6, 2) AS INTEGER), 1)"
        )
    if not arms:
        return None
    return f"CASE WHEN {expr} IS NULL THEN NULL {' '.join(arms)} END"


def estimated_date_sql(
    expr: str, formats: Sequence[str] | None = None, rules: Sequence[str] = ()
) -> tuple[str, str]:
    """DuckDB expressions ``(date, estimated)`` computing :func:`parse_date_estimated`.

    The estimated flag is NULL where the date is NULL.
    """
    _check_rules(rules)
    partial = _partial_date_sql(expr, rules)
    full = date_sql(expr, formats)
    value = f"coalesce({partial}, {full})" if partial else full
    # The flag tests the value itself (where a partial form matched it is estimated anyway,
    # otherwise the value is the full parse), and names it once in a WHEN condition, where
    # DuckDB computes it once: repeating the full parse made the pair 2-3x slower.
    conds = []
    if partial:
        conds.append(f"{partial} IS NOT NULL")
    if "jan_1" in rules:
        conds.append(f"dayofyear({value}) = 1")
    if "first_of_month" in rules:
        conds.append(f"day({value}) = 1")
    either = " OR ".join(conds) if conds else "false"
    flag = f"CASE WHEN {value} IS NULL THEN NULL ELSE coalesce({either}, false) END"
    return value, flag


# --------------------------------------------------------------------------- names

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


# --------------------------------------------------------------------------- sex, booleans

DEFAULT_SEX_CODES: dict[str, str] = {
    **dict.fromkeys(["M", "MALE", "1", "MAN", "BOY"], "M"),
    **dict.fromkeys(["F", "FEMALE", "2", "WOMAN", "GIRL"], "F"),
    **dict.fromkeys(
        [
            "U", "0", "9", "X", "I", "UNKNOWN", "NOT KNOWN", "NK", "N/K", "NOT STATED",
            "NOT SPECIFIED", "UNSPECIFIED", "NOT RECORDED", "INDETERMINATE",
            "PREFER NOT TO SAY",
        ],
        "U",
    ),
}  # fmt: skip
"""Sex values (trimmed, whitespace collapsed, upper case) -> F / M / U, for sources that
declare no crosswalk. NHS coding: 1 male, 2 female, 9 not specified, 0 not known."""

DEFAULT_TRUE_VALUES: frozenset[str] = frozenset({"Y", "YES", "TRUE", "T", "1"})


def sex_code(s: str | None) -> str | None:
    """F, M or U from :data:`DEFAULT_SEX_CODES`; ``None`` if blank or not in the table."""
    t = _token(s)
    return None if t is None else DEFAULT_SEX_CODES.get(t)


def _sex_macros() -> list[str]:
    whens = []
    for code in ("M", "F", "U"):
        keys = ", ".join(_q(k) for k, v in DEFAULT_SEX_CODES.items() if v == code)
        whens.append(f"WHEN t IN ({keys}) THEN '{code}'")
    return [
        "CREATE OR REPLACE MACRO ju__sex_t(t) AS CASE " + " ".join(whens) + " END",
        "CREATE OR REPLACE MACRO ju_sex(x) AS ju__sex_t(ju__token(x))",
    ]


def parse_bool(s: str | None, true_values: Iterable[str] | None = None) -> bool | None:
    """``True`` if ``s`` is one of ``true_values`` (compared like :func:`sex_code`),
    ``False`` for any other value, ``None`` if blank."""
    t = _token(s)
    if t is None:
        return None
    trues = {_token(v) for v in (DEFAULT_TRUE_VALUES if true_values is None else true_values)}
    return t in trues


def bool_sql(expr: str, true_values: Iterable[str] | None = None) -> str:
    """A DuckDB expression (BOOLEAN) computing :func:`parse_bool` of ``expr``."""
    trues = sorted(
        {
            v
            for v in map(_token, DEFAULT_TRUE_VALUES if true_values is None else true_values)
            if v is not None
        }
    )
    listed = ", ".join(_sql_literal(v) for v in trues) if trues else "NULL"
    return (
        f"CASE WHEN ju__token({expr}) IS NULL THEN NULL "
        f"ELSE coalesce(ju__token({expr}) IN ({listed}), false) END"
    )


# --------------------------------------------------------------------------- export safety

_FORMULA_STARTS = frozenset("=+-@\t\r")


def is_formula_like(s: str | None) -> bool:
    """Whether a spreadsheet could read ``s`` as a formula (starts with = + - @ tab CR)."""
    return s is not None and s[:1] in _FORMULA_STARTS


# --------------------------------------------------------------------------- install

MACROS_SQL: list[str] = [
    *_HELPER_MACROS,
    *_NHS_MACROS,
    *_UPN_MACROS,
    *_POSTCODE_MACROS,
    *_DATE_MACROS,
    *_name_sql_macros(),
    *_sex_macros(),
]
"""Every macro, in dependency order; all named ``ju_...`` (``ju__...`` are helpers)."""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) every ``ju_`` macro on ``con``."""
    for statement in MACROS_SQL:
        con.execute(statement)
